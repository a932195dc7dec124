/**
 * Why an invariant check tripped, in one paragraph a hypervisor developer can read without the model's
 * docs: the rule in bhyve's or the SDM's terms, read against the LAPIC state the violation carries
 * (src/core/vcpu/reports.ts VcpuSnapshot). `trace` and `replay` print it as a violation record's
 * "why"; results.json keeps the state only.
 */

/** A vector as a developer reads it in the script and the manuals: decimal, then hex. */
function vec(v: number): string {
  return `${v} (0x${v.toString(16)})`;
}

function list(xs: readonly number[]): string {
  return xs.length === 0 ? 'nothing' : xs.map(vec).join(', ');
}

function numbers(x: unknown): number[] {
  return Array.isArray(x) ? x.filter((v): v is number => typeof v === 'number') : [];
}

/** Rules of the checks that read no state beyond the message (src/core/vcpu/violations.ts VIOLATION_CHECKS). */
const RULE: Readonly<Record<string, string>> = {
  isrvec_stk_corrupted:
    "bhyve's isrvec_stk keeps a 0 in entry 0 below the vectors in service; vlapic_update_ppr panics when it is not 0 with the stack empty (sys/amd64/vmm/io/vlapic.c)",
  isrvec_stk_order:
    "the vectors on bhyve's isrvec_stk must rise in priority class from the bottom up, as nested interrupts do; vlapic_update_ppr panics otherwise (sys/amd64/vmm/io/vlapic.c)",
  isrvec_stk_overflow:
    "more interrupts in service at once than bhyve's isrvec_stk holds (ISRVEC_STK_SIZE); vlapic_intr_accepted panics (sys/amd64/vmm/io/vlapic.c)",
  isrvec_stk_underflow:
    "an EOI with nothing on bhyve's isrvec_stk: an in-service vector the vlapic did not accept itself; vlapic_process_eoi panics (sys/amd64/vmm/io/vlapic.c)",
  delivered_at_or_below_ppr:
    'an interrupt was delivered whose priority class is not above the PPR\'s as it stood before delivery (SDM vol. 3A "Task and Processor Priorities": a vector is dispatched only above PPR[7:4])',
  svi_not_highest_isr:
    'SVI must be the highest vector in service on the virtual-APIC page (SDM vol. 3C "Virtual-Interrupt Delivery", "EOI Virtualization")',
  rvi_below_highest_irr:
    'RVI must be at least the highest requested vector on the virtual-APIC page, or a request is lost (SDM vol. 3C "Virtual-Interrupt Delivery")',
  ppr_below_tpr:
    'PPR is the higher of TPR and the in-service class, so PPR[7:4] can never be below TPR[7:4] (SDM vol. 3A "Task and Processor Priorities")',
  unhandled_vm_exit: 'the policy has no handler for this exit reason: the hypervisor would not know what to do with it',
};

/**
 * The paragraph for violation `check` with its `state`, under `policy` (the variant's), or undefined
 * for a check this file does not know.
 */
export function violationWhy(check: string, snapshot: object, policy: string | undefined): string | undefined {
  if (check !== 'isr_isrvec_stk_out_of_sync') return RULE[check];
  const state = snapshot as Readonly<Record<string, unknown>>;
  // vlapic_update_ppr: every ISR bit, lowest vector first, must match the stack from the bottom up
  // (src/core/apic/isrvecStack.ts).
  const isr = numbers(state.isr);
  const stk = numbers(state.isrvecStk);
  const missing = isr.filter((v) => !stk.includes(v));
  const svi = typeof state.svi === 'number' ? state.svi : 0;
  const parts = [
    `ISR holds ${list(isr)} and isrvec_stk ${list(stk)}: ` +
      (missing.length > 0
        ? `${list(missing)} ${missing.length === 1 ? 'is' : 'are'} in service without a stack entry.`
        : 'the two hold the same vectors in another order.'),
    "bhyve's vlapic pushes isrvec_stk only for the interrupts it injects itself (vlapic_intr_accepted);",
  ];
  if (svi !== 0 && missing.includes(svi))
    parts.push(
      `SVI ${vec(svi)} says the CPU delivered it by virtual-interrupt delivery, setting the ISR bit on the virtual-APIC page alone.`,
    );
  parts.push(
    'vlapic_update_ppr compares the two and panics when they differ (sys/amd64/vmm/io/vlapic.c)' +
      (policy === 'bhyve-tpr-v2'
        ? ': bhyve-tpr-v2 runs it after every exit, also with virtual-interrupt delivery (docs/MODEL.md section 2, "The panic")'
        : ' (docs/MODEL.md section 2, "The panic")'),
  );
  return parts.join(' ');
}
