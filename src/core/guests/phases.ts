/**
 * A guest's phases and their work (docs/MODEL.md §3). Each guest runs its plan's phases in order,
 * then idles. A duration-bound phase ends at its time (Ev.PHASE_END on the guest's vCPU 0); a
 * work-bound one when its work is done, and its completion time is a result:
 *   - install: a chain of `steps`: a CPU chunk on the worker (vCPU 0, flat out), then an I/O whose
 *     completion interrupt lands round-robin on the guest's vCPUs; when it lands elsewhere, the ISR
 *     sends the worker a completion notice (a DPC request at class 2 on Windows, a reschedule IPI on
 *     Linux/FreeBSD), and the next step starts when that is delivered;
 *   - disk-benchmark: the same chain with one request of requestBytes per step (RND4K Q1T1);
 *   - build: CPU work split evenly over all vCPUs, each flat out until its share is done.
 * At each phase start every vCPU takes the phase's behaviour: bursts, background activity, timer.
 */
import { startBusyBurst } from './burstWork.js';
import {
  G8,
  Gf,
  Gi,
  GuestCounter,
  Hop,
  Mode,
  PhaseKind,
  Source,
  V8,
  Vf,
  Vi,
  Worker,
  type HostState,
} from '../engine/state.js';
import { flatOutOf, goIdle, startBursts } from './bursts.js';
import { scheduleBackground, sendIpi } from './devices.js';
import { raise, wake } from './interrupts.js';
import { PHASE_ORDER } from './model.js';
import { startPingPong } from './pingPong.js';
import { cancelIdleWakeup, scheduleTimer } from './timers.js';
import { setupWorkload } from './workloadGuest.js';

/** Gi.IO_TARGET besides a vCPU index: no chain I/O in flight. */
const IO_NONE = -1;
/** Gi.IO_TARGET besides a vCPU index: the completion was serviced elsewhere; its notice is in flight to the worker. */
const IO_NOTIFYING = -2;

/**
 * What phase `idx` of guest `gi` makes of each of its vCPUs, kept per vCPU for the per-event reads
 * (HostState.behaviours, Vf.CR8_PER_NS, V8.SPIN, V8.FLAT_OUT): the phase's behaviour, or idle beyond its `busyVcpus` (and
 * past the plan's end). The phase index changes only in startPhase, so nothing else needs to refresh it.
 */
function cacheBehaviours(h: HostState, gi: number, idx: number): void {
  const guest = h.guests[gi];
  const model = guest.model;
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  const plan = idx < guest.phases.length ? guest.phases[idx] : undefined;
  for (let l = 0; l < guest.vcpus; l++) {
    const busy = plan !== undefined && (plan.busyVcpus === undefined || l < plan.busyVcpus);
    const b = busy ? model.phases[plan.phase] : model.phases.idle;
    h.behaviours[first + l] = b;
    h.vf[(first + l) * Vf.STRIDE + Vf.CR8_PER_NS] = model.usesCr8 ? b.cr8PerBusySecond / 1e9 : 0;
    h.v8[(first + l) * V8.STRIDE + V8.SPIN] = busy && plan.phase === 'lock-spin' ? 1 : 0;
    h.v8[(first + l) * V8.STRIDE + V8.FLAT_OUT] = flatOutOf(plan, l);
  }
}

/** Guest `gi` starts phase `idx` of its plan (past the end: idle for ever). */
export function startPhase(h: HostState, gi: number, idx: number): void {
  const guest = h.guests[gi];
  const g = gi * Gf.STRIDE;
  h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX] = idx;
  cacheBehaviours(h, gi, idx);
  h.gf[g + Gf.PHASE_START] = h.now;
  h.gf[g + Gf.PHASE_END] = Infinity;
  h.g8[gi * G8.STRIDE + G8.WORKER_STATE] = Worker.NONE;
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  startPingPong(h, gi); // clears every vCPU's message; a ping-pong phase hands out the first
  if (idx >= guest.phases.length) {
    startVcpus(h, gi);
    return;
  }
  const plan = guest.phases[idx];
  if (plan.durationNs !== undefined) h.gf[g + Gf.PHASE_END] = h.now + plan.durationNs;
  if (plan.work !== undefined) {
    if (plan.phase === 'build') {
      for (let l = 0; l < guest.vcpus; l++) {
        h.vf[(first + l) * Vf.STRIDE + Vf.WORK_LEFT] = Math.round(plan.work / guest.vcpus);
        h.v8[(first + l) * V8.STRIDE + V8.BUILD_ACTIVE] = 1;
      }
    } else if (plan.phase === 'install') {
      const m = guest.model.install;
      h.gf[g + Gf.STEPS_LEFT] = m.steps;
      h.gf[g + Gf.CHUNK_LEFT] = Math.round(plan.work / m.steps);
      h.g8[gi * G8.STRIDE + G8.WORKER_STATE] = Worker.CPU;
    } else if (plan.phase === 'disk-benchmark') {
      const d = guest.model.diskBenchmark;
      h.gf[g + Gf.BYTES_LEFT] = plan.work;
      h.gf[g + Gf.STEPS_LEFT] = Math.ceil(plan.work / d.requestBytes);
      h.gf[g + Gf.CHUNK_LEFT] = d.cpuPerRequestNs;
      h.g8[gi * G8.STRIDE + G8.WORKER_STATE] = Worker.CPU;
    }
  }
  startVcpus(h, gi);
}

/** Every vCPU of guest `gi` takes its current phase's behaviour. */
function startVcpus(h: HostState, gi: number): void {
  const guest = h.guests[gi];
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  h.notePhaseKinds(gi); // startPhase's and startPingPong's words, before the first re-key below
  if (guest.workload !== undefined) {
    setupWorkload(h, gi, guest.workload);
    return;
  }
  for (let l = 0; l < guest.vcpus; l++) {
    const v = first + l;
    const b = h.vcpuBehaviour(v);
    startBursts(h, gi, v, b);
    scheduleBackground(h, v, b);
    scheduleTimer(h, v);
    h.reschedule(v);
  }
}

/** Ev.PHASE_END, or the phase's work done at `h.now`: its completion time kept, the next phase starts. */
export function completePhase(h: HostState, gi: number): void {
  const at = h.now;
  const guest = h.guests[gi];
  const idx = h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
  const kind = guest.phases[idx].phase;
  const col = PHASE_ORDER.indexOf(kind);
  // Whole nanoseconds, like latencies: the per-phase sums over guests stay exact in any order.
  if (guest.phases[idx].work !== undefined)
    h.phaseDoneNs[gi * PHASE_ORDER.length + col] = Math.round(at - h.gf[gi * Gf.STRIDE + Gf.PHASE_START]);
  startPhase(h, gi, idx + 1);
}

/** `guestNs` of running guest time outside raised sections on vCPU `v`: its chunk, build share or hop progresses. */
export function consumeWork(h: HostState, gi: number, v: number, guestNs: number): void {
  if (v === h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] && h.worker(gi) === Worker.CPU)
    h.gf[gi * Gf.STRIDE + Gf.CHUNK_LEFT] -= guestNs;
  if (h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] === 1 || h.hop(v) === Hop.RUNNING)
    h.vf[v * Vf.STRIDE + Vf.WORK_LEFT] = Math.max(0, h.vf[v * Vf.STRIDE + Vf.WORK_LEFT] - guestNs);
  const w = v * Vf.STRIDE + Vf.BURST_WORK;
  if (h.v8[v * V8.STRIDE + V8.BUSY] === 1 && h.vf[w] !== Infinity) h.vf[w] = Math.max(0, h.vf[w] - guestNs);
}

// ---------------------------------------------------------------- install and disk-benchmark chains

/**
 * When the worker vCPU `v` finishes its CPU chunk at its present rate (Infinity: not running one). The
 * event walk writes this out to share its rate (src/core/engine/events.ts); test/engine/perVcpuCache
 * holds the walk to it.
 */
export function chunkEndTime(h: HostState, v: number): number {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  if (
    v !== h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] ||
    h.worker(gi) !== Worker.CPU ||
    h.mode(v) !== Mode.RUN ||
    h.vf[v * Vf.STRIDE + Vf.RAISED_END] !== Infinity
  )
    return Infinity;
  h.resumeTime(v); // after the exit time owed, at the vCPU's share (as the event walk)
  const from = h.resumeAt;
  return from + h.workWallNs(v, h.gf[gi * Gf.STRIDE + Gf.CHUNK_LEFT]);
}

/** Ev.CHUNK_END: the worker issues the step's I/O and, while it waits, runs other threads in bursts. */
export function chunkDone(h: HostState, gi: number, v: number): void {
  h.g8[gi * G8.STRIDE + G8.WORKER_STATE] = Worker.WAIT;
  h.phaseKinds[v] &= ~PhaseKind.CHUNK_END; // `v` is the worker (its CHUNK_END ran)
  issueIo(h, v, gi);
  startBusyBurst(h, v, h.vcpuBehaviour(v).burstNs);
}

function issueIo(h: HostState, v: number, gi: number): void {
  const time = h.now;
  const guest = h.guests[gi];
  h.machine.mmio(v); // the storage doorbell
  const plan = guest.phases[h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX]];
  let service = guest.model.install.deviceServiceNs;
  if (plan.phase === 'disk-benchmark') {
    const d = guest.model.diskBenchmark;
    service = d.deviceLatencyNs + Math.round((d.requestBytes * 1e9) / d.deviceBytesPerSecond);
  }
  const seq = h.gi32[gi * Gi.STRIDE + Gi.IO_SEQ]++;
  // MSI completions are spread over the guest's vCPUs (interrupt affinity), round robin.
  const target = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] + (seq % guest.vcpus);
  setIoTarget(h, gi, target);
  h.gf[gi * Gf.STRIDE + Gf.IO_DONE_AT] = time + service;
  h.reschedule(target);
}

/**
 * Gi.IO_TARGET := `target` (a vCPU, IO_NONE or IO_NOTIFYING), with the IO_DONE bits of HostState.phaseKinds
 * (E17): the old target's off, the new one's on. A bit or two, not notePhaseKinds' whole guest: the
 * chain moves on every few install events.
 */
function setIoTarget(h: HostState, gi: number, target: number): void {
  const old = h.gi32[gi * Gi.STRIDE + Gi.IO_TARGET];
  if (old >= 0) h.phaseKinds[old] &= ~PhaseKind.IO_DONE;
  h.gi32[gi * Gi.STRIDE + Gi.IO_TARGET] = target;
  if (target >= 0) h.phaseKinds[target] |= PhaseKind.IO_DONE;
}

/** When the chain's I/O completion interrupt reaches vCPU `v` (Infinity: not in flight to it). */
export function ioDoneTime(h: HostState, gi: number, v: number): number {
  return h.gi32[gi * Gi.STRIDE + Gi.IO_TARGET] === v ? h.gf[gi * Gf.STRIDE + Gf.IO_DONE_AT] : Infinity;
}

/** Ev.IO_DONE: the completion interrupt arrives at `v`, whose next device ISR will serve it. */
export function ioCompletes(h: HostState, gi: number, v: number): void {
  h.gf[gi * Gf.STRIDE + Gf.IO_DONE_AT] = Infinity;
  setIoTarget(h, gi, IO_NONE);
  h.gi32[gi * Gi.STRIDE + Gi.IO_ISR_VCPU] = v;
  raise(h, v, h.guests[gi].model.deviceVector, Source.DEVICE);
}

/** Whether an ISR for `vector` on `v` is the device ISR serving guest `gi`'s chain I/O. */
function chainDeviceIsr(h: HostState, gi: number, v: number, vector: number): boolean {
  return vector === h.guests[gi].model.deviceVector && h.gi32[gi * Gi.STRIDE + Gi.IO_ISR_VCPU] === v;
}

/** Whether an ISR for `vector` on `v` is the completion notice guest `gi`'s worker waits for. */
function chainNoticeIsr(h: HostState, gi: number, v: number, vector: number): boolean {
  return (
    vector === h.guests[gi].model.completionIpiVector &&
    h.gi32[gi * Gi.STRIDE + Gi.IO_TARGET] === IO_NOTIFYING &&
    v === h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU]
  );
}

/** Whether chainAfterIsr does nothing for `vector` on `v` (returns at once): neither the chain's device ISR nor its notice. */
export function noChainStepAfterIsr(h: HostState, gi: number, v: number, vector: number): boolean {
  return !chainDeviceIsr(h, gi, v, vector) && !chainNoticeIsr(h, gi, v, vector);
}

/** End of an ISR for `vector` on `v`: the chain's device ISR, or the worker's completion notice, moves it on. */
export function chainAfterIsr(h: HostState, gi: number, v: number, vector: number): void {
  if (noChainStepAfterIsr(h, gi, v, vector)) return;
  if (chainDeviceIsr(h, gi, v, vector)) {
    h.gi32[gi * Gi.STRIDE + Gi.IO_ISR_VCPU] = -1;
    afterDeviceIsr(h, gi, v);
  } else ioNotified(h, gi); // chainNoticeIsr
}

/** After the device ISR: notify the originating vCPU (DPC/APC or reschedule IPI) or finish here. */
function afterDeviceIsr(h: HostState, gi: number, v: number): void {
  if (h.worker(gi) !== Worker.WAIT) return;
  const origin = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  if (v === origin) {
    ioNotified(h, gi);
    return;
  }
  setIoTarget(h, gi, IO_NOTIFYING); // completion notice in flight to the origin
  sendIpi(h, v, origin, h.guests[gi].model.completionIpiVector);
}

/** The worker knows its I/O completed: the step is done; the next chunk starts (woken if halted). */
function ioNotified(h: HostState, gi: number): void {
  const guest = h.guests[gi];
  const plan = guest.phases[h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX]];
  const g = gi * Gf.STRIDE;
  setIoTarget(h, gi, IO_NONE);
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  if (plan.phase === 'disk-benchmark') {
    const bytes = Math.min(guest.model.diskBenchmark.requestBytes, h.gf[g + Gf.BYTES_LEFT]);
    h.gf[g + Gf.BYTES_LEFT] -= bytes;
    h.guestCounters[gi * GuestCounter.COUNT + GuestCounter.IO_BYTES] += bytes;
  }
  h.gf[g + Gf.STEPS_LEFT]--;
  if (h.gf[g + Gf.STEPS_LEFT] <= 0) {
    completePhase(h, gi);
    return;
  }
  h.gf[g + Gf.CHUNK_LEFT] =
    plan.phase === 'disk-benchmark'
      ? guest.model.diskBenchmark.cpuPerRequestNs
      : Math.round((plan.work ?? 0) / guest.model.install.steps);
  h.g8[gi * G8.STRIDE + G8.WORKER_STATE] = Worker.CPU;
  h.phaseKinds[first] |= PhaseKind.CHUNK_END;
  cancelIdleWakeup(h, first);
  h.vf[first * Vf.STRIDE + Vf.BURST_END] = Infinity;
  h.vf[first * Vf.STRIDE + Vf.BURST_WORK] = Infinity;
  h.v8[first * V8.STRIDE + V8.BUSY] = 1;
  if (h.mode(first) === Mode.HALT) {
    wake(h, first);
    h.machine.raiseInterrupt(first, guest.model.ipiVector, false);
    h.drainDeliveries();
  }
  h.reschedule(first);
}

// ---------------------------------------------------------------- build

/** When vCPU `v` finishes its build share at its present rate (Infinity: none, or not running it); as chunkEndTime. */
export function buildEndTime(h: HostState, v: number): number {
  return h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] === 0 ? Infinity : h.workEndTime(v);
}

/** Ev.BUILD_END: `v`'s share is done; the last share ends the phase, the others go idle. */
export function buildShareDone(h: HostState, v: number): void {
  const time = h.now;
  h.vf[v * Vf.STRIDE + Vf.WORK_LEFT] = 0;
  h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] = 0;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  h.notePhaseKinds(gi);
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  let all = true;
  for (let l = 0; l < h.guests[gi].vcpus; l++) if (h.v8[(first + l) * V8.STRIDE + V8.BUILD_ACTIVE] === 1) all = false;
  if (all) completePhase(h, gi);
  else {
    h.vf[v * Vf.STRIDE + Vf.BURST_END] = time + Math.max(1, h.rng.exponentialNs(v, h.vcpuBehaviour(v).burstNs));
    goIdle(h, gi, v);
  }
}
