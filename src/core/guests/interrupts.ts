/**
 * The guest's side of an interrupt before its ISR: it arrives at the vCPU's LAPIC (raise), and the
 * guest waits for one with HLT (halt). Delivery and the ISR itself: src/core/guests/isr.ts.
 */
import { GuestCounter, Mode, Source, Vf, Vi, type HostState } from '../engine/state.js';
import { enterRaised } from './irql.js';
import { clockInterrupt } from './timekeeping.js';

/**
 * Interrupt `vector` from `source` (a Source) arrives at vCPU `v`: counted, its arrival time kept for
 * the latency, a halted vCPU's host wake-up charged, the guest possibly caught inside a raised IRQL
 * section, then the machine's delivery rules decide (delivered now, or pending).
 */
export function raise(h: HostState, v: number, vector: number, source: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  h.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_TIMER + source]++;
  const a = v * Vf.STRIDE + Vf.ARRIVAL + source;
  if (h.vf[a] < 0) h.vf[a] = time;
  if (h.mode(v) === Mode.HALT) h.vf[v * Vf.STRIDE + Vf.DEBT] += h.config.host.haltWakeupNs;
  enterRaised(h, v);
  // The guest's own timer expires on the host's timer: a running vCPU exits for it (KVM: the
  // VMX-preemption timer, else the host timer's external interrupt; Machine.guestTimerExpires), or
  // it is a synthetic timer or a platform timer (src/core/guests/timekeeping.ts).
  if (source === Source.TIMER) clockInterrupt(h, v, vector);
  else h.machine.raiseInterrupt(v, vector, false);
  h.drainDeliveries();
}

/** vCPU `v` executes HLT: it stops running until an interrupt is delivered. */
export function halt(h: HostState, v: number): void {
  h.advance(v);
  h.setRunnable(v, false);
  h.machine.hlt(v);
  sleeps(h, v);
}

/**
 * The guest's side of a HLT the machine has already executed as part of a fused operation
 * (Machine.eoiCr8IretHlt: an idle vCPU's ISR end, guests/isr.ts), at vCPU `v`'s own event: what halt
 * does around machine.hlt. advance and setRunnable write engine words only, which the machine's HLT
 * does not read, so they may follow it; advance(v) at the time v's event has already advanced it to
 * changes nothing (progress returns at once, the host ticks were brought past it).
 */
export function halted(h: HostState, v: number): void {
  h.advance(v);
  h.setRunnable(v, false);
  sleeps(h, v);
}

/** After vCPU `v`'s HLT: what it delivered starts, and a HLT that found an interrupt pending does not sleep. */
function sleeps(h: HostState, v: number): void {
  h.drainDeliveries();
  // hlt() with an interrupt already pending does not sleep: it was delivered above (ISR mode).
  if (h.mode(v) === Mode.HALT && !h.machine.isHalted(v) && h.vf[v * Vf.STRIDE + Vf.ISR_END] === Infinity)
    h.setRunnable(v, true);
}
