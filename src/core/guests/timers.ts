/**
 * The guest's LAPIC timer tick (docs/MODEL.md §4): `timer.hz` ticks per second on each vCPU, its
 * vector delivered like any interrupt. Tickless guests stop it while halted (dynticks, Windows tick
 * skipping), except the clock owner (vCPU 0) where the model says so; one-shot guests re-arm it from
 * each tick's ISR (an initial-count write, which exits as the LAPIC mode and controls dictate).
 */
import { Mode, Source, Vf, Vi, type HostState } from '../engine/state.js';
import { raise } from './interrupts.js';
import type { GuestModel } from './model.js';

/** Initial count a one-shot re-arm writes (any non-zero count arms the timer). */
const ONE_SHOT_COUNT = 100000;

/** Arm vCPU `v`'s timer if it has none pending (a deadline kept while it was stopped stays). */
export function scheduleTimer(h: HostState, v: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const timer = h.guests[gi].model.timer;
  const t = v * Vf.STRIDE + Vf.NEXT_TIMER;
  if (timer.hz <= 0) {
    h.vf[t] = Infinity;
    return;
  }
  if (h.vf[t] !== Infinity) return;
  const period = Math.round(1e9 / timer.hz);
  // Phase-stagger vCPU timers deterministically (each vCPU's LAPIC timer was armed at a different moment).
  h.vf[t] = h.now + 1 + h.rng.below(v, period);
}

/** Whether vCPU `v`'s timer ticks now (Ev.TIMER), or its deadline is stale (Ev.TIMER_STALE). */
export function timerActive(h: HostState, v: number): boolean {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const timer = h.guests[gi].model.timer;
  if (timer.hz <= 0) return false;
  if (h.mode(v) !== Mode.HALT) return true;
  if (!timer.tickless) return true;
  return timer.clockOwnerTicksWhenIdle && h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0;
}

/** Ev.TIMER: a tick; the next one a period later (or a period from now, if ticks were missed). */
export function timerFires(h: HostState, v: number, time: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const timer = h.guests[gi].model.timer;
  const t = v * Vf.STRIDE + Vf.NEXT_TIMER;
  const period = Math.round(1e9 / timer.hz);
  h.vf[t] += period;
  if (h.vf[t] <= time) h.vf[t] = time + period;
  raise(h, v, timer.vector, Source.TIMER, time);
}

/** Ev.TIMER_STALE: a deadline that passed while the timer was stopped is dropped (re-armed afresh). */
export function dropStaleTimer(h: HostState, v: number): void {
  h.vf[v * Vf.STRIDE + Vf.NEXT_TIMER] = Infinity;
}

/** End of an ISR for `vector` on `v`: a one-shot guest's tick re-arms the timer. */
export function rearmAfterTick(h: HostState, v: number, model: GuestModel, vector: number): void {
  if (vector === model.timer.vector && model.timer.oneShotRearm) h.machine.timerInitialCount(v, ONE_SHOT_COUNT);
}
