import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
import { Counter } from '../vcpu/machine.js';
import { cr8Stream, lowerIrql } from '../guests/irql.js';
import { dropStaleTimer, timerActive, timerFires } from '../guests/timers.js';
import {
  backgroundIo,
  backgroundIoDone,
  backgroundIpi,
  flushIpiOutbox,
  ipiArrives,
  notifyArrives,
} from '../guests/devices.js';
import { burstBoundary } from '../guests/bursts.js';
import { workloadDynOp, workloadDynTime, workloadInterrupt, workloadRun } from '../guests/workloadGuest.js';
import {
  buildEndTime,
  buildShareDone,
  chunkDone,
  chunkEndTime,
  completePhase,
  consumeWork,
  ioCompletes,
  ioDoneTime,
  startPhase,
} from '../guests/phases.js';
import { isrEnd, isrStart } from '../guests/isr.js';
import { Ev } from './events.js';
import { EventHeap } from './heap.js';
import { Gf, Gi, GuestCounter, HostState, INF, Mode, V8, Vf, Vi, WL, WL_IRQ_AT, type HostConfig } from './state.js';

export type { PhaseKind, PhasePlan } from '../guests/model.js';
export { PHASE_ORDER } from '../guests/model.js';
export type { GuestInstance, HostConfig } from './state.js';
export { GuestCounter, LATENCY_BOUNDS_NS, Source } from './state.js';

/**
 * Discrete-event simulation of one host: its guests' vCPUs share `cores` host cores and one
 * hypervisor policy. Simulated time is integer nanoseconds; every random choice comes from a
 * stream derived from (seed, host index, guest index, vCPU), so a host's results depend on nothing
 * but its own inputs — the same in any worker, shard or order.
 *
 * Pure: no I/O. Hot paths use typed arrays only; no closure or object per event.
 */

export class HostSimulation extends HostState {
  private readonly heap: EventHeap;
  /** Events processed one by one; CR8 accesses fast-forwarded are counted by the machine. */
  events = 0;
  private stepNo = 0;
  private deliveredSeen = 0;
  /** scan()'s earliest wake-up time. */
  private scanNext = INF;

  constructor(config: HostConfig) {
    super(config);
    this.heap = new EventHeap(this.n);
    this.machine.launch();
    this.runnable = this.n; // every vCPU starts running (mode RUN); halts and wake-ups keep the count
    for (let gi = 0; gi < this.guests.length; gi++) startPhase(this, gi, 0);
    for (let v = 0; v < this.n; v++) this.reschedule(v);
  }

  // ---------------------------------------------------------------- public

  /** Process every event before `untilNs` (exclusive) and advance all vCPUs to it. */
  advanceTo(untilNs: number): void {
    const heap = this.heap;
    while (heap.size > 0 && heap.peekTime() < untilNs) {
      const v = heap.peek();
      const time = heap.key[v];
      this.now = time;
      this.machine.clockNs = time;
      this.processVcpu(v, time);
      this.events++;
    }
    this.now = untilNs;
    this.machine.clockNs = untilNs;
    for (let v = 0; v < this.n; v++) this.advance(v, untilNs);
  }

  /** All guests finished their work-bound phases (or stopped). */
  workDone(): boolean {
    for (let gi = 0; gi < this.guests.length; gi++) {
      if (this.stoppedAtNs[gi] >= 0) continue;
      const phases = this.guests[gi].phases;
      for (let p = this.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX]; p < phases.length; p++) {
        if (phases[p].work !== undefined) return false;
      }
    }
    return true;
  }

  /** Run the consistency checks on every vCPU (end of run). */
  finalChecks(): void {
    this.machine.checkAllInvariants();
    this.noteStops(this.now);
  }

  guestCount(): number {
    return this.guests.length;
  }

  // ---------------------------------------------------------------- phases

  // ---------------------------------------------------------------- scheduling

  /** Re-key vCPU `v` in the heap at its next event (or take it out when nothing is pending). */
  reschedule(v: number): void {
    if (this.machine.isStopped(v)) {
      this.heap.remove(v);
      return;
    }
    // A running vCPU's host tick is drawn when it starts running (its phase on the host's tick grid).
    if (this.v8[v * V8.STRIDE + V8.MODE] !== Mode.HALT && this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] === INF)
      this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] = this.now + 1 + this.rng.below(v, this.hostTickPeriod());
    const k = this.nextEventTime(v);
    if (k === INF) this.heap.remove(v);
    else this.heap.set(v, Math.max(k, this.vf[v * Vf.STRIDE + Vf.T]));
  }

  /** Earliest due time over the kinds that wake a vCPU (INF: none pending). */
  private nextEventTime(v: number): number {
    this.scan(v, -INF);
    return this.scanNext;
  }

  /** The kind that runs first among those due at `time` on vCPU `v` (lowest priority value), or -1. */
  private firstDue(v: number, time: number): Ev | -1 {
    return this.scan(v, time);
  }

  /**
   * Walk the event table in priority order (Ev) on vCPU `v`, working out each kind's due time: its
   * deadline, or INF when it is not pending or cannot happen in the vCPU's present state. Returns the
   * first kind that runs and is due at `limit` or earlier (-1: none; limit -INF walks every kind) and
   * leaves in `scanNext` the earliest due time of the walked kinds that wake the vCPU. Reads state only.
   *
   * One block per kind, in Ev order (straight-line code: a loop over a switch costs an indirect jump
   * per kind on the engine's hottest path).
   */
  private scan(v: number, limit: number): Ev | -1 {
    const vf = this.vf;
    const b = v * Vf.STRIDE;
    const gi = this.vi[v * Vi.STRIDE + Vi.GUEST_OF];
    const halted = this.v8[v * V8.STRIDE + V8.MODE] === Mode.HALT;
    let next = INF;
    let t = vf[b + Vf.ISR_END];
    if (t <= limit) return Ev.ISR_END;
    if (t < next) next = t;
    t = vf[b + Vf.RAISED_END];
    if (t <= limit) return Ev.RAISED_END;
    if (t < next) next = t;
    t = vf[b + Vf.NOTIFY_AT];
    if (t <= limit) return Ev.NOTIFY;
    if (t < next) next = t;
    t = vf[b + Vf.IPI_AT];
    if (t <= limit) return Ev.IPI;
    if (t < next) next = t;
    t = vf[b + Vf.BG_DONE_AT];
    if (t <= limit) return Ev.BG_IO_DONE;
    if (t < next) next = t;
    t = ioDoneTime(this, gi, v);
    if (t <= limit) return Ev.IO_DONE;
    if (t < next) next = t;
    if (this.wl.length > 0) {
      t = this.wl[v * WL + WL_IRQ_AT];
      if (t <= limit) return Ev.WL_IRQ;
      if (t < next) next = t;
      t = workloadDynTime(this, v);
      if (t <= limit) return Ev.WL_DYN;
      if (t < next) next = t;
    }
    const timerOn = timerActive(this, v);
    t = timerOn ? vf[b + Vf.NEXT_TIMER] : INF;
    if (t <= limit) return Ev.TIMER;
    if (t < next) next = t;
    t = halted ? INF : vf[b + Vf.BG_IO_AT];
    if (t <= limit) return Ev.BG_IO;
    if (t < next) next = t;
    t = halted ? INF : vf[b + Vf.BG_IPI_AT];
    if (t <= limit) return Ev.BG_IPI;
    if (t < next) next = t;
    t = this.vi[v * Vi.STRIDE + Vi.LOCAL] === 0 ? this.gf[gi * Gf.STRIDE + Gf.PHASE_END] : INF;
    if (t <= limit) return Ev.PHASE_END;
    if (t < next) next = t;
    t = chunkEndTime(this, v);
    if (t <= limit) return Ev.CHUNK_END;
    if (t < next) next = t;
    t = buildEndTime(this, v);
    if (t <= limit) return Ev.BUILD_END;
    if (t < next) next = t;
    t = vf[b + Vf.BURST_END];
    if (t <= limit) return Ev.BURST_END;
    if (t < next) next = t;
    // TIMER_STALE runs but never wakes the vCPU.
    t = timerOn ? INF : vf[b + Vf.NEXT_TIMER];
    if (t <= limit) return Ev.TIMER_STALE;
    // HOST_TICK wakes the vCPU but never runs. While nothing is pending or in service a host tick
    // cannot change what the guest sees, so ticks are applied in bulk when the vCPU is next advanced;
    // otherwise each is its own event. (isQuiet is asked only when the tick could be the earliest.)
    t = vf[b + Vf.NEXT_HOST_TICK];
    if (!halted && t < next && !this.machine.isQuiet(v)) next = t;
    this.scanNext = next;
    return -1;
  }

  /** Run event `kind` of vCPU `v` at `time`. */
  private dispatch(v: number, kind: Ev, time: number): void {
    const gi = this.vi[v * Vi.STRIDE + Vi.GUEST_OF];
    switch (kind) {
      case Ev.ISR_END:
        isrEnd(this, v, time);
        break;
      case Ev.RAISED_END:
        lowerIrql(this, v, time);
        break;
      case Ev.NOTIFY:
        notifyArrives(this, v, time);
        break;
      case Ev.IPI:
        ipiArrives(this, v, time);
        break;
      case Ev.BG_IO_DONE:
        backgroundIoDone(this, v, time);
        break;
      case Ev.IO_DONE:
        ioCompletes(this, gi, v, time);
        break;
      case Ev.WL_IRQ:
        workloadInterrupt(this, v, time);
        break;
      case Ev.WL_DYN:
        workloadDynOp(this, v, time);
        break;
      case Ev.TIMER:
        timerFires(this, v, time);
        break;
      case Ev.BG_IO:
        backgroundIo(this, v, time);
        break;
      case Ev.BG_IPI:
        backgroundIpi(this, v, time);
        break;
      case Ev.PHASE_END:
        completePhase(this, gi, time);
        break;
      case Ev.CHUNK_END:
        chunkDone(this, gi, v, time);
        break;
      case Ev.BUILD_END:
        buildShareDone(this, v, time);
        break;
      case Ev.BURST_END:
        burstBoundary(this, v, time);
        break;
      case Ev.TIMER_STALE:
        dropStaleTimer(this, v);
        break;
      case Ev.HOST_TICK:
        break; // never runs: its exits are applied by advance()
    }
  }

  // ---------------------------------------------------------------- progress

  /** Bring vCPU `v` forward to `time`: guest progress, CR8 traffic, exit debt, then host ticks. */
  advance(v: number, time: number): void {
    if (this.stoppedAtNs[this.vi[v * Vi.STRIDE + Vi.GUEST_OF]] >= 0) {
      this.vf[v * Vf.STRIDE + Vf.T] = Math.max(this.vf[v * Vf.STRIDE + Vf.T], time); // a stopped guest runs no more
      return;
    }
    this.progress(v, time);
    const tick = this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK];
    if (tick <= time && this.v8[v * V8.STRIDE + V8.MODE] !== Mode.HALT && !this.machine.isStopped(v)) {
      // The host's timer ticks that fell in (from, time]: external-interrupt exits, exact and in bulk.
      const period = this.hostTickPeriod();
      const ticks = Math.floor((time - tick) / period) + 1;
      this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] = tick + ticks * period;
      this.machine.hostInterrupts(v, ticks);
      this.drainDeliveries(time);
    }
  }

  private progress(v: number, time: number): void {
    const from = this.vf[v * Vf.STRIDE + Vf.T];
    if (time <= from) return;
    this.vf[v * Vf.STRIDE + Vf.T] = time;
    const m = this.machine;
    this.vf[v * Vf.STRIDE + Vf.DEBT] += m.vcpuHostNs[v];
    m.vcpuHostNs[v] = 0;
    if (m.isStopped(v)) return;
    const gi = this.vi[v * Vi.STRIDE + Vi.GUEST_OF];
    let wall = time - from;
    if (this.v8[v * V8.STRIDE + V8.MODE] === Mode.HALT) {
      this.vf[v * Vf.STRIDE + Vf.DEBT] = Math.max(0, this.vf[v * Vf.STRIDE + Vf.DEBT] - wall);
      return;
    }
    wall *= this.share();
    const pay = Math.min(this.vf[v * Vf.STRIDE + Vf.DEBT], wall);
    this.vf[v * Vf.STRIDE + Vf.DEBT] -= pay;
    wall -= pay;
    if (wall <= 0) return;
    const model = this.guests[gi].model;
    let guestNs = wall;
    const workload = this.guests[gi].workload;
    if (workload !== undefined) {
      if (this.v8[v * V8.STRIDE + V8.MODE] === Mode.RUN) guestNs = workloadRun(this, v, workload, wall, time);
    } else if (
      this.v8[v * V8.STRIDE + V8.MODE] === Mode.RUN &&
      this.vf[v * Vf.STRIDE + Vf.RAISED_END] === INF &&
      model.usesCr8
    ) {
      guestNs = cr8Stream(this, v, gi, wall, time);
    }
    guestNs = Math.round(guestNs);
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.GUEST_CPU_NS] += guestNs;
    if (this.v8[v * V8.STRIDE + V8.MODE] === Mode.RUN && this.vf[v * Vf.STRIDE + Vf.RAISED_END] === INF)
      consumeWork(this, gi, v, guestNs);
  }

  // ---------------------------------------------------------------- events

  private processVcpu(v: number, time: number): void {
    const m = this.machine;
    this.stepNo++;
    m.beginStep(this.stepNo);
    this.deliveredSeen = 0;
    this.advance(v, time);
    if (m.isStopped(v)) {
      this.noteStops(time);
      this.reschedule(v);
      return;
    }
    const kind = this.firstDue(v, time);
    if (kind !== -1) this.dispatch(v, kind, time);
    this.drainDeliveries(time);
    if (m.debugChecks) m.checkAllInvariants();
    this.noteStops(time);
    this.reschedule(v);
  }

  private noteStops(time: number): void {
    const m = this.machine;
    for (let gi = 0; gi < this.guests.length; gi++) {
      if (this.stoppedAtNs[gi] >= 0) continue;
      const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
      for (let l = 0; l < this.guests[gi].vcpus; l++) {
        if (m.isStopped(first + l)) {
          this.stoppedAtNs[gi] = time;
          for (let k = 0; k < this.guests[gi].vcpus; k++) this.heap.remove(first + k);
          break;
        }
      }
    }
  }

  drainDeliveries(time: number): void {
    const m = this.machine;
    if (m.ipiOutCount > 0) flushIpiOutbox(this, time);
    while (this.deliveredSeen < m.stepDeliveredCount && this.deliveredSeen < m.stepDelivered.length) {
      const i = this.deliveredSeen++;
      isrStart(this, m.stepDeliveredVcpu[i], m.stepDelivered[i], time);
    }
  }

  // ---------------------------------------------------------------- workload-profile guests

  // ---------------------------------------------------------------- work-bound phases

  /** Exit counts of guest `gi`, summed over its vCPUs, into `exits` (length EXIT_SLOT_COUNT). */
  guestExits(gi: number, exits: Float64Array): void {
    const m = this.machine;
    const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    for (let l = 0; l < this.guests[gi].vcpus; l++) {
      for (let s = 0; s < EXIT_SLOT_COUNT; s++) exits[s] += m.exitCount(first + l, s);
    }
  }

  guestMachineCounter(gi: number, counter: number): number {
    const m = this.machine;
    const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    let sum = 0;
    for (let l = 0; l < this.guests[gi].vcpus; l++) sum += m.counters[(first + l) * Counter.COUNT + counter];
    return sum;
  }
}
