/**
 * VMCS execution-control bits, at their architectural positions.
 * Source: Intel SDM vol. 3C, section "VM-Execution Control Fields" (25.6 in the 2023 editions):
 * table "Definitions of Pin-Based VM-Execution Controls", "Definitions of Primary Processor-Based
 * VM-Execution Controls", "Definitions of Secondary Processor-Based VM-Execution Controls";
 * VM-exit controls from "VM-Exit Control Fields" (25.7.1).
 *
 * The bits are const enums, so the rules' tests of them compile to literals; CONTROL_NAMES is their
 * table by name for scenarios, traces and importers. The one home of control bit positions: bits no
 * rule of the model reads are named too, for the profile importers (src/profiles) that read them
 * from capability dumps.
 */

/** Pin-based VM-execution controls (SDM table "Definitions of Pin-Based VM-Execution Controls"). */
export const enum PinBased {
  ExternalInterruptExiting = 1 << 0,
  NmiExiting = 1 << 3,
  VirtualNmis = 1 << 5,
  ActivateVmxPreemptionTimer = 1 << 6,
  ProcessPostedInterrupts = 1 << 7,
}

/** Primary processor-based VM-execution controls. */
export const enum ProcBased {
  InterruptWindowExiting = 1 << 2,
  UseTscOffsetting = 1 << 3,
  HltExiting = 1 << 7,
  InvlpgExiting = 1 << 9,
  MwaitExiting = 1 << 10,
  RdpmcExiting = 1 << 11,
  RdtscExiting = 1 << 12,
  Cr3LoadExiting = 1 << 15,
  Cr3StoreExiting = 1 << 16,
  Cr8LoadExiting = 1 << 19,
  Cr8StoreExiting = 1 << 20,
  UseTprShadow = 1 << 21,
  NmiWindowExiting = 1 << 22,
  MovDrExiting = 1 << 23,
  UnconditionalIoExiting = 1 << 24,
  UseIoBitmaps = 1 << 25,
  MonitorTrapFlag = 1 << 27,
  UseMsrBitmaps = 1 << 28,
  MonitorExiting = 1 << 29,
  PauseExiting = 1 << 30,
  ActivateSecondaryControls = (1 << 31) >>> 0,
}

/** Secondary processor-based VM-execution controls. */
export const enum ProcBased2 {
  VirtualizeApicAccesses = 1 << 0,
  EnableEpt = 1 << 1,
  DescriptorTableExiting = 1 << 2,
  EnableRdtscp = 1 << 3,
  VirtualizeX2apicMode = 1 << 4,
  EnableVpid = 1 << 5,
  WbinvdExiting = 1 << 6,
  UnrestrictedGuest = 1 << 7,
  ApicRegisterVirtualization = 1 << 8,
  VirtualInterruptDelivery = 1 << 9,
  PauseLoopExiting = 1 << 10,
  RdrandExiting = 1 << 11,
  EnableInvpcid = 1 << 12,
  EnableVmFunctions = 1 << 13,
  VmcsShadowing = 1 << 14,
  EnclsExiting = 1 << 15,
  RdseedExiting = 1 << 16,
  EnablePml = 1 << 17,
  EptViolationVe = 1 << 18,
  ConcealVmxFromPt = 1 << 19,
  EnableXsaves = 1 << 20,
  ModeBasedEptExecute = 1 << 22,
  PtUsesGuestPhysical = 1 << 24,
  UseTscScaling = 1 << 25,
  EnableUserWaitPause = 1 << 26,
  EnclvExiting = 1 << 28,
  BusLockDetection = 1 << 30,
  NotifyVmExiting = (1 << 31) >>> 0,
}

/** VM-exit controls (SDM "VM-Exit Controls"). */
export const enum ExitControls {
  HostAddressSpaceSize = 1 << 9,
  LoadPerfGlobalCtrl = 1 << 12,
  AcknowledgeInterruptOnExit = 1 << 15,
  SavePat = 1 << 18,
  LoadPat = 1 << 19,
  SaveEfer = 1 << 20,
  LoadEfer = 1 << 21,
  SaveVmxPreemptionTimer = 1 << 22,
  ClearBndcfgs = 1 << 23,
  ConcealVmxFromPt = 1 << 24,
}

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

/**
 * A control word's bits by their manual names, every member of its const enum (the mapped type
 * refuses a missing name or a name bound to another bit).
 */
type NamedBits<E> = { readonly [K in keyof E & string]: E[K] };

const PIN_BASED_NAMES: NamedBits<typeof PinBased> = {
  ExternalInterruptExiting: PinBased.ExternalInterruptExiting,
  NmiExiting: PinBased.NmiExiting,
  VirtualNmis: PinBased.VirtualNmis,
  ActivateVmxPreemptionTimer: PinBased.ActivateVmxPreemptionTimer,
  ProcessPostedInterrupts: PinBased.ProcessPostedInterrupts,
};

const PROC_BASED_NAMES: NamedBits<typeof ProcBased> = {
  InterruptWindowExiting: ProcBased.InterruptWindowExiting,
  UseTscOffsetting: ProcBased.UseTscOffsetting,
  HltExiting: ProcBased.HltExiting,
  InvlpgExiting: ProcBased.InvlpgExiting,
  MwaitExiting: ProcBased.MwaitExiting,
  RdpmcExiting: ProcBased.RdpmcExiting,
  RdtscExiting: ProcBased.RdtscExiting,
  Cr3LoadExiting: ProcBased.Cr3LoadExiting,
  Cr3StoreExiting: ProcBased.Cr3StoreExiting,
  Cr8LoadExiting: ProcBased.Cr8LoadExiting,
  Cr8StoreExiting: ProcBased.Cr8StoreExiting,
  UseTprShadow: ProcBased.UseTprShadow,
  NmiWindowExiting: ProcBased.NmiWindowExiting,
  MovDrExiting: ProcBased.MovDrExiting,
  UnconditionalIoExiting: ProcBased.UnconditionalIoExiting,
  UseIoBitmaps: ProcBased.UseIoBitmaps,
  MonitorTrapFlag: ProcBased.MonitorTrapFlag,
  UseMsrBitmaps: ProcBased.UseMsrBitmaps,
  MonitorExiting: ProcBased.MonitorExiting,
  PauseExiting: ProcBased.PauseExiting,
  ActivateSecondaryControls: ProcBased.ActivateSecondaryControls,
};

const PROC_BASED2_NAMES: NamedBits<typeof ProcBased2> = {
  VirtualizeApicAccesses: ProcBased2.VirtualizeApicAccesses,
  EnableEpt: ProcBased2.EnableEpt,
  DescriptorTableExiting: ProcBased2.DescriptorTableExiting,
  EnableRdtscp: ProcBased2.EnableRdtscp,
  VirtualizeX2apicMode: ProcBased2.VirtualizeX2apicMode,
  EnableVpid: ProcBased2.EnableVpid,
  WbinvdExiting: ProcBased2.WbinvdExiting,
  UnrestrictedGuest: ProcBased2.UnrestrictedGuest,
  ApicRegisterVirtualization: ProcBased2.ApicRegisterVirtualization,
  VirtualInterruptDelivery: ProcBased2.VirtualInterruptDelivery,
  PauseLoopExiting: ProcBased2.PauseLoopExiting,
  RdrandExiting: ProcBased2.RdrandExiting,
  EnableInvpcid: ProcBased2.EnableInvpcid,
  EnableVmFunctions: ProcBased2.EnableVmFunctions,
  VmcsShadowing: ProcBased2.VmcsShadowing,
  EnclsExiting: ProcBased2.EnclsExiting,
  RdseedExiting: ProcBased2.RdseedExiting,
  EnablePml: ProcBased2.EnablePml,
  EptViolationVe: ProcBased2.EptViolationVe,
  ConcealVmxFromPt: ProcBased2.ConcealVmxFromPt,
  EnableXsaves: ProcBased2.EnableXsaves,
  ModeBasedEptExecute: ProcBased2.ModeBasedEptExecute,
  PtUsesGuestPhysical: ProcBased2.PtUsesGuestPhysical,
  UseTscScaling: ProcBased2.UseTscScaling,
  EnableUserWaitPause: ProcBased2.EnableUserWaitPause,
  EnclvExiting: ProcBased2.EnclvExiting,
  BusLockDetection: ProcBased2.BusLockDetection,
  NotifyVmExiting: ProcBased2.NotifyVmExiting,
};

const EXIT_CONTROLS_NAMES: NamedBits<typeof ExitControls> = {
  HostAddressSpaceSize: ExitControls.HostAddressSpaceSize,
  LoadPerfGlobalCtrl: ExitControls.LoadPerfGlobalCtrl,
  AcknowledgeInterruptOnExit: ExitControls.AcknowledgeInterruptOnExit,
  SavePat: ExitControls.SavePat,
  LoadPat: ExitControls.LoadPat,
  SaveEfer: ExitControls.SaveEfer,
  LoadEfer: ExitControls.LoadEfer,
  SaveVmxPreemptionTimer: ExitControls.SaveVmxPreemptionTimer,
  ClearBndcfgs: ExitControls.ClearBndcfgs,
  ConcealVmxFromPt: ExitControls.ConcealVmxFromPt,
};

/** Manual names for every named bit, for traces, errors and importers. */
export const CONTROL_NAMES: Readonly<Record<ControlWord, Readonly<Record<string, number>>>> = {
  pinBased: PIN_BASED_NAMES,
  procBased: PROC_BASED_NAMES,
  procBased2: PROC_BASED2_NAMES,
  exit: EXIT_CONTROLS_NAMES,
};
