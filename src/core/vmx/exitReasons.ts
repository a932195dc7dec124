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

/** Upper-snake-case names used in traces, results.json and metrics labels. */
export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  0: 'EXCEPTION_NMI',
  1: 'EXTERNAL_INTERRUPT',
  2: 'TRIPLE_FAULT',
  3: 'INIT_SIGNAL',
  4: 'STARTUP_IPI',
  7: 'INTERRUPT_WINDOW',
  8: 'NMI_WINDOW',
  9: 'TASK_SWITCH',
  10: 'CPUID',
  12: 'HLT',
  14: 'INVLPG',
  15: 'RDPMC',
  16: 'RDTSC',
  18: 'VMCALL',
  28: 'CR_ACCESS',
  29: 'DR_ACCESS',
  30: 'IO_INSTRUCTION',
  31: 'MSR_READ',
  32: 'MSR_WRITE',
  33: 'ENTRY_FAIL_GUEST_STATE',
  34: 'ENTRY_FAIL_MSR_LOADING',
  36: 'MWAIT',
  37: 'MONITOR_TRAP_FLAG',
  39: 'MONITOR',
  40: 'PAUSE',
  41: 'ENTRY_FAIL_MACHINE_CHECK',
  43: 'TPR_BELOW_THRESHOLD',
  44: 'APIC_ACCESS',
  45: 'VIRTUALIZED_EOI',
  48: 'EPT_VIOLATION',
  49: 'EPT_MISCONFIG',
  52: 'VMX_PREEMPTION_TIMER',
  54: 'WBINVD',
  55: 'XSETBV',
  56: 'APIC_WRITE',
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
