/**
 * The guest's timer (docs/MODEL.md §4): `timer.hz` ticks per second on each running vCPU, its vector
 * delivered like any interrupt. Tickless guests stop the tick while halted (Windows tick skipping),
 * except the clock owner (vCPU 0) where the model says so. One-shot guests re-arm the timer from
 * each tick's ISR, and when also tickless they run dynticks (Linux NO_HZ_IDLE, FreeBSD event timers):
 *   - idle entry programs the timer for the wake-up (tick_nohz_idle_stop_tick: one arm), and the
 *     idle period lasts until that timer fires (programIdleWakeup);
 *   - the wake-up is the timer interrupt: its ISR re-arms for the next expiry (one arm) and idle
 *     exit restarts the periodic tick (tick_nohz_idle_exit: one arm) - three arms per wake-up;
 *   - while busy, each tick re-arms (one arm).
 * An arm is WRMSR IA32_TSC_DEADLINE in TSC-deadline mode, which the OS uses when the hypervisor
 * offers it (KVM does; bhyve hides it: freebsd-src sys/amd64/vmm/x86.c x86_emulate_cpuid clears
 * CPUID2_TSCDLT, "No TSC deadline support in the APIC yet"), else an initial-count write; either
 * exits as the LAPIC mode and controls dictate.
 */
import { IA32_TSC_DEADLINE } from '../apic/registers.js';
import { startBusyBurst } from './burstWork.js';
import { Mode, Source, V8, Vf, Vi, type HostState } from '../engine/state.js';
import { raise } from './interrupts.js';
import type { GuestModel } from './model.js';
import { linuxArmReads, linuxTickReads, noLinuxClockReads } from './linuxClockReads.js';
import {
  clockPeriodNs,
  clockTickDone,
  forwardedTick,
  noClockWorkAtTickEnd,
  platformClockOwner,
} from './timekeeping.js';

/** Initial count a one-shot re-arm writes (any non-zero count arms the timer). */
const ONE_SHOT_COUNT = 100000;

/** Whether `model` runs dynticks: a one-shot timer stopped in idle, the wake-up programmed on it. */
export function dynticks(model: GuestModel): boolean {
  return model.timer.tickless && model.timer.oneShotRearm && model.timer.hz > 0;
}

/** The guest programs its one-shot timer (see the header: TSC deadline when offered, else initial count). */
export function armTimer(h: HostState, v: number, model: GuestModel): void {
  linuxArmReads(h, v); // clockevents_program_event's ktime_get (Linux on acpi_pm / hpet only)
  if (model.timer.tscDeadline && h.config.traits.hypervisor === 'kvm') h.machine.wrmsr(v, IA32_TSC_DEADLINE, 1, 0);
  else h.machine.timerInitialCount(v, ONE_SHOT_COUNT);
}

/** Arm vCPU `v`'s timer if it has none pending (a deadline kept while it was stopped stays). */
export function scheduleTimer(h: HostState, v: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const timer = h.guests[gi].model.timer;
  const t = v * Vf.STRIDE + Vf.NEXT_TIMER;
  if (timer.hz <= 0 || forwardedTick(h, v)) {
    h.vf[t] = Infinity;
    return;
  }
  if (h.vf[t] !== Infinity) return;
  const period = clockPeriodNs(h, v);
  // Phase-stagger vCPU timers deterministically (each vCPU's LAPIC timer was armed at a different moment).
  h.vf[t] = h.now + 1 + h.rng.below(v, period);
}

/** How a vCPU's timer runs (V8.TIMER_CLASS): fixed by its guest's model and clock for the host's life. */
export const enum TimerClass {
  /** No clock interrupt of its own (no timer, or its clock owner's IPIs forward the tick). */
  NONE = 0,
  /** Ticks halted or not: a periodic timer, a platform timer's owner, an idle clock owner that keeps ticking. */
  ALWAYS = 1,
  /** Tickless: stopped in a halt unless the idle wake-up is programmed on it (V8.WAKE_TIMER). */
  WHILE_RUNNING = 2,
}

/** vCPU `v`'s TimerClass, worked out once (the engine keeps it in V8.TIMER_CLASS for timerActive). */
export function timerClass(h: HostState, v: number): TimerClass {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const timer = h.guests[gi].model.timer;
  if (timer.hz <= 0 || forwardedTick(h, v)) return TimerClass.NONE; // no clock of its own: the owner's clock IPIs
  if (platformClockOwner(h, v)) return TimerClass.ALWAYS; // a periodic device: it does not know the vCPU is idle
  if (!timer.tickless) return TimerClass.ALWAYS;
  return timer.clockOwnerTicksWhenIdle && h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0
    ? TimerClass.ALWAYS
    : TimerClass.WHILE_RUNNING;
}

/**
 * Whether vCPU `v`'s timer ticks now (Ev.TIMER), or its deadline is stale (Ev.TIMER_STALE): per event
 * walk, so from the vCPU's TimerClass and two state bytes (the mode, the programmed idle wake-up).
 */
export function timerActive(h: HostState, v: number): boolean {
  const c: TimerClass = h.v8[v * V8.STRIDE + V8.TIMER_CLASS];
  if (c === TimerClass.NONE) return false;
  return c === TimerClass.ALWAYS || h.mode(v) !== Mode.HALT || h.v8[v * V8.STRIDE + V8.WAKE_TIMER] === 1;
}

/**
 * A dynticks guest's vCPU `v` goes idle until its wake-up time in Vf.BURST_END (bursts.ts goIdle): it
 * programs its timer for then (one arm) and the timer interrupt will end the idle period. Returns
 * false (nothing done) for other guests.
 */
export function programIdleWakeup(h: HostState, v: number): boolean {
  const model = h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model;
  if (!dynticks(model)) return false;
  h.vf[v * Vf.STRIDE + Vf.NEXT_TIMER] = h.vf[v * Vf.STRIDE + Vf.BURST_END];
  h.v8[v * V8.STRIDE + V8.WAKE_TIMER] = 1;
  armTimer(h, v, model);
  return true;
}

/** vCPU `v` leaves idle by another way (its work starts): the programmed wake-up becomes the tick again. */
export function cancelIdleWakeup(h: HostState, v: number): void {
  const w = v * V8.STRIDE + V8.WAKE_TIMER;
  if (h.v8[w] === 0) return;
  h.v8[w] = 0;
  h.vf[v * Vf.STRIDE + Vf.NEXT_TIMER] = h.now + clockPeriodNs(h, v);
}

/**
 * Ev.TIMER: a tick, the next one a period later (or a period from now, if ticks were missed); or a
 * dynticks guest's idle wake-up: the vCPU's busy burst starts and its tick restarts.
 */
export function timerFires(h: HostState, v: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const model = h.guests[gi].model;
  const t = v * Vf.STRIDE + Vf.NEXT_TIMER;
  const period = clockPeriodNs(h, v);
  const b8 = v * V8.STRIDE;
  if (h.v8[b8 + V8.WAKE_TIMER] === 1) {
    h.v8[b8 + V8.WAKE_TIMER] = 0;
    h.v8[b8 + V8.RESTART_TICK] = 1;
    startBusyBurst(h, v, h.vcpuBehaviour(v).burstNs);
    h.vf[t] = time + period;
  } else {
    h.vf[t] += period;
    if (h.vf[t] <= time) h.vf[t] = time + period;
  }
  raise(h, v, model.timer.vector, Source.TIMER);
}

/** Ev.TIMER_STALE: a deadline that passed while the timer was stopped is dropped (re-armed afresh). */
export function dropStaleTimer(h: HostState, v: number): void {
  h.vf[v * Vf.STRIDE + Vf.NEXT_TIMER] = Infinity;
}

/**
 * Whether rearmAfterTick does nothing for `vector` on `v` (returns at once): not the tick, or a tick
 * with no clock reads at its end (noLinuxClockReads), no end-of-tick clock work (noClockWorkAtTickEnd)
 * and a periodic timer (no one-shot re-arm).
 */
export function noRearmAfterIsr(h: HostState, v: number, model: GuestModel, vector: number): boolean {
  return (
    vector !== model.timer.vector ||
    (!model.timer.oneShotRearm && noLinuxClockReads(h, v) && noClockWorkAtTickEnd(h, v))
  );
}

/** End of an ISR for `vector` on `v`: a one-shot guest's tick re-arms the timer (and restarts the tick after idle). */
export function rearmAfterTick(h: HostState, v: number, model: GuestModel, vector: number): void {
  if (noRearmAfterIsr(h, v, model, vector)) return;
  linuxTickReads(h, v, clockPeriodNs(h, v)); // the tick path's clock reads (Linux on acpi_pm / hpet only)
  if (clockTickDone(h, v) || !model.timer.oneShotRearm) return;
  armTimer(h, v, model);
  const r = v * V8.STRIDE + V8.RESTART_TICK;
  if (h.v8[r] === 1) {
    h.v8[r] = 0;
    armTimer(h, v, model);
  }
}
