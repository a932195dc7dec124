import type { CpuProfile } from '../cpu/profile.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import type { GuestModel, HostModel, PhaseBehaviour } from '../guests/model.js';
import { Counter, Machine, RepeatOp, type VmcsOverrides } from '../vcpu/machine.js';
import {
  WorkloadOp,
  WORKLOAD_IO_PORT,
  WORKLOAD_MSR,
  WORKLOAD_RAISED_CR8,
  WORKLOAD_TIMER_COUNT,
  type WorkloadSpec,
} from '../guests/workload.js';
import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
import { Ev } from './events.js';
import { EventHeap } from './heap.js';
import { LatencyExemplars } from './exemplars.js';
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
  /**
   * A workload-profile guest (src/core/guests/workload.ts): its operations come from these rates;
   * `model` then only supplies vectors and ISR times (the edge builds it with no timer, no %cr8
   * use of its own and no background activity).
   */
  readonly workload?: WorkloadSpec;
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

// Per-vCPU and per-guest state lives in a few strided typed arrays (one allocation each per host):
// field offsets within a stride.
const V_T = 0;
const V_DEBT = 1;
const V_CARRY = 2;
const V_COST_PER_ACCESS = 3;
const V_NEXT_TIMER = 4;
const V_NEXT_HOST_TICK = 5;
const V_BURST_END = 6;
const V_RAISED_END = 7;
const V_RAISED_LEFT = 8;
const V_ISR_END = 9;
const V_ISR_START = 10;
const V_IPI_AT = 11;
const V_NOTIFY_AT = 12;
const V_BG_DONE_AT = 13;
const V_WORK_LEFT = 14;
const V_BG_IO_AT = 15;
const V_BG_IPI_AT = 16;
const V_ARRIVAL = 17; // Source.COUNT slots
const VF = 20;
const VI_GUEST_OF = 0;
const VI_LOCAL = 1;
const VI_ISR_VECTOR = 2;
const VI_IPI_VECTOR = 3;
const VI = 4;
const V8_MODE = 0;
const V8_BUSY = 1;
const V8_ISR_PREV_CR8 = 2;
const V8_BUILD_ACTIVE = 3;
const V8 = 4;
const G_PHASE_START = 0;
const G_PHASE_END = 1;
const G_CHUNK_LEFT = 2;
const G_STEPS_LEFT = 3;
const G_IO_DONE_AT = 4;
const G_BYTES_LEFT = 5;
const GF = 6;
const GI_FIRST_VCPU = 0;
const GI_PHASE_IDX = 1;
const GI_IO_TARGET = 2;
const GI_IO_ISR_VCPU = 3;
const GI_IO_SEQ = 4;
const GI = 5;
const G8_WORKER_STATE = 0;
const G8_X2APIC_MODE = 1;
const G8 = 2;
// Workload-profile vCPUs (allocated only when the host has such guests), stride WL.
const WL_IRQ_AT = 0; // next device interrupt arrival, wall ns
const WL_DYN_LEFT = 1; // guest ns until the next HLT or IPI
const WL_COST = 2; // host ns of bulk exits per guest ns (last measured)
const WL_CARRY = 3; // WorkloadOp.COUNT fractional carries, then EXIT_SLOT_COUNT opaque carries, then host interrupts
const WL_OPAQUE_CARRY = WL_CARRY + WorkloadOp.COUNT;
const WL_HOST_IRQ_CARRY = WL_OPAQUE_CARRY + EXIT_SLOT_COUNT;
const WL = WL_HOST_IRQ_CARRY + 1;
/** Machine operation and its operands for each WorkloadOp. */
const WL_REPEAT: readonly (readonly [number, number, number])[] = [
  [RepeatOp.CR8_WRITE_PAIR, WORKLOAD_RAISED_CR8, 0],
  [RepeatOp.CR8_READ, 0, 0],
  [RepeatOp.CPUID, 0, 0],
  [RepeatOp.IO, WORKLOAD_IO_PORT, 0],
  [RepeatOp.MMIO, 0, 0],
  [RepeatOp.RDMSR, WORKLOAD_MSR, 0],
  [RepeatOp.WRMSR, WORKLOAD_MSR, 0],
  [RepeatOp.TIMER_INITIAL_COUNT, WORKLOAD_TIMER_COUNT, 0],
];

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

  /** Per-vCPU numbers (times in ns, debts, carries), stride VF. */
  private readonly vf: Float64Array;
  /** Per-vCPU integers, stride VI. */
  private readonly vi: Int32Array;
  /** Per-vCPU small flags, stride V8. */
  private readonly v8: Int8Array;
  /** General IPI in flight to this vCPU (coalesced: the IRR would merge them anyway). */
  /** I/O-completion notification (DPC/APC or reschedule IPI) in flight to this vCPU. */
  /** Completion of a background I/O this vCPU issued. */
  /** 1 while this vCPU still owes its share of a build phase (workLeft may reach 0 between events). */

  /** Per-guest numbers, stride GF. */
  private readonly gf: Float64Array;
  /** Per-guest integers, stride GI. */
  private readonly gi32: Int32Array;
  /** Per-guest small flags, stride G8. */
  private readonly g8: Int8Array;
  /** Workload-profile vCPU state, stride WL (empty when the host has no such guest). */
  private readonly wl: Float64Array;
  /** scan()'s earliest wake-up time. */
  private scanNext = INF;
  /** vCPU whose next device ISR serves the phase I/O (-1 none). */
  /** Per guest x phase: completion time ns (-1 = not completed), in PHASE_ORDER columns. */
  readonly phaseDoneNs: Float64Array;
  readonly guestCounters: Float64Array;
  /** Latency histogram counts: LATENCY_BOUNDS_NS.length + 1 buckets. */
  readonly latencyCounts: Float64Array;
  latencySumNs = 0;
  latencyCount = 0;
  /** Per latency bucket, its replayable representative observation (docs/REPLAY.md). */
  readonly latencyExemplars = new LatencyExemplars(LATENCY_BOUNDS_NS.length + 1);
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
    this.vf = new Float64Array(n * VF);
    this.vi = new Int32Array(n * VI);
    this.v8 = new Int8Array(n * V8);
    this.gf = new Float64Array(g * GF);
    this.gi32 = new Int32Array(g * GI);
    this.g8 = new Int8Array(g * G8);
    this.wl = new Float64Array(config.guests.some((x) => x.workload !== undefined) ? n * WL : 0);
    for (let v = 0; v < n; v++) {
      if (this.wl.length > 0) {
        this.wl[v * WL + WL_IRQ_AT] = INF;
        this.wl[v * WL + WL_DYN_LEFT] = INF;
      }
      for (const f of [
        V_NEXT_TIMER,
        V_NEXT_HOST_TICK,
        V_BURST_END,
        V_RAISED_END,
        V_ISR_END,
        V_IPI_AT,
        V_NOTIFY_AT,
        V_BG_DONE_AT,
        V_BG_IO_AT,
        V_BG_IPI_AT,
      ])
        this.vf[v * VF + f] = INF;
      for (let s = 0; s < Source.COUNT; s++) this.vf[v * VF + V_ARRIVAL + s] = -1;
      this.vi[v * VI + VI_ISR_VECTOR] = -1;
      this.vi[v * VI + VI_IPI_VECTOR] = -1;
    }
    for (let i = 0; i < g; i++) {
      this.gf[i * GF + G_PHASE_END] = INF;
      this.gf[i * GF + G_IO_DONE_AT] = INF;
      this.gi32[i * GI + GI_IO_TARGET] = -1;
      this.gi32[i * GI + GI_IO_ISR_VCPU] = -1;
      this.g8[i * G8 + G8_WORKER_STATE] = WORKER_NONE;
    }
    const vcpuSetups = [];
    let v = 0;
    for (let gi = 0; gi < g; gi++) {
      const guest = config.guests[gi];
      this.gi32[gi * GI + GI_FIRST_VCPU] = v;
      const x2 = guest.x2apicOffered && guest.model.usesX2apicWhenOffered;
      this.g8[gi * G8 + G8_X2APIC_MODE] = x2 ? 1 : 0;
      for (let l = 0; l < guest.vcpus; l++) vcpuSetups.push({ guest: gi, x2apic: x2, apicId: l });
      v += guest.vcpus;
    }
    this.machine = new Machine({
      profile: config.profile,
      traits: config.traits,
      vcpus: vcpuSetups,
      debugChecks: config.debugChecks,
      overrides: config.overrides,
    });
    this.machine.exitCostNs.set(config.exitCostNs);
    this.machine.deferIpis = true;
    this.rng = new RandomStreams(n);
    this.heap = new EventHeap(n);
    this.phaseDoneNs = new Float64Array(g * PHASE_ORDER.length).fill(-1);
    this.guestCounters = new Float64Array(g * GuestCounter.COUNT);
    this.latencyCounts = new Float64Array(LATENCY_BOUNDS_NS.length + 1);
    this.stoppedAtNs = new Float64Array(g).fill(-1);

    for (let gi = 0; gi < g; gi++) {
      const guest = config.guests[gi];
      for (let l = 0; l < guest.vcpus; l++) {
        const vi = this.gi32[gi * GI + GI_FIRST_VCPU] + l;
        this.vi[vi * VI + VI_GUEST_OF] = gi;
        this.vi[vi * VI + VI_LOCAL] = l;
        this.rng.seed(vi, deriveSeed(config.seed, config.hostIndex, guest.index, l));
      }
    }
    this.machine.launch();
    this.runnable = n; // every vCPU starts running (mode RUN); halts and wake-ups keep the count
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
      for (let p = this.gi32[gi * GI + GI_PHASE_IDX]; p < phases.length; p++) {
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
    const idx = this.gi32[gi * GI + GI_PHASE_IDX];
    const kind: PhaseKind = idx < guest.phases.length ? guest.phases[idx].phase : 'idle';
    return guest.model.phases[kind];
  }

  private startPhase(gi: number, idx: number): void {
    const guest = this.guests[gi];
    this.gi32[gi * GI + GI_PHASE_IDX] = idx;
    this.gf[gi * GF + G_PHASE_START] = this.now;
    this.gf[gi * GF + G_PHASE_END] = INF;
    this.g8[gi * G8 + G8_WORKER_STATE] = WORKER_NONE;
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    if (idx >= guest.phases.length) {
      this.setupBursts(gi);
      return;
    }
    const plan = guest.phases[idx];
    if (plan.durationNs !== undefined) this.gf[gi * GF + G_PHASE_END] = this.now + plan.durationNs;
    if (plan.work !== undefined) {
      if (plan.phase === 'build') {
        for (let l = 0; l < guest.vcpus; l++) {
          this.vf[(first + l) * VF + V_WORK_LEFT] = Math.round(plan.work / guest.vcpus);
          this.v8[(first + l) * V8 + V8_BUILD_ACTIVE] = 1;
        }
      } else if (plan.phase === 'install') {
        const m = guest.model.install;
        this.gf[gi * GF + G_STEPS_LEFT] = m.steps;
        this.gf[gi * GF + G_CHUNK_LEFT] = Math.round(plan.work / m.steps);
        this.g8[gi * G8 + G8_WORKER_STATE] = WORKER_CPU;
      } else if (plan.phase === 'disk-benchmark') {
        const d = guest.model.diskBenchmark;
        this.gf[gi * GF + G_BYTES_LEFT] = plan.work;
        this.gf[gi * GF + G_STEPS_LEFT] = Math.ceil(plan.work / d.requestBytes);
        this.gf[gi * GF + G_CHUNK_LEFT] = d.cpuPerRequestNs;
        this.g8[gi * G8 + G8_WORKER_STATE] = WORKER_CPU;
      }
    }
    this.setupBursts(gi);
  }

  private setupBursts(gi: number): void {
    const guest = this.guests[gi];
    const b = this.behaviour(gi);
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    if (guest.workload !== undefined) {
      this.setupWorkload(gi, guest.workload);
      return;
    }
    for (let l = 0; l < guest.vcpus; l++) {
      const v = first + l;
      if (this.isAlwaysBusy(gi, v)) {
        this.vf[v * VF + V_BURST_END] = INF;
        if (this.v8[v * V8 + V8_MODE] === MODE_HALT) this.wake(v);
        this.v8[v * V8 + V8_BUSY] = 1;
      } else if (this.vf[v * VF + V_BURST_END] === INF || this.v8[v * V8 + V8_BUSY] === 0) {
        this.v8[v * V8 + V8_BUSY] = 1;
        this.vf[v * VF + V_BURST_END] = this.now + this.rng.exponentialNs(v, b.burstNs);
      }
      this.scheduleBackground(v, b);
      this.scheduleTimer(v);
      this.reschedule(v);
    }
  }

  /** Worker vCPU 0 during its CPU chunk, and every vCPU during a build, run flat out. */
  private isAlwaysBusy(gi: number, v: number): boolean {
    const idx = this.gi32[gi * GI + GI_PHASE_IDX];
    const guest = this.guests[gi];
    if (idx >= guest.phases.length) return false;
    const plan = guest.phases[idx];
    if (plan.work === undefined) return false;
    if (plan.phase === 'build') return this.v8[v * V8 + V8_BUILD_ACTIVE] === 1;
    return v === this.gi32[gi * GI + GI_FIRST_VCPU] && this.g8[gi * G8 + G8_WORKER_STATE] === WORKER_CPU;
  }

  private completePhase(gi: number, at: number): void {
    const guest = this.guests[gi];
    const idx = this.gi32[gi * GI + GI_PHASE_IDX];
    const kind = guest.phases[idx].phase;
    const col = PHASE_ORDER.indexOf(kind);
    // Whole nanoseconds, like latencies: the per-phase sums over guests stay exact in any order.
    if (guest.phases[idx].work !== undefined)
      this.phaseDoneNs[gi * PHASE_ORDER.length + col] = Math.round(at - this.gf[gi * GF + G_PHASE_START]);
    this.startPhase(gi, idx + 1);
  }

  // ---------------------------------------------------------------- scheduling

  private scheduleBackground(v: number, b: PhaseBehaviour): void {
    this.vf[v * VF + V_BG_IO_AT] =
      b.ioPerBusySecond > 0 ? this.now + this.rng.exponentialNs(v, 1e9 / b.ioPerBusySecond) : INF;
    this.vf[v * VF + V_BG_IPI_AT] =
      b.ipiPerBusySecond > 0 && this.guests[this.vi[v * VI + VI_GUEST_OF]].vcpus > 1
        ? this.now + this.rng.exponentialNs(v, 1e9 / b.ipiPerBusySecond)
        : INF;
  }

  private scheduleTimer(v: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const timer = this.guests[gi].model.timer;
    if (timer.hz <= 0) {
      this.vf[v * VF + V_NEXT_TIMER] = INF;
      return;
    }
    if (this.vf[v * VF + V_NEXT_TIMER] !== INF) return;
    const period = Math.round(1e9 / timer.hz);
    // Phase-stagger vCPU timers deterministically (each vCPU's LAPIC timer was armed at a different moment).
    this.vf[v * VF + V_NEXT_TIMER] = this.now + 1 + this.rng.below(v, period);
  }

  private timerActive(v: number): boolean {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const timer = this.guests[gi].model.timer;
    if (timer.hz <= 0) return false;
    if (this.v8[v * V8 + V8_MODE] !== MODE_HALT) return true;
    if (!timer.tickless) return true;
    return timer.clockOwnerTicksWhenIdle && this.vi[v * VI + VI_LOCAL] === 0;
  }

  private hostTickPeriod(): number {
    return Math.round(1e9 / this.config.host.hostTickHz);
  }

  /** Re-key vCPU `v` in the heap at its next event (or take it out when nothing is pending). */
  private reschedule(v: number): void {
    if (this.machine.isStopped(v)) {
      this.heap.remove(v);
      return;
    }
    // A running vCPU's host tick is drawn when it starts running (its phase on the host's tick grid).
    if (this.v8[v * V8 + V8_MODE] !== MODE_HALT && this.vf[v * VF + V_NEXT_HOST_TICK] === INF)
      this.vf[v * VF + V_NEXT_HOST_TICK] = this.now + 1 + this.rng.below(v, this.hostTickPeriod());
    const k = this.nextEventTime(v);
    if (k === INF) this.heap.remove(v);
    else this.heap.set(v, Math.max(k, this.vf[v * VF + V_T]));
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
    const b = v * VF;
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const halted = this.v8[v * V8 + V8_MODE] === MODE_HALT;
    let next = INF;
    let t = vf[b + V_ISR_END];
    if (t <= limit) return Ev.ISR_END;
    if (t < next) next = t;
    t = vf[b + V_RAISED_END];
    if (t <= limit) return Ev.RAISED_END;
    if (t < next) next = t;
    t = vf[b + V_NOTIFY_AT];
    if (t <= limit) return Ev.NOTIFY;
    if (t < next) next = t;
    t = vf[b + V_IPI_AT];
    if (t <= limit) return Ev.IPI;
    if (t < next) next = t;
    t = vf[b + V_BG_DONE_AT];
    if (t <= limit) return Ev.BG_IO_DONE;
    if (t < next) next = t;
    t = this.gi32[gi * GI + GI_IO_TARGET] === v ? this.gf[gi * GF + G_IO_DONE_AT] : INF;
    if (t <= limit) return Ev.IO_DONE;
    if (t < next) next = t;
    if (this.wl.length > 0) {
      t = this.wl[v * WL + WL_IRQ_AT];
      if (t <= limit) return Ev.WL_IRQ;
      if (t < next) next = t;
      t = this.workloadDynTime(v);
      if (t <= limit) return Ev.WL_DYN;
      if (t < next) next = t;
    }
    const timerOn = this.timerActive(v);
    t = timerOn ? vf[b + V_NEXT_TIMER] : INF;
    if (t <= limit) return Ev.TIMER;
    if (t < next) next = t;
    t = halted ? INF : vf[b + V_BG_IO_AT];
    if (t <= limit) return Ev.BG_IO;
    if (t < next) next = t;
    t = halted ? INF : vf[b + V_BG_IPI_AT];
    if (t <= limit) return Ev.BG_IPI;
    if (t < next) next = t;
    t = this.vi[v * VI + VI_LOCAL] === 0 ? this.gf[gi * GF + G_PHASE_END] : INF;
    if (t <= limit) return Ev.PHASE_END;
    if (t < next) next = t;
    t = this.chunkEndTime(v);
    if (t <= limit) return Ev.CHUNK_END;
    if (t < next) next = t;
    t = this.buildEndTime(v);
    if (t <= limit) return Ev.BUILD_END;
    if (t < next) next = t;
    t = vf[b + V_BURST_END];
    if (t <= limit) return Ev.BURST_END;
    if (t < next) next = t;
    // TIMER_STALE runs but never wakes the vCPU.
    t = timerOn ? INF : vf[b + V_NEXT_TIMER];
    if (t <= limit) return Ev.TIMER_STALE;
    // HOST_TICK wakes the vCPU but never runs. While nothing is pending or in service a host tick
    // cannot change what the guest sees, so ticks are applied in bulk when the vCPU is next advanced;
    // otherwise each is its own event. (isQuiet is asked only when the tick could be the earliest.)
    t = vf[b + V_NEXT_HOST_TICK];
    if (!halted && t < next && !this.machine.isQuiet(v)) next = t;
    this.scanNext = next;
    return -1;
  }

  /** Run event `kind` of vCPU `v` at `time`. */
  private dispatch(v: number, kind: Ev, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    switch (kind) {
      case Ev.ISR_END:
        this.endIsr(v, time);
        break;
      case Ev.RAISED_END:
        this.lowerIrql(v, time);
        break;
      case Ev.NOTIFY:
        this.notifyArrives(v, time);
        break;
      case Ev.IPI:
        this.ipiArrives(v, time);
        break;
      case Ev.BG_IO_DONE:
        this.backgroundIoDone(v, time);
        break;
      case Ev.IO_DONE:
        this.ioCompletes(gi, v, time);
        break;
      case Ev.WL_IRQ:
        this.workloadInterrupt(v, time);
        break;
      case Ev.WL_DYN:
        this.workloadDynOp(v, time);
        break;
      case Ev.TIMER:
        this.timerFires(v, time);
        break;
      case Ev.BG_IO:
        this.backgroundIo(v, time);
        break;
      case Ev.BG_IPI:
        this.backgroundIpi(v, time);
        break;
      case Ev.PHASE_END:
        this.completePhase(gi, time);
        break;
      case Ev.CHUNK_END:
        this.chunkDone(gi, v, time);
        break;
      case Ev.BUILD_END:
        this.buildShareDone(v, time);
        break;
      case Ev.BURST_END:
        this.burstBoundary(v, time);
        break;
      case Ev.TIMER_STALE:
        this.vf[v * VF + V_NEXT_TIMER] = INF;
        break;
      case Ev.HOST_TICK:
        break; // never runs: its exits are applied by advance()
    }
  }

  /** Guest ns a running vCPU gains per wall ns, given its exit overhead and host share. */
  private progressRate(v: number): number {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    if (this.guests[gi].workload !== undefined) return this.share() / (1 + this.wl[v * WL + WL_COST]);
    const model = this.guests[gi].model;
    const x = model.usesCr8 ? this.behaviour(gi).cr8PerBusySecond / 1e9 : 0;
    return this.share() / (1 + x * this.vf[v * VF + V_COST_PER_ACCESS]);
  }

  private share(): number {
    const c = this.config.cores;
    return this.runnable <= c ? 1 : c / this.runnable;
  }

  private chunkEndTime(v: number): number {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    if (
      v !== this.gi32[gi * GI + GI_FIRST_VCPU] ||
      this.g8[gi * G8 + G8_WORKER_STATE] !== WORKER_CPU ||
      this.v8[v * V8 + V8_MODE] !== MODE_RUN ||
      this.vf[v * VF + V_RAISED_END] !== INF
    )
      return INF;
    return (
      this.vf[v * VF + V_T] +
      this.vf[v * VF + V_DEBT] +
      Math.ceil(this.gf[gi * GF + G_CHUNK_LEFT] / this.progressRate(v))
    );
  }

  private buildEndTime(v: number): number {
    if (
      this.v8[v * V8 + V8_BUILD_ACTIVE] === 0 ||
      this.v8[v * V8 + V8_MODE] !== MODE_RUN ||
      this.vf[v * VF + V_RAISED_END] !== INF
    )
      return INF;
    return (
      this.vf[v * VF + V_T] +
      this.vf[v * VF + V_DEBT] +
      Math.max(0, Math.ceil(this.vf[v * VF + V_WORK_LEFT] / this.progressRate(v)))
    );
  }

  // ---------------------------------------------------------------- progress

  /** Bring vCPU `v` forward to `time`: guest progress, CR8 traffic, exit debt, then host ticks. */
  private advance(v: number, time: number): void {
    if (this.stoppedAtNs[this.vi[v * VI + VI_GUEST_OF]] >= 0) {
      this.vf[v * VF + V_T] = Math.max(this.vf[v * VF + V_T], time); // a stopped guest runs no more
      return;
    }
    this.progress(v, time);
    const tick = this.vf[v * VF + V_NEXT_HOST_TICK];
    if (tick <= time && this.v8[v * V8 + V8_MODE] !== MODE_HALT && !this.machine.isStopped(v)) {
      // The host's timer ticks that fell in (from, time]: external-interrupt exits, exact and in bulk.
      const period = this.hostTickPeriod();
      const ticks = Math.floor((time - tick) / period) + 1;
      this.vf[v * VF + V_NEXT_HOST_TICK] = tick + ticks * period;
      this.machine.hostInterrupts(v, ticks);
      this.drainDeliveries(time);
    }
  }

  private progress(v: number, time: number): void {
    const from = this.vf[v * VF + V_T];
    if (time <= from) return;
    this.vf[v * VF + V_T] = time;
    const m = this.machine;
    this.vf[v * VF + V_DEBT] += m.vcpuHostNs[v];
    m.vcpuHostNs[v] = 0;
    if (m.isStopped(v)) return;
    const gi = this.vi[v * VI + VI_GUEST_OF];
    let wall = time - from;
    if (this.v8[v * V8 + V8_MODE] === MODE_HALT) {
      this.vf[v * VF + V_DEBT] = Math.max(0, this.vf[v * VF + V_DEBT] - wall);
      return;
    }
    wall *= this.share();
    const pay = Math.min(this.vf[v * VF + V_DEBT], wall);
    this.vf[v * VF + V_DEBT] -= pay;
    wall -= pay;
    if (wall <= 0) return;
    const model = this.guests[gi].model;
    let guestNs = wall;
    const workload = this.guests[gi].workload;
    if (workload !== undefined) {
      if (this.v8[v * V8 + V8_MODE] === MODE_RUN) guestNs = this.workloadProgress(v, workload, wall, time);
    } else if (this.v8[v * V8 + V8_MODE] === MODE_RUN && this.vf[v * VF + V_RAISED_END] === INF && model.usesCr8) {
      const x = this.behaviour(gi).cr8PerBusySecond / 1e9;
      guestNs = wall / (1 + x * this.vf[v * VF + V_COST_PER_ACCESS]);
      const accesses = x * guestNs + this.vf[v * VF + V_CARRY];
      const pairs = Math.floor(accesses / 3);
      this.vf[v * VF + V_CARRY] = accesses - pairs * 3;
      if (pairs > 0) {
        const before = m.vcpuHostNs[v];
        m.cr8Pairs(v, pairs, model.raisedCr8, 0);
        const spent = m.vcpuHostNs[v] - before;
        m.vcpuHostNs[v] = before;
        const predicted = wall - guestNs;
        this.vf[v * VF + V_COST_PER_ACCESS] = spent / (3 * pairs);
        this.vf[v * VF + V_DEBT] += spent - predicted;
        this.drainDeliveries(time);
      }
    }
    guestNs = Math.round(guestNs);
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.GUEST_CPU_NS] += guestNs;
    if (this.v8[v * V8 + V8_MODE] === MODE_RUN && this.vf[v * VF + V_RAISED_END] === INF) {
      if (v === this.gi32[gi * GI + GI_FIRST_VCPU] && this.g8[gi * G8 + G8_WORKER_STATE] === WORKER_CPU)
        this.gf[gi * GF + G_CHUNK_LEFT] -= guestNs;
      if (this.v8[v * V8 + V8_BUILD_ACTIVE] === 1)
        this.vf[v * VF + V_WORK_LEFT] = Math.max(0, this.vf[v * VF + V_WORK_LEFT] - guestNs);
    }
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
      const first = this.gi32[gi * GI + GI_FIRST_VCPU];
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
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const model = this.guests[gi].model;
    if (!model.usesCr8 || this.v8[v * V8 + V8_MODE] !== MODE_RUN || this.vf[v * VF + V_RAISED_END] !== INF) return;
    if (this.rng.uniform(v) >= model.raisedFraction) return;
    // The arrival lands inside a raised section: materialise its raise (one pair of the stream).
    this.machine.readCr8(v);
    this.machine.writeCr8(v, model.raisedCr8);
    this.vf[v * VF + V_CARRY] -= 3;
    this.vf[v * VF + V_RAISED_END] = time + Math.max(1, this.rng.exponentialNs(v, model.raisedHoldNs));
  }

  private lowerIrql(v: number, time: number): void {
    this.vf[v * VF + V_RAISED_END] = INF;
    this.machine.writeCr8(v, 0);
    this.drainDeliveries(time);
  }

  private raise(v: number, vector: number, source: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_TIMER + source]++;
    const a = v * VF + V_ARRIVAL + source;
    if (this.vf[a] < 0) this.vf[a] = time;
    if (this.v8[v * V8 + V8_MODE] === MODE_HALT) this.vf[v * VF + V_DEBT] += this.config.host.haltWakeupNs;
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
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const source = this.sourceOf(gi, vector);
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.DELIVERED_TIMER + source]++;
    const a = v * VF + V_ARRIVAL + source;
    let latency = -1;
    if (this.vf[a] >= 0) {
      // Whole nanoseconds: event times carry fractions (exit debt), and sums of integers are exact
      // in any order, so any split of hosts over workers or shards adds up to the same bits.
      latency = Math.round(
        time - this.vf[a] + (this.v8[v * V8 + V8_MODE] === MODE_HALT ? this.config.host.haltWakeupNs : 0),
      );
      this.vf[a] = -1;
      this.observeLatency(latency, gi, time);
    }
    if (this.machine.recOn) this.machine.recordDeliveryNote(v, vector, latency);
    this.advance(v, time);
    if (this.v8[v * V8 + V8_MODE] === MODE_HALT) this.setRunnable(v, true);
    if (this.vf[v * VF + V_RAISED_END] !== INF) {
      this.vf[v * VF + V_RAISED_LEFT] = this.vf[v * VF + V_RAISED_END] - time;
      this.vf[v * VF + V_RAISED_END] = INF;
    } else {
      this.vf[v * VF + V_RAISED_LEFT] = 0;
    }
    this.v8[v * V8 + V8_MODE] = MODE_ISR;
    this.vi[v * VI + VI_ISR_VECTOR] = vector;
    this.vf[v * VF + V_ISR_START] = time;
    const model = this.guests[gi].model;
    this.vf[v * VF + V_ISR_END] = time + (source === Source.TIMER ? model.timerIsrNs : model.isrNs);
    if (model.usesCr8) {
      // KiInterruptDispatch raises IRQL to the interrupt's level through CR8.
      this.v8[v * V8 + V8_ISR_PREV_CR8] = this.machine.readCr8(v);
      this.machine.writeCr8(v, vector >>> 4);
    }
  }

  private observeLatency(ns: number, gi: number, time: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_NS.length && ns > LATENCY_BOUNDS_NS[i]) i++;
    this.latencyCounts[i]++;
    this.latencyExemplars.offer(i, ns, time, this.guests[gi].index);
    this.latencySumNs += ns;
    this.latencyCount++;
  }

  private setRunnable(v: number, run: boolean): void {
    if (run) {
      if (this.v8[v * V8 + V8_MODE] === MODE_HALT) this.runnable++;
      if (this.v8[v * V8 + V8_MODE] === MODE_HALT) this.v8[v * V8 + V8_MODE] = MODE_RUN;
    } else if (this.v8[v * V8 + V8_MODE] !== MODE_HALT) {
      this.runnable--;
      this.v8[v * V8 + V8_MODE] = MODE_HALT;
      this.vf[v * VF + V_NEXT_HOST_TICK] = INF;
    }
  }

  private wake(v: number): void {
    this.setRunnable(v, true);
  }

  private endIsr(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const guest = this.guests[gi];
    const model = guest.model;
    const vector = this.vi[v * VI + VI_ISR_VECTOR];
    const m = this.machine;
    this.vf[v * VF + V_ISR_END] = INF;
    this.vi[v * VI + VI_ISR_VECTOR] = -1;
    m.eoi(v);
    if (model.usesCr8) m.writeCr8(v, this.v8[v * V8 + V8_ISR_PREV_CR8]);
    if (vector === model.timer.vector && model.timer.oneShotRearm) m.timerInitialCount(v, 100000);
    if (vector === model.deviceVector && this.gi32[gi * GI + GI_IO_ISR_VCPU] === v) {
      this.gi32[gi * GI + GI_IO_ISR_VCPU] = -1;
      this.afterDeviceIsr(gi, v, time);
    } else if (
      vector === model.completionIpiVector &&
      this.gi32[gi * GI + GI_IO_TARGET] === -2 &&
      v === this.gi32[gi * GI + GI_FIRST_VCPU]
    ) {
      this.ioNotified(gi, time);
    }
    // Back to what was interrupted.
    this.v8[v * V8 + V8_MODE] = MODE_RUN;
    if (this.vf[v * VF + V_RAISED_LEFT] > 0) {
      this.vf[v * VF + V_RAISED_END] = time + this.vf[v * VF + V_RAISED_LEFT];
      this.vf[v * VF + V_RAISED_LEFT] = 0;
    }
    m.iret(v);
    this.drainDeliveries(time);
    if (
      this.v8[v * V8 + V8_MODE] === MODE_RUN &&
      this.v8[v * V8 + V8_BUSY] === 0 &&
      this.vf[v * VF + V_RAISED_END] === INF &&
      !this.isAlwaysBusy(gi, v)
    )
      this.halt(v, time);
  }

  private halt(v: number, time: number): void {
    this.advance(v, time);
    this.setRunnable(v, false);
    this.machine.hlt(v);
    this.drainDeliveries(time);
    // hlt() with an interrupt already pending does not sleep: it was delivered above (ISR mode).
    if (this.v8[v * V8 + V8_MODE] === MODE_HALT && !this.machine.isHalted(v) && this.vf[v * VF + V_ISR_END] === INF)
      this.setRunnable(v, true);
  }

  private burstBoundary(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const b = this.behaviour(gi);
    if (this.v8[v * V8 + V8_BUSY] === 1) {
      this.v8[v * V8 + V8_BUSY] = 0;
      const idleMean = b.busyFraction >= 1 ? 0 : (b.burstNs * (1 - b.busyFraction)) / Math.max(b.busyFraction, 1e-9);
      this.vf[v * VF + V_BURST_END] = time + Math.max(1, this.rng.exponentialNs(v, idleMean));
      if (this.v8[v * V8 + V8_MODE] === MODE_RUN && this.vf[v * VF + V_RAISED_END] === INF && !this.isAlwaysBusy(gi, v))
        this.halt(v, time);
    } else {
      this.v8[v * V8 + V8_BUSY] = 1;
      this.vf[v * VF + V_BURST_END] = time + Math.max(1, this.rng.exponentialNs(v, b.burstNs));
      if (this.v8[v * V8 + V8_MODE] === MODE_HALT) {
        this.setRunnable(v, true);
        this.machine.raiseInterrupt(v, this.guests[gi].model.ipiVector, false); // the scheduler's wake-up IPI
        this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_IPI]++;
        this.drainDeliveries(time);
      }
    }
  }

  private timerFires(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const timer = this.guests[gi].model.timer;
    const period = Math.round(1e9 / timer.hz);
    this.vf[v * VF + V_NEXT_TIMER] += period;
    if (this.vf[v * VF + V_NEXT_TIMER] <= time) this.vf[v * VF + V_NEXT_TIMER] = time + period;
    this.raise(v, timer.vector, Source.TIMER, time);
  }

  private backgroundIo(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const b = this.behaviour(gi);
    this.vf[v * VF + V_BG_IO_AT] =
      b.ioPerBusySecond > 0 ? time + this.rng.exponentialNs(v, 1e9 / b.ioPerBusySecond) : INF;
    // A doorbell write; its completion interrupt comes back to this vCPU after the service time.
    this.machine.mmio(v);
    if (this.vf[v * VF + V_BG_DONE_AT] === INF)
      this.vf[v * VF + V_BG_DONE_AT] = time + this.guests[gi].model.install.deviceServiceNs;
  }

  private backgroundIoDone(v: number, time: number): void {
    this.vf[v * VF + V_BG_DONE_AT] = INF;
    this.raise(v, this.guests[this.vi[v * VI + VI_GUEST_OF]].model.deviceVector, Source.DEVICE, time);
  }

  private backgroundIpi(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const guest = this.guests[gi];
    const b = this.behaviour(gi);
    this.vf[v * VF + V_BG_IPI_AT] =
      b.ipiPerBusySecond > 0 ? time + this.rng.exponentialNs(v, 1e9 / b.ipiPerBusySecond) : INF;
    const others = guest.vcpus - 1;
    if (others <= 0) return;
    let target = this.gi32[gi * GI + GI_FIRST_VCPU] + this.rng.below(v, others);
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
      const gi = this.vi[target * VI + VI_GUEST_OF];
      const at = time + this.config.host.ipiLatencyNs;
      if (vector === this.guests[gi].model.completionIpiVector) {
        if (this.vf[target * VF + V_NOTIFY_AT] === INF) this.vf[target * VF + V_NOTIFY_AT] = at;
      } else if (this.vf[target * VF + V_IPI_AT] === INF) {
        this.vf[target * VF + V_IPI_AT] = at;
        this.vi[target * VI + VI_IPI_VECTOR] = vector;
      }
      this.reschedule(target);
    }
  }

  private ipiArrives(v: number, time: number): void {
    const vector = this.vi[v * VI + VI_IPI_VECTOR];
    this.vf[v * VF + V_IPI_AT] = INF;
    this.vi[v * VI + VI_IPI_VECTOR] = -1;
    this.raise(v, vector, Source.IPI, time);
  }

  private notifyArrives(v: number, time: number): void {
    this.vf[v * VF + V_NOTIFY_AT] = INF;
    this.raise(v, this.guests[this.vi[v * VI + VI_GUEST_OF]].model.completionIpiVector, Source.IPI, time);
  }

  // ---------------------------------------------------------------- workload-profile guests

  private setupWorkload(gi: number, w: WorkloadSpec): void {
    const guest = this.guests[gi];
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    const dynRate = w.hltsPerGuestSecond + (guest.vcpus > 1 ? w.ipisPerGuestSecond : 0);
    for (let l = 0; l < guest.vcpus; l++) {
      const v = first + l;
      // Always "busy": a workload vCPU idles only through its own HLTs.
      this.v8[v * V8 + V8_BUSY] = 1;
      this.vf[v * VF + V_BURST_END] = INF;
      if (w.interruptsPerSecond > 0 && this.wl[v * WL + WL_IRQ_AT] === INF)
        this.wl[v * WL + WL_IRQ_AT] = this.now + Math.max(1, this.rng.exponentialNs(v, 1e9 / w.interruptsPerSecond));
      if (dynRate > 0 && this.wl[v * WL + WL_DYN_LEFT] === INF)
        this.wl[v * WL + WL_DYN_LEFT] = Math.max(1, this.rng.exponentialNs(v, 1e9 / dynRate));
      this.reschedule(v);
    }
  }

  /** Wall time at which a running workload vCPU has executed up to its next HLT/IPI (INF otherwise). */
  private workloadDynTime(v: number): number {
    const left = this.wl[v * WL + WL_DYN_LEFT];
    if (left === INF || this.v8[v * V8 + V8_MODE] !== MODE_RUN) return INF;
    return this.vf[v * VF + V_T] + this.vf[v * VF + V_DEBT] + Math.max(0, Math.ceil(left / this.progressRate(v)));
  }

  /**
   * `wall` ns of running time: the instructions of the profile in that guest time, executed in bulk
   * by the machine's exact rules (RepeatOp), their exit time charged like the %cr8 stream of modelled
   * guests (predicted from the last measured cost, the difference carried as debt). Returns guest ns.
   */
  private workloadProgress(v: number, w: WorkloadSpec, wall: number, time: number): number {
    const m = this.machine;
    const wl = this.wl;
    const base = v * WL;
    const guestNs = wall / (1 + wl[base + WL_COST]);
    const seconds = guestNs / 1e9;
    const before = m.vcpuHostNs[v];
    for (let op = 0; op < WorkloadOp.COUNT; op++) {
      const k = this.dueCount(base + WL_CARRY + op, w.opsPerGuestSecond[op], seconds);
      if (k > 0) m.repeat(v, k, WL_REPEAT[op][0], WL_REPEAT[op][1], WL_REPEAT[op][2]);
    }
    for (let slot = 0; slot < EXIT_SLOT_COUNT; slot++) {
      const k = this.dueCount(base + WL_OPAQUE_CARRY + slot, w.opaquePerGuestSecond[slot], seconds);
      if (k > 0) m.repeat(v, k, RepeatOp.OPAQUE_EXIT, slot, 0);
    }
    const ticks = this.dueCount(base + WL_HOST_IRQ_CARRY, w.hostInterruptsPerSecond, seconds);
    if (ticks > 0) m.hostInterrupts(v, ticks);
    const spent = m.vcpuHostNs[v] - before;
    m.vcpuHostNs[v] = before;
    if (guestNs > 0) wl[base + WL_COST] = spent / guestNs;
    this.vf[v * VF + V_DEBT] += spent - (wall - guestNs);
    if (wl[base + WL_DYN_LEFT] !== INF) wl[base + WL_DYN_LEFT] -= guestNs;
    this.drainDeliveries(time);
    return guestNs;
  }

  /** Whole events of a `rate` per second due in `seconds`, the fraction carried in wl[carryIndex] (exact mean counts). */
  private dueCount(carryIndex: number, rate: number, seconds: number): number {
    if (rate <= 0) return 0;
    const x = rate * seconds + this.wl[carryIndex];
    const k = Math.floor(x);
    this.wl[carryIndex] = x - k;
    return k;
  }

  private workloadInterrupt(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const w = this.guests[gi].workload!;
    this.wl[v * WL + WL_IRQ_AT] = time + Math.max(1, this.rng.exponentialNs(v, 1e9 / w.interruptsPerSecond));
    this.raise(v, this.guests[gi].model.deviceVector, Source.DEVICE, time);
  }

  /** The next HLT or IPI of the profile, chosen in proportion to their rates. */
  private workloadDynOp(v: number, time: number): void {
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const guest = this.guests[gi];
    const w = guest.workload!;
    const ipiRate = guest.vcpus > 1 ? w.ipisPerGuestSecond : 0;
    const total = w.hltsPerGuestSecond + ipiRate;
    this.wl[v * WL + WL_DYN_LEFT] = Math.max(1, this.rng.exponentialNs(v, 1e9 / total));
    if (this.rng.uniform(v) * total < w.hltsPerGuestSecond) {
      this.halt(v, time);
      return;
    }
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    let target = first + this.rng.below(v, guest.vcpus - 1);
    if (target >= v) target++;
    this.sendIpi(v, target, guest.model.ipiVector, time);
  }

  // ---------------------------------------------------------------- work-bound phases

  private chunkDone(gi: number, v: number, time: number): void {
    this.g8[gi * G8 + G8_WORKER_STATE] = WORKER_WAIT;
    this.issueIo(v, gi, time);
    const b = this.behaviour(gi);
    // While it waits, the worker vCPU runs other threads like any other vCPU of the guest.
    this.v8[v * V8 + V8_BUSY] = 1;
    this.vf[v * VF + V_BURST_END] = time + Math.max(1, this.rng.exponentialNs(v, b.burstNs));
  }

  private issueIo(v: number, gi: number, time: number): void {
    const guest = this.guests[gi];
    const m = this.machine;
    m.mmio(v); // the storage doorbell
    const plan = guest.phases[this.gi32[gi * GI + GI_PHASE_IDX]];
    let service = guest.model.install.deviceServiceNs;
    if (plan.phase === 'disk-benchmark') {
      const d = guest.model.diskBenchmark;
      service = d.deviceLatencyNs + Math.round((d.requestBytes * 1e9) / d.deviceBytesPerSecond);
    }
    const seq = this.gi32[gi * GI + GI_IO_SEQ]++;
    // MSI completions are spread over the guest's vCPUs (interrupt affinity), round robin.
    this.gi32[gi * GI + GI_IO_TARGET] = this.gi32[gi * GI + GI_FIRST_VCPU] + (seq % guest.vcpus);
    this.gf[gi * GF + G_IO_DONE_AT] = time + service;
    this.reschedule(this.gi32[gi * GI + GI_IO_TARGET]);
  }

  private ioCompletes(gi: number, v: number, time: number): void {
    this.gf[gi * GF + G_IO_DONE_AT] = INF;
    this.gi32[gi * GI + GI_IO_TARGET] = -1;
    this.gi32[gi * GI + GI_IO_ISR_VCPU] = v;
    this.raise(v, this.guests[gi].model.deviceVector, Source.DEVICE, time);
  }

  /** After the device ISR: notify the originating vCPU (DPC/APC or reschedule IPI) or finish here. */
  private afterDeviceIsr(gi: number, v: number, time: number): void {
    if (this.g8[gi * G8 + G8_WORKER_STATE] !== WORKER_WAIT) return;
    const origin = this.gi32[gi * GI + GI_FIRST_VCPU];
    if (v === origin) {
      this.ioNotified(gi, time);
      return;
    }
    this.gi32[gi * GI + GI_IO_TARGET] = -2; // completion notification in flight to the origin
    this.sendIpi(v, origin, this.guests[gi].model.completionIpiVector, time);
  }

  private ioNotified(gi: number, time: number): void {
    const guest = this.guests[gi];
    const plan = guest.phases[this.gi32[gi * GI + GI_PHASE_IDX]];
    this.gi32[gi * GI + GI_IO_TARGET] = -1;
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    if (plan.phase === 'disk-benchmark') {
      const bytes = Math.min(guest.model.diskBenchmark.requestBytes, this.gf[gi * GF + G_BYTES_LEFT]);
      this.gf[gi * GF + G_BYTES_LEFT] -= bytes;
      this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.IO_BYTES] += bytes;
    }
    this.gf[gi * GF + G_STEPS_LEFT]--;
    if (this.gf[gi * GF + G_STEPS_LEFT] <= 0) {
      this.completePhase(gi, time);
      return;
    }
    this.gf[gi * GF + G_CHUNK_LEFT] =
      plan.phase === 'disk-benchmark'
        ? guest.model.diskBenchmark.cpuPerRequestNs
        : Math.round((plan.work ?? 0) / guest.model.install.steps);
    this.g8[gi * G8 + G8_WORKER_STATE] = WORKER_CPU;
    this.vf[first * VF + V_BURST_END] = INF;
    this.v8[first * V8 + V8_BUSY] = 1;
    if (this.v8[first * V8 + V8_MODE] === MODE_HALT) {
      this.setRunnable(first, true);
      this.machine.raiseInterrupt(first, guest.model.ipiVector, false);
      this.drainDeliveries(time);
    }
    this.reschedule(first);
  }

  private buildShareDone(v: number, time: number): void {
    this.vf[v * VF + V_WORK_LEFT] = 0;
    this.v8[v * V8 + V8_BUILD_ACTIVE] = 0;
    const gi = this.vi[v * VI + VI_GUEST_OF];
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    let all = true;
    for (let l = 0; l < this.guests[gi].vcpus; l++) if (this.v8[(first + l) * V8 + V8_BUILD_ACTIVE] === 1) all = false;
    if (all) this.completePhase(gi, time);
    else {
      const b = this.behaviour(gi);
      this.v8[v * V8 + V8_BUSY] = 0;
      this.vf[v * VF + V_BURST_END] = time + Math.max(1, this.rng.exponentialNs(v, b.burstNs));
      this.halt(v, time);
    }
  }

  /** Exit counts of guest `gi`, summed over its vCPUs, into `exits` (length EXIT_SLOT_COUNT). */
  guestExits(gi: number, exits: Float64Array): void {
    const m = this.machine;
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    for (let l = 0; l < this.guests[gi].vcpus; l++) {
      for (let s = 0; s < EXIT_SLOT_COUNT; s++) exits[s] += m.exitCount(first + l, s);
    }
  }

  guestMachineCounter(gi: number, counter: number): number {
    const m = this.machine;
    const first = this.gi32[gi * GI + GI_FIRST_VCPU];
    let sum = 0;
    for (let l = 0; l < this.guests[gi].vcpus; l++) sum += m.counters[(first + l) * Counter.COUNT + counter];
    return sum;
  }
}

export const PHASE_ORDER: readonly PhaseKind[] = ['boot', 'idle', 'install', 'disk-benchmark', 'build'];
