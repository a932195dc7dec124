/**
 * One name for the same kind of exit on both vendors, so a workload measured on an Intel host and
 * run on an AMD one (what-if) compares like with like instead of "EXTERNAL_INTERRUPT -100 %,
 * VMEXIT_INTR new". Every exit kind of the model (src/core/vcpu/exits.ts) has exactly one common
 * name; a kind only one vendor has keeps a name of its own.
 *
 * The pairs follow the manuals' definitions (Intel SDM vol. 3 appendix C "VMX Basic Exit Reasons",
 * AMD APM vol. 2 appendix C "SVM Intercept Exit Codes") and what the model and KVM use them for:
 *  - cr8: without a TPR shadow a MOV to or from CR8 exits as CR_ACCESS (Intel, any control
 *    register; the guests' CR traffic in the model is CR8) and as VMEXIT_CR8_READ / _WRITE (AMD).
 *  - mmio: an access to an emulated device page exits as EPT_VIOLATION (or EPT_MISCONFIG, how KVM
 *    marks MMIO pages) on Intel and as VMEXIT_NPF on AMD (docs/IMPORT.md; src/core/hypervisor/opaqueExits.ts
 *    maps opaque EPT_MISCONFIG to VMEXIT_NPF the same way).
 *  - apic: LAPIC accesses the CPU does not virtualize: APIC_ACCESS, APIC_WRITE and the EOI-induced
 *    VIRTUALIZED_EOI with APICv; VMEXIT_AVIC_NOACCEL with AVIC (its EOIs included).
 *  - nmi: EXCEPTION_NMI (Intel also counts exceptions there) and VMEXIT_NMI.
 */
import { EXIT_KINDS } from '../core/vcpu/exits.js';

export interface CommonExitName {
  /** The common name: lower case, short enough for a table column. */
  readonly name: string;
  /** What it is, in a few words. */
  readonly what: string;
  /** The model's exit kinds of each vendor counted under it (results.json names). */
  readonly intel: readonly string[];
  readonly amd: readonly string[];
}

export const COMMON_EXIT_NAMES: readonly CommonExitName[] = [
  { name: 'cr8', what: 'MOV to/from %cr8 (TPR)', intel: ['CR_ACCESS'], amd: ['VMEXIT_CR8_READ', 'VMEXIT_CR8_WRITE'] },
  { name: 'intr', what: 'external (host) interrupt', intel: ['EXTERNAL_INTERRUPT'], amd: ['VMEXIT_INTR'] },
  { name: 'irq-window', what: 'interrupt window opened', intel: ['INTERRUPT_WINDOW'], amd: ['VMEXIT_VINTR'] },
  { name: 'msr', what: 'RDMSR/WRMSR', intel: ['MSR_READ', 'MSR_WRITE'], amd: ['VMEXIT_MSR'] },
  { name: 'mmio', what: 'emulated device memory', intel: ['EPT_VIOLATION', 'EPT_MISCONFIG'], amd: ['VMEXIT_NPF'] },
  {
    name: 'apic',
    what: 'LAPIC access not virtualized',
    intel: ['APIC_ACCESS', 'APIC_WRITE', 'VIRTUALIZED_EOI'],
    amd: ['VMEXIT_AVIC_NOACCEL'],
  },
  { name: 'hlt', what: 'HLT', intel: ['HLT'], amd: ['VMEXIT_HLT'] },
  { name: 'io', what: 'port I/O', intel: ['IO_INSTRUCTION'], amd: ['VMEXIT_IOIO'] },
  { name: 'cpuid', what: 'CPUID', intel: ['CPUID'], amd: ['VMEXIT_CPUID'] },
  { name: 'pause', what: 'PAUSE (spin loops)', intel: ['PAUSE'], amd: ['VMEXIT_PAUSE'] },
  { name: 'nmi', what: 'NMI (Intel: or exception)', intel: ['EXCEPTION_NMI'], amd: ['VMEXIT_NMI'] },
  { name: 'tpr-threshold', what: 'TPR below threshold', intel: ['TPR_BELOW_THRESHOLD'], amd: [] },
  { name: 'ipi', what: 'AVIC IPI to a vCPU not running', intel: [], amd: ['VMEXIT_AVIC_INCOMPLETE_IPI'] },
  { name: 'timer', what: 'VMX preemption timer', intel: ['VMX_PREEMPTION_TIMER'], amd: [] },
  { name: 'nmi-window', what: 'NMI window opened', intel: ['NMI_WINDOW'], amd: [] },
  { name: 'rdtsc', what: 'RDTSC', intel: ['RDTSC'], amd: ['VMEXIT_RDTSC'] },
  { name: 'rdpmc', what: 'RDPMC', intel: ['RDPMC'], amd: ['VMEXIT_RDPMC'] },
  { name: 'hypercall', what: 'VMCALL/VMMCALL', intel: ['VMCALL'], amd: ['VMEXIT_VMMCALL'] },
  { name: 'wbinvd', what: 'WBINVD', intel: ['WBINVD'], amd: ['VMEXIT_WBINVD'] },
  { name: 'xsetbv', what: 'XSETBV', intel: ['XSETBV'], amd: ['VMEXIT_XSETBV'] },
  { name: 'invlpg', what: 'INVLPG', intel: ['INVLPG'], amd: [] },
  { name: 'dr', what: 'debug register access', intel: ['DR_ACCESS'], amd: [] },
  { name: 'monitor', what: 'MONITOR', intel: ['MONITOR'], amd: [] },
  { name: 'mwait', what: 'MWAIT', intel: ['MWAIT'], amd: [] },
  { name: 'shutdown', what: 'shutdown (triple fault)', intel: [], amd: ['VMEXIT_SHUTDOWN'] },
];

const BY_EXIT = new Map<string, CommonExitName>(
  COMMON_EXIT_NAMES.flatMap((c) => [...c.intel, ...c.amd].map((n) => [n, c] as const)),
);

/** The common name of a model exit kind (results.json name); the name itself when it has none. */
export function commonExitName(exit: string): string {
  return BY_EXIT.get(exit)?.name ?? exit;
}

/** The entry of a common name. */
export function commonExitEntry(name: string): CommonExitName | undefined {
  return COMMON_EXIT_NAMES.find((c) => c.name === name);
}

/** Rates (or counts) by exit kind, summed by common name. */
export function byCommonName(values: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [exit, x] of Object.entries(values)) {
    const c = commonExitName(exit);
    out[c] = (out[c] ?? 0) + x;
  }
  return out;
}

/** Exit kinds of the model without a common name (a test keeps this empty). */
export function exitKindsWithoutCommonName(): string[] {
  return EXIT_KINDS.map((k) => k.name).filter((n) => !BY_EXIT.has(n));
}
