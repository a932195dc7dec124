/**
 * VMX basic exit reasons. Source: Intel SDM vol. 3D, appendix C "VMX Basic Exit Reasons"
 * (table C-1). Names are the manual's, in upper snake case, as results.json reports them.
 */
export const ExitReason = {
  ExceptionOrNmi: 0,
  ExternalInterrupt: 1,
  TripleFault: 2,
  InitSignal: 3,
  StartupIpi: 4,
  InterruptWindow: 7,
  NmiWindow: 8,
  TaskSwitch: 9,
  Cpuid: 10,
  Hlt: 12,
  Invlpg: 14,
  Rdpmc: 15,
  Rdtsc: 16,
  Vmcall: 18,
  CrAccess: 28,
  DrAccess: 29,
  IoInstruction: 30,
  MsrRead: 31,
  MsrWrite: 32,
  EntryFailInvalidGuestState: 33,
  EntryFailMsrLoading: 34,
  Mwait: 36,
  MonitorTrapFlag: 37,
  Monitor: 39,
  Pause: 40,
  EntryFailMachineCheck: 41,
  TprBelowThreshold: 43,
  ApicAccess: 44,
  VirtualizedEoi: 45,
  EptViolation: 48,
  EptMisconfig: 49,
  VmxPreemptionTimer: 52,
  Wbinvd: 54,
  Xsetbv: 55,
  ApicWrite: 56,
} as const;

/** Upper-snake-case names used in traces, results.json and metrics labels, by ExitReason (its numbers written once). */
export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  [ExitReason.ExceptionOrNmi]: 'EXCEPTION_NMI',
  [ExitReason.ExternalInterrupt]: 'EXTERNAL_INTERRUPT',
  [ExitReason.TripleFault]: 'TRIPLE_FAULT',
  [ExitReason.InitSignal]: 'INIT_SIGNAL',
  [ExitReason.StartupIpi]: 'STARTUP_IPI',
  [ExitReason.InterruptWindow]: 'INTERRUPT_WINDOW',
  [ExitReason.NmiWindow]: 'NMI_WINDOW',
  [ExitReason.TaskSwitch]: 'TASK_SWITCH',
  [ExitReason.Cpuid]: 'CPUID',
  [ExitReason.Hlt]: 'HLT',
  [ExitReason.Invlpg]: 'INVLPG',
  [ExitReason.Rdpmc]: 'RDPMC',
  [ExitReason.Rdtsc]: 'RDTSC',
  [ExitReason.Vmcall]: 'VMCALL',
  [ExitReason.CrAccess]: 'CR_ACCESS',
  [ExitReason.DrAccess]: 'DR_ACCESS',
  [ExitReason.IoInstruction]: 'IO_INSTRUCTION',
  [ExitReason.MsrRead]: 'MSR_READ',
  [ExitReason.MsrWrite]: 'MSR_WRITE',
  [ExitReason.EntryFailInvalidGuestState]: 'ENTRY_FAIL_GUEST_STATE',
  [ExitReason.EntryFailMsrLoading]: 'ENTRY_FAIL_MSR_LOADING',
  [ExitReason.Mwait]: 'MWAIT',
  [ExitReason.MonitorTrapFlag]: 'MONITOR_TRAP_FLAG',
  [ExitReason.Monitor]: 'MONITOR',
  [ExitReason.Pause]: 'PAUSE',
  [ExitReason.EntryFailMachineCheck]: 'ENTRY_FAIL_MACHINE_CHECK',
  [ExitReason.TprBelowThreshold]: 'TPR_BELOW_THRESHOLD',
  [ExitReason.ApicAccess]: 'APIC_ACCESS',
  [ExitReason.VirtualizedEoi]: 'VIRTUALIZED_EOI',
  [ExitReason.EptViolation]: 'EPT_VIOLATION',
  [ExitReason.EptMisconfig]: 'EPT_MISCONFIG',
  [ExitReason.VmxPreemptionTimer]: 'VMX_PREEMPTION_TIMER',
  [ExitReason.Wbinvd]: 'WBINVD',
  [ExitReason.Xsetbv]: 'XSETBV',
  [ExitReason.ApicWrite]: 'APIC_WRITE',
};

/**
 * Exit qualification for control-register accesses (SDM table "Exit Qualification for
 * Control-Register Accesses"): bits 3:0 CR number, bits 5:4 access type (0 = MOV to CR,
 * 1 = MOV from CR), bits 11:8 general-purpose register.
 */
export const enum CrAccessType {
  MovToCr = 0,
  MovFromCr = 1,
}

export function crAccessQualification(cr: number, accessType: number, gpr: number): number {
  return (cr & 0xf) | ((accessType & 0x3) << 4) | ((gpr & 0xf) << 8);
}

/**
 * VM-instruction error numbers (SDM section "VM Instruction Error Numbers"). A VM entry whose
 * control fields fail the checks of "Checks on VMX Controls" does not enter the guest: VMLAUNCH /
 * VMRESUME fail with VMfailValid and this error number.
 */
export const VmInstructionError = {
  EntryInvalidControlFields: 7,
  EntryInvalidHostStateFields: 8,
} as const;
