/**
 * The guest services an interrupt the machine delivered: its ISR starts (latency measured from the
 * arrival, a halted vCPU woken, a raised IRQL section suspended and IRQL raised to the vector's
 * class) and runs isrNs (timerIsrNs for a tick); at its end (Ev.ISR_END) come EOI, the restored
 * IRQL, a one-shot timer's re-arm, the work chain's follow-up, IRET, and a halt if the vCPU was idle.
 */
import { GuestCounter, Mode, Source, V8, Vf, Vi, type HostState } from '../engine/state.js';
import { FlatOut, isAlwaysBusy } from './bursts.js';
import { halt, halted, wake } from './interrupts.js';
import type { GuestModel } from './model.js';
import { isrRaiseIrql, isrRestoreIrql, resumeRaised, suspendRaised } from './irql.js';
import { chainAfterIsr, noChainStepAfterIsr } from './phases.js';
import { noHopAfterIsr, pingPongAfterIsr } from './pingPong.js';
import { noRearmAfterIsr, rearmAfterTick } from './timers.js';
import { guestEoi } from './timekeeping.js';

function sourceOf(h: HostState, gi: number, vector: number): number {
  const model = h.guests[gi].model;
  if (vector === model.timer.vector) return Source.TIMER;
  if (vector === model.deviceVector) return Source.DEVICE;
  return Source.IPI;
}

/**
 * isrStart's latency (`a`: the arrival time's word; -1 when none is pending) and the recorder's note:
 * the delivery's latency from the arrival, observed into the host's latency results.
 */
function deliveryLatency(h: HostState, v: number, gi: number, vector: number, via: number, a: number): void {
  const time = h.now;
  let latency = -1;
  if (h.vf[a] >= 0) {
    // The ISR's first instruction runs at the VM entry that injects the vector (SDM Vol. 3C, "Event
    // Injection": delivered after VM entry completes; AMD APM Vol. 2, 15.20 "Event Injection": at
    // VMRUN), so only when the host has finished the exit work the vCPU owes, its exit debt: the
    // arrival's own external-interrupt exit (a kick, no posted interrupts), a halted vCPU's wake-up
    // (haltWakeupNs, charged at the arrival: raise), and exits it was still being handled for (a %cr8
    // storm's), paid at the vCPU's share of a core as progress pays it. With posted interrupts or AVIC
    // and nothing owed there is no delay. The owed time at the share is HostState.resumeTime's, the one
    // home the event walk and the work end times count from (read from a field: a fraction returned by
    // a call V8 does not inline is boxed, an allocation per delivery). Whole nanoseconds: event times
    // carry fractions, and sums of integers are exact in any order (any split of hosts over workers or
    // shards adds up to the same bits). A debt below 0 is a credit (guests/irql.ts: guest time the
    // %cr8 split withheld), not work the entry waits for: it starts no ISR before its arrival.
    h.resumeTime(v);
    latency = Math.round(time - h.vf[a] + (h.owedWallNs > 0 ? h.owedWallNs : 0));
    h.vf[a] = -1;
    h.observeLatency(latency, gi);
  }
  if (h.machine.recOn) h.machine.recordDeliveryNote(v, vector, latency, via);
}

/** The machine delivered `vector` to vCPU `v` (IRR -> ISR) `via` (recorder.ts DeliveryVia): the guest's ISR starts. */
export function isrStart(h: HostState, v: number, vector: number, via = 0): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const source = sourceOf(h, gi, vector);
  h.guestCounters[gi * GuestCounter.COUNT + GuestCounter.DELIVERED_TIMER + source]++;
  h.advance(v);
  wake(h, v);
  // The arrival's latency, out of line: isrStart is inlined into drainDeliveries, whose inlining budget
  // then reaches advance (docs/perf/engine30.md, E11).
  const a = v * Vf.STRIDE + Vf.ARRIVAL + source;
  if (h.vf[a] >= 0 || h.machine.recOn) deliveryLatency(h, v, gi, vector, via, a);
  suspendRaised(h, v);
  h.v8[v * V8.STRIDE + V8.MODE] = Mode.ISR;
  h.vi[v * Vi.STRIDE + Vi.ISR_VECTOR] = vector;
  const model = h.guests[gi].model;
  // The clock IPI (a forwarded tick) runs the clock ISR's non-owner path (KeClockInterruptNotify).
  const tick = source === Source.TIMER || (vector === model.clockIpiVector && vector !== 0);
  h.vf[v * Vf.STRIDE + Vf.ISR_END] = time + (tick ? model.timerIsrNs : model.isrNs);
  isrRaiseIrql(h, v, model, vector);
}

/** isrPlan's word: bits, and the timer's vector above them. */
const enum Plan {
  /** Worked out (the word is 0 until then). */
  KNOWN = 1,
  /** A %cr8 guest whose EOIs are the LAPIC's, not hv-vapic's (the EOI and the IRQL restore may be one operation). */
  CR8_EOI = 2,
  /** The tick's end does nothing between the EOI and the IRET: noRearmAfterIsr for the timer's vector. */
  QUIET_TICK = 4,
  VECTOR_SHIFT = 3,
}

/**
 * What isrEnd asks of vCPU `v` at every ISR end that is a constant of its guest (docs/perf/engine30.md,
 * E22): whether the ISR's EOI and IRQL restore are one machine operation (Machine.eoiCr8) but for the
 * Hyper-V auto-EOI, which the vCPU's words decide, and whether the tick's end re-arms or reads nothing
 * (the rules' own predicate, asked for the timer's vector), with that vector. Worked out at the vCPU's
 * first ISR end from the guest's model, clock and clocksource, which the host's config fixes, and kept
 * in the machine's words (Machine.isrPlan): nothing changes them afterwards, so the word cannot go stale.
 */
function isrPlan(h: HostState, v: number, gi: number, model: GuestModel): number {
  const m = h.machine;
  const known = m.isrPlan(v);
  if (known !== 0) return known;
  const t = model.timer.vector;
  const plan =
    Plan.KNOWN |
    (model.usesCr8 && !h.clocks[gi].hvEoi ? Plan.CR8_EOI : 0) |
    (noRearmAfterIsr(h, v, model, t) ? Plan.QUIET_TICK : 0) |
    (t << Plan.VECTOR_SHIFT);
  m.setIsrPlan(v, plan);
  return plan;
}

/**
 * Whether vCPU `v`, back from its ISR in guest `gi`, has nothing to do and halts (the idle loop's
 * HLT): running, no busy burst, no raised IRQL section left to finish, no phase that keeps it flat
 * out. The one home of the rule: isrEnd asks it before a fused EOI + %cr8 write + IRET + HLT and
 * after an unfused ISR end.
 */
function idleAfterIsr(h: HostState, gi: number, v: number): boolean {
  return (
    h.mode(v) === Mode.RUN &&
    h.v8[v * V8.STRIDE + V8.BUSY] === 0 &&
    h.vf[v * Vf.STRIDE + Vf.RAISED_END] === Infinity &&
    // isAlwaysBusy's first test, before its call (an idle vCPU's phase never keeps it flat out: E22).
    ((h.v8[v * V8.STRIDE + V8.FLAT_OUT] as FlatOut) === FlatOut.NEVER || !isAlwaysBusy(h, gi, v))
  );
}

/**
 * Ev.ISR_END: EOI, IRQL restored, follow-ups, IRET; back to what was interrupted (or to HLT).
 *
 * The EOI (guestEoi), then IRQL back to what the ISR interrupted (isrRestoreIrql): a %cr8 guest whose
 * EOI is the LAPIC's (no Hyper-V auto-EOI or EOI MSR) does the two as one machine operation
 * (Machine.eoiCr8: one lookup in the table of interned states instead of two). When, besides, what
 * runs between the EOI and the IRET - rearmAfterTick (timers.ts), chainAfterIsr (phases.ts),
 * pingPongAfterIsr (pingPong.ts) - does nothing for this vector on this vCPU, as each module's own
 * predicate says (noRearmAfterIsr, noChainStepAfterIsr, noHopAfterIsr: the test each follow-up
 * returns at, so each rule has one home; the first asked once per vCPU, isrPlan, the other two only on
 * a host whose phases can take those steps), the EOI, the %cr8 write and the IRET are one machine
 * operation (Machine.eoiCr8Iret).
 *
 * And when the vCPU then halts (idleAfterIsr), the HLT joins them (Machine.eoiCr8IretHlt), if what
 * runs between the IRET and the HLT does nothing: the engine's turning deliveries into ISR starts
 * (drainDeliveries) has nothing to turn when nothing was delivered or sent in the step before the
 * ISR end (the step's counts 0) nor by the EOI, %cr8 write and IRET (the operation runs the HLT only
 * then, else returns 0 and the ISR end goes on unfused); the rest is halt's engine side (halted).
 */
export function isrEnd(h: HostState, v: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const model = h.guests[gi].model;
  const vector = h.vi[v * Vi.STRIDE + Vi.ISR_VECTOR];
  const m = h.machine;
  h.vf[v * Vf.STRIDE + Vf.ISR_END] = Infinity;
  h.vi[v * Vi.STRIDE + Vi.ISR_VECTOR] = -1;
  // The guest's constants from its plan (E22); the auto-EOI from the vCPU's words. The chain's steps
  // and the hops happen only in a phase with work or a ping-pong (HostState.phaseEvents, E15): on a
  // host without one both predicates hold.
  const plan = isrPlan(h, v, gi, model);
  const cr8 = (plan & Plan.CR8_EOI) !== 0 && !m.hvAutoEoi(v, vector);
  if (
    cr8 &&
    (vector !== plan >> Plan.VECTOR_SHIFT || (plan & Plan.QUIET_TICK) !== 0) &&
    (h.phaseEvents !== true || (noChainStepAfterIsr(h, gi, v, vector) && noHopAfterIsr(h, gi, v, vector)))
  ) {
    // The follow-ups would return at once; the rest touches the engine's words only, which the
    // machine's operations do not read: it may come first.
    h.v8[v * V8.STRIDE + V8.MODE] = Mode.RUN;
    resumeRaised(h, v);
    const prevCr8 = h.v8[v * V8.STRIDE + V8.ISR_PREV_CR8];
    if (m.stepDeliveredCount === 0 && m.ipiOutCount === 0 && idleAfterIsr(h, gi, v)) {
      if (m.eoiCr8IretHlt(v, prevCr8) === 1) {
        halted(h, v);
        return;
      }
    } else m.eoiCr8Iret(v, prevCr8);
  } else {
    if (cr8) m.eoiCr8(v, h.v8[v * V8.STRIDE + V8.ISR_PREV_CR8]);
    else {
      guestEoi(h, v, vector);
      isrRestoreIrql(h, v, model);
    }
    rearmAfterTick(h, v, model, vector);
    chainAfterIsr(h, gi, v, vector);
    pingPongAfterIsr(h, gi, v, vector);
    // Back to what was interrupted.
    h.v8[v * V8.STRIDE + V8.MODE] = Mode.RUN;
    resumeRaised(h, v);
    m.iret(v);
  }
  if (h.undrained()) h.drainDeliveries();
  if (idleAfterIsr(h, gi, v)) halt(h, v);
}
