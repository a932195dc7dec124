/**
 * Busy bursts and idle gaps (docs/MODEL.md §3): outside its work a vCPU alternates exponentially
 * distributed busy bursts (mean burstNs) and idle gaps sized so that it is busy busyFraction of the
 * time; an idle gap is a HLT, and the next burst starts with the scheduler's wake-up IPI. vCPUs
 * doing a phase's work (the worker's CPU chunk, a build share) run flat out instead.
 */
import { GuestCounter, Hop, Mode, V8, Vf, Vi, Worker, type HostState } from '../engine/state.js';
import { startBusyBurst } from './burstWork.js';
import { halt, wake } from './interrupts.js';
import type { PhaseBehaviour, PhasePlan } from './model.js';
import { cancelIdleWakeup, programIdleWakeup, scheduleTimer } from './timers.js';
import { stimerIdleTransition } from './timekeeping.js';

/**
 * Worker vCPU 0 during its CPU chunk, every vCPU during a build, the vCPUs that take a compute
 * or lock-spin phase (its first `busyVcpus`, or all), and a ping-pong vCPU during its hop
 * (guests/pingPong.ts) run flat out.
 */
export function isAlwaysBusy(h: HostState, gi: number, v: number): boolean {
  const c: FlatOut = h.v8[v * V8.STRIDE + V8.FLAT_OUT];
  if (c === FlatOut.NEVER) return false;
  if (c === FlatOut.ALWAYS) return true;
  if (c === FlatOut.HOP) return h.hop(v) === Hop.RUNNING; // guests/pingPong.ts
  if (c === FlatOut.BUILD) return h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] === 1;
  return h.worker(gi) === Worker.CPU;
}

/** What of its phase keeps a vCPU flat out (V8.FLAT_OUT, set when the phase starts: flatOutOf). */
export const enum FlatOut {
  NEVER = 0,
  /** A compute or lock-spin phase's busy vCPU. */
  ALWAYS = 1,
  /** A ping-pong vCPU, during its hop. */
  HOP = 2,
  /** A work-bound build's vCPU, while it owes its share. */
  BUILD = 3,
  /** A work-bound install or disk benchmark's worker (vCPU 0), during its CPU chunk. */
  CHUNK = 4,
}

/** The FlatOut of the guest's vCPU `local` in phase `plan` (undefined: past the plan's end). */
export function flatOutOf(plan: PhasePlan | undefined, local: number): FlatOut {
  if (plan === undefined) return FlatOut.NEVER;
  if (plan.phase === 'compute' || plan.phase === 'lock-spin')
    return plan.busyVcpus === undefined || local < plan.busyVcpus ? FlatOut.ALWAYS : FlatOut.NEVER;
  if (plan.phase === 'ping-pong') return FlatOut.HOP;
  if (plan.work === undefined) return FlatOut.NEVER;
  if (plan.phase === 'build') return FlatOut.BUILD;
  return local === 0 ? FlatOut.CHUNK : FlatOut.NEVER;
}

/**
 * A phase starts on vCPU `v`: flat out if it does the phase's work or the phase is busy all the time,
 * else a busy burst (unless in one).
 */
export function startBursts(h: HostState, gi: number, v: number, b: PhaseBehaviour): void {
  const busy = v * V8.STRIDE + V8.BUSY;
  const end = v * Vf.STRIDE + Vf.BURST_END;
  // Flat out: a vCPU doing the phase's work, or one whose phase is busy all the time (busyFraction
  // 1: one endless burst - bursts of a mean length with idle gaps of mean 0 would still halt at
  // every burst's end, ~100 times a second for 10 ms bursts).
  if (isAlwaysBusy(h, gi, v) || b.busyFraction >= 1) {
    h.vf[end] = Infinity;
    h.vf[v * Vf.STRIDE + Vf.BURST_WORK] = Infinity;
    cancelIdleWakeup(h, v);
    wake(h, v);
    h.v8[busy] = 1;
  } else if (h.vf[end] === Infinity || h.v8[busy] === 0) {
    startBusyBurst(h, v, b.burstNs);
  }
}

/** Mean idle gap that keeps a vCPU busy `busyFraction` of the time with bursts of mean `burstNs`. */
export function idleGapMeanNs(b: PhaseBehaviour): number {
  return b.busyFraction >= 1 ? 0 : (b.burstNs * (1 - b.busyFraction)) / Math.max(b.busyFraction, 1e-9);
}

/** Ev.BURST_END: a busy burst ends (the vCPU halts) or an idle gap does (the scheduler wakes it). */
export function burstBoundary(h: HostState, v: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const b = h.vcpuBehaviour(v);
  const busy = v * V8.STRIDE + V8.BUSY;
  const end = v * Vf.STRIDE + Vf.BURST_END;
  if (h.v8[busy] === 1) {
    h.vf[v * Vf.STRIDE + Vf.BURST_WORK] = Infinity;
    h.vf[end] = time + Math.max(1, h.rng.exponentialNs(v, idleGapMeanNs(b)));
    goIdle(h, gi, v);
  } else {
    startBusyBurst(h, v, b.burstNs);
    if (h.mode(v) === Mode.HALT) {
      scheduleTimer(h, v); // a tick stopped in the halt starts again (tick skipping ends)
      wake(h, v);
      h.machine.raiseInterrupt(v, h.guests[gi].model.ipiVector, false); // the scheduler's wake-up IPI
      h.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_IPI]++;
      h.drainDeliveries();
      stimerIdleTransition(h, v); // the tick restarts
    }
  }
}

/**
 * vCPU `v` of guest `gi` goes idle until the wake-up time its caller wrote in Vf.BURST_END (state,
 * not an argument: V8 boxes a double argument, an allocation per call): a dynticks guest programs
 * its timer for the wake-up (src/core/guests/timers.ts), any other is woken by the scheduler's IPI at
 * the idle gap's end (Ev.BURST_END); it halts now unless its work or a raised IRQL section keeps it
 * running (an ISR in progress halts at its end).
 */
export function goIdle(h: HostState, gi: number, v: number): void {
  h.v8[v * V8.STRIDE + V8.BUSY] = 0;
  const running = h.vf[v * Vf.STRIDE + Vf.RAISED_END] === Infinity && !isAlwaysBusy(h, gi, v);
  if (running && programIdleWakeup(h, v)) h.vf[v * Vf.STRIDE + Vf.BURST_END] = Infinity;
  if (running && h.mode(v) === Mode.RUN) {
    stimerIdleTransition(h, v); // the tick stops: the timer is set for the next due timer
    halt(h, v);
  }
}
