/**
 * Windows timekeeping under a hypervisor (docs/MODEL.md §4 "Windows under KVM"): where the guest's
 * clock reads go and what drives its clock interrupt, from the guest's enlightenments and whether
 * the VM has an HPET. Rules, one source each:
 *
 * Clock reads (QueryPerformanceCounter, interrupt-time reads), `clock.readsPerBusySecond`:
 *   - bhyve advertises an invariant TSC (freebsd-src sys/amd64/vmm/x86.c, CPUID 0x80000007
 *     AMDPM_TSC_INVARIANT when the host TSC is invariant and synchronized), so Windows reads the TSC:
 *     no exit;
 *   - KVM with hv-time and the reference TSC page: no exit (QEMU docs/hyperv.rst hv-time: "exit-less
 *     time stamp readings"; TLFS "Partition Reference Time Enlightenment");
 *   - hv-time without the page (the guest does not enable it, or KVM has no stable master clock):
 *     RDMSR HV_X64_MSR_TIME_REF_COUNT 0x40000020, an MSR exit (cloud-hypervisor PR #8380: 36,104/s);
 *   - no hv-time, HPET present: an HPET main-counter read, MMIO at 0xFED00000 that QEMU emulates
 *     (EPT_MISCONFIG under KVM);
 *   - no hv-time, no HPET: the ACPI PM timer by port I/O, port 0x608 on Q35 (PM base 0x600 + 8;
 *     MicrosoftDocs/Virtualization-Documentation #1885 "0x608 addresses (acpi-tmr)"), 0xB008 on
 *     i440fx/PIIX4 (PM base 0xB000): an IO_INSTRUCTION exit. The model's VMs are Q35.
 *   FreeBSD reads kvm-clock or the TSC (no exit; its model has no clock-read rate). A Linux guest
 *   reads its clocksource: kvm-clock or the TSC unless the scenario states acpi_pm or hpet, whose
 *   reads exit (linuxClock.ts, not this file; both take a read's machine operation from clockReadOp).
 *
 * Clock interrupt:
 *   - KVM with hv-stimer: synthetic timer 0 in one-shot mode: each tick re-arms it with WRMSR
 *     HV_X64_MSR_STIMER0_COUNT 0x400000B1 (an MSR exit; PR #8380: 834/s), and its expiry arrives
 *     through the SynIC (Machine.stimerExpires); the SINT uses AutoEOI unless hv-apicv recommends
 *     against it, which makes KVM inhibit APICv (hypervisor/hyperv.ts); with hv-stimer-direct the
 *     expiry is a plain LAPIC vector (no SINT, no AutoEOI);
 *   - KVM without hv-stimer: "certain Windows versions revert to using HPET (or even RTC when HPET
 *     is unavailable) extensively" (QEMU docs/hyperv.rst hv-stimer; MicrosoftDocs #1885: many RTC
 *     interrupts of an idle VM without stimer): the clock-owner vCPU takes the platform timer's
 *     interrupt at `clock.platformTimerHz`, also while idle; an RTC interrupt is acknowledged by
 *     reading status register C (OUT 0x70 then IN 0x71: two port I/O exits, the MC146818 periodic
 *     interrupt flag clears on that read), an HPET periodic edge interrupt needs no acknowledgement.
 *     The other vCPUs have no clock of their own: the owner forwards each tick to them with the
 *     clock IPI (KiUpdateTime -> KiForwardTick -> HalpInterruptSendIpi(..., 0xD2), Hex-Rays
 *     decompilations of ntoskrnl.exe; HalpTimerClockIpiRoutine runs KeClockInterruptNotify's
 *     non-owner path). KiForwardTick sends to the processors that are not idle plus those with a
 *     timer due - or to all active processors (PoSkipTickMode 2, or more than 3 targets). The one
 *     measurement (perf-prof, 2 vCPUs, RTC at 1024 Hz) shows the idle vCPU 1 woken ~900 times a
 *     second and vCPU 0 writing the ICR ~1200 times: forwarded to every other processor, idle or
 *     not, which the model takes for every such guest (one IPI per target: IPI shorthands and
 *     logical destinations are not modelled);
 *   - the clock owner's tick reads the clock `clock.readsPerOwnerTick` times (KiUpdateTime: two
 *     performance-counter reads per tick), whatever drives it;
 *   - bhyve: the model's LAPIC clock. Windows on bhyve has no synthetic timers either, but the
 *     fallback is not applied there: the seed's bhyve constants were fitted without it, and at the
 *     fitted rate it makes the seed's install runs ~10x slower to simulate (docs/MODEL.md §6).
 * A KVM guest with no timekeeping given is QEMU's bare default: no enlightenments, an HPET.
 */
import { HvFeature, HvMsr, hvApicAccessRecommended } from '../hypervisor/hyperv.js';
import { PM_TIMER_PORT } from '../hypervisor/platform.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import { RepeatOp } from '../vcpu/machine.js';
import type { GuestModel } from './model.js';

/** The guest's Hyper-V enlightenments and clock hardware, as the scenario gives them (KVM only). */
export interface GuestTimekeeping {
  /** HvFeature bits (hypervisor/hyperv.ts hvFeatureBits). */
  readonly hyperv: number;
  /** The VM has an HPET (QEMU's default; -no-hpet / libvirt <timer name='hpet' present='no'/>). */
  readonly hpet: boolean;
  /** With hv-time: the guest enables the reference TSC page (HV_X64_MSR_REFERENCE_TSC). */
  readonly referenceTscPage: boolean;
  /**
   * hv-stimer-direct: the timer expiry is a plain LAPIC vector (TLFS "Direct Mode", ApicVector), not a
   * SynIC message on a SINT - so no AutoEOI SINT.
   */
  readonly stimerDirect: boolean;
}

/** Where a clock read goes. */
export const enum ClockRead {
  /** TSC or reference TSC page: no exit. */
  NONE = 0,
  /** RDMSR HV_X64_MSR_TIME_REF_COUNT. */
  HV_MSR = 1,
  /** HPET main counter (MMIO). */
  HPET = 2,
  /** ACPI PM timer (port I/O). */
  PM_TIMER = 3,
}

/** What drives the guest's clock interrupt. */
export const enum ClockTimer {
  /** The LAPIC timer (model.timer). */
  LAPIC = 0,
  /** Hyper-V synthetic timer 0, one-shot, re-armed per tick. */
  STIMER = 1,
  /** The RTC's periodic interrupt on the clock owner, acknowledged by reading register C. */
  PLATFORM_RTC = 2,
  /** The HPET's periodic interrupt on the clock owner, no acknowledgement. */
  PLATFORM_HPET = 3,
}

/** One clock read as a machine operation: a RepeatOp (-1: no exit) and its operand (MSR number or port). */
export interface ClockReadOp {
  readonly op: number;
  readonly arg: number;
}

/**
 * The machine operation of one read of a clock, the one home of that rule for a Windows guest
 * (clockSetup) and a Linux clocksource (linuxClock.ts): HV_X64_MSR_TIME_REF_COUNT by RDMSR (TLFS
 * "Partition Reference Counter"), the HPET main counter by an MMIO read (an EPT / nested-page-fault
 * exit), the ACPI PM timer by a 32-bit IN from the platform's port (hypervisor/platform.ts
 * PM_TIMER_PORT); the TSC, the reference TSC page and kvm-clock read without an exit.
 */
export function clockReadOp(read: ClockRead, hypervisor: 'bhyve' | 'kvm'): ClockReadOp {
  switch (read) {
    case ClockRead.HV_MSR:
      return { op: RepeatOp.RDMSR, arg: HvMsr.TIME_REF_COUNT };
    case ClockRead.HPET:
      return { op: RepeatOp.MMIO, arg: 0 };
    case ClockRead.PM_TIMER:
      return { op: RepeatOp.IO, arg: PM_TIMER_PORT[hypervisor] };
    default:
      return { op: -1, arg: 0 };
  }
}

/** A guest's resolved timekeeping: the machine operation of one clock read and the clock interrupt. */
export interface ClockSetup {
  readonly read: ClockRead;
  /** RepeatOp of one read, with its operand (MSR number or port); -1: no exit. */
  readonly op: number;
  readonly arg: number;
  /** The model's clock reads per busy guest-second where reads exit (phases may have their own), else 0. */
  readonly readsPerBusySecond: number;
  /** Clock reads of the clock owner's tick (KiUpdateTime) where reads exit, else 0. */
  readonly readsPerOwnerTick: number;
  readonly timer: ClockTimer;
  /** Ticks per second of the platform timer on the clock owner (PLATFORM_*), else 0. */
  readonly platformHz: number;
  /** The guest's EOIs go through hv-vapic (HV_X64_MSR_EOI or the EOI assist). */
  readonly hvEoi: boolean;
  /** The guest sends IPIs through HV_X64_MSR_ICR (hv-vapic). */
  readonly hvIcr: boolean;
}

/** QEMU's bare default for a KVM guest given no timekeeping: no enlightenments, an HPET. */
const QEMU_DEFAULT: GuestTimekeeping = { hyperv: 0, hpet: true, referenceTscPage: true, stimerDirect: false };

/** Where a Windows guest's clock reads go (the rules of this file's header). */
export function clockReadOf(traits: PolicyTraits, tk: GuestTimekeeping | undefined): ClockRead {
  if (traits.hypervisor !== 'kvm') return ClockRead.NONE; // bhyve: invariant TSC
  const t = tk ?? QEMU_DEFAULT;
  if ((t.hyperv & HvFeature.TIME) !== 0) return t.referenceTscPage ? ClockRead.NONE : ClockRead.HV_MSR;
  return t.hpet ? ClockRead.HPET : ClockRead.PM_TIMER;
}

/** What drives a Windows guest's clock interrupt (the rules of this file's header). */
export function clockTimerOf(traits: PolicyTraits, tk: GuestTimekeeping | undefined): ClockTimer {
  if (traits.hypervisor !== 'kvm') return ClockTimer.LAPIC; // bhyve: see the header
  const t = tk ?? QEMU_DEFAULT;
  if ((t.hyperv & HvFeature.STIMER) !== 0) return ClockTimer.STIMER;
  return t.hpet ? ClockTimer.PLATFORM_HPET : ClockTimer.PLATFORM_RTC;
}

const NO_CLOCK: ClockSetup = Object.freeze({
  read: ClockRead.NONE,
  op: -1,
  arg: 0,
  readsPerBusySecond: 0,
  readsPerOwnerTick: 0,
  timer: ClockTimer.LAPIC,
  platformHz: 0,
  hvEoi: false,
  hvIcr: false,
});

/**
 * A Windows guest's clock setup; guests that are not Windows keep the model's LAPIC timer and read
 * no clock here (a Linux clocksource whose reads exit is linuxClock.ts's).
 */
export function clockSetup(traits: PolicyTraits, model: GuestModel, tk: GuestTimekeeping | undefined): ClockSetup {
  if (model.family !== 'windows') return NO_CLOCK;
  const read = clockReadOf(traits, tk);
  const timer = clockTimerOf(traits, tk);
  const { op, arg } = clockReadOp(read, traits.hypervisor);
  // hv-vapic's MSRs when CPUID recommends them (hypervisor/hyperv.ts hvApicAccessRecommended).
  const vapic = traits.hypervisor === 'kvm' && tk !== undefined && hvApicAccessRecommended(tk.hyperv);
  return Object.freeze({
    read,
    op,
    arg,
    readsPerBusySecond: op < 0 ? 0 : model.clock.readsPerBusySecond,
    readsPerOwnerTick: op < 0 ? 0 : model.clock.readsPerOwnerTick,
    timer,
    platformHz:
      timer === ClockTimer.PLATFORM_RTC || timer === ClockTimer.PLATFORM_HPET ? model.clock.platformTimerHz : 0,
    hvEoi: vapic,
    hvIcr: vapic,
  });
}
