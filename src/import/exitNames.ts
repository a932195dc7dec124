/**
 * Exit-reason names as Linux prints them (perf kvm stat, the kvm_exit tracepoint), mapped to the
 * architectural code and, where the model has one, to our exit kind (src/core/vcpu/exits.ts).
 * The tables themselves live in src/input/perfExitNames.ts, shared with the workload profile's
 * reader; they are re-exported here for the importers.
 */
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { KVM_STAT_SVM_EXIT_NAMES, SVM_EXIT_NAMES_LINUX, VMX_EXIT_NAMES } from '../input/perfExitNames.js';
import type { ExitReportRow, ReportVendor } from './report.js';

export { KVM_STAT_SVM_EXIT_NAMES, SVM_EXIT_NAMES_LINUX, VMX_EXIT_NAMES };

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The vendor whose Linux table has this name ('unknown' for neither, e.g. arm64's DABT_LOW or perf's UNKNOWN). */
export function linuxNameVendor(name: string): ReportVendor {
  if (has(VMX_EXIT_NAMES, name)) return 'intel';
  if (has(SVM_EXIT_NAMES_LINUX, name)) return 'amd';
  return 'unknown';
}

/** The code of a printed name in the given vendor's table. */
export function linuxExitCode(vendor: ReportVendor, name: string): number | undefined {
  if (vendor === 'intel') return has(VMX_EXIT_NAMES, name) ? VMX_EXIT_NAMES[name] : undefined;
  if (vendor === 'amd') return has(SVM_EXIT_NAMES_LINUX, name) ? SVM_EXIT_NAMES_LINUX[name] : undefined;
  return undefined;
}

/**
 * Our model's exit-kind name (EXIT_KINDS, the SDM / APM names used in results.json) for a report
 * row, when the model has that kind: e.g. perf's 'EOI_INDUCED' -> 'VIRTUALIZED_EOI', 'msr' ->
 * 'VMEXIT_MSR', 'interrupt' -> 'VMEXIT_INTR', 'PREEMPTION_TIMER' -> 'VMX_PREEMPTION_TIMER' (KVM's guest
 * timer, src/core/vcpu/exits.ts), 'EPT_MISCONFIG' (KVM's device MMIO) and SVM 'pause' -> 'VMEXIT_PAUSE'
 * (the pause filter's exit: guests/spin.ts). Undefined when the row's vendor or code is
 * unknown or EXIT_KINDS has no slot for the code (e.g. RDTSCP, XSAVES, TRIPLE_FAULT, SVM 'read_cr0',
 * 'iret', 'vmrun'): import lists such rows as unknown reasons.
 */
export function modelExitName(row: Pick<ExitReportRow, 'vendor' | 'code'>): string | undefined {
  if (row.code === undefined || row.vendor === 'unknown') return undefined;
  return EXIT_KINDS.find((k) => k.vendor === row.vendor && k.code === row.code)?.name;
}

/**
 * The name perf prints for a code (the current spelling; INTERRUPT_WINDOW rather than the old
 * PENDING_INTERRUPT). Used to render a simulated exit mix as a perf report.
 */
export function linuxExitName(vendor: 'intel' | 'amd', code: number): string | undefined {
  const table = vendor === 'intel' ? VMX_EXIT_NAMES : SVM_EXIT_NAMES_LINUX;
  for (const [name, c] of Object.entries(table)) {
    if (c === code && name !== 'PENDING_INTERRUPT') return name;
  }
  return undefined;
}

/**
 * The vendor a kvm_stat `kvm_exit(NAME)` filter name belongs to: 'unknown' when both of kvm_stat's
 * tables have it (CPUID, HLT, RDTSC, WBINVD, XSETBV, ...) or neither does (e.g. arm64's WFI).
 */
export function kvmStatNameVendor(name: string): ReportVendor {
  const vmx = has(VMX_EXIT_NAMES, name);
  const svm = has(KVM_STAT_SVM_EXIT_NAMES, name);
  return vmx === svm ? 'unknown' : vmx ? 'intel' : 'amd';
}

/** The code of a kvm_stat filter name in the given vendor's table (kvm_stat's spelling). */
export function kvmStatExitCode(vendor: ReportVendor, name: string): number | undefined {
  if (vendor === 'intel') return has(VMX_EXIT_NAMES, name) ? VMX_EXIT_NAMES[name] : undefined;
  if (vendor === 'amd') return has(KVM_STAT_SVM_EXIT_NAMES, name) ? KVM_STAT_SVM_EXIT_NAMES[name] : undefined;
  return undefined;
}
