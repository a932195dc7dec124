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

/**
 * x2APIC MSR addresses (SDM vol. 3A, section "x2APIC Register Address Space", table "Local APIC
 * Register Address Map Supported by x2APIC"): 0x800 + the xAPIC offset >> 4 where both exist
 * (test/core/x2apicRegisters.test.ts holds them to ApicOffset). Each written once: the hypervisor's
 * MSR bitmap (hypervisor/vmcs.ts) and the emulation name them from here.
 */
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
  /** IA32_X2APIC_IRR7: the last of the ISR, TMR and IRR MSRs (0x810-0x827). */
  Irr7: 0x827,
  Esr: 0x828,
  LvtCmci: 0x82f,
  Icr: 0x830,
  LvtTimer: 0x832,
  LvtThermal: 0x833,
  LvtPmc: 0x834,
  LvtLint0: 0x835,
  LvtLint1: 0x836,
  LvtError: 0x837,
  TimerInitialCount: 0x838,
  TimerCurrentCount: 0x839,
  TimerDivideConfig: 0x83e,
  SelfIpi: 0x83f,
  Last: 0x8ff,
} as const;

/**
 * How an x2APIC MSR may be accessed, the table's "MSR Read/Write Semantics" column: a RDMSR of a
 * register without READ, or a WRMSR of one without WRITE, raises #GP; NONE: no register there.
 */
export const enum X2apicAccess {
  NONE = 0,
  READ = 1,
  WRITE = 2,
  READ_WRITE = 3,
}

/**
 * The x2APIC register table, the one home of which MSRs in 0x800-0x8FF exist and how they may be
 * accessed (SDM vol. 3A table "Local APIC Register Address Map Supported by x2APIC"): rows of
 * [first MSR, last MSR, access]. DFR (0x80E), ICR high (0x831) and APR (0x809) have no MSR (the ICR
 * is one 64-bit MSR); SELF IPI (0x83F) exists only there.
 */
const X2APIC_REGISTERS: readonly (readonly [number, number, X2apicAccess])[] = [
  [X2apicMsr.Id, X2apicMsr.Id, X2apicAccess.READ],
  [X2apicMsr.Version, X2apicMsr.Version, X2apicAccess.READ],
  [X2apicMsr.Tpr, X2apicMsr.Tpr, X2apicAccess.READ_WRITE],
  [X2apicMsr.Ppr, X2apicMsr.Ppr, X2apicAccess.READ],
  [X2apicMsr.Eoi, X2apicMsr.Eoi, X2apicAccess.WRITE],
  [X2apicMsr.Ldr, X2apicMsr.Ldr, X2apicAccess.READ],
  [X2apicMsr.Svr, X2apicMsr.Svr, X2apicAccess.READ_WRITE],
  [X2apicMsr.Isr0, X2apicMsr.Irr7, X2apicAccess.READ], // ISR0-7, TMR0-7, IRR0-7
  [X2apicMsr.Esr, X2apicMsr.Esr, X2apicAccess.READ_WRITE],
  [X2apicMsr.LvtCmci, X2apicMsr.LvtCmci, X2apicAccess.READ_WRITE],
  [X2apicMsr.Icr, X2apicMsr.Icr, X2apicAccess.READ_WRITE],
  [X2apicMsr.LvtTimer, X2apicMsr.LvtError, X2apicAccess.READ_WRITE], // timer, thermal, PMC, LINT0/1, error
  [X2apicMsr.TimerInitialCount, X2apicMsr.TimerInitialCount, X2apicAccess.READ_WRITE],
  [X2apicMsr.TimerCurrentCount, X2apicMsr.TimerCurrentCount, X2apicAccess.READ],
  [X2apicMsr.TimerDivideConfig, X2apicMsr.TimerDivideConfig, X2apicAccess.READ_WRITE],
  [X2apicMsr.SelfIpi, X2apicMsr.SelfIpi, X2apicAccess.WRITE],
];

/** X2APIC_REGISTERS by MSR - 0x800: one byte load per access check (WRMSR/RDMSR of an x2APIC MSR). */
const X2APIC_ACCESS = new Uint8Array(X2apicMsr.Last - X2apicMsr.Base + 1);
for (const [first, last, access] of X2APIC_REGISTERS)
  X2APIC_ACCESS.fill(access, first - X2apicMsr.Base, last - X2apicMsr.Base + 1);

/**
 * The one table of register names, by xAPIC offset: the SDM's short name for the register (vol. 3A
 * table "Local APIC Register Address Map", Table 11-1 in the editions to 2023, Table 12-1 since) and,
 * where the register has an x2APIC MSR, that MSR's name after IA32_X2APIC_ (vol. 4 Table 2-2,
 * vol. 3A "Local APIC Register Address Map Supported by x2APIC"; '' where it has none: APR, RRD,
 * DFR, ICR high). ISR, TMR and IRR are eight registers each (ISR0 at 100H ... ISR7 at 170H). Read at
 * output (src/run/exitCause.ts), never on the engine's path.
 */
const REGISTER_NAMES: readonly (readonly [number, string, string])[] = [
  [ApicOffset.Id, 'ID', 'APICID'],
  [ApicOffset.Version, 'version', 'VERSION'],
  [ApicOffset.Tpr, 'TPR', 'TPR'],
  [ApicOffset.Apr, 'APR', ''],
  [ApicOffset.Ppr, 'PPR', 'PPR'],
  [ApicOffset.Eoi, 'EOI', 'EOI'],
  [ApicOffset.Rrd, 'RRD', ''],
  [ApicOffset.Ldr, 'LDR', 'LDR'],
  [ApicOffset.Dfr, 'DFR', ''],
  [ApicOffset.Svr, 'SVR', 'SIVR'],
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((i): (readonly [number, string, string])[] => [
    [ApicOffset.Isr0 + (i << 4), `ISR${i}`, `ISR${i}`],
    [ApicOffset.Tmr0 + (i << 4), `TMR${i}`, `TMR${i}`],
    [ApicOffset.Irr0 + (i << 4), `IRR${i}`, `IRR${i}`],
  ]),
  [ApicOffset.Esr, 'ESR', 'ESR'],
  [ApicOffset.LvtCmci, 'LVT CMCI', 'LVT_CMCI'],
  [ApicOffset.IcrLow, 'ICR low', 'ICR'],
  [ApicOffset.IcrHigh, 'ICR high', ''],
  [ApicOffset.LvtTimer, 'LVT timer', 'LVT_TIMER'],
  [ApicOffset.LvtThermal, 'LVT thermal sensor', 'LVT_THERMAL'],
  [ApicOffset.LvtPmc, 'LVT performance monitoring counters', 'LVT_PMI'],
  [ApicOffset.LvtLint0, 'LVT LINT0', 'LVT_LINT0'],
  [ApicOffset.LvtLint1, 'LVT LINT1', 'LVT_LINT1'],
  [ApicOffset.LvtError, 'LVT error', 'LVT_ERROR'],
  [ApicOffset.TimerInitialCount, 'initial count', 'INIT_COUNT'],
  [ApicOffset.TimerCurrentCount, 'current count', 'CUR_COUNT'],
  [ApicOffset.TimerDivideConfig, 'divide configuration', 'DIV_CONF'],
  [ApicOffset.SelfIpi, 'SELF IPI', 'SELF_IPI'],
];

/** The register at xAPIC `offset` by its SDM short name (`EOI`, `ICR low`, `initial count`), or 'reserved'. */
export function apicRegisterName(offset: number): string {
  for (const [at, name] of REGISTER_NAMES) if (at === offset) return name;
  return 'reserved';
}

/** The x2APIC MSR `msr` (0x800-0x8FF) by its SDM name (`IA32_X2APIC_EOI`), or '' where no register is. */
export function x2apicMsrName(msr: number): string {
  if (!isX2apicMsr(msr)) return '';
  const offset = x2apicMsrToOffset(msr);
  for (const [at, , x2] of REGISTER_NAMES) if (at === offset && x2 !== '') return `IA32_X2APIC_${x2}`;
  return '';
}

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

/** How `msr` may be accessed (X2apicAccess); NONE outside 0x800-0x8FF and where no register is. */
export function x2apicMsrAccess(msr: number): X2apicAccess {
  return isX2apicMsr(msr) ? X2APIC_ACCESS[msr - X2apicMsr.Base] : X2apicAccess.NONE;
}

/** x2APIC MSRs that exist: an access to any other MSR in 0x800-0x8FF raises #GP. */
export function x2apicMsrExists(msr: number): boolean {
  return x2apicMsrAccess(msr) !== X2apicAccess.NONE;
}

/**
 * An x2APIC MSR access (0x800-0x8FF) that raises #GP: the LAPIC is in xAPIC mode, the MSR does not
 * exist, or a WRMSR to a read-only / RDMSR of a write-only one (SDM "x2APIC Register Address Space").
 * The hypervisor's MSR bitmap intercepts it first (the exit has priority, SDM 25.1.3), its emulation
 * refuses it and injects the #GP.
 */
export function x2apicAccessFaults(x2apicMode: boolean, msr: number, write: boolean): boolean {
  return !x2apicMode || (x2apicMsrAccess(msr) & (write ? X2apicAccess.WRITE : X2apicAccess.READ)) === 0;
}

/** Read-only x2APIC MSRs: WRMSR to them raises #GP (the table's "Read only"). */
export function x2apicMsrReadOnly(msr: number): boolean {
  return x2apicMsrAccess(msr) === X2apicAccess.READ;
}

/** Write-only x2APIC MSRs: RDMSR raises #GP (EOI and SELF IPI). */
export function x2apicMsrWriteOnly(msr: number): boolean {
  return x2apicMsrAccess(msr) === X2apicAccess.WRITE;
}
