import { ExitReason, EXIT_REASON_NAMES } from '../vmx/exitReasons.js';
import { SvmExitCode, SVM_EXIT_NAMES } from '../svm/exitCodes.js';
import type { Vendor } from '../cpu/profile.js';

/**
 * Dense "exit slots": every exit kind the model can produce gets a small index, so counters are
 * flat typed arrays (vCPU x slot). The slot keeps the architectural code (VT-x basic exit reason or
 * SVM exit code) and the manual's name.
 */
export interface ExitKind {
  readonly slot: number;
  readonly vendor: Vendor;
  readonly code: number;
  readonly name: string;
  /**
   * A guest model or scripted operation can cause it. The others only come from workload profiles'
   * opaque exits; metrics pre-create their series only for variants with workload guests.
   */
  readonly modelled: boolean;
}

const INTEL_CODES = [
  ExitReason.ExceptionOrNmi,
  ExitReason.ExternalInterrupt,
  ExitReason.InterruptWindow,
  ExitReason.Cpuid,
  ExitReason.Hlt,
  ExitReason.CrAccess,
  ExitReason.IoInstruction,
  ExitReason.MsrRead,
  ExitReason.MsrWrite,
  ExitReason.Pause,
  ExitReason.TprBelowThreshold,
  ExitReason.ApicAccess,
  ExitReason.VirtualizedEoi,
  ExitReason.EptViolation,
  ExitReason.ApicWrite,
] as const;

const INTEL_OPAQUE_CODES = [
  // Exits the guest models never cause but imported workload profiles carry as measured
  // ("opaque" exits: the same count under every policy; docs/IMPORT.md).
  ExitReason.NmiWindow,
  ExitReason.Invlpg,
  ExitReason.Rdpmc,
  ExitReason.Rdtsc,
  ExitReason.Vmcall,
  ExitReason.DrAccess,
  ExitReason.Mwait,
  ExitReason.Monitor,
  ExitReason.EptMisconfig,
  ExitReason.VmxPreemptionTimer,
  ExitReason.Wbinvd,
  ExitReason.Xsetbv,
] as const;

const AMD_CODES = [
  SvmExitCode.Cr8Read,
  SvmExitCode.Cr8Write,
  SvmExitCode.Intr,
  SvmExitCode.Vintr,
  SvmExitCode.Cpuid,
  SvmExitCode.Hlt,
  SvmExitCode.IoIo,
  SvmExitCode.Msr,
  SvmExitCode.Npf,
  SvmExitCode.AvicIncompleteIpi,
  SvmExitCode.AvicNoAccel,
] as const;

/** As INTEL_OPAQUE_CODES, for SVM. */
const AMD_OPAQUE_CODES = [
  SvmExitCode.Nmi,
  SvmExitCode.Rdtsc,
  SvmExitCode.Rdpmc,
  SvmExitCode.Pause,
  SvmExitCode.Shutdown,
  SvmExitCode.Vmmcall,
  SvmExitCode.Wbinvd,
  SvmExitCode.Xsetbv,
] as const;

const ORDERED: readonly { vendor: 'intel' | 'amd'; code: number; modelled: boolean }[] = [
  ...INTEL_CODES.map((code) => ({ vendor: 'intel' as const, code, modelled: true })),
  ...AMD_CODES.map((code) => ({ vendor: 'amd' as const, code, modelled: true })),
  ...INTEL_OPAQUE_CODES.map((code) => ({ vendor: 'intel' as const, code, modelled: false })),
  ...AMD_OPAQUE_CODES.map((code) => ({ vendor: 'amd' as const, code, modelled: false })),
];

export const EXIT_KINDS: readonly ExitKind[] = ORDERED.map((e, slot) => ({
  slot,
  vendor: e.vendor,
  code: e.code,
  modelled: e.modelled,
  name: e.vendor === 'intel' ? EXIT_REASON_NAMES[e.code] : SVM_EXIT_NAMES[e.code],
}));

export const EXIT_SLOT_COUNT = EXIT_KINDS.length;

function slotOf(vendor: Vendor, code: number): number {
  const k = EXIT_KINDS.find((e) => e.vendor === vendor && e.code === code);
  if (!k) throw new Error(`no exit slot for ${vendor} code ${code}`);
  return k.slot;
}

/** Slot constants used by the machine's hot paths. */
export const Slot = {
  EXCEPTION_NMI: slotOf('intel', ExitReason.ExceptionOrNmi),
  EXTERNAL_INTERRUPT: slotOf('intel', ExitReason.ExternalInterrupt),
  INTERRUPT_WINDOW: slotOf('intel', ExitReason.InterruptWindow),
  CPUID: slotOf('intel', ExitReason.Cpuid),
  HLT: slotOf('intel', ExitReason.Hlt),
  CR_ACCESS: slotOf('intel', ExitReason.CrAccess),
  IO_INSTRUCTION: slotOf('intel', ExitReason.IoInstruction),
  MSR_READ: slotOf('intel', ExitReason.MsrRead),
  MSR_WRITE: slotOf('intel', ExitReason.MsrWrite),
  PAUSE: slotOf('intel', ExitReason.Pause),
  TPR_BELOW_THRESHOLD: slotOf('intel', ExitReason.TprBelowThreshold),
  APIC_ACCESS: slotOf('intel', ExitReason.ApicAccess),
  VIRTUALIZED_EOI: slotOf('intel', ExitReason.VirtualizedEoi),
  EPT_VIOLATION: slotOf('intel', ExitReason.EptViolation),
  APIC_WRITE: slotOf('intel', ExitReason.ApicWrite),
  VMEXIT_CR8_READ: slotOf('amd', SvmExitCode.Cr8Read),
  VMEXIT_CR8_WRITE: slotOf('amd', SvmExitCode.Cr8Write),
  VMEXIT_INTR: slotOf('amd', SvmExitCode.Intr),
  VMEXIT_VINTR: slotOf('amd', SvmExitCode.Vintr),
  VMEXIT_CPUID: slotOf('amd', SvmExitCode.Cpuid),
  VMEXIT_HLT: slotOf('amd', SvmExitCode.Hlt),
  VMEXIT_IOIO: slotOf('amd', SvmExitCode.IoIo),
  VMEXIT_MSR: slotOf('amd', SvmExitCode.Msr),
  VMEXIT_NPF: slotOf('amd', SvmExitCode.Npf),
  VMEXIT_AVIC_INCOMPLETE_IPI: slotOf('amd', SvmExitCode.AvicIncompleteIpi),
  VMEXIT_AVIC_NOACCEL: slotOf('amd', SvmExitCode.AvicNoAccel),
} as const;

export function exitKindByName(name: string): ExitKind | undefined {
  return EXIT_KINDS.find((k) => k.name === name);
}

/** Exit kinds per vendor, in slot order: a vCPU only ever counts its own vendor's exits. */
export const VENDOR_SLOTS: Readonly<Record<Vendor, readonly number[]>> = {
  intel: EXIT_KINDS.filter((k) => k.vendor === 'intel').map((k) => k.slot),
  amd: EXIT_KINDS.filter((k) => k.vendor === 'amd').map((k) => k.slot),
};

/** Index of a slot among its vendor's slots (per-vCPU counters are stored that densely). */
export const LOCAL_SLOT: Int8Array = (() => {
  const a = new Int8Array(EXIT_SLOT_COUNT);
  for (const v of ['intel', 'amd'] as const)
    VENDOR_SLOTS[v].forEach((slot, i) => {
      a[slot] = i;
    });
  return a;
})();
