import type { CpuProfile } from '../cpu/profile.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import type { GuestModel, HostModel, PhaseBehaviour } from '../guests/model.js';
import { ApicOffset, X2apicMsr } from '../apic/registers.js';
import { Counter, Machine, type VmcsOverrides } from '../vcpu/machine.js';
import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
import { EventHeap } from './heap.js';
import { deriveSeed, RandomStreams } from './prng.js';

/**
 * Discrete-event simulation of one host: its guests' vCPUs share `cores` host cores and one
 * hypervisor policy. Simulated time is integer nanoseconds; every random choice comes from a
 * stream derived from (seed, host index, guest index, vCPU), so a host's results depend on nothing
 * but its own inputs — the same in any worker, shard or order.
 *
 * Pure: no I/O. Hot paths use typed arrays only; no closure or object per event.
 */

export type PhaseKind = 'boot' | 'idle' | 'install' | 'disk-benchmark' | 'build';

export interface PhasePlan {
  readonly phase: PhaseKind;
  readonly durationNs?: number;
  readonly work?: number;
}

export interface GuestInstance {
  /** Global guest index (stable across shards). */
  readonly index: number;
  readonly label: string;
  readonly model: GuestModel;
  readonly vcpus: number;
  readonly x2apicOffered: boolean;
  readonly phases: readonly PhasePlan[];
}

export interface HostConfig {
  readonly hostIndex: number;
  readonly seed: number;
  readonly profile: CpuProfile;
  readonly traits: PolicyTraits;
  readonly cores: number;
  readonly guests: readonly GuestInstance[];
  /** Host ns per exit slot (round trip + handler). */
  readonly exitCostNs: Float64Array;
  readonly host: HostModel;
  readonly debugChecks: boolean;
  readonly overrides?: VmcsOverrides;
}

/** Interrupt sources for per-source counts and latency. */
export const Source = { TIMER: 0, DEVICE: 1, IPI: 2, COUNT: 3 } as const;

/** Latency histogram bucket upper bounds, ns (Prometheus-style 1-2.5-5 series, 1 us .. 100 ms). */
export const LATENCY_BOUNDS_NS: readonly number[] = [
  1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8,
];

const MODE_RUN = 0;
const MODE_HALT = 1;
const MODE_ISR = 2;

const WORKER_CPU = 0;
const WORKER_WAIT = 1;
const WORKER_NONE = 2;

const INF = Infinity;

/** Per-guest results counters (Float64Array columns; all integers, so sums are exact in any order). */
export const GuestCounter = {
  GUEST_CPU_NS: 0,
  RAISED_TIMER: 1,
  RAISED_DEVICE: 2,
  RAISED_IPI: 3,
  DELIVERED_TIMER: 4,
  DELIVERED_DEVICE: 5,
  DELIVERED_IPI: 6,
  IO_BYTES: 7,
  COUNT: 8,
} as const;

export class HostSimulation {
  readonly config: HostConfig;
  readonly machine: Machine;
  readonly n: number;
  private readonly rng: RandomStreams;
  private readonly heap: EventHeap;
  private readonly guests: readonly GuestInstance[];

  // per vCPU
  private readonly guestOf: Int32Array;
  private readonly local: Int32Array;
  private readonly mode: Int8Array;
  private readonly busy: Int8Array;
  private readonly t: Float64Array;
  private readonly debt: Float64Array;
  private readonly carry: Float64Array;
  private readonly costPerAccess: Float64Array;
  private readonly nextTimer: Float64Array;
  private readonly nextHostTick: Float64Array;
  private readonly burstEnd: Float64Array;
  private readonly raisedEnd: Float64Array;
  private readonly raisedLeft: Float64Array;
  private readonly isrEnd: Float64Array;
  private readonly isrVector: Int32Array;
  private readonly isrStart: Float64Array;
  private readonly isrPrevCr8: Int8Array;
  /** General IPI in flight to this vCPU (coalesced: the IRR would merge them anyway). */
  private readonly ipiAt: Float64Array;
  private readonly ipiVector: Int32Array;
  /** I/O-completion notification (DPC/APC or reschedule IPI) in flight to this vCPU. */
  private readonly notifyAt: Float64Array;
  /** Completion of a background I/O this vCPU issued. */
  private readonly bgDoneAt: Float64Array;
  private readonly arrival: Float64Array;
  private readonly workLeft: Float64Array;
  /** 1 while this vCPU still owes its share of a build phase (workLeft may reach 0 between events). */
  private readonly buildActive: Int8Array;
  private readonly bgIoAt: Float64Array;
  private readonly bgIpiAt: Float64Array;

  // per guest
  private readonly firstVcpu: Int32Array;
  private readonly phaseIdx: Int32Array;
  private readonly phaseStart: Float64Array;
  private readonly phaseEnd: Float64Array;
  private readonly workerState: Int8Array;
  private readonly chunkLeft: Float64Array;
  private readonly stepsLeft: Float64Array;
  private readonly ioDoneAt: Float64Array;
  private readonly ioTarget: Int32Array;
  /** vCPU whose next device ISR serves the phase I/O (-1 none). */
  private readonly ioIsrVcpu: Int32Array;
  private readonly ioSeq: Int32Array;
  private readonly bytesLeft: Float64Array;
  private readonly x2apicMode: Int8Array;
  /** Per guest x phase: completion time ns (-1 = not completed), in PHASE_ORDER columns. */
  readonly phaseDoneNs: Float64Array;
  readonly guestCounters: Float64Array;
  /** Latency histogram counts: LATENCY_BOUNDS_NS.length + 1 buckets. */
  readonly latencyCounts: Float64Array;
  latencySumNs = 0;
  latencyCount = 0;
  /** Events processed one by one; CR8 accesses fast-forwarded are counted by the machine. */
  events = 0;
  now = 0;
  private runnable = 0;
  private stepNo = 0;
  private deliveredSeen = 0;
  /** Guest index of the violation that stopped a guest, per guest (-1 none). */
  readonly stoppedAtNs: Float64Array;

  constructor(config: HostConfig) {
    this.config = config;
    this.guests = config.guests;
    let n = 0;
    for (const g of config.guests) n += g.vcpus;
    this.n = n;
    const g = config.guests.length;
    this.firstVcpu = new Int32Array(g);
    this.x2apicMode = new Int8Array(g);
    const vcpuSetups = [];
    let v = 0;
    for (let gi = 0; gi < g; gi++) {
      const guest = config.guests[gi];
      this.firstVcpu[gi] = v;
      const x2 = guest.x2apicOffered && guest.model.usesX2apicWhenOffered;
      this.x2apicMode[gi] = x2 ? 1 : 0;
      for (let l = 0; l < guest.vcpus; l++) vcpuSetups.push({ guest: gi, x2apic: x2, apicId: l });
      v += guest.vcpus;
    }
    this.machine = new Machine({ profile: config.profile, traits: config.traits, vcpus: vcpuSetups, debugChecks: config.debugChecks, overrides: config.overrides });
    this.machine.exitCostNs.set(config.exitCostNs);
    this.machine.deferIpis = true;
    this.rng = new RandomStreams(n);
    this.heap = new EventHeap(n);
    this.guestOf = new Int32Array(n);
    this.local = new Int32Array(n);
    this.mode = new Int8Array(n);
    this.busy = new Int8Array(n);
    this.t = new Float64Array(n);
    this.debt = new Float64Array(n);
    this.carry = new Float64Array(n);
    this.costPerAccess = new Float64Array(n);
    this.nextTimer = new Float64Array(n).fill(INF);
    this.nextHostTick = new Float64Array(n).fill(INF);
    this.burstEnd = new Float64Array(n).fill(INF);
    this.raisedEnd = new Float64Array(n).fill(INF);
    this.raisedLeft = new Float64Array(n);
    this.isrEnd = new Float64Array(n).fill(INF);
    this.isrVector = new Int32Array(n).fill(-1);
    this.isrStart = new Float64Array(n);
    this.isrPrevCr8 = new Int8Array(n);
    this.ipiAt = new Float64Array(n).fill(INF);
    this.ipiVector = new Int32Array(n).fill(-1);
    this.notifyAt = new Float64Array(n).fill(INF);
    this.bgDoneAt = new Float64Array(n).fill(INF);
    this.arrival = new Float64Array(n * Source.COUNT).fill(-1);
    this.workLeft = new Float64Array(n);
    this.buildActive = new Int8Array(n);
    this.bgIoAt = new Float64Array(n).fill(INF);
    this.bgIpiAt = new Float64Array(n).fill(INF);
    this.phaseIdx = new Int32Array(g);
    this.phaseStart = new Float64Array(g);
    this.phaseEnd = new Float64Array(g).fill(INF);
    this.workerState = new Int8Array(g).fill(WORKER_NONE);
    this.chunkLeft = new Float64Array(g);
    this.stepsLeft = new Float64Array(g);
    this.ioDoneAt = new Float64Array(g).fill(INF);
    this.ioTarget = new Int32Array(g).fill(-1);
    this.ioIsrVcpu = new Int32Array(g).fill(-1);
    this.ioSeq = new Int32Array(g);
    this.bytesLeft = new Float64Array(g);
    this.phaseDoneNs = new Float64Array(g * PHASE_ORDER.length).fill(-1);
    this.guestCounters = new Float64Array(g * GuestCounter.COUNT);
    this.latencyCounts = new Float64Array(LATENCY_BOUNDS_NS.length + 1);
    this.stoppedAtNs = new Float64Array(g).fill(-1);

    for (let gi = 0; gi < g; gi++) {
      const guest = config.guests[gi];
      for (let l = 0; l < guest.vcpus; l++) {
        const vi = this.firstVcpu[gi] + l;
        this.guestOf[vi] = gi;
        this.local[vi] = l;
        this.rng.seed(vi, deriveSeed(config.seed, config.hostIndex, guest.index, l));
      }
    }
    this.machine.launch();
    for (let gi = 0; gi < g; gi++) this.startPhase(gi, 0);
    for (let vi = 0; vi < n; vi++) this.reschedule(vi);
  }

  // ---------------------------------------------------------------- public

  /** Process every event before `untilNs` (exclusive) and advance all vCPUs to it. */
  advanceTo(untilNs: number): void {
    const heap = this.heap;
    while (heap.size > 0 && heap.peekTime() < untilNs) {
      const v = heap.peek();
      const time = heap.key[v];
      this.now = time;
      this.processVcpu(v, time);
      this.events++;
    }
    this.now = untilNs;
    for (let v = 0; v < this.n; v++) this.advance(v, untilNs);
  }

  /** All guests finished their work-bound phases (or stopped). */
  workDone(): boolean {
    for (let gi = 0; gi < this.guests.length; gi++) {
      if (this.stoppedAtNs[gi] >= 0) continue;
      const phases = this.guests[gi].phases;
      for (let p = this.phaseIdx[gi]; p < phases.length; p++) {
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

  private behaviour(gi: number): PhaseBehaviour {
    const guest = this.guests[gi];
    const idx = this.phaseIdx[gi];
    const kind: PhaseKind = idx < guest.phases.length ? guest.phases[idx].phase : 'idle';
    return guest.model.phases[kind];
  }

  private startPhase(gi: number, idx: number): void {
    const guest = this.guests[gi];
    this.phaseIdx[gi] = idx;
    this.phaseStart[gi] = this.now;
    this.phaseEnd[gi] = INF;
    this.workerState[gi] = WORKER_NONE;
    const first = this.firstVcpu[gi];
    if (idx >= guest.phases.length) {
      this.setupBursts(gi);
      return;
    }
    const plan = guest.phases[idx];
    if (plan.durationNs !== undefined) this.phaseEnd[gi] = this.now + plan.durationNs;
    if (plan.work !== undefined) {
      if (plan.phase === 'build') {
        for (let l = 0; l < guest.vcpus; l++) {
          this.workLeft[first + l] = Math.round(plan.work / guest.vcpus);
          this.buildActive[first + l] = 1;
        }
      } else if (plan.phase === 'install') {
        const m = guest.model.install;
        this.stepsLeft[gi] = m.steps;
        this.chunkLeft[gi] = Math.round(plan.work / m.steps);
        this.workerState[gi] = WORKER_CPU;
      } else if (plan.phase === 'disk-benchmark') {
        const d = guest.model.diskBenchmark;
        this.bytesLeft[gi] = plan.work;
        this.stepsLeft[gi] = Math.ceil(plan.work / d.requestBytes);
        this.chunkLeft[gi] = d.cpuPerRequestNs;
        this.workerState[gi] = WORKER_CPU;
      }
    }
    this.setupBursts(gi);
  }

  private setupBursts(gi: number): void {
    const guest = this.guests[gi];
    const b = this.behaviour(gi);
    const first = this.firstVcpu[gi];
    for (let l = 0; l < guest.vcpus; l++) {
      const v = first + l;
      if (this.isAlwaysBusy(gi, v)) {
        this.burstEnd[v] = INF;
        if (this.mode[v] === MODE_HALT) this.wake(v);
        this.busy[v] = 1;
      } else if (this.burstEnd[v] === INF || this.busy[v] === 0) {
        this.busy[v] = 1;
        this.burstEnd[v] = this.now + this.rng.exponentialNs(v, b.burstNs);
      }
      this.scheduleBackground(v, b);
      this.scheduleTimer(v);
      this.reschedule(v);
    }
  }

  /** Worker vCPU 0 during its CPU chunk, and every vCPU during a build, run flat out. */
  private isAlwaysBusy(gi: number, v: number): boolean {
    const idx = this.phaseIdx[gi];
    const guest = this.guests[gi];
    if (idx >= guest.phases.length) return false;
    const plan = guest.phases[idx];
    if (plan.work === undefined) return false;
    if (plan.phase === 'build') return this.buildActive[v] === 1;
    return v === this.firstVcpu[gi] && this.workerState[gi] === WORKER_CPU;
  }

  private completePhase(gi: number, at: number): void {
    const guest = this.guests[gi];
    const idx = this.phaseIdx[gi];
    const kind = guest.phases[idx].phase;
    const col = PHASE_ORDER.indexOf(kind);
    if (guest.phases[idx].work !== undefined) this.phaseDoneNs[gi * PHASE_ORDER.length + col] = at - this.phaseStart[gi];
    this.startPhase(gi, idx + 1);
  }

  // ---------------------------------------------------------------- scheduling

  private scheduleBackground(v: number, b: PhaseBehaviour): void {
    this.bgIoAt[v] = b.ioPerBusySecond > 0 ? this.now + this.rng.exponentialNs(v, 1e9 / b.ioPerBusySecond) : INF;
    this.bgIpiAt[v] = b.ipiPerBusySecond > 0 && this.guests[this.guestOf[v]].vcpus > 1 ? this.now + this.rng.exponentialNs(v, 1e9 / b.ipiPerBusySecond) : INF;
  }

  private scheduleTimer(v: number): void {
    const gi = this.guestOf[v];
    const timer = this.guests[gi].model.timer;
    if (timer.hz <= 0) {
      this.nextTimer[v] = INF;
      return;
    }
    if (this.nextTimer[v] !== INF) return;
    const period = Math.round(1e9 / timer.hz);
    // Phase-stagger vCPU timers deterministically (each vCPU's LAPIC timer was armed at a different moment).
    this.nextTimer[v] = this.now + 1 + this.rng.below(v, period);
  }

  private timerActive(v: number): boolean {
    const gi = this.guestOf[v];
    const timer = this.guests[gi].model.timer;
    if (timer.hz <= 0) return false;
    if (this.mode[v] !== MODE_HALT) return true;
    if (!timer.tickless) return true;
    return timer.clockOwnerTicksWhenIdle && this.local[v] === 0;
  }

  private hostTickPeriod(): number {
    return Math.round(1e9 / this.config.host.hostTickHz);
  }

  private reschedule(v: number): void {
    if (this.machine.isStopped(v)) {
      this.heap.remove(v);
      return;
    }
    const gi = this.guestOf[v];
    let k = this.isrEnd[v];
    if (this.raisedEnd[v] < k) k = this.raisedEnd[v];
    if (this.ipiAt[v] < k) k = this.ipiAt[v];
    if (this.notifyAt[v] < k) k = this.notifyAt[v];
    if (this.bgDoneAt[v] < k) k = this.bgDoneAt[v];
    if (this.ioTarget[gi] === v && this.ioDoneAt[gi] < k) k = this.ioDoneAt[gi];
    if (this.timerActive(v) && this.nextTimer[v] < k) k = this.nextTimer[v];
    if (this.mode[v] !== MODE_HALT) {
      if (this.nextHostTick[v] === INF) this.nextHostTick[v] = this.now + 1 + this.rng.below(v, this.hostTickPeriod());
      if (this.nextHostTick[v] < k) k = this.nextHostTick[v];
      if (this.bgIoAt[v] < k) k = this.bgIoAt[v];
      if (this.bgIpiAt[v] < k) k = this.bgIpiAt[v];
    }
    if (this.burstEnd[v] < k) k = this.burstEnd[v];
    if (this.local[v] === 0 && this.phaseEnd[gi] < k) k = this.phaseEnd[gi];
    const chunk = this.chunkEndTime(v);
    if (chunk < k) k = chunk;
    const work = this.buildEndTime(v);
    if (work < k) k = work;
    if (k === INF) this.heap.remove(v);
    else this.heap.set(v, Math.max(k, this.t[v]));
  }

  /** Guest ns a running vCPU gains per wall ns, given its exit overhead and host share. */
  private progressRate(v: number): number {
    const gi = this.guestOf[v];
    const model = this.guests[gi].model;
    const x = model.usesCr8 ? this.behaviour(gi).cr8PerBusySecond / 1e9 : 0;
    return this.share() / (1 + x * this.costPerAccess[v]);
  }

  private share(): number {
    const c = this.config.cores;
    return this.runnable <= c ? 1 : c / this.runnable;
  }

  private chunkEndTime(v: number): number {
    const gi = this.guestOf[v];
    if (v !== this.firstVcpu[gi] || this.workerState[gi] !== WORKER_CPU || this.mode[v] !== MODE_RUN || this.raisedEnd[v] !== INF) return INF;
    return this.t[v] + this.debt[v] + Math.ceil(this.chunkLeft[gi] / this.progressRate(v));
  }

  private buildEndTime(v: number): number {
    if (this.buildActive[v] === 0 || this.mode[v] !== MODE_RUN || this.raisedEnd[v] !== INF) return INF;
    return this.t[v] + this.debt[v] + Math.max(0, Math.ceil(this.workLeft[v] / this.progressRate(v)));
  }

  // ---------------------------------------------------------------- progress

  /** Bring vCPU `v` forward to `time`: guest progress, CR8 traffic, exit debt. */
  private advance(v: number, time: number): void {
    const from = this.t[v];
    if (time <= from) return;
    this.t[v] = time;
    const m = this.machine;
    this.debt[v] += m.vcpuHostNs[v];
    m.vcpuHostNs[v] = 0;
    if (m.isStopped(v)) return;
    const gi = this.guestOf[v];
    let wall = time - from;
    if (this.mode[v] === MODE_HALT) {
      this.debt[v] = Math.max(0, this.debt[v] - wall);
      return;
    }
    wall *= this.share();
    const pay = Math.min(this.debt[v], wall);
    this.debt[v] -= pay;
    wall -= pay;
    if (wall <= 0) return;
    const model = this.guests[gi].model;
    let guestNs = wall;
    if (this.mode[v] === MODE_RUN && this.raisedEnd[v] === INF && model.usesCr8) {
      const x = this.behaviour(gi).cr8PerBusySecond / 1e9;
      guestNs = wall / (1 + x * this.costPerAccess[v]);
      const accesses = x * guestNs + this.carry[v];
      const pairs = Math.floor(accesses / 3);
      this.carry[v] = accesses - pairs * 3;
      if (pairs > 0) {
        const before = m.vcpuHostNs[v];
        m.cr8Pairs(v, pairs, model.raisedCr8, 0);
        const spent = m.vcpuHostNs[v] - before;
        m.vcpuHostNs[v] = before;
        const predicted = wall - guestNs;
        this.costPerAccess[v] = spent / (3 * pairs);
        this.debt[v] += spent - predicted;
        this.drainDeliveries(time);
      }
    }
    guestNs = Math.round(guestNs);
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.GUEST_CPU_NS] += guestNs;
    if (this.mode[v] === MODE_RUN && this.raisedEnd[v] === INF) {
      if (v === this.firstVcpu[gi] && this.workerState[gi] === WORKER_CPU) this.chunkLeft[gi] -= guestNs;
      if (this.buildActive[v] === 1) this.workLeft[v] = Math.max(0, this.workLeft[v] - guestNs);
    }
  }

  // ---------------------------------------------------------------- events

  private processVcpu(v: number, time: number): void {
    const m = this.machine;
    this.stepNo++;
    m.beginStep(this.stepNo);
    this.deliveredSeen = 0;
    this.advance(v, time);
    const gi = this.guestOf[v];
    if (m.isStopped(v)) {
      this.noteStops(time);
      this.reschedule(v);
      return;
    }
    if (this.isrEnd[v] <= time) this.endIsr(v, time);
    else if (this.raisedEnd[v] <= time) this.lowerIrql(v, time);
    else if (this.notifyAt[v] <= time) this.notifyArrives(v, time);
    else if (this.ipiAt[v] <= time) this.ipiArrives(v, time);
    else if (this.bgDoneAt[v] <= time) this.backgroundIoDone(v, time);
    else if (this.ioTarget[gi] === v && this.ioDoneAt[gi] <= time) this.ioCompletes(gi, v, time);
    else if (this.timerActive(v) && this.nextTimer[v] <= time) this.timerFires(v, time);
    else if (this.mode[v] !== MODE_HALT && this.nextHostTick[v] <= time) this.hostTick(v, time);
    else if (this.mode[v] !== MODE_HALT && this.bgIoAt[v] <= time) this.backgroundIo(v, time);
    else if (this.mode[v] !== MODE_HALT && this.bgIpiAt[v] <= time) this.backgroundIpi(v, time);
    else if (this.local[v] === 0 && this.phaseEnd[gi] <= time) this.completePhase(gi, time);
    else if (this.chunkEndTime(v) <= time) this.chunkDone(gi, v, time);
    else if (this.buildEndTime(v) <= time) this.buildShareDone(v, time);
    else if (this.burstEnd[v] <= time) this.burstBoundary(v, time);
    else if (this.timerActive(v) === false && this.nextTimer[v] <= time) this.nextTimer[v] = INF;
    this.drainDeliveries(time);
    if (m.debugChecks) m.checkAllInvariants();
    this.noteStops(time);
    this.reschedule(v);
  }

  private noteStops(time: number): void {
    const m = this.machine;
    for (let gi = 0; gi < this.guests.length; gi++) {
      if (this.stoppedAtNs[gi] >= 0) continue;
      const first = this.firstVcpu[gi];
      for (let l = 0; l < this.guests[gi].vcpus; l++) {
        if (m.isStopped(first + l)) {
          this.stoppedAtNs[gi] = time;
          for (let k = 0; k < this.guests[gi].vcpus; k++) this.heap.remove(first + k);
          break;
        }
      }
    }
  }

  private enterRaised(v: number, time: number): void {
    const gi = this.guestOf[v];
    const model = this.guests[gi].model;
    if (!model.usesCr8 || this.mode[v] !== MODE_RUN || this.raisedEnd[v] !== INF) return;
    if (this.rng.uniform(v) >= model.raisedFraction) return;
    // The arrival lands inside a raised section: materialise its raise (one pair of the stream).
    this.machine.readCr8(v);
    this.machine.writeCr8(v, model.raisedCr8);
    this.carry[v] -= 3;
    this.raisedEnd[v] = time + Math.max(1, this.rng.exponentialNs(v, model.raisedHoldNs));
  }

  private lowerIrql(v: number, time: number): void {
    this.raisedEnd[v] = INF;
    this.machine.writeCr8(v, 0);
    this.drainDeliveries(time);
  }

  private raise(v: number, vector: number, source: number, time: number): void {
    const gi = this.guestOf[v];
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_TIMER + source]++;
    const a = v * Source.COUNT + source;
    if (this.arrival[a] < 0) this.arrival[a] = time;
    if (this.mode[v] === MODE_HALT) this.debt[v] += this.config.host.haltWakeupNs;
    this.enterRaised(v, time);
    this.machine.raiseInterrupt(v, vector, false);
    this.drainDeliveries(time);
  }

  private drainDeliveries(time: number): void {
    const m = this.machine;
    if (m.ipiOutCount > 0) this.flushIpiOutbox(time);
    while (this.deliveredSeen < m.stepDeliveredCount && this.deliveredSeen < m.stepDelivered.length) {
      const i = this.deliveredSeen++;
      this.onDelivered(m.stepDeliveredVcpu[i], m.stepDelivered[i], time);
    }
  }

  private sourceOf(gi: number, vector: number): number {
    const model = this.guests[gi].model;
    if (vector === model.timer.vector) return Source.TIMER;
    if (vector === model.deviceVector) return Source.DEVICE;
    return Source.IPI;
  }

  private onDelivered(v: number, vector: number, time: number): void {
    const gi = this.guestOf[v];
    const source = this.sourceOf(gi, vector);
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.DELIVERED_TIMER + source]++;
    const a = v * Source.COUNT + source;
    if (this.arrival[a] >= 0) {
      const latency = time - this.arrival[a] + (this.mode[v] === MODE_HALT ? this.config.host.haltWakeupNs : 0);
      this.arrival[a] = -1;
      this.observeLatency(latency);
    }
    this.advance(v, time);
    if (this.mode[v] === MODE_HALT) this.setRunnable(v, true);
    if (this.raisedEnd[v] !== INF) {
      this.raisedLeft[v] = this.raisedEnd[v] - time;
      this.raisedEnd[v] = INF;
    } else {
      this.raisedLeft[v] = 0;
    }
    this.mode[v] = MODE_ISR;
    this.isrVector[v] = vector;
    this.isrStart[v] = time;
    const model = this.guests[gi].model;
    this.isrEnd[v] = time + (source === Source.TIMER ? model.timerIsrNs : model.isrNs);
    if (model.usesCr8) {
      // KiInterruptDispatch raises IRQL to the interrupt's level through CR8.
      this.isrPrevCr8[v] = this.machine.readCr8(v);
      this.machine.writeCr8(v, vector >>> 4);
    }
  }

  private observeLatency(ns: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_NS.length && ns > LATENCY_BOUNDS_NS[i]) i++;
    this.latencyCounts[i]++;
    this.latencySumNs += ns;
    this.latencyCount++;
  }

  private setRunnable(v: number, run: boolean): void {
    if (run) {
      if (this.mode[v] === MODE_HALT) this.runnable++;
      if (this.mode[v] === MODE_HALT) this.mode[v] = MODE_RUN;
    } else if (this.mode[v] !== MODE_HALT) {
      this.runnable--;
      this.mode[v] = MODE_HALT;
      this.nextHostTick[v] = INF;
    }
  }

  private wake(v: number): void {
    this.setRunnable(v, true);
  }

  private endIsr(v: number, time: number): void {
    const gi = this.guestOf[v];
    const guest = this.guests[gi];
    const model = guest.model;
    const vector = this.isrVector[v];
    const m = this.machine;
    this.isrEnd[v] = INF;
    this.isrVector[v] = -1;
    m.eoi(v);
    if (model.usesCr8) m.writeCr8(v, this.isrPrevCr8[v]);
    if (vector === model.timer.vector && model.timer.oneShotRearm) {
      if (this.x2apicMode[gi]) m.wrmsr(v, X2apicMsr.TimerInitialCount, 100000, 0);
      else m.writeApic(v, ApicOffset.TimerInitialCount, 100000);
    }
    if (vector === model.deviceVector && this.ioIsrVcpu[gi] === v) {
      this.ioIsrVcpu[gi] = -1;
      this.afterDeviceIsr(gi, v, time);
    } else if (vector === model.completionIpiVector && this.ioTarget[gi] === -2 && v === this.firstVcpu[gi]) {
      this.ioNotified(gi, time);
    }
    // Back to what was interrupted.
    this.mode[v] = MODE_RUN;
    if (this.raisedLeft[v] > 0) {
      this.raisedEnd[v] = time + this.raisedLeft[v];
      this.raisedLeft[v] = 0;
    }
    m.iret(v);
    this.drainDeliveries(time);
    if (this.mode[v] === MODE_RUN && this.busy[v] === 0 && this.raisedEnd[v] === INF && !this.isAlwaysBusy(gi, v)) this.halt(v, time);
  }

  private halt(v: number, time: number): void {
    this.advance(v, time);
    this.setRunnable(v, false);
    this.machine.hlt(v);
    this.drainDeliveries(time);
    // hlt() with an interrupt already pending does not sleep: it was delivered above (ISR mode).
    if (this.mode[v] === MODE_HALT && !this.machine.isHalted(v) && this.isrEnd[v] === INF) this.setRunnable(v, true);
  }

  private burstBoundary(v: number, time: number): void {
    const gi = this.guestOf[v];
    const b = this.behaviour(gi);
    if (this.busy[v] === 1) {
      this.busy[v] = 0;
      const idleMean = b.busyFraction >= 1 ? 0 : (b.burstNs * (1 - b.busyFraction)) / Math.max(b.busyFraction, 1e-9);
      this.burstEnd[v] = time + Math.max(1, this.rng.exponentialNs(v, idleMean));
      if (this.mode[v] === MODE_RUN && this.raisedEnd[v] === INF && !this.isAlwaysBusy(gi, v)) this.halt(v, time);
    } else {
      this.busy[v] = 1;
      this.burstEnd[v] = time + Math.max(1, this.rng.exponentialNs(v, b.burstNs));
      if (this.mode[v] === MODE_HALT) {
        this.setRunnable(v, true);
        this.machine.raiseInterrupt(v, this.guests[gi].model.ipiVector, false); // the scheduler's wake-up IPI
        this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_IPI]++;
        this.drainDeliveries(time);
      }
    }
  }

  private timerFires(v: number, time: number): void {
    const gi = this.guestOf[v];
    const timer = this.guests[gi].model.timer;
    const period = Math.round(1e9 / timer.hz);
    this.nextTimer[v] += period;
    if (this.nextTimer[v] <= time) this.nextTimer[v] = time + period;
    this.raise(v, timer.vector, Source.TIMER, time);
  }

  private hostTick(v: number, time: number): void {
    this.nextHostTick[v] += this.hostTickPeriod();
    this.machine.hostInterrupt(v);
  }

  private backgroundIo(v: number, time: number): void {
    const gi = this.guestOf[v];
    const b = this.behaviour(gi);
    this.bgIoAt[v] = b.ioPerBusySecond > 0 ? time + this.rng.exponentialNs(v, 1e9 / b.ioPerBusySecond) : INF;
    // A doorbell write; its completion interrupt comes back to this vCPU after the service time.
    this.machine.mmio(v);
    if (this.bgDoneAt[v] === INF) this.bgDoneAt[v] = time + this.guests[gi].model.install.deviceServiceNs;
  }

  private backgroundIoDone(v: number, time: number): void {
    this.bgDoneAt[v] = INF;
    this.raise(v, this.guests[this.guestOf[v]].model.deviceVector, Source.DEVICE, time);
  }

  private backgroundIpi(v: number, time: number): void {
    const gi = this.guestOf[v];
    const guest = this.guests[gi];
    const b = this.behaviour(gi);
    this.bgIpiAt[v] = b.ipiPerBusySecond > 0 ? time + this.rng.exponentialNs(v, 1e9 / b.ipiPerBusySecond) : INF;
    const others = guest.vcpus - 1;
    if (others <= 0) return;
    let target = this.firstVcpu[gi] + this.rng.below(v, others);
    if (target >= v) target++;
    this.sendIpi(v, target, guest.model.ipiVector, time);
  }

  /**
   * The guest sends a fixed IPI: the machine executes the ICR write (exiting as the LAPIC mode and
   * controls dictate) and queues the IPI in its outbox; flushIpiOutbox schedules the arrival.
   */
  private sendIpi(from: number, target: number, vector: number, time: number): void {
    this.machine.sendIpi(from, target, vector);
    this.drainDeliveries(time);
  }

  /** IPIs the machine queued reach their target LAPIC ipiLatencyNs after the ICR write. */
  private flushIpiOutbox(time: number): void {
    const m = this.machine;
    const n = Math.min(m.ipiOutCount, m.ipiOutTarget.length);
    m.ipiOutCount = 0;
    for (let i = 0; i < n; i++) {
      const target = m.ipiOutTarget[i];
      const vector = m.ipiOutVector[i];
      const gi = this.guestOf[target];
      const at = time + this.config.host.ipiLatencyNs;
      if (vector === this.guests[gi].model.completionIpiVector) {
        if (this.notifyAt[target] === INF) this.notifyAt[target] = at;
      } else if (this.ipiAt[target] === INF) {
        this.ipiAt[target] = at;
        this.ipiVector[target] = vector;
      }
      this.reschedule(target);
    }
  }

  private ipiArrives(v: number, time: number): void {
    const vector = this.ipiVector[v];
    this.ipiAt[v] = INF;
    this.ipiVector[v] = -1;
    this.raise(v, vector, Source.IPI, time);
  }

  private notifyArrives(v: number, time: number): void {
    this.notifyAt[v] = INF;
    this.raise(v, this.guests[this.guestOf[v]].model.completionIpiVector, Source.IPI, time);
  }

  // ---------------------------------------------------------------- work-bound phases

  private chunkDone(gi: number, v: number, time: number): void {
    this.workerState[gi] = WORKER_WAIT;
    this.issueIo(v, gi, time);
    const b = this.behaviour(gi);
    // While it waits, the worker vCPU runs other threads like any other vCPU of the guest.
    this.busy[v] = 1;
    this.burstEnd[v] = time + Math.max(1, this.rng.exponentialNs(v, b.burstNs));
  }

  private issueIo(v: number, gi: number, time: number): void {
    const guest = this.guests[gi];
    const m = this.machine;
    m.mmio(v); // the storage doorbell
    const plan = guest.phases[this.phaseIdx[gi]];
    let service = guest.model.install.deviceServiceNs;
    if (plan.phase === 'disk-benchmark') {
      const d = guest.model.diskBenchmark;
      service = d.deviceLatencyNs + Math.round((d.requestBytes * 1e9) / d.deviceBytesPerSecond);
    }
    const seq = this.ioSeq[gi]++;
    // MSI completions are spread over the guest's vCPUs (interrupt affinity), round robin.
    this.ioTarget[gi] = this.firstVcpu[gi] + (seq % guest.vcpus);
    this.ioDoneAt[gi] = time + service;
    this.reschedule(this.ioTarget[gi]);
  }

  private ioCompletes(gi: number, v: number, time: number): void {
    this.ioDoneAt[gi] = INF;
    this.ioTarget[gi] = -1;
    this.ioIsrVcpu[gi] = v;
    this.raise(v, this.guests[gi].model.deviceVector, Source.DEVICE, time);
  }

  /** After the device ISR: notify the originating vCPU (DPC/APC or reschedule IPI) or finish here. */
  private afterDeviceIsr(gi: number, v: number, time: number): void {
    if (this.workerState[gi] !== WORKER_WAIT) return;
    const origin = this.firstVcpu[gi];
    if (v === origin) {
      this.ioNotified(gi, time);
      return;
    }
    this.ioTarget[gi] = -2; // completion notification in flight to the origin
    this.sendIpi(v, origin, this.guests[gi].model.completionIpiVector, time);
  }

  private ioNotified(gi: number, time: number): void {
    const guest = this.guests[gi];
    const plan = guest.phases[this.phaseIdx[gi]];
    this.ioTarget[gi] = -1;
    const first = this.firstVcpu[gi];
    if (plan.phase === 'disk-benchmark') {
      const bytes = Math.min(guest.model.diskBenchmark.requestBytes, this.bytesLeft[gi]);
      this.bytesLeft[gi] -= bytes;
      this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.IO_BYTES] += bytes;
    }
    this.stepsLeft[gi]--;
    if (this.stepsLeft[gi] <= 0) {
      this.completePhase(gi, time);
      return;
    }
    this.chunkLeft[gi] = plan.phase === 'disk-benchmark'
      ? guest.model.diskBenchmark.cpuPerRequestNs
      : Math.round((plan.work ?? 0) / guest.model.install.steps);
    this.workerState[gi] = WORKER_CPU;
    this.burstEnd[first] = INF;
    this.busy[first] = 1;
    if (this.mode[first] === MODE_HALT) {
      this.setRunnable(first, true);
      this.machine.raiseInterrupt(first, guest.model.ipiVector, false);
      this.drainDeliveries(time);
    }
    this.reschedule(first);
  }

  private buildShareDone(v: number, time: number): void {
    this.workLeft[v] = 0;
    this.buildActive[v] = 0;
    const gi = this.guestOf[v];
    const first = this.firstVcpu[gi];
    let all = true;
    for (let l = 0; l < this.guests[gi].vcpus; l++) if (this.buildActive[first + l] === 1) all = false;
    if (all) this.completePhase(gi, time);
    else {
      const b = this.behaviour(gi);
      this.busy[v] = 0;
      this.burstEnd[v] = time + Math.max(1, this.rng.exponentialNs(v, b.burstNs));
      this.halt(v, time);
    }
  }

  /** Exit counts and host ns of guest `gi`, summed over its vCPUs, into `exits`/`hostNs` (length EXIT_SLOT_COUNT). */
  guestExits(gi: number, exits: Float64Array, hostNs: Float64Array): void {
    const m = this.machine;
    const first = this.firstVcpu[gi];
    for (let l = 0; l < this.guests[gi].vcpus; l++) {
      const base = (first + l) * EXIT_SLOT_COUNT;
      for (let s = 0; s < EXIT_SLOT_COUNT; s++) {
        exits[s] += m.exitCounts[base + s];
        hostNs[s] += m.exitHostNs[base + s];
      }
    }
  }

  guestMachineCounter(gi: number, counter: number): number {
    const m = this.machine;
    const first = this.firstVcpu[gi];
    let sum = 0;
    for (let l = 0; l < this.guests[gi].vcpus; l++) sum += m.counters[(first + l) * Counter.COUNT + counter];
    return sum;
  }
}

export const PHASE_ORDER: readonly PhaseKind[] = ['boot', 'idle', 'install', 'disk-benchmark', 'build'];
