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
   * A guest model or scripted operation can cause it. The others come from workload profiles'
   * opaque exits - and #VMEXIT_PAUSE from the lock-spin phase too (SVM_PAUSE_SLOT); metrics
   * pre-create their series only for variants with workload guests.
   */
  readonly modelled: boolean;
}

/**
 * The slots of the exits guest models and scripts cause, first in slot order (the opaque ones
 * follow): a const enum, so the machine's hot paths use literals. MODELLED binds each to its code.
 */
export const enum Slot {
  EXCEPTION_NMI = 0,
  EXTERNAL_INTERRUPT = 1,
  INTERRUPT_WINDOW = 2,
  CPUID = 3,
  HLT = 4,
  CR_ACCESS = 5,
  IO_INSTRUCTION = 6,
  MSR_READ = 7,
  MSR_WRITE = 8,
  PAUSE = 9,
  TPR_BELOW_THRESHOLD = 10,
  APIC_ACCESS = 11,
  VIRTUALIZED_EOI = 12,
  EPT_VIOLATION = 13,
  APIC_WRITE = 14,
  VMEXIT_CR8_READ = 15,
  VMEXIT_CR8_WRITE = 16,
  VMEXIT_INTR = 17,
  VMEXIT_VINTR = 18,
  VMEXIT_CPUID = 19,
  VMEXIT_HLT = 20,
  VMEXIT_IOIO = 21,
  VMEXIT_MSR = 22,
  VMEXIT_NPF = 23,
  VMEXIT_AVIC_INCOMPLETE_IPI = 24,
  VMEXIT_AVIC_NOACCEL = 25,
  /** KVM's device MMIO (MMIO SPTEs: hypervisor/policy.ts mmioExitSlot). */
  EPT_MISCONFIG = 26,
  /** KVM's guest timer on the VMX-preemption timer (Machine.guestTimerExpires). */
  VMX_PREEMPTION_TIMER = 27,
}

/** The modelled kinds in slot order: a slot, its vendor and its architectural code. */
const MODELLED: readonly (readonly [Slot, Vendor, number])[] = [
  [Slot.EXCEPTION_NMI, 'intel', ExitReason.ExceptionOrNmi],
  [Slot.EXTERNAL_INTERRUPT, 'intel', ExitReason.ExternalInterrupt],
  [Slot.INTERRUPT_WINDOW, 'intel', ExitReason.InterruptWindow],
  [Slot.CPUID, 'intel', ExitReason.Cpuid],
  [Slot.HLT, 'intel', ExitReason.Hlt],
  [Slot.CR_ACCESS, 'intel', ExitReason.CrAccess],
  [Slot.IO_INSTRUCTION, 'intel', ExitReason.IoInstruction],
  [Slot.MSR_READ, 'intel', ExitReason.MsrRead],
  [Slot.MSR_WRITE, 'intel', ExitReason.MsrWrite],
  [Slot.PAUSE, 'intel', ExitReason.Pause],
  [Slot.TPR_BELOW_THRESHOLD, 'intel', ExitReason.TprBelowThreshold],
  [Slot.APIC_ACCESS, 'intel', ExitReason.ApicAccess],
  [Slot.VIRTUALIZED_EOI, 'intel', ExitReason.VirtualizedEoi],
  [Slot.EPT_VIOLATION, 'intel', ExitReason.EptViolation],
  [Slot.APIC_WRITE, 'intel', ExitReason.ApicWrite],
  [Slot.VMEXIT_CR8_READ, 'amd', SvmExitCode.Cr8Read],
  [Slot.VMEXIT_CR8_WRITE, 'amd', SvmExitCode.Cr8Write],
  [Slot.VMEXIT_INTR, 'amd', SvmExitCode.Intr],
  [Slot.VMEXIT_VINTR, 'amd', SvmExitCode.Vintr],
  [Slot.VMEXIT_CPUID, 'amd', SvmExitCode.Cpuid],
  [Slot.VMEXIT_HLT, 'amd', SvmExitCode.Hlt],
  [Slot.VMEXIT_IOIO, 'amd', SvmExitCode.IoIo],
  [Slot.VMEXIT_MSR, 'amd', SvmExitCode.Msr],
  [Slot.VMEXIT_NPF, 'amd', SvmExitCode.Npf],
  [Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 'amd', SvmExitCode.AvicIncompleteIpi],
  [Slot.VMEXIT_AVIC_NOACCEL, 'amd', SvmExitCode.AvicNoAccel],
  [Slot.EPT_MISCONFIG, 'intel', ExitReason.EptMisconfig],
  [Slot.VMX_PREEMPTION_TIMER, 'intel', ExitReason.VmxPreemptionTimer],
];

const INTEL_OPAQUE_CODES = [
  // Exits the guest models never cause but imported workload profiles carry as measured ("opaque"
  // exits: the measured rate wherever the target can take them, hypervisor/opaqueExits.ts;
  // docs/IMPORT.md).
  ExitReason.NmiWindow,
  ExitReason.Invlpg,
  ExitReason.Rdpmc,
  ExitReason.Rdtsc,
  ExitReason.Vmcall,
  ExitReason.DrAccess,
  ExitReason.Mwait,
  ExitReason.Monitor,
  ExitReason.Wbinvd,
  ExitReason.Xsetbv,
] as const;

/**
 * As INTEL_OPAQUE_CODES, for SVM - except Pause: the pause filter makes the lock-spin phase cause it
 * too (SVM_PAUSE_SLOT, guests/spin.ts), though its kind stays `modelled: false`.
 */
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

const ORDERED: readonly { vendor: Vendor; code: number; modelled: boolean }[] = [
  ...MODELLED.map(([slot, vendor, code], i: Slot) => {
    if (slot !== i) throw new Error(`Slot ${slot} listed at ${i}: MODELLED must follow the Slot order`);
    return { vendor, code, modelled: true };
  }),
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

export function exitKindByName(name: string): ExitKind | undefined {
  return EXIT_KINDS.find((k) => k.name === name);
}

/** The slot of SVM's #VMEXIT_PAUSE: opaque for imported profiles, and what the pause filter causes (guests/spin.ts). */
export const SVM_PAUSE_SLOT: number = EXIT_KINDS.findIndex((k) => k.vendor === 'amd' && k.code === SvmExitCode.Pause);

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

/**
 * Exit qualification of a guest xAPIC MMIO access at `offset` that exits in `slot`:
 * - APIC-access: the offset, access type 1 for a linear write (SDM "Exit Qualification for
 *   APIC-Access VM Exits"); APIC-write and AVIC_NOACCEL: the offset;
 * - EPT violations: 0;
 * - SVM nested page faults: the offset on reads, 0 on writes — as the model has always reported them.
 */
export function apicAccessQualification(slot: Slot, offset: number, write: boolean): number {
  switch (slot) {
    case Slot.APIC_ACCESS:
      return write ? offset | (1 << 12) : offset;
    case Slot.APIC_WRITE:
    case Slot.VMEXIT_AVIC_NOACCEL:
      return offset;
    case Slot.VMEXIT_NPF:
      return write ? 0 : offset;
    default:
      return 0;
  }
}
