/**
 * The checks a machine reports as violations, one name each: bhyve's isrvec_stk checks
 * (apic/isrvecStack.ts, the panics of sys/amd64/vmm/io/vlapic.c), the model's own consistency
 * checks (invariants.ts) and an exit the policy has no handler for (core.ts). Scenarios name
 * them in `expect.violations` and thresholds on `violations_total{check}`; the metrics hub
 * pre-creates one series per name. `Broken.check` is typed by this table, so a check cannot be
 * reported without being listed here.
 */
export const VIOLATION_CHECKS = [
  'isrvec_stk_corrupted',
  'isrvec_stk_order',
  'isr_isrvec_stk_out_of_sync',
  'isrvec_stk_overflow',
  'isrvec_stk_underflow',
  'delivered_at_or_below_ppr',
  'svi_not_highest_isr',
  'rvi_below_highest_irr',
  'ppr_below_tpr',
  'unhandled_vm_exit',
] as const;

export type ViolationCheck = (typeof VIOLATION_CHECKS)[number];

/** A broken check: its name and message, as Machine reports it (reports.ts Violation). */
export interface Broken {
  readonly check: ViolationCheck;
  readonly message: string;
}
