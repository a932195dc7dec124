/**
 * Background activity of a guest (docs/MODEL.md §4, PhaseBehaviour): device I/O (a doorbell write,
 * then the completion interrupt back to the issuing vCPU after the device's service time) and
 * cross-vCPU IPIs (TLB shootdowns, reschedules), at the current phase's rates; and how an IPI the
 * guest sends travels: the machine executes the ICR write and queues it, and it reaches the target's
 * LAPIC ipiLatencyNs later, as a general IPI or, for the completion vector, an I/O-completion notice.
 *
 * The background clock runs on the vCPU's running time (issue #14): deadlines are drawn as running
 * ns from now (nextIoDelay, nextIpiDelay), kept as wall-time deadlines while the vCPU runs and
 * paused while it is halted (HostState.setRunnable), so a guest issues ioPerBusySecond and
 * ipiPerBusySecond per second it runs, whatever its vCPU count, and nothing falls due during a halt.
 * (The exponential draw is memoryless, so this is the same process as re-drawing a deadline that
 * passed during a halt.)
 */
import { Gi, Source, Vf, Vi, type HostState } from '../engine/state.js';
import { raise } from './interrupts.js';
import { guestSendIpi } from './timekeeping.js';
import type { PhaseBehaviour } from './model.js';

/** Guest ns until vCPU `v`'s next background I/O (Infinity: none in this phase). */
function nextIoDelay(h: HostState, v: number, b: PhaseBehaviour): number {
  return b.ioPerBusySecond > 0 ? h.rng.exponentialNs(v, 1e9 / b.ioPerBusySecond) : Infinity;
}

/** Guest ns until vCPU `v`'s next background IPI (Infinity: none; never in a one-vCPU guest). */
function nextIpiDelay(h: HostState, v: number, b: PhaseBehaviour): number {
  return b.ipiPerBusySecond > 0 && h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].vcpus > 1
    ? h.rng.exponentialNs(v, 1e9 / b.ipiPerBusySecond)
    : Infinity;
}

/**
 * The next deadline of a background clock that fell due with `left` guest ns on it: `delay` from the
 * deadline that fell due. Its due time is the event walk's prediction (events.ts: from
 * HostState.resumeTime, the guest ns at the present rate), and progress gives the guest ns that really
 * ran: a credit (debt below 0) left by a stream lets the clock fall due with ns left, and guest time
 * without the %cr8 stream's exits (an ISR) runs faster than the rate (it falls due past 0). Until the
 * booksaudit session the rest was dropped, so the clocks did not count guest time exactly
 * (test/core/timeBooks; then, before the walk counted the exits since the last advance, about a
 * quarter of the default fleet's background I/Os fell due with ~680 ns left).
 * A phase without the activity (delay Infinity) keeps it off.
 */
function carryDeadline(left: number, delay: number): number {
  return delay + left;
}

/** A phase starts: vCPU `v`'s background I/O and IPIs at its rates. */
export function scheduleBackground(h: HostState, v: number, b: PhaseBehaviour): void {
  h.vf[v * Vf.STRIDE + Vf.BG_IO_LEFT] = nextIoDelay(h, v, b);
  h.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT] = nextIpiDelay(h, v, b);
}

/** Ev.BG_IO: a doorbell write; its completion interrupt comes back to this vCPU after the service time. */
export function backgroundIo(h: HostState, v: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  // The next deadline counts from this one's, not from now: the guest ns still left (+) or run past
  // it (-) are carried (carryDeadline).
  h.vf[v * Vf.STRIDE + Vf.BG_IO_LEFT] = carryDeadline(
    h.vf[v * Vf.STRIDE + Vf.BG_IO_LEFT],
    nextIoDelay(h, v, h.vcpuBehaviour(v)),
  );
  h.machine.mmio(v);
  if (h.vf[v * Vf.STRIDE + Vf.BG_DONE_AT] === Infinity)
    h.vf[v * Vf.STRIDE + Vf.BG_DONE_AT] = time + h.guests[gi].model.install.deviceServiceNs;
}

/** Ev.BG_IO_DONE: the background I/O's completion interrupt. */
export function backgroundIoDone(h: HostState, v: number): void {
  h.vf[v * Vf.STRIDE + Vf.BG_DONE_AT] = Infinity;
  raise(h, v, h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model.deviceVector, Source.DEVICE);
}

/** Ev.BG_IPI: an IPI to another vCPU of the guest, chosen uniformly. */
export function backgroundIpi(h: HostState, v: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const guest = h.guests[gi];
  h.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT] = carryDeadline(
    h.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT],
    nextIpiDelay(h, v, h.vcpuBehaviour(v)),
  );
  const others = guest.vcpus - 1;
  if (others <= 0) return;
  let target = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] + h.rng.below(v, others);
  if (target >= v) target++;
  sendIpi(h, v, target, guest.model.ipiVector);
}

/**
 * The guest sends a fixed IPI: the machine executes the ICR write (exiting as the LAPIC mode and
 * controls dictate) and queues the IPI in its outbox; flushIpiOutbox schedules the arrival.
 */
export function sendIpi(h: HostState, from: number, target: number, vector: number): void {
  guestSendIpi(h, from, target, vector);
  h.drainDeliveries();
}

/** IPIs the machine queued reach their target LAPIC ipiLatencyNs after the ICR write. */
export function flushIpiOutbox(h: HostState): void {
  const time = h.now;
  const m = h.machine;
  const n = Math.min(m.ipiOutCount, m.ipiOutTarget.length);
  m.ipiOutCount = 0;
  for (let i = 0; i < n; i++) {
    const target = m.ipiOutTarget[i];
    const vector = m.ipiOutVector[i];
    const gi = h.vi[target * Vi.STRIDE + Vi.GUEST_OF];
    const at = time + h.config.host.ipiLatencyNs;
    const b = target * Vf.STRIDE;
    if (vector === h.guests[gi].model.completionIpiVector) {
      if (h.vf[b + Vf.NOTIFY_AT] === Infinity) h.vf[b + Vf.NOTIFY_AT] = at;
    } else if (h.vf[b + Vf.IPI_AT] === Infinity) {
      h.vf[b + Vf.IPI_AT] = at;
      h.vi[target * Vi.STRIDE + Vi.IPI_VECTOR] = vector;
    }
    h.reschedule(target);
  }
}

/** Ev.IPI: a general IPI reaches the vCPU. */
export function ipiArrives(h: HostState, v: number): void {
  const vector = h.vi[v * Vi.STRIDE + Vi.IPI_VECTOR];
  h.vf[v * Vf.STRIDE + Vf.IPI_AT] = Infinity;
  h.vi[v * Vi.STRIDE + Vi.IPI_VECTOR] = -1;
  raise(h, v, vector, Source.IPI);
}

/** Ev.NOTIFY: an I/O-completion notice (DPC request / reschedule IPI) reaches the vCPU. */
export function notifyArrives(h: HostState, v: number): void {
  h.vf[v * Vf.STRIDE + Vf.NOTIFY_AT] = Infinity;
  raise(h, v, h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model.completionIpiVector, Source.IPI);
}
