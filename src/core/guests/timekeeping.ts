/**
 * The guest side of Windows timekeeping under KVM (rules and sources: src/core/guests/clock.ts):
 * clock reads while the vCPU runs, the clock interrupt's delivery and its end-of-tick work, the
 * EOI and IPI instructions under hv-vapic. Guests without timekeeping (bhyve, Linux, FreeBSD) take
 * the model's LAPIC paths.
 */
import { Gi, GuestCounter, Vf, Vi, type HostState } from '../engine/state.js';
import { HvMsr } from '../hypervisor/hyperv.js';
import { RTC_DATA_PORT, RTC_INDEX_PORT } from '../hypervisor/platform.js';
import { ClockTimer } from './clock.js';

/**
 * vCPU `v` of guest `gi` ran `h.ranGuestNs` of guest time: its clock reads at the model's rate, exact
 * mean counts with the fraction carried, executed in bulk by the per-instruction rules (Machine.repeat);
 * their host time is exit debt paid from the next running time.
 */
export function clockReads(h: HostState, v: number, gi: number): void {
  const guestNs = h.ranGuestNs;
  const c = h.clocks[gi];
  if (c.op < 0 || guestNs <= 0) return;
  const rate = h.vcpuBehaviour(v).clockReadsPerBusySecond; // the phase's (a computing thread reads none)
  if (rate <= 0) return;
  const b = v * Vf.STRIDE + Vf.CLOCK_CARRY;
  const reads = (rate * guestNs) / 1e9 + h.vf[b];
  const n = Math.floor(reads);
  h.vf[b] = reads - n;
  if (n > 0) h.machine.repeat(v, n, c.op, c.arg, 0);
}

/** Whether vCPU `v` is its guest's clock owner on a platform timer (RTC / HPET): it ticks at platformHz, idle or not. */
export function platformClockOwner(h: HostState, v: number): boolean {
  const t = h.clocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].timer;
  return (t === ClockTimer.PLATFORM_RTC || t === ClockTimer.PLATFORM_HPET) && h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0;
}

/**
 * Whether vCPU `v`'s tick is forwarded by its clock owner (a platform timer drives the guest's clock
 * and `v` is not the owner): it has no clock interrupt of its own, only the owner's clock IPIs.
 */
export function forwardedTick(h: HostState, v: number): boolean {
  const t = h.clocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].timer;
  return (t === ClockTimer.PLATFORM_RTC || t === ClockTimer.PLATFORM_HPET) && h.vi[v * Vi.STRIDE + Vi.LOCAL] !== 0;
}

/** Period of vCPU `v`'s clock interrupt, ns: the platform timer's on its clock owner, else the model's tick. */
export function clockPeriodByRule(h: HostState, v: number): number {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  return Math.round(1e9 / (platformClockOwner(h, v) ? h.clocks[gi].platformHz : h.guests[gi].model.timer.hz));
}

/** clockPeriodByRule, worked out once per vCPU when the host is built (Vf.CLOCK_PERIOD): read per tick. */
export function clockPeriodNs(h: HostState, v: number): number {
  return h.vf[v * Vf.STRIDE + Vf.CLOCK_PERIOD];
}

/**
 * The clock interrupt `vector` reaches vCPU `v`: a synthetic timer's expiry through the SynIC
 * (Machine.stimerExpires), a platform timer's interrupt as a device interrupt injected by the
 * hypervisor, or the LAPIC timer as the hypervisor emulates it (Machine.guestTimerExpires).
 *
 * The RTC's interrupt (ISA IRQ 8 on the I/O APIC) is edge-triggered (TMR clear), but KVM tracks its
 * EOIs to coalesce lost ticks (lost_tick_policy=slew, libvirt tickpolicy=catchup): its vector is
 * in KVM's EOI-exit bitmap (apic/eoi.ts requestEoiExit). So under APICv each RTC EOI exits
 * (EOI_INDUCED; perf-prof: 1024/s on the clock owner), the hv-vapic EOI assist is refused, and
 * under AVIC, which has no such bitmap, the EOI of the edge vector is accelerated (no exit). The
 * HPET's edge interrupt is on no such list.
 */
export function clockInterrupt(h: HostState, v: number, vector: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const t = h.clocks[gi].timer;
  if (t === ClockTimer.STIMER) h.machine.stimerExpires(v, vector);
  else if (platformClockOwner(h, v)) {
    // The VMM's device model ran the period's timer callback and raised the line (deviceModelTickNs).
    h.guestCounters[gi * GuestCounter.COUNT + GuestCounter.DEVICE_MODEL_NS] += h.config.host.deviceModelTickNs;
    h.machine.raiseInterrupt(v, vector, false, t === ClockTimer.PLATFORM_RTC);
  } else h.machine.guestTimerExpires(v, vector);
}

/**
 * Whether the end of a clock ISR on `v` does nothing (clockTickDone returns false at once): no clock
 * owner's reads, and its clock is the LAPIC timer (not a synthetic timer, not a platform timer's owner).
 */
export function noClockWorkAtTickEnd(h: HostState, v: number): boolean {
  const c = h.clocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]];
  return (
    !(c.readsPerOwnerTick > 0 && h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0) &&
    c.timer !== ClockTimer.STIMER &&
    !platformClockOwner(h, v)
  );
}

/**
 * End of a clock ISR on `v`: the clock owner's time update reads the clock (KiUpdateTime,
 * clock.readsPerOwnerTick); a synthetic timer in one-shot mode is re-armed (WRMSR
 * HV_X64_MSR_STIMER0_COUNT); an RTC tick is acknowledged by reading status register C (OUT 0x70,
 * IN 0x71), and a platform timer's tick is forwarded to the other vCPUs with the clock IPI
 * (clock.ts header). Returns true when the guest's clock is not the LAPIC timer (nothing else to re-arm).
 */
export function clockTickDone(h: HostState, v: number): boolean {
  if (noClockWorkAtTickEnd(h, v)) return false;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const c = h.clocks[gi];
  const m = h.machine;
  if (c.readsPerOwnerTick > 0 && h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0) m.repeat(v, c.readsPerOwnerTick, c.op, c.arg, 0);
  if (c.timer === ClockTimer.STIMER) {
    m.wrmsr(v, HvMsr.STIMER0_COUNT, 1, 0);
    return true;
  }
  if (platformClockOwner(h, v)) {
    if (c.timer === ClockTimer.PLATFORM_RTC) {
      m.ioInstruction(v, RTC_INDEX_PORT);
      m.ioInstruction(v, RTC_DATA_PORT);
    }
    const guest = h.guests[gi];
    const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    for (let t = first + 1; t < first + guest.vcpus; t++) guestSendIpi(h, v, t, guest.model.clockIpiVector);
    return true;
  }
  return false;
}

/**
 * A Windows vCPU on a one-shot synthetic timer goes idle or leaves idle: tick skipping reprograms
 * the timer at both (the next due timer at idle entry, the periodic tick again at idle exit), one
 * WRMSR HV_X64_MSR_STIMER0_COUNT each - the structure of Linux's NO_HZ_IDLE (tick_nohz_idle_stop_tick
 * / tick_nohz_idle_exit), estimated for Windows; cloud-hypervisor PR #8380's 834 writes/s is the
 * held-out check. Other clocks: nothing.
 */
export function stimerIdleTransition(h: HostState, v: number): void {
  if (h.clocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].timer === ClockTimer.STIMER)
    h.machine.wrmsr(v, HvMsr.STIMER0_COUNT, 1, 0);
}

/** The guest's EOI for `vector`: none for a SynIC AutoEOI SINT, hv-vapic's EOI MSR or assist, else the LAPIC mode's EOI. */
export function guestEoi(h: HostState, v: number, vector: number): void {
  const m = h.machine;
  if (m.hvAutoEoi(v, vector)) return;
  if (h.clocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].hvEoi) m.hvEoi(v);
  else m.eoi(v);
}

/** The guest sends fixed IPI `vector` to `target`: HV_X64_MSR_ICR under hv-vapic, else the LAPIC mode's ICR. */
export function guestSendIpi(h: HostState, from: number, target: number, vector: number): void {
  if (h.clocks[h.vi[from * Vi.STRIDE + Vi.GUEST_OF]].hvIcr) h.machine.hvSendIpi(from, target, vector);
  else h.machine.sendIpi(from, target, vector);
}
