/**
 * Windows IRQL through %cr8 (docs/MODEL.md §4): KfRaiseIrql reads and writes CR8, KeLowerIrql writes
 * it, so a raise/lower pair is 3 accesses. A busy vCPU outside a raised section executes that traffic
 * as a stream (cr8Stream); an interrupt that arrives while the guest would be inside a raised section
 * materialises one (enterRaised), which masks lower-class interrupts until it ends (lowerIrql); an
 * ISR suspends the section and raises IRQL to its own vector's class (KiInterruptDispatch).
 * Guests that do not use %cr8 (Linux, FreeBSD, workload profiles) never get here.
 */
import { Mode, V8, Vf, Vi, type HostState } from '../engine/state.js';
import type { GuestModel } from './model.js';

/**
 * Guest `gi`'s vCPU `v` runs `h.cr8WallNs` ns outside a raised section: the %cr8 stream, exact; its
 * guest ns left in `h.cr8GuestNs` (fields, not an argument and a return: no boxed fraction per event).
 */
export function cr8Stream(h: HostState, v: number, gi: number): void {
  const wall = h.cr8WallNs;
  const m = h.machine;
  const model = h.guests[gi].model;
  const b = v * Vf.STRIDE;
  const x = h.vf[b + Vf.CR8_PER_NS]; // the phase's cr8PerBusySecond / 1e9 (a %cr8 guest: this runs only for one)
  // Guest time from the last measured cost per access; what the accesses really cost is carried as debt.
  const guestNs = wall / (1 + x * h.vf[b + Vf.COST_PER_ACCESS]);
  const accesses = x * guestNs + h.vf[b + Vf.CARRY];
  // A carry below 0 is accesses a materialised raised section took ahead of the stream (enterRaised):
  // kept until the stream's own accesses repay it, not written off by a negative pair count.
  const pairs = accesses >= 3 ? Math.floor(accesses / 3) : 0;
  h.vf[b + Vf.CARRY] = accesses - pairs * 3;
  if (pairs > 0) {
    const before = m.vcpuHostNs[v];
    m.cr8Pairs(v, pairs, model.raisedCr8, 0);
    const spent = m.vcpuHostNs[v] - before;
    m.vcpuHostNs[v] = before;
    const predicted = wall - guestNs;
    h.vf[b + Vf.COST_PER_ACCESS] = spent / (3 * pairs);
    h.vf[b + Vf.DEBT] += spent - predicted;
    h.drainDeliveries();
  } else {
    h.vf[b + Vf.DEBT] -= wall - guestNs;
  }
  h.cr8GuestNs = guestNs;
}

/**
 * An interrupt arrives at running vCPU `v`: with probability raisedFraction the guest is inside a
 * raised section, which is materialised (one raise of the stream, taken from its carry).
 */
export function enterRaised(h: HostState, v: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const model = h.guests[gi].model;
  const b = v * Vf.STRIDE;
  if (!model.usesCr8 || h.mode(v) !== Mode.RUN || h.vf[b + Vf.RAISED_END] !== Infinity) return;
  if (!h.rng.uniformBelow(v, model.raisedFraction, 1)) return;
  h.machine.raiseCr8(v, model.raisedCr8); // MOV from CR8, MOV to CR8 (one table operation)
  h.vf[b + Vf.CARRY] -= 3;
  h.vf[b + Vf.RAISED_END] = time + Math.max(1, h.rng.exponentialNs(v, model.raisedHoldNs));
}

/** Ev.RAISED_END: the raised section ends (KeLowerIrql: CR8 <- 0); what it masked can be delivered. */
export function lowerIrql(h: HostState, v: number): void {
  h.vf[v * Vf.STRIDE + Vf.RAISED_END] = Infinity;
  h.machine.writeCr8(v, 0);
  h.drainDeliveries();
}

/** An ISR starts on `v`: a raised section in progress is suspended (its rest kept for afterwards). */
export function suspendRaised(h: HostState, v: number): void {
  const time = h.now;
  const b = v * Vf.STRIDE;
  if (h.vf[b + Vf.RAISED_END] !== Infinity) {
    h.vf[b + Vf.RAISED_LEFT] = h.vf[b + Vf.RAISED_END] - time;
    h.vf[b + Vf.RAISED_END] = Infinity;
  } else {
    h.vf[b + Vf.RAISED_LEFT] = 0;
  }
}

/** Back from an ISR on `v`: the suspended raised section, if any, runs its rest. */
export function resumeRaised(h: HostState, v: number): void {
  const time = h.now;
  const b = v * Vf.STRIDE;
  if (h.vf[b + Vf.RAISED_LEFT] > 0) {
    h.vf[b + Vf.RAISED_END] = time + h.vf[b + Vf.RAISED_LEFT];
    h.vf[b + Vf.RAISED_LEFT] = 0;
  }
}

/**
 * The %cr8 value ISR entry raises IRQL to for `vector` (KiInterruptDispatch: the vector's priority
 * class, SDM Vol. 3A 10.8.3.1 "Task and Processor Priorities"), or -1 when the guest does not use %cr8.
 * The one home of the rule: isrRaiseIrql and the fused clock arrival (isrEntryCr8) ask it.
 */
export function isrIrqlCr8(model: GuestModel, vector: number): number {
  return model.usesCr8 ? vector >>> 4 : -1;
}

/** ISR entry: KiInterruptDispatch raises IRQL to the interrupt's level through CR8. */
export function isrRaiseIrql(h: HostState, v: number, model: GuestModel, vector: number): void {
  const cr8 = isrIrqlCr8(model, vector);
  if (cr8 < 0) return;
  h.v8[v * V8.STRIDE + V8.ISR_PREV_CR8] = h.machine.raiseCr8(v, cr8); // MOV from CR8, MOV to CR8
}

/**
 * Clock interrupt `vector` arrives at vCPU `v`'s own event (timers.ts timerFires -> raise): the %cr8
 * value its ISR will raise to if the arrival and that raise can be one machine operation
 * (Machine.clockInterruptRaiseCr8, timekeeping.ts clockInterrupt), else -1. They can when, should the
 * arrival deliver the vector to `v`, the ISR's start (isrStart, which the engine's drainDeliveries
 * runs next) would do nothing between them that a machine operation reads or writes: the ISR raises
 * %cr8 at all (isrIrqlCr8); nothing delivered earlier in the step waits to start its ISR first and no
 * IPI waits to be sent first (drainDeliveries' order: the step's counts 0); the exit recorder is off
 * (isrStart notes the delivery in it between the two: Machine.recordDeliveryNote). The rest of
 * isrStart's work before its raise touches engine words only, and its advance(v) at v's own event
 * changes nothing (progress returns at once; the host ticks were brought past the event when it
 * began, and the vCPU's mode is the same). The latency reads the vCPU's host ns after the arrival:
 * the operation leaves them (Machine.isrEntryHostNs). Whether the arrival delivered the vector, and
 * only it, to `v` is the operation's own test.
 */
export function isrEntryCr8(h: HostState, v: number, vector: number): number {
  const m = h.machine;
  if (m.recOn || m.stepDeliveredCount !== 0 || m.ipiOutCount !== 0) return -1;
  return isrIrqlCr8(h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model, vector);
}

/** ISR exit: IRQL back to what the ISR interrupted. */
export function isrRestoreIrql(h: HostState, v: number, model: GuestModel): void {
  if (model.usesCr8) h.machine.writeCr8(v, h.v8[v * V8.STRIDE + V8.ISR_PREV_CR8]);
}
