/**
 * A Linux guest's clocksource (scenario key guests[].clocksource; docs/MODEL.md §4 "Linux clock
 * source") and the clock reads that exit. Windows timekeeping is elsewhere (clock.ts, timekeeping.ts).
 *
 * Which clocksource: Linux rates its clocksources and uses the best usable one (torvalds/linux
 * kernel/time/clocksource.c; ratings: tsc 300, kvm-clock 400 in arch/x86/kernel/kvmclock.c, hpet 250
 * in arch/x86/kernel/hpet.c, acpi_pm 200 in drivers/clocksource/acpi_pm.c). Under KVM it is kvm-clock;
 * bhyve offers no kvm-clock (no KVM paravirtual CPUID leaves) and an invariant TSC (freebsd-src
 * sys/amd64/vmm/x86.c), so tsc. A guest whose TSC the clocksource watchdog marks unstable falls back to
 * hpet, or acpi_pm where the VM has no HPET; a scenario states that as `clocksource: acpi_pm`.
 *
 * Where a read goes: tsc and kvm-clock are read with RDTSC (and pvclock's shared page): no exit
 * (torvalds/linux Documentation/virt/kvm/timekeeping.rst). acpi_pm reads the PM timer with one 32-bit
 * IN (drivers/clocksource/acpi_pm.c read_pmtmr: inl(pmtmr_ioport)): an I/O exit (VMEXIT_IOIO /
 * IO_INSTRUCTION). hpet reads the main counter (MMIO at 0xFED000F0): an EPT / nested-page-fault exit.
 *
 * How many reads (derived from the kernel's tick path, not fitted; user space not counted):
 *   - each tick interrupt: 2 - hrtimer_interrupt's hrtimer_update_base (ktime_get_update_offsets_now)
 *     and tick_sched_timer's ktime_get (kernel/time/hrtimer.c, kernel/time/tick-sched.c);
 *   - each one-shot arm of the timer: 1 - clockevents_program_event computes the delta with ktime_get
 *     (kernel/time/clockevents.c), so the tick's re-arm and dynticks' idle arms each read once;
 *   - each jiffy, on the CPU that takes the tick first: 1 - tick_do_update_jiffies64 ->
 *     update_wall_time -> timekeeping_advance reads the clocksource (kernel/time/timekeeping.c).
 * So a busy vCPU reads 3 times per tick, plus the guest's jiffies updates (HZ a second while any vCPU
 * ticks). Reads from user space are left out: acpi_pm has no vDSO clock mode (its clocksource sets
 * none), so each clock_gettime is a system call and one read - a rate that depends on the workload,
 * which the model's phases do not state.
 *
 * This file resolves the setup (HostState holds it per guest), a read's machine operation from
 * clock.ts clockReadOp (as a Windows guest's); the reads are linuxClockReads.ts.
 */
import { ClockRead, clockReadOp } from './clock.js';
import type { GuestModel } from './model.js';

export const LINUX_CLOCKSOURCES = ['tsc', 'kvm-clock', 'acpi_pm', 'hpet'] as const;
export type LinuxClocksource = (typeof LINUX_CLOCKSOURCES)[number];

/** The clocksource a Linux guest uses when the scenario states none: kvm-clock under KVM, the TSC under bhyve. */
export function defaultLinuxClocksource(hypervisor: 'bhyve' | 'kvm'): LinuxClocksource {
  return hypervisor === 'kvm' ? 'kvm-clock' : 'tsc';
}

/** The clocksources a hypervisor offers a Linux guest: kvm-clock only under KVM. */
export function clocksourcesOffered(hypervisor: 'bhyve' | 'kvm'): readonly LinuxClocksource[] {
  return hypervisor === 'kvm' ? LINUX_CLOCKSOURCES : LINUX_CLOCKSOURCES.filter((c) => c !== 'kvm-clock');
}

/** Clock reads per tick interrupt (hrtimer_update_base, tick_sched_timer's ktime_get). */
export const READS_PER_TICK = 2;
/** Clock reads per one-shot timer arm (clockevents_program_event's ktime_get). */
export const READS_PER_ARM = 1;
/** Clock reads per jiffies update (update_wall_time). */
export const READS_PER_JIFFY = 1;

/** A Linux guest's resolved clock: the machine operation of one read (-1: no exit) and its operand. */
export interface LinuxClockSetup {
  readonly clocksource: LinuxClocksource;
  readonly op: number;
  readonly arg: number;
}

/** Where a clocksource's read goes (the header): acpi_pm and hpet exit, tsc and kvm-clock do not. */
const READ_OF: Readonly<Record<LinuxClocksource, ClockRead>> = {
  tsc: ClockRead.NONE,
  'kvm-clock': ClockRead.NONE,
  acpi_pm: ClockRead.PM_TIMER,
  hpet: ClockRead.HPET,
};

const NO_EXIT: LinuxClockSetup = Object.freeze({ clocksource: 'tsc', op: -1, arg: 0 });

/** The clock setup of a guest: reads that exit only for a Linux guest on acpi_pm or hpet. */
export function linuxClockSetup(
  hypervisor: 'bhyve' | 'kvm',
  model: GuestModel,
  clocksource: LinuxClocksource | undefined,
): LinuxClockSetup {
  if (model.family !== 'linux') return NO_EXIT;
  const cs = clocksource ?? defaultLinuxClocksource(hypervisor);
  const { op, arg } = clockReadOp(READ_OF[cs], hypervisor);
  return Object.freeze({ clocksource: cs, op, arg });
}
