/**
 * Workload-profile guests: instead of an OS model (guest-models.yaml), a guest described by how often
 * it executes the instructions and receives the events that can cause VM exits — typically fitted to
 * a real host's exit report (`vmexit-lab import`, src/import/). The machine still decides, by the
 * same per-instruction rules as for every other guest, which of them exit under a CPU profile and
 * policy; that is what makes a profile measured on one host answer "what if" on another.
 *
 * Rates are per vCPU. Instruction rates are per second of guest execution (a faster host runs more
 * of them per wall second); interrupt arrivals are per wall second (devices do not wait for the
 * guest). docs/IMPORT.md explains the choice of each operation.
 */
import { IA32_TSC_DEADLINE } from '../apic/registers.js';

/** Instructions executed in bulk ("fluid": exact mean counts, carried fractions, no randomness). */
export const WorkloadOp = {
  /** MOV to %cr8 pairs: a raise to DISPATCH_LEVEL (2) and the lower back to 0 (2 writes each). */
  CR8_WRITE: 0,
  CR8_READ: 1,
  CPUID: 2,
  /** IN/OUT to an emulated device port. */
  IO: 3,
  /** Store to an emulated device's MMIO page (not mapped in the EPT / nested page tables). */
  MMIO: 4,
  /** RDMSR / WRMSR of an MSR the hypervisor intercepts (IA32_TSC_DEADLINE, 0x6E0). */
  MSR_READ: 5,
  MSR_WRITE: 6,
  /**
   * A write to the LAPIC timer's initial-count register (programming the next timer interrupt):
   * xAPIC MMIO 0x380, or WRMSR 0x838 in x2APIC mode. Not virtualized by APIC-register
   * virtualization (SDM vol. 3 "Virtualizing Memory-Mapped APIC Accesses": only TPR, EOI and ICR
   * low/self-IPI writes are), so it exits as the LAPIC mode and controls dictate.
   */
  APIC_TIMER_WRITE: 7,
  COUNT: 8,
} as const;

/** Names used in profile YAML, in WorkloadOp order. */
export const WORKLOAD_OP_NAMES = [
  'cr8Writes',
  'cr8Reads',
  'cpuid',
  'io',
  'mmio',
  'msrReads',
  'msrWrites',
  'apicTimerWrites',
] as const;
export type WorkloadOpName = (typeof WORKLOAD_OP_NAMES)[number];

/** CR8 value of a raised section: Windows' DISPATCH_LEVEL (the only OS that writes %cr8 at rate). */
export const WORKLOAD_RAISED_CR8 = 2;
/** IA32_TSC_DEADLINE (SDM vol. 3 "TSC-Deadline Mode"): the intercepted MSR Linux guests write most. */
export const WORKLOAD_MSR = IA32_TSC_DEADLINE;
/** An emulated device's I/O port (the PCI configuration address port, always intercepted). */
export const WORKLOAD_IO_PORT = 0xcf8;
/** Initial count written by apicTimerWrites (any non-zero value arms the timer). */
export const WORKLOAD_TIMER_COUNT = 100000;

export interface WorkloadSpec {
  /** Per vCPU, per guest-CPU second, in WorkloadOp order (length WorkloadOp.COUNT); CR8_WRITE counts pairs. */
  readonly opsPerGuestSecond: Float64Array;
  /** Device interrupts raised to each vCPU per wall second (each delivered, serviced and EOIed). */
  readonly interruptsPerSecond: number;
  /** HLTs per guest-CPU second: the vCPU sleeps until its next interrupt. Requires interrupts. */
  readonly hltsPerGuestSecond: number;
  /** Fixed IPIs each vCPU sends to another of its guest's vCPUs per guest-CPU second. */
  readonly ipisPerGuestSecond: number;
  /** Host interrupts (beyond the host's timer ticks) per running second: external-interrupt exits. */
  readonly hostInterruptsPerSecond: number;
  /**
   * The profile's opaque exits (reasons the import fit gives no profile rate: preemption timer,
   * XSETBV, PAUSE-loop exits ...) per guest-CPU second, by exit slot (length EXIT_SLOT_COUNT): the
   * measured rate on the target's exit for the same event, or none where the target cannot take it
   * (core/hypervisor/opaqueExits.ts via scenario/workload.ts).
   */
  readonly opaquePerGuestSecond: Float64Array;
}
