/**
 * The drivers of an import fit (fit.ts): each measured exit reason is assigned the one workload
 * profile rate that causes it (its driver), or an opaque rate of its own when the model has no cause
 * for it, and the fit adjusts that value until the simulated exits match (docs/IMPORT.md).
 */
import type { WorkloadProfile, WorkloadRateName } from '../scenario/types.js';

/** Where a measured exit rate comes from in the profile. */
export type Driver = { readonly kind: 'rate'; readonly name: WorkloadRateName } | { readonly kind: 'opaque' };

/** Which profile rate causes an exit, by exit name, in order of preference (docs/IMPORT.md). */
export const DRIVERS: Readonly<Record<string, Driver>> = {
  CR_ACCESS: { kind: 'rate', name: 'cr8Writes' },
  VMEXIT_CR8_WRITE: { kind: 'rate', name: 'cr8Writes' },
  VMEXIT_CR8_READ: { kind: 'rate', name: 'cr8Reads' },
  CPUID: { kind: 'rate', name: 'cpuid' },
  VMEXIT_CPUID: { kind: 'rate', name: 'cpuid' },
  IO_INSTRUCTION: { kind: 'rate', name: 'io' },
  VMEXIT_IOIO: { kind: 'rate', name: 'io' },
  EPT_VIOLATION: { kind: 'rate', name: 'mmio' },
  // KVM's device MMIO is an EPT misconfiguration (MMIO SPTEs; docs/MODEL.md D9), bhyve's an EPT violation.
  EPT_MISCONFIG: { kind: 'rate', name: 'mmio' },
  VMEXIT_NPF: { kind: 'rate', name: 'mmio' },
  MSR_READ: { kind: 'rate', name: 'msrReads' },
  MSR_WRITE: { kind: 'rate', name: 'msrWrites' },
  VMEXIT_MSR: { kind: 'rate', name: 'msrWrites' },
  HLT: { kind: 'rate', name: 'hlts' },
  VMEXIT_HLT: { kind: 'rate', name: 'hlts' },
  EXTERNAL_INTERRUPT: { kind: 'rate', name: 'hostInterrupts' },
  VMEXIT_INTR: { kind: 'rate', name: 'hostInterrupts' },
  // APIC register writes that exit: APIC-access exits (xAPIC page, no APIC-register virtualization)
  // or trap-like APIC-write exits (with it). Exit counts cannot tell EOIs from timer programming, so
  // they are fitted as timer writes, and the device-interrupt rate (whose EOIs would also land here)
  // is kept as low as the HLT wake-ups and the external-interrupt exits allow (see fitWorkload).
  // EOI-induced exits (VIRTUALIZED_EOI) happen only for vectors in the EOI-exit bitmap -
  // level-triggered ones - and are carried as opaque. SDM vol. 3 "Virtualizing Memory-Mapped APIC
  // Accesses", "APIC-Write Emulation", "EOI Virtualization".
  APIC_ACCESS: { kind: 'rate', name: 'apicTimerWrites' },
  APIC_WRITE: { kind: 'rate', name: 'apicTimerWrites' },
  // AVIC IPIs to a non-running vCPU exit as incomplete IPIs (APM vol. 2 "AVIC").
  VMEXIT_AVIC_INCOMPLETE_IPI: { kind: 'rate', name: 'ipis' },
  VMEXIT_AVIC_NOACCEL: { kind: 'rate', name: 'apicTimerWrites' },
};

/** One measured reason in the fit: its slot, its driver and what the iteration last tried. */
export interface DriverState {
  readonly slot: number;
  readonly reason: string;
  driver: Driver;
  measured: number;
  /** The previous iterate (secant steps). */
  prevValue?: number;
  prevGot?: number;
}

/** The driver's value in the fit's rates. */
export function readValue(d: DriverState, rates: Record<string, number>, opaque: Record<string, number>): number {
  return d.driver.kind === 'rate' ? rates[d.driver.name] : (opaque[d.reason] ?? 0);
}

/** Set the driver's value in the fit's rates. */
export function writeValue(
  d: DriverState,
  value: number,
  rates: Record<string, number>,
  opaque: Record<string, number>,
): void {
  if (d.driver.kind === 'rate') rates[d.driver.name] = value;
  else opaque[d.reason] = value;
}

/** A driver as a fit row names it: the rate's name, or "opaque". */
export function driverName(d: Driver): string {
  return d.kind === 'rate' ? d.name : d.kind;
}

/** A driver's value in a profile: its rate, or the reason's opaque rate. */
export function valueIn(profile: WorkloadProfile, d: DriverState): number {
  return d.driver.kind === 'rate'
    ? profile.perGuestSecond[d.driver.name]
    : (profile.opaquePerGuestSecond[d.reason] ?? 0);
}

/**
 * Whether `d` drives the profile's rate `name`: at most one reason does (fitWorkload's `taken`), and
 * only at the start - the fit may later carry it as opaque, never give it another rate.
 */
export function drives(d: DriverState | undefined, name: WorkloadRateName): d is DriverState {
  return d !== undefined && d.driver.kind === 'rate' && d.driver.name === name;
}
