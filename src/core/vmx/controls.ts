/**
 * VMCS execution-control bits, at their architectural positions.
 * Source: Intel SDM vol. 3C, section "VM-Execution Control Fields" (25.6 in the 2023 editions):
 * table "Definitions of Pin-Based VM-Execution Controls", "Definitions of Primary Processor-Based
 * VM-Execution Controls", "Definitions of Secondary Processor-Based VM-Execution Controls";
 * VM-exit controls from "VM-Exit Control Fields" (25.7.1).
 */

/** Pin-based VM-execution controls (SDM table "Definitions of Pin-Based VM-Execution Controls"). */
export const PinBased = {
  ExternalInterruptExiting: 1 << 0,
  NmiExiting: 1 << 3,
  VirtualNmis: 1 << 5,
  ActivateVmxPreemptionTimer: 1 << 6,
  ProcessPostedInterrupts: 1 << 7,
} as const;

/** Primary processor-based VM-execution controls. */
export const ProcBased = {
  InterruptWindowExiting: 1 << 2,
  UseTscOffsetting: 1 << 3,
  HltExiting: 1 << 7,
  InvlpgExiting: 1 << 9,
  MwaitExiting: 1 << 10,
  RdpmcExiting: 1 << 11,
  RdtscExiting: 1 << 12,
  Cr3LoadExiting: 1 << 15,
  Cr3StoreExiting: 1 << 16,
  Cr8LoadExiting: 1 << 19,
  Cr8StoreExiting: 1 << 20,
  UseTprShadow: 1 << 21,
  NmiWindowExiting: 1 << 22,
  MovDrExiting: 1 << 23,
  UnconditionalIoExiting: 1 << 24,
  UseIoBitmaps: 1 << 25,
  MonitorTrapFlag: 1 << 27,
  UseMsrBitmaps: 1 << 28,
  MonitorExiting: 1 << 29,
  PauseExiting: 1 << 30,
  ActivateSecondaryControls: (1 << 31) >>> 0,
} as const;

/** Secondary processor-based VM-execution controls. */
export const ProcBased2 = {
  VirtualizeApicAccesses: 1 << 0,
  EnableEpt: 1 << 1,
  DescriptorTableExiting: 1 << 2,
  EnableRdtscp: 1 << 3,
  VirtualizeX2apicMode: 1 << 4,
  EnableVpid: 1 << 5,
  WbinvdExiting: 1 << 6,
  UnrestrictedGuest: 1 << 7,
  ApicRegisterVirtualization: 1 << 8,
  VirtualInterruptDelivery: 1 << 9,
  PauseLoopExiting: 1 << 10,
  RdrandExiting: 1 << 11,
  EnableInvpcid: 1 << 12,
  EnableVmFunctions: 1 << 13,
  VmcsShadowing: 1 << 14,
  RdseedExiting: 1 << 16,
  EnablePml: 1 << 17,
  EptViolationVe: 1 << 18,
  EnableXsaves: 1 << 20,
} as const;

/** VM-exit controls (SDM "VM-Exit Controls"). */
export const ExitControls = {
  HostAddressSpaceSize: 1 << 9,
  AcknowledgeInterruptOnExit: 1 << 15,
  SavePat: 1 << 18,
  LoadPat: 1 << 19,
  SaveEfer: 1 << 20,
  LoadEfer: 1 << 21,
  SaveVmxPreemptionTimer: 1 << 22,
} as const;

/**
 * "Default1" bits: reserved bits that read as 1 in the non-TRUE capability MSRs (SDM appendix A.2,
 * "Reserved Controls and Default Settings"). Without TRUE_ MSRs a VMM must keep them set.
 */
export const Default1 = {
  pinBased: (1 << 1) | (1 << 2) | (1 << 4),
  procBased:
    (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 13) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 26),
  procBased2: 0,
  exit: 0x36dff,
} as const;

export type ControlWord = 'pinBased' | 'procBased' | 'procBased2' | 'exit';

/** Manual names for every named bit, for traces, errors and importers. */
export const CONTROL_NAMES: Readonly<Record<ControlWord, Readonly<Record<string, number>>>> = {
  pinBased: PinBased,
  procBased: ProcBased,
  procBased2: ProcBased2,
  exit: ExitControls,
};

/** Names of the set bits of a control word, e.g. `["UseTprShadow", "HltExiting"]`. */
export function describeControls(word: ControlWord, value: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(CONTROL_NAMES[word])) {
    if ((value & bit) !== 0) names.push(name);
  }
  return names;
}
