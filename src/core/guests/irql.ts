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
  h.rng.bound = model.raisedFraction; // a field, not an argument (prng.ts belowBound: a boxed double)
  if (!h.rng.belowBound(v)) return;
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
  // One branch, each word written once: fewer bytes for isrStart's inlining budget (engine30.md, E12).
  const vf = h.vf;
  const b = v * Vf.STRIDE;
  const end = vf[b + Vf.RAISED_END];
  vf[b + Vf.RAISED_LEFT] = end !== Infinity ? end - h.now : 0;
  vf[b + Vf.RAISED_END] = Infinity;
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

/** ISR entry: KiInterruptDispatch raises IRQL to the interrupt's level through CR8. */
export function isrRaiseIrql(h: HostState, v: number, model: GuestModel, vector: number): void {
  if (!model.usesCr8) return;
  h.v8[v * V8.STRIDE + V8.ISR_PREV_CR8] = h.machine.raiseCr8(v, vector >>> 4); // MOV from CR8, MOV to CR8
}

/** ISR exit: IRQL back to what the ISR interrupted. */
export function isrRestoreIrql(h: HostState, v: number, model: GuestModel): void {
  if (model.usesCr8) h.machine.writeCr8(v, h.v8[v * V8.STRIDE + V8.ISR_PREV_CR8]);
}
