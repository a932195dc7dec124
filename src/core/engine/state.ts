import { linuxClockSetup, type LinuxClockSetup } from '../guests/linuxClock.js';
import type { PhaseBehaviour } from '../guests/model.js';
import { PHASE_ORDER } from '../guests/model.js';
import { WorkloadOp } from '../guests/workload.js';
import { clockSetup, ClockTimer, type ClockSetup } from '../guests/clock.js';
import { HvFeature } from '../hypervisor/hyperv.js';
import { kvmShrinkPleWindow } from '../vmx/pauseLoop.js';
import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
import { DOUBLE_ZERO } from '../numbers.js';
import type { GuestInstance, HostConfig } from './config.js';
import { Machine } from '../vcpu/machine.js';
import { carve, EMPTY_F64, type Carver } from '../vcpu/arena.js';
import { machineArrays, slotStrideOf } from '../vcpu/machineSetup.js';
import { LatencyExemplars } from './exemplars.js';
import { EventHeap } from './heap.js';
import { deriveSeed, RandomStreams } from './prng.js';

/**
 * The state of one host simulation, in one place: the engine (src/core/engine/host.ts) and the guest
 * behaviour modules (src/core/guests/) read and write it; the behaviour modules receive it as `h`.
 *
 * Per-vCPU and per-guest state lives in a few strided typed arrays, views of the host's one buffer,
 * with the field offsets below (const enums: the offsets compile to literals on the hot paths). No
 * object per vCPU, guest or event.
 */

/** Interrupt sources for per-source counts and latency. */
export const Source = { TIMER: 0, DEVICE: 1, IPI: 2, COUNT: 3 } as const;

/** Latency histogram bucket upper bounds, ns (Prometheus-style 1-2.5-5 series, 1 us .. 100 ms). */
export const LATENCY_BOUNDS_NS: readonly number[] = [
  1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8,
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
  /** VMM host ns outside exits: the device model's platform-timer periods (HostModel.deviceModelTickNs). */
  DEVICE_MODEL_NS: 8,
  COUNT: 9,
} as const;

/** What a vCPU is doing (V8.MODE; read it with HostState.mode). */
export const enum Mode {
  /** Running guest code (busy, or the worker's chunk). */
  RUN = 0,
  /** Halted (HLT): not runnable, no guest time, no host ticks. */
  HALT = 1,
  /** Running an ISR. */
  ISR = 2,
}

/** The worker vCPU of an install / disk-benchmark chain (G8.WORKER_STATE; read it with HostState.worker). */
export const enum Worker {
  /** Running its CPU chunk (flat out). */
  CPU = 0,
  /** Waiting for the step's I/O to complete. */
  WAIT = 1,
  /** No chain in this phase. */
  NONE = 2,
}

/** A ping-pong vCPU's message (V8.HOP; src/core/guests/pingPong.ts). */
export const enum Hop {
  NONE = 0,
  /** The peer sent the message: its reschedule IPI is on the way or pending. */
  SENT = 1,
  /** The vCPU runs its hop (Vf.WORK_LEFT guest ns to go). */
  RUNNING = 2,
}

/** Per-vCPU numbers (`vf`): times in ns, debts, carries. */
export const enum Vf {
  /** Wall time up to which the vCPU has been advanced. */
  T = 0,
  /** Host ns of exits not yet paid from the vCPU's running time. */
  DEBT = 1,
  /** Fractional %cr8 accesses carried between advances. */
  CARRY = 2,
  /** Host ns per %cr8 access, as last measured (before the first: Machine.cr8AccessCostNs, the controls' cost). */
  COST_PER_ACCESS = 3,
  /** Next guest timer tick (also kept, stale, while the timer is stopped; see Ev.TIMER_STALE). */
  NEXT_TIMER = 4,
  /** Next host timer tick on the core running the vCPU (Infinity while halted). */
  NEXT_HOST_TICK = 5,
  /** End of the current busy burst or idle gap. */
  BURST_END = 6,
  /** End of the current raised-IRQL section (Infinity: none, or suspended by an ISR). */
  RAISED_END = 7,
  /** Rest of a raised section an ISR interrupted, resumed after it (0: none). */
  RAISED_LEFT = 8,
  /** End of the ISR in service. */
  ISR_END = 9,
  /** Arrival of a general IPI in flight to this vCPU (coalesced: the IRR would merge them anyway). */
  IPI_AT = 10,
  /** Arrival of an I/O-completion notice (DPC/APC request or reschedule IPI) in flight to this vCPU. */
  NOTIFY_AT = 11,
  /** Completion of a background I/O this vCPU issued. */
  BG_DONE_AT = 12,
  /** Guest ns of build work this vCPU still owes, or of its ping-pong hop (never both: other phases). */
  WORK_LEFT = 13,
  /**
   * Guest ns of the vCPU's work until it next issues background I/O: its guest time counts down, so
   * the rate is per second of guest work (ioPerBusySecond), halts and exit time pass none (issue #14).
   */
  BG_IO_LEFT = 14,
  /** Guest ns until the vCPU next sends a background IPI: like BG_IO_LEFT. */
  BG_IPI_LEFT = 15,
  /** Fractional clock reads carried between advances (src/core/guests/timekeeping.ts). */
  CLOCK_CARRY = 16,
  /** KVM's PLE window for this vCPU, TSC ticks (vmx->ple_window; src/core/guests/spin.ts). */
  PLE_WINDOW = 17,
  /** Guest ns since the first PAUSE of the spin loop in progress (since the last VM entry). */
  PLE_LOOP_NS = 18,
  /** The vCPU's exit count when its spin loop was last advanced: any other exit restarts the loop. */
  PLE_EXITS_SEEN = 19,
  /** Arrival time of the oldest undelivered interrupt, per Source (3 slots; -1: none). */
  ARRIVAL = 20,
  /**
   * Fractional host ticks carried between advances: of the ticks that land after the exit debt, the
   * share in guest mode when the interval's own bulk exits are interleaved with its guest time (host.ts).
   */
  TICK_CARRY = 23,
  /** Guest ns of work left in the busy burst in progress (Infinity: none, or flat out; guests/burstWork.ts). */
  BURST_WORK = 24,
  /** Period of the vCPU's clock interrupt, ns: fixed for the host's life (guests/timekeeping.ts clockPeriodNs). */
  CLOCK_PERIOD = 25,
  /** The phase's %cr8 accesses per busy guest ns (0: the guest does not use %cr8), set when it starts. */
  CR8_PER_NS = 26,
  /** The host's service clock at Vf.T, written when the share changes after T (HostSimulation.shareChanged). */
  SERVICE = 27,
  STRIDE = 28,
}

/** Per-vCPU integers (`vi`). */
export const enum Vi {
  /** Index of the vCPU's guest in the host. */
  GUEST_OF = 0,
  /** The vCPU's index within its guest. */
  LOCAL = 1,
  /** Vector of the ISR in service (-1: none). */
  ISR_VECTOR = 2,
  /** Vector of the general IPI in flight (-1: none). */
  IPI_VECTOR = 3,
  STRIDE = 4,
}

/** Per-vCPU small values (`v8`). */
export const enum V8 {
  MODE = 0,
  /** 1 in a busy burst, 0 in an idle gap. */
  BUSY = 1,
  /** CR8 the ISR in service will restore. */
  ISR_PREV_CR8 = 2,
  /** 1 while this vCPU still owes its share of a build phase (WORK_LEFT may reach 0 between events). */
  BUILD_ACTIVE = 3,
  /** 1 while the vCPU is idle with its one-shot timer programmed for the wake-up (dynticks; Vf.NEXT_TIMER). */
  WAKE_TIMER = 4,
  /** 1 when the timer interrupt in service ended an idle period: its ISR also restarts the tick. */
  RESTART_TICK = 5,
  /** A ping-pong vCPU's message: a Hop value. */
  HOP = 6,
  /** 1 while the phase is a lock-spin the vCPU takes part in (set when the phase starts: guests/spin.ts). */
  SPIN = 7,
  /** How its timer runs: a TimerClass (guests/timers.ts), set once by the engine. */
  TIMER_CLASS = 8,
  /** Which of its phase's work can keep it flat out: a FlatOut (guests/bursts.ts), set when the phase starts. */
  FLAT_OUT = 9,
  STRIDE = 10,
}

/** Per-guest numbers (`gf`). */
export const enum Gf {
  PHASE_START = 0,
  /** End of a duration-bound phase (Infinity: none). */
  PHASE_END = 1,
  /** Guest ns left in the worker's CPU chunk of the current step. */
  CHUNK_LEFT = 2,
  STEPS_LEFT = 3,
  /** Completion of the chain's I/O in flight (Infinity: none). */
  IO_DONE_AT = 4,
  /** Bytes a disk benchmark has still to transfer. */
  BYTES_LEFT = 5,
  /** A Linux guest's last jiffies update (guests/linuxClock.ts), ns; -Infinity: none yet. */
  LAST_JIFFY = 6,
  STRIDE = 7,
}

/** Per-guest integers (`gi32`). */
export const enum Gi {
  FIRST_VCPU = 0,
  PHASE_IDX = 1,
  /** vCPU the chain's I/O completion interrupt goes to; -1 none, -2 its notice is in flight to the worker. */
  IO_TARGET = 2,
  /** vCPU whose next device ISR serves the chain's I/O (-1: none). */
  IO_ISR_VCPU = 3,
  /** Chain I/Os issued (round-robin interrupt affinity). */
  IO_SEQ = 4,
  STRIDE = 5,
}

/** Per-guest small values (`g8`). */
export const enum G8 {
  /** A Worker value. */
  WORKER_STATE = 0,
  STRIDE = 1,
}

// Workload-profile vCPUs (`wl`, allocated only when the host has such guests), stride WL.
/** Next device interrupt arrival, wall ns. */
export const WL_IRQ_AT = 0;
/** Guest ns until the next HLT or IPI. */
export const WL_DYN_LEFT = 1;
/** Host ns of bulk exits per guest ns (last measured). */
export const WL_COST = 2;
/** WorkloadOp.COUNT fractional carries, then EXIT_SLOT_COUNT opaque carries, then host interrupts. */
export const WL_CARRY = 3;
export const WL_OPAQUE_CARRY = WL_CARRY + WorkloadOp.COUNT;
export const WL_HOST_IRQ_CARRY = WL_OPAQUE_CARRY + EXIT_SLOT_COUNT;
export const WL = WL_HOST_IRQ_CARRY + 1;

if (Vf.TICK_CARRY - Vf.ARRIVAL !== Source.COUNT) throw new Error('Vf.ARRIVAL needs one slot per Source');

/**
 * Every typed array of a host - its machine's, its own, its PRNG streams', event heap's and latency
 * exemplars' - carved from one buffer (vcpu/arena.ts). The exit-cost table is the config's, shared by
 * the hosts of a variant (the machine only reads it). `wl` is empty unless the host has workload guests.
 */
function hostArrays(c: Carver, config: HostConfig, n: number) {
  const g = config.guests.length;
  const workload = config.guests.some((x) => x.workload !== undefined);
  return {
    machine: machineArrays(c, n, slotStrideOf(config.profile), config.exitCostNs),
    vf: c.f64(n * Vf.STRIDE),
    gf: c.f64(g * Gf.STRIDE),
    wl: workload ? c.f64(n * WL) : EMPTY_F64,
    phaseDoneNs: c.f64(g * PHASE_ORDER.length),
    guestCounters: c.f64(g * GuestCounter.COUNT),
    latencyCounts: c.f64(LATENCY_BOUNDS_NS.length + 1),
    stoppedAtNs: c.f64(g),
    latencyExemplars: new LatencyExemplars(LATENCY_BOUNDS_NS.length + 1, c),
    heap: new EventHeap(n, c),
    vi: c.i32(n * Vi.STRIDE),
    gi32: c.i32(g * Gi.STRIDE),
    rng: new RandomStreams(n, c),
    v8: c.i8(n * V8.STRIDE),
    g8: c.i8(g * G8.STRIDE),
  };
}

/**
 * A host's state and the engine's services to guest behaviour: host cores (share, setRunnable), the
 * progress rate, typed reads, the current phase's behaviour, latency results; and three engine
 * operations behaviour calls back (advance, drainDeliveries, reschedule), implemented by
 * HostSimulation (src/core/engine/host.ts), the one subclass.
 */
export abstract class HostState {
  readonly config: HostConfig;
  readonly guests: readonly GuestInstance[];
  /** vCPUs on this host (all guests). */
  readonly n: number;
  readonly machine: Machine;
  /** One stream per vCPU, seeded by (seed, host index, guest index, vCPU). */
  readonly rng: RandomStreams;

  /** Per-vCPU numbers, stride Vf.STRIDE. */
  readonly vf: Float64Array;
  /** Per-vCPU integers, stride Vi.STRIDE. */
  readonly vi: Int32Array;
  /** Per-vCPU small values, stride V8.STRIDE. */
  readonly v8: Int8Array;
  /** Per-guest numbers, stride Gf.STRIDE. */
  readonly gf: Float64Array;
  /** Per-guest integers, stride Gi.STRIDE. */
  readonly gi32: Int32Array;
  /** Per-guest small values, stride G8.STRIDE. */
  readonly g8: Int8Array;
  /** Workload-profile vCPU state, stride WL (empty when the host has no such guest). */
  readonly wl: Float64Array;

  /** Per guest x phase: completion time ns (-1 = not completed), in PHASE_ORDER columns. */
  readonly phaseDoneNs: Float64Array;
  readonly guestCounters: Float64Array;
  /** Latency histogram counts: LATENCY_BOUNDS_NS.length + 1 buckets. */
  readonly latencyCounts: Float64Array;
  /** A double from the start (DOUBLE_ZERO, src/core/numbers.ts): the sum passes 2^31 ns early in a run. */
  latencySumNs = DOUBLE_ZERO;
  latencyCount = 0;
  /** Per latency bucket, its replayable representative observation (docs/REPLAY.md). */
  readonly latencyExemplars: LatencyExemplars;
  /**
   * Simulated time of the event being processed (of the last advanceTo between events): the time the
   * engine and every guest handler read; no call on the per-event path takes it as an argument. A
   * double from the start (DOUBLE_ZERO, src/core/numbers.ts).
   */
  now = DOUBLE_ZERO;
  /** vCPUs not halted: they share the host's cores. */
  runnable = 0;
  /** Time the violation that stopped a guest was noticed, per guest (-1 none). */
  readonly stoppedAtNs: Float64Array;
  /** The engine's: the earliest wake-up time the last event walk found (src/core/engine/events.ts). */
  walkNext = Infinity;
  /**
   * The engine's and the %cr8 stream's (guests/irql.ts cr8Stream): the interval's wall time left for
   * the guest, in, and its guest time, out. Fields, not an argument and a return: a fraction passed
   * to or returned from a call that is not inlined is boxed by V8, an allocation per event.
   */
  cr8WallNs = 0.5;
  cr8GuestNs = 0.5;
  /**
   * Set by the engine's progress for clockReads (guests/timekeeping.ts): the guest ns the vCPU just
   * ran, a fraction (a field for the reason above).
   */
  ranGuestNs = 0.5;
  /** Each guest's timekeeping: where its clock reads go, what drives its clock (src/core/guests/clock.ts). */
  readonly clocks: readonly ClockSetup[];
  /** Per guest: a Linux guest's clocksource and where its reads go (guests/linuxClock.ts). */
  readonly linuxClocks: readonly LinuxClockSetup[];
  /** The engine's: every vCPU keyed by its next event (src/core/engine/host.ts). */
  protected readonly heap: EventHeap;
  /**
   * Per vCPU, its behaviour in its guest's phase (vcpuBehaviour), set when the phase starts with
   * Vf.CR8_PER_NS, V8.SPIN and V8.FLAT_OUT (guests/phases.ts cacheBehaviours), read per event.
   */
  readonly behaviours: PhaseBehaviour[];

  constructor(config: HostConfig) {
    this.config = config;
    this.guests = config.guests;
    let n = 0;
    for (const g of config.guests) n += g.vcpus;
    this.n = n;
    const g = config.guests.length;
    const a = carve((c) => hostArrays(c, config, n));
    this.vf = a.vf;
    this.vi = a.vi;
    this.v8 = a.v8;
    this.gf = a.gf;
    this.gi32 = a.gi32;
    this.g8 = a.g8;
    this.wl = a.wl;
    this.behaviours = new Array<PhaseBehaviour>(n); // filled by startPhase before any read
    this.phaseDoneNs = a.phaseDoneNs.fill(-1);
    this.guestCounters = a.guestCounters;
    this.latencyCounts = a.latencyCounts;
    this.stoppedAtNs = a.stoppedAtNs.fill(-1);
    this.rng = a.rng;
    this.heap = a.heap;
    this.latencyExemplars = a.latencyExemplars;
    for (let v = 0; v < n; v++) {
      if (this.wl.length > 0) {
        this.wl[v * WL + WL_IRQ_AT] = Infinity;
        this.wl[v * WL + WL_DYN_LEFT] = Infinity;
      }
      const b = v * Vf.STRIDE;
      this.vf[b + Vf.NEXT_TIMER] = Infinity;
      this.vf[b + Vf.NEXT_HOST_TICK] = Infinity;
      this.vf[b + Vf.BURST_END] = Infinity;
      this.vf[b + Vf.BURST_WORK] = Infinity;
      this.vf[b + Vf.RAISED_END] = Infinity;
      this.vf[b + Vf.ISR_END] = Infinity;
      this.vf[b + Vf.IPI_AT] = Infinity;
      this.vf[b + Vf.NOTIFY_AT] = Infinity;
      this.vf[b + Vf.BG_DONE_AT] = Infinity;
      this.vf[b + Vf.BG_IO_LEFT] = Infinity;
      this.vf[b + Vf.BG_IPI_LEFT] = Infinity;
      this.vf[b + Vf.PLE_WINDOW] = config.traits.ple?.window ?? 0; // vmx_vcpu_setup: vmx->ple_window = ple_window; svm.c init_vmcb: pause_filter_count
      this.vf[b + Vf.PLE_EXITS_SEEN] = -1;
      for (let s = 0; s < Source.COUNT; s++) this.vf[b + Vf.ARRIVAL + s] = -1;
      this.vi[v * Vi.STRIDE + Vi.ISR_VECTOR] = -1;
      this.vi[v * Vi.STRIDE + Vi.IPI_VECTOR] = -1;
    }
    for (let i = 0; i < g; i++) {
      this.gf[i * Gf.STRIDE + Gf.PHASE_END] = Infinity;
      this.gf[i * Gf.STRIDE + Gf.IO_DONE_AT] = Infinity;
      this.gf[i * Gf.STRIDE + Gf.LAST_JIFFY] = -Infinity;
      this.gi32[i * Gi.STRIDE + Gi.IO_TARGET] = -1;
      this.gi32[i * Gi.STRIDE + Gi.IO_ISR_VCPU] = -1;
      this.g8[i * G8.STRIDE + G8.WORKER_STATE] = Worker.NONE;
    }
    // map, not push: an array grown by push keeps room for 17 entries (~150 bytes) per host.
    this.clocks = config.guests.map((x) => clockSetup(config.traits, x.model, x.timekeeping));
    this.linuxClocks = config.guests.map((x) => linuxClockSetup(config.traits.hypervisor, x.model, x.clocksource));
    const vcpuSetups = [];
    let v = 0;
    for (let gi = 0; gi < g; gi++) {
      const guest = config.guests[gi];
      this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] = v;
      const x2 = guest.x2apicOffered && guest.model.usesX2apicWhenOffered;
      const clock = this.clocks[gi];
      const tk = guest.timekeeping;
      // The guest programs its clock SINT (the stimer's) with AutoEOI (hypervisor/hyperv.ts).
      const hyperv =
        tk === undefined || tk.hyperv === 0
          ? undefined
          : {
              features: tk.hyperv,
              ...(clock.timer === ClockTimer.STIMER && (tk.hyperv & HvFeature.STIMER) !== 0 && !tk.stimerDirect
                ? { autoEoiVector: guest.model.timer.vector }
                : {}),
            };
      const setup = { guest: gi, x2apic: x2, x2apicOffered: guest.x2apicOffered, ...(hyperv && { hyperv }) };
      for (let l = 0; l < guest.vcpus; l++) vcpuSetups.push({ ...setup, apicId: l });
      v += guest.vcpus;
    }
    this.machine = new Machine({
      profile: config.profile,
      traits: config.traits,
      vcpus: vcpuSetups,
      debugChecks: config.debugChecks,
      overrides: config.overrides,
      arrays: a.machine,
    });
    this.machine.apicMsrWriteCostNs = config.apicMsrWriteCostNs ?? -1;
    this.machine.wakeupWakerNs = config.host.wakeupWakerNs;
    this.machine.deferIpis = true;
    for (let gi = 0; gi < g; gi++) {
      const guest = config.guests[gi];
      for (let l = 0; l < guest.vcpus; l++) {
        const vc = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] + l;
        this.vi[vc * Vi.STRIDE + Vi.GUEST_OF] = gi;
        this.vi[vc * Vi.STRIDE + Vi.LOCAL] = l;
        this.behaviours[vc] = guest.model.phases.idle; // startPhase sets the phase's
        this.rng.seed(vc, deriveSeed(config.seed, config.hostIndex, guest.index, l));
        // The %cr8 stream's first estimate (guests/irql.ts cr8Stream, progressRate): what an access
        // costs under the vCPU's controls, as its streams will measure it (docs/MODEL.md section 3).
        if (guest.model.usesCr8) this.vf[vc * Vf.STRIDE + Vf.COST_PER_ACCESS] = this.machine.cr8AccessCostNs(vc);
      }
    }
  }

  // ------------------------------------------------------ the engine's operations behaviour calls

  /** Bring vCPU `v` forward to `now`: guest progress, its %cr8 traffic, exit debt, host ticks. */
  abstract advance(v: number): void;
  /** Turn what the machine did in this step (deliveries, IPIs sent) into guest events. */
  abstract drainDeliveries(): void;
  /** Re-key vCPU `v` at its next event. */
  abstract reschedule(v: number): void;
  /** The share changed at `now` (vCPU `v` halted or woke; `before`: the runnable count before): re-key the others. */
  protected abstract shareChanged(v: number, before: number): void;

  // ------------------------------------------------------ host cores

  /** Share of a host core each runnable vCPU gets (processor sharing when overcommitted). */
  share(): number {
    const c = this.config.cores;
    return this.runnable <= c ? 1 : c / this.runnable;
  }

  /**
   * The host's service clock (processor sharing's virtual time; CFS's vruntime at equal weights, fair.c
   * update_curr): the integral of share() over time as of `shareSince`, when the share last changed
   * (since then it grows at share()). A vCPU advanced before that had serviceNs - Vf.SERVICE of it.
   */
  serviceNs = DOUBLE_ZERO;
  shareSince = DOUBLE_ZERO;
  /**
   * A halted vCPU becomes runnable (`run`), or a running one halts (the background clocks count guest
   * time: a halt stops them, issue #14); the share changes when runnable > cores before or after.
   */
  setRunnable(v: number, run: boolean): void {
    const b = v * Vf.STRIDE;
    const c = this.config.cores;
    if (run) {
      if (this.mode(v) !== Mode.HALT) return;
      this.v8[v * V8.STRIDE + V8.MODE] = Mode.RUN;
      // The vCPU thread is scheduled in again after its halt (kvm_vcpu_block): kvm_sched_in ->
      // vmx_sched_in (svm_sched_in) -> shrink_ple_window (vmx/pauseLoop.ts).
      const ple = this.config.traits.ple;
      if (ple !== null)
        this.vf[b + Vf.PLE_WINDOW] = kvmShrinkPleWindow(this.vf[b + Vf.PLE_WINDOW], ple.window, ple.shrink);
      if (++this.runnable > c) this.shareChanged(v, this.runnable - 1);
    } else if (this.mode(v) !== Mode.HALT) {
      this.v8[v * V8.STRIDE + V8.MODE] = Mode.HALT;
      this.vf[b + Vf.NEXT_HOST_TICK] = Infinity;
      if (--this.runnable >= c) this.shareChanged(v, this.runnable + 1);
    }
  }

  /** Set by resumeTime: a field, not a return (a double returned by a call not inlined is boxed). */
  resumeAt = DOUBLE_ZERO;
  /** Set by resumeTime: resumeAt less the point it counts from (T, or shareSince), wall ns (below 0: a credit). */
  owedWallNs = DOUBLE_ZERO;
  /**
   * When running vCPU `v` resumes guest work, into `resumeAt`: the time it was advanced to (Vf.T) plus
   * the wall ns the exit time it owes takes - its debt and the exits' host ns since that advance
   * (machine.vcpuHostNs, moved into the debt by the next one) - at its share of a core, as
   * HostSimulation.progress pays them (D takes D / share wall ns; piecewise: resumeAcrossChange). The one
   * home of that start: the walk (events.ts), workEndTime, phases.ts chunkEndTime, workloadDynTime.
   */
  resumeTime(v: number): void {
    const b = v * Vf.STRIDE;
    if (this.vf[b + Vf.T] < this.shareSince) return this.resumeAcrossChange(v);
    this.owedWallNs = (this.vf[b + Vf.DEBT] + this.machine.vcpuHostNs[v]) / this.share();
    this.resumeAt = this.vf[b + Vf.T] + this.owedWallNs;
  }
  /** resumeTime when the share changed since T: the service until then paid part of the owed time (or did work). */
  private resumeAcrossChange(v: number): void {
    const b = v * Vf.STRIDE;
    const owed = this.vf[b + Vf.DEBT] + this.machine.vcpuHostNs[v] - (this.serviceNs - this.vf[b + Vf.SERVICE]);
    this.owedWallNs = owed / this.share();
    this.resumeAt = this.shareSince + this.owedWallNs;
  }

  /** Set by progressRate: a field, not a return (a fraction returned by a call not inlined is boxed). */
  rate = DOUBLE_ZERO;
  /**
   * Guest ns a running vCPU gains per wall ns, given its exit overhead and host share: into `rate`.
   * The event walk (events.ts) reads it for the due times of work counted in guest ns: a busy burst's
   * (Vf.BURST_WORK), background I/O's and IPIs' (Vf.BG_IO_LEFT, Vf.BG_IPI_LEFT).
   */
  progressRate(v: number): void {
    const gi = this.vi[v * Vi.STRIDE + Vi.GUEST_OF];
    if (this.guests[gi].workload !== undefined) this.rate = this.share() / (1 + this.wl[v * WL + WL_COST]);
    else {
      const x = this.vf[v * Vf.STRIDE + Vf.CR8_PER_NS];
      this.rate = this.share() / (1 + x * this.vf[v * Vf.STRIDE + Vf.COST_PER_ACCESS]);
    }
  }

  /**
   * Wall ns in which running vCPU `v` does `work` guest ns at its present rate, rounded up: a small
   * integer crosses the call, not the rate (the walk's chunk, build and hop end times call this).
   */
  workWallNs(v: number, work: number): number {
    this.progressRate(v);
    return Math.ceil(work / this.rate);
  }

  /**
   * When vCPU `v` finishes the work it owes (Vf.WORK_LEFT: a build share, a ping-pong hop) at its
   * present rate: Infinity unless it runs guest code outside a raised section, where work progresses.
   */
  workEndTime(v: number): number {
    const b = v * Vf.STRIDE;
    if (this.mode(v) !== Mode.RUN || this.vf[b + Vf.RAISED_END] !== Infinity) return Infinity;
    this.resumeTime(v); // after the exit time owed, at the vCPU's share (as the event walk)
    return this.resumeAt + Math.max(0, this.workWallNs(v, this.vf[b + Vf.WORK_LEFT]));
  }

  hostTickPeriod(): number {
    return Math.round(1e9 / this.config.host.hostTickHz);
  }

  // ------------------------------------------------------ typed reads of small-value fields

  /** What vCPU `v` is doing. */
  mode(v: number): Mode {
    return this.v8[v * V8.STRIDE + V8.MODE];
  }

  /** vCPU `v`'s ping-pong message (guests/pingPong.ts). */
  hop(v: number): Hop {
    return this.v8[v * V8.STRIDE + V8.HOP];
  }

  /** The state of guest `gi`'s chain worker. */
  worker(gi: number): Worker {
    return this.g8[gi * G8.STRIDE + G8.WORKER_STATE];
  }

  // ------------------------------------------------------ guests

  /**
   * vCPU `v`'s behaviour in its guest's phase: the phase's, or idle beyond the phase's `busyVcpus`. Read
   * from `behaviours`, which startPhase (src/core/guests/phases.ts) fills when the phase changes.
   */
  vcpuBehaviour(v: number): PhaseBehaviour {
    return this.behaviours[v];
  }

  // ------------------------------------------------------ results

  observeLatency(ns: number, gi: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_NS.length && ns > LATENCY_BOUNDS_NS[i]) i++;
    this.latencyCounts[i]++;
    // Offered only if it could be taken (larger, or a tie no later; offer applies the full order): where
    // V8 does not inline offer, the time crosses the call boxed. A regular tick's tie makes no call
    // (docs/research/idle-bursts-as-work.md, "The box").
    // The handle's time is the whole ns the delivery happened in (event times carry fractions of a ns,
    // exit debt): the `sim_time` a user gives `replay --at`, which runs up to and including that ns.
    const e = this.latencyExemplars.data;
    const b = 3 * i;
    const at = Math.floor(this.now);
    if (ns > e[b] || (ns === e[b] && at <= e[b + 1])) this.latencyExemplars.offer(i, ns, at, this.guests[gi].index);
    this.latencySumNs += ns;
    this.latencyCount++;
  }
}
