/**
 * Local APIC register map. Source: Intel SDM vol. 3A, table "Local APIC Register Address Map"
 * (xAPIC MMIO offsets from the APIC base) and table "Local APIC Register Address Map Supported by
 * x2APIC" (MSR = 0x800 + (offset >> 4)), section "x2APIC Register Address Space".
 */
export const ApicOffset = {
  Id: 0x20,
  Version: 0x30,
  Tpr: 0x80,
  Apr: 0x90,
  Ppr: 0xa0,
  Eoi: 0xb0,
  Rrd: 0xc0,
  Ldr: 0xd0,
  Dfr: 0xe0,
  Svr: 0xf0,
  Isr0: 0x100,
  Tmr0: 0x180,
  Irr0: 0x200,
  Esr: 0x280,
  LvtCmci: 0x2f0,
  IcrLow: 0x300,
  IcrHigh: 0x310,
  LvtTimer: 0x320,
  LvtThermal: 0x330,
  LvtPmc: 0x340,
  LvtLint0: 0x350,
  LvtLint1: 0x360,
  LvtError: 0x370,
  TimerInitialCount: 0x380,
  TimerCurrentCount: 0x390,
  TimerDivideConfig: 0x3e0,
  /** x2APIC only (MSR 0x83F); no MMIO counterpart. */
  SelfIpi: 0x3f0,
} as const;

/**
 * IA32_TSC_DEADLINE (MSR 6E0H): the LAPIC timer's deadline in TSC-deadline mode (SDM vol. 3A,
 * "TSC-Deadline Mode"). Not in the x2APIC range: an architectural MSR of its own.
 */
export const IA32_TSC_DEADLINE = 0x6e0;

export const X2apicMsr = {
  Base: 0x800,
  Id: 0x802,
  Version: 0x803,
  Tpr: 0x808,
  Ppr: 0x80a,
  Eoi: 0x80b,
  Ldr: 0x80d,
  Svr: 0x80f,
  Isr0: 0x810,
  Tmr0: 0x818,
  Irr0: 0x820,
  Esr: 0x828,
  Icr: 0x830,
  LvtTimer: 0x832,
  TimerInitialCount: 0x838,
  TimerCurrentCount: 0x839,
  TimerDivideConfig: 0x83e,
  SelfIpi: 0x83f,
  Last: 0x8ff,
} as const;

/** Register names accepted in scripts (`write_apic: { reg: tpr }`). */
export const APIC_REGISTER_BY_NAME: Readonly<Record<string, number>> = {
  id: ApicOffset.Id,
  version: ApicOffset.Version,
  tpr: ApicOffset.Tpr,
  apr: ApicOffset.Apr,
  ppr: ApicOffset.Ppr,
  eoi: ApicOffset.Eoi,
  ldr: ApicOffset.Ldr,
  dfr: ApicOffset.Dfr,
  svr: ApicOffset.Svr,
  esr: ApicOffset.Esr,
  icr_low: ApicOffset.IcrLow,
  icr_high: ApicOffset.IcrHigh,
  lvt_timer: ApicOffset.LvtTimer,
  timer_initial_count: ApicOffset.TimerInitialCount,
  timer_current_count: ApicOffset.TimerCurrentCount,
  timer_divide_config: ApicOffset.TimerDivideConfig,
};

/** MMIO offset of an x2APIC MSR in 0x800-0x8FF (SDM: MSR address = 0x800 + offset[11:4]). */
export function x2apicMsrToOffset(msr: number): number {
  return (msr - X2apicMsr.Base) << 4;
}

export function offsetToX2apicMsr(offset: number): number {
  return X2apicMsr.Base + (offset >> 4);
}

export function isX2apicMsr(msr: number): boolean {
  return msr >= X2apicMsr.Base && msr <= X2apicMsr.Last;
}

/**
 * x2APIC MSRs that exist (SDM table "Local APIC Register Address Map Supported by x2APIC");
 * an access to any other MSR in 0x800-0x8FF raises #GP. DFR (0x80E), ICR high (0x831) and APR
 * (0x809) do not exist in x2APIC mode; SELF IPI (0x83F) exists only there.
 */
export function x2apicMsrExists(msr: number): boolean {
  if (msr === X2apicMsr.Icr || msr === X2apicMsr.SelfIpi) return true;
  if (msr >= 0x810 && msr <= 0x827) return true; // ISR, TMR, IRR
  switch (msr) {
    case 0x802:
    case 0x803:
    case 0x808:
    case 0x80a:
    case 0x80b:
    case 0x80d:
    case 0x80f:
    case 0x828:
    case 0x82f:
    case 0x832:
    case 0x833:
    case 0x834:
    case 0x835:
    case 0x836:
    case 0x837:
    case 0x838:
    case 0x839:
    case 0x83e:
      return true;
    default:
      return false;
  }
}

/**
 * An x2APIC MSR access (0x800-0x8FF) that raises #GP: the LAPIC is in xAPIC mode, the MSR does not
 * exist, or a WRMSR to a read-only / RDMSR of a write-only one (SDM "x2APIC Register Address Space").
 * The hypervisor's MSR bitmap intercepts it first (the exit has priority, SDM 25.1.3), its emulation
 * refuses it and injects the #GP.
 */
export function x2apicAccessFaults(x2apicMode: boolean, msr: number, write: boolean): boolean {
  return !x2apicMode || !x2apicMsrExists(msr) || (write ? x2apicMsrReadOnly(msr) : x2apicMsrWriteOnly(msr));
}

/** Read-only x2APIC MSRs: WRMSR to them raises #GP (SDM x2APIC register table, "Read only"). */
export function x2apicMsrReadOnly(msr: number): boolean {
  return (
    msr === 0x802 || msr === 0x803 || msr === 0x80a || msr === 0x80d || (msr >= 0x810 && msr <= 0x827) || msr === 0x839
  );
}

/** Write-only x2APIC MSRs: RDMSR raises #GP (EOI and SELF IPI). */
export function x2apicMsrWriteOnly(msr: number): boolean {
  return msr === X2apicMsr.Eoi || msr === X2apicMsr.SelfIpi;
}
