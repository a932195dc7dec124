import type { VmxCapabilities } from '../cpu/profile.js';
import { priorityClass } from '../apic/vectors.js';
import { ExitControls, PinBased, ProcBased, ProcBased2 } from './controls.js';

/**
 * VM-entry checks on the VMX controls this model uses. Source: Intel SDM vol. 3C, section
 * "Checks on VMX Controls" > "VM-Execution Control Fields" (26.2.1.1 in the 2023 editions).
 * A failing check means VMLAUNCH/VMRESUME fails with VMfailValid, VM-instruction error 7
 * ("VM entry with invalid control field(s)"): the guest does not run.
 */
export const EntryCheck = {
  PIN_BASED_RESERVED: 1 << 0,
  PROC_BASED_RESERVED: 1 << 1,
  PROC_BASED2_RESERVED: 1 << 2,
  EXIT_CONTROLS_RESERVED: 1 << 3,
  TPR_THRESHOLD_RESERVED_BITS: 1 << 4,
  TPR_THRESHOLD_ABOVE_VTPR: 1 << 5,
  APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW: 1 << 6,
  X2APIC_MODE_WITH_APIC_ACCESSES: 1 << 7,
  VID_NEEDS_EXTERNAL_INTERRUPT_EXITING: 1 << 8,
  POSTED_INTERRUPTS_NEED_VID: 1 << 9,
  POSTED_INTERRUPTS_NEED_ACK_ON_EXIT: 1 << 10,
  VIRTUAL_NMIS_NEED_NMI_EXITING: 1 << 11,
  NMI_WINDOW_NEEDS_VIRTUAL_NMIS: 1 << 12,
} as const;

/** The manual's wording of each check, for failure reports. */
export const ENTRY_CHECK_TEXT: Readonly<Record<number, string>> = {
  [EntryCheck.PIN_BASED_RESERVED]:
    'pin-based controls must respect IA32_VMX_(TRUE_)PINBASED_CTLS allowed-0/allowed-1 settings',
  [EntryCheck.PROC_BASED_RESERVED]: 'primary processor-based controls must respect IA32_VMX_(TRUE_)PROCBASED_CTLS',
  [EntryCheck.PROC_BASED2_RESERVED]: 'secondary processor-based controls must respect IA32_VMX_PROCBASED_CTLS2',
  [EntryCheck.EXIT_CONTROLS_RESERVED]: 'VM-exit controls must respect IA32_VMX_(TRUE_)EXIT_CTLS',
  [EntryCheck.TPR_THRESHOLD_RESERVED_BITS]:
    'use TPR shadow = 1 and virtual-interrupt delivery = 0: TPR threshold bits 31:4 must be 0',
  [EntryCheck.TPR_THRESHOLD_ABOVE_VTPR]:
    'use TPR shadow = 1, virtual-interrupt delivery = 0, virtualize APIC accesses = 0: TPR threshold[3:0] must not exceed VTPR[7:4]',
  [EntryCheck.APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW]:
    'use TPR shadow = 0: virtualize x2APIC mode, APIC-register virtualization and virtual-interrupt delivery must be 0',
  [EntryCheck.X2APIC_MODE_WITH_APIC_ACCESSES]: 'virtualize x2APIC mode = 1: virtualize APIC accesses must be 0',
  [EntryCheck.VID_NEEDS_EXTERNAL_INTERRUPT_EXITING]:
    'virtual-interrupt delivery = 1: external-interrupt exiting must be 1',
  [EntryCheck.POSTED_INTERRUPTS_NEED_VID]: 'process posted interrupts = 1: virtual-interrupt delivery must be 1',
  [EntryCheck.POSTED_INTERRUPTS_NEED_ACK_ON_EXIT]:
    'process posted interrupts = 1: acknowledge interrupt on exit must be 1',
  [EntryCheck.VIRTUAL_NMIS_NEED_NMI_EXITING]: 'NMI exiting = 0: virtual NMIs must be 0',
  [EntryCheck.NMI_WINDOW_NEEDS_VIRTUAL_NMIS]: 'virtual NMIs = 0: NMI-window exiting must be 0',
};

function reserved(value: number, allowed0: number, allowed1: number): boolean {
  return (value & allowed0) >>> 0 !== allowed0 >>> 0 || (value & ~allowed1) >>> 0 !== 0;
}

/**
 * Returns a bit set of failed EntryCheck items (0 = entry succeeds). `vtpr` is the virtual-APIC
 * page's TPR byte. Allocation-free, so it can run before every VM entry. The checks on the controls
 * alone (checkVmControls) and those that also read the TPR threshold and VTPR (checkTprThreshold).
 */
export function checkVmEntry(
  caps: VmxCapabilities,
  pin: number,
  proc: number,
  proc2In: number,
  exitCtls: number,
  tprThreshold: number,
  vtpr: number,
): number {
  return checkVmControls(caps, pin, proc, proc2In, exitCtls) | checkTprThreshold(proc, proc2In, tprThreshold, vtpr);
}

/** SDM: if "activate secondary controls" is 0, the processor acts as if every secondary control were 0. */
function effectiveProc2(proc: number, proc2In: number): number {
  return (proc & ProcBased.ActivateSecondaryControls) !== 0 ? proc2In : 0;
}

/**
 * The checks of checkVmEntry that read the controls only: a function of (pin, proc, proc2,
 * exit controls), so a caller may keep its result until one of them changes.
 */
export function checkVmControls(
  caps: VmxCapabilities,
  pin: number,
  proc: number,
  proc2In: number,
  exitCtls: number,
): number {
  let failed = 0;
  const secondary = (proc & ProcBased.ActivateSecondaryControls) !== 0;
  const proc2 = effectiveProc2(proc, proc2In);
  if (reserved(pin, caps.pinBased.allowed0, caps.pinBased.allowed1)) failed |= EntryCheck.PIN_BASED_RESERVED;
  if (reserved(proc, caps.procBased.allowed0, caps.procBased.allowed1)) failed |= EntryCheck.PROC_BASED_RESERVED;
  if (secondary && reserved(proc2, caps.procBased2.allowed0, caps.procBased2.allowed1))
    failed |= EntryCheck.PROC_BASED2_RESERVED;
  if (reserved(exitCtls, caps.exit.allowed0, caps.exit.allowed1)) failed |= EntryCheck.EXIT_CONTROLS_RESERVED;

  const tprShadow = (proc & ProcBased.UseTprShadow) !== 0;
  const vid = (proc2 & ProcBased2.VirtualInterruptDelivery) !== 0;
  const apicAccesses = (proc2 & ProcBased2.VirtualizeApicAccesses) !== 0;
  const x2apicMode = (proc2 & ProcBased2.VirtualizeX2apicMode) !== 0;
  const regVirt = (proc2 & ProcBased2.ApicRegisterVirtualization) !== 0;

  if (!tprShadow && (x2apicMode || regVirt || vid)) failed |= EntryCheck.APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW;
  if (x2apicMode && apicAccesses) failed |= EntryCheck.X2APIC_MODE_WITH_APIC_ACCESSES;
  if (vid && (pin & PinBased.ExternalInterruptExiting) === 0) failed |= EntryCheck.VID_NEEDS_EXTERNAL_INTERRUPT_EXITING;
  if ((pin & PinBased.ProcessPostedInterrupts) !== 0) {
    if (!vid) failed |= EntryCheck.POSTED_INTERRUPTS_NEED_VID;
    if ((exitCtls & ExitControls.AcknowledgeInterruptOnExit) === 0)
      failed |= EntryCheck.POSTED_INTERRUPTS_NEED_ACK_ON_EXIT;
  }
  if ((pin & PinBased.VirtualNmis) !== 0 && (pin & PinBased.NmiExiting) === 0)
    failed |= EntryCheck.VIRTUAL_NMIS_NEED_NMI_EXITING;
  if ((pin & PinBased.VirtualNmis) === 0 && (proc & ProcBased.NmiWindowExiting) !== 0)
    failed |= EntryCheck.NMI_WINDOW_NEEDS_VIRTUAL_NMIS;
  return failed;
}

/** The checks of checkVmEntry on the TPR threshold (use TPR shadow = 1, virtual-interrupt delivery = 0). */
export function checkTprThreshold(proc: number, proc2In: number, tprThreshold: number, vtpr: number): number {
  if ((proc & ProcBased.UseTprShadow) === 0) return 0;
  const proc2 = effectiveProc2(proc, proc2In);
  if ((proc2 & ProcBased2.VirtualInterruptDelivery) !== 0) return 0;
  let failed = 0;
  if ((tprThreshold & ~0xf) !== 0) failed |= EntryCheck.TPR_THRESHOLD_RESERVED_BITS;
  // vmx/apicVirtualization.ts vtprBelowThreshold's comparison, written out: this check runs at every
  // VM entry (VmEntryChecks.failed), and the call cost ~15 instructions per engine event on the idle
  // fleet (bench/instructions.ts --predictable: 6568 against 6553 written out). test/core/vmx/
  // tprThreshold.test.ts holds the two equal for every VTPR and threshold.
  if ((proc2 & ProcBased2.VirtualizeApicAccesses) === 0 && (tprThreshold & 0xf) > priorityClass(vtpr))
    failed |= EntryCheck.TPR_THRESHOLD_ABOVE_VTPR;
  return failed;
}

export function describeEntryFailures(failed: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(EntryCheck)) if ((failed & bit) !== 0) out.push(name);
  return out;
}
