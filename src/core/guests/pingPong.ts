/**
 * The ping-pong phase (docs/SCENARIOS.md, docs/MODEL.md §4): pairs of vCPUs - local (0, 1), (2, 3),
 * ... among the phase's `busyVcpus` (or all; an odd one out idles) - pass one message back and forth,
 * as two processes bouncing a byte across a pipe do. A vCPU that receives the message runs `hopNs`
 * of guest work, wakes its peer and goes idle; the peer, halted meanwhile, wakes on the IPI.
 *
 * The wake-up is Linux's for a task whose CPU is idle in HLT: try_to_wake_up queues the task on the
 * target CPU and resched_curr (or, across caches, ttwu_queue_remote) sends it the reschedule IPI,
 * unless the idle task polls its need-resched flag (torvalds/linux kernel/sched/core.c:
 * `if (set_nr_and_not_polling(curr)) smp_send_reschedule(cpu)`; `if (!set_nr_if_polling(rq->idle))
 * smp_send_reschedule(cpu)` in ttwu_queue_remote, v5.4). HLT's default_idle does not poll (a guest
 * with cpuidle-haltpoll does, and would send no IPI: not modelled), so every hop is one ICR write
 * by the sender (an x2APIC MSR write, an xAPIC ICR-low MMIO write) and one interrupt to a halted vCPU.
 * The reschedule IPI's handler only sets need-resched; on its return the idle loop exits (a dynticks
 * guest restarts its tick there: tick_nohz_idle_exit, one timer write) and the woken task runs.
 *
 * Everything else is the guest's idle behaviour (the phase's PhaseBehaviour is the model's idle one
 * without background I/O and IPIs, model/data.ts): its timer, dynticks, idle wake-ups and bursts
 * (the next timer event is armed at each idle entry); a vCPU stays running through a hop
 * (bursts.ts isAlwaysBusy). State per vCPU: V8.HOP (a Hop value) and Vf.WORK_LEFT (the hop's work).
 */
import { Gi, Hop, V8, Vf, Vi, type HostState } from '../engine/state.js';
import { goIdle, idleGapMeanNs } from './bursts.js';
import { sendIpi } from './devices.js';
import { armTimer, cancelIdleWakeup } from './timers.js';

/** vCPU `v`'s peer in its guest's ping-pong phase (local index l ^ 1 within busyVcpus), or -1. */
function peerOf(h: HostState, gi: number, v: number): number {
  const guest = h.guests[gi];
  const plan = guest.phases[h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX]];
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  const l = v - first;
  const n = Math.min(plan.busyVcpus ?? guest.vcpus, guest.vcpus);
  const peer = l ^ 1;
  return l < n && peer < n ? first + peer : -1;
}

/** Whether guest `gi` is in a ping-pong phase. */
function inPingPong(h: HostState, gi: number): boolean {
  const idx = h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
  const guest = h.guests[gi];
  return idx < guest.phases.length && guest.phases[idx].phase === 'ping-pong';
}

/**
 * A phase starts on guest `gi` (before its vCPUs take their behaviour): every vCPU's message state
 * is cleared, and in a ping-pong phase the first vCPU of each pair holds the message and runs a hop.
 */
export function startPingPong(h: HostState, gi: number): void {
  const guest = h.guests[gi];
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  const on = inPingPong(h, gi);
  for (let l = 0; l < guest.vcpus; l++) {
    const v = first + l;
    h.v8[v * V8.STRIDE + V8.HOP] = Hop.NONE;
    if (on && (l & 1) === 0 && peerOf(h, gi, v) >= 0) startHop(h, gi, v);
  }
}

/** vCPU `v` has the message: its hop's work starts (flat out, bursts.ts isAlwaysBusy). */
function startHop(h: HostState, gi: number, v: number): void {
  h.v8[v * V8.STRIDE + V8.HOP] = Hop.RUNNING;
  h.vf[v * Vf.STRIDE + Vf.WORK_LEFT] = h.guests[gi].phases[h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX]].hopNs ?? 0;
  h.notePhaseKinds(gi);
}

/** When vCPU `v` finishes its hop at its present rate (Infinity: none, or not running it); the walk writes it out (events.ts). */
export function hopEndTime(h: HostState, v: number): number {
  return h.hop(v) === Hop.RUNNING ? h.workEndTime(v) : Infinity;
}

/**
 * Ev.HOP_END: `v` has done its hop's work: it wakes its peer (the reschedule IPI, an ICR write) and,
 * unless an idle burst of its own keeps it running, goes idle - a dynticks guest programs its next
 * timer event at idle entry (bursts.ts goIdle), as in the idle phase, whose gap it draws afresh
 * (the exponential gap is memoryless).
 */
export function hopDone(h: HostState, v: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  h.v8[v * V8.STRIDE + V8.HOP] = Hop.NONE;
  h.vf[v * Vf.STRIDE + Vf.WORK_LEFT] = 0;
  const peer = peerOf(h, gi, v);
  if (peer >= 0) h.v8[peer * V8.STRIDE + V8.HOP] = Hop.SENT;
  h.notePhaseKinds(gi);
  if (peer >= 0) sendIpi(h, v, peer, h.guests[gi].model.completionIpiVector);
  const end = h.vf[v * Vf.STRIDE + Vf.BURST_END];
  if (h.v8[v * V8.STRIDE + V8.BUSY] === 1 && end !== Infinity) return; // in an idle burst of its own
  const b = h.vcpuBehaviour(v);
  h.vf[v * Vf.STRIDE + Vf.BURST_END] =
    h.v8[v * V8.STRIDE + V8.BUSY] === 0 && end !== Infinity
      ? Math.max(end, time + 1)
      : time + Math.max(1, h.rng.exponentialNs(v, idleGapMeanNs(b)));
  goIdle(h, gi, v);
}

/**
 * Whether pingPongAfterIsr does nothing for `vector` on `v` (returns at once): not the reschedule IPI
 * of a message its peer sent, in a ping-pong phase.
 */
export function noHopAfterIsr(h: HostState, gi: number, v: number, vector: number): boolean {
  return vector !== h.guests[gi].model.completionIpiVector || h.hop(v) !== Hop.SENT || !inPingPong(h, gi);
}

/**
 * End of an ISR for `vector` on `v`: the peer's reschedule IPI brings the message. The idle loop
 * exits (a dynticks guest whose tick was stopped restarts it: tick_nohz_idle_exit, one timer write)
 * and the hop starts.
 */
export function pingPongAfterIsr(h: HostState, gi: number, v: number, vector: number): void {
  if (noHopAfterIsr(h, gi, v, vector)) return;
  if (h.v8[v * V8.STRIDE + V8.WAKE_TIMER] === 1) {
    cancelIdleWakeup(h, v);
    armTimer(h, v, h.guests[gi].model);
  }
  startHop(h, gi, v); // isrEnd then finds the vCPU busy (bursts.ts isAlwaysBusy) and does not halt it
}
