import type { LinuxClockSetup } from '../guests/linuxClock.js';
import type { PhaseBehaviour } from '../guests/model.js';
import { PHASE_ORDER } from '../guests/model.js';
import { ClockTimer, type ClockSetup } from '../guests/clock.js';
import { HvFeature } from '../hypervisor/hyperv.js';
import { kvmShrinkPleWindow } from '../vmx/pauseLoop.js';
import { DOUBLE_ZERO } from '../numbers.js';
import type { GuestInstance, HostConfig } from './config.js';
import { Machine } from '../vcpu/machine.js';
import { carve, EMPTY_F64, type Carver } from '../vcpu/arena.js';
import { machineArrays, slotStrideOf } from '../vcpu/machineSetup.js';
import { LatencyExemplars } from './exemplars.js';
import { EventHeap } from './heap.js';
import { deriveSeed, RandomStreams } from './prng.js';
import { guestClocks } from './shared.js';

/**
 * The state of one host simulation, in one place: the engine (src/core/engine/host.ts) and the guest
 * behaviour modules (src/core/guests/) read and write it; the behaviour modules receive it as `h`.
 *
 * Per-vCPU and per-guest state lives in a few strided typed arrays, views of the host's one buffer,
 * with the field offsets of fields.ts (const enums: the offsets compile to literals on the hot paths).
 * No object per vCPU, guest or event.
 */

// The layout (field offsets, modes, results columns) lives in fields.ts; re-exported whole for the modules that
// import it from here.
export * from './fields.js';
import {
  Source,
  LATENCY_BOUNDS_NS,
  GuestCounter,
  Hop,
  Mode,
  Worker,
  Vf,
  Vi,
  V8,
  Gf,
  Gi,
  G8,
  VcpuIndex,
  WL_IRQ_AT,
  WL_DYN_LEFT,
  WL_COST,
  WL,
} from './fields.js';

/**
 * Every typed array of a host - its machine's, its own, its PRNG streams', event heap's and latency
 * exemplars' - carved from one buffer (vcpu/arena.ts). The exit-cost table is the config's, shared by
 * the hosts of a variant (the machine only reads it). `wl` is empty unless the host has workload guests.
 */
function hostArrays(c: Carver, config: HostConfig, n: number) {
  const g = config.guests.length;
  const workload = config.guests.some((x) => x.workload !== undefined);
  return {
    machine: machineArrays(c, n, slotStrideOf(config.profile), config.traits, config.exitCostNs),
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
    phaseKinds: c.i8(n),
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
   * The engine's and the %cr8 stream's (guests/irql.ts cr8Stream), and a workload profile's
   * (guests/workloadGuest.ts workloadRun): the interval's wall time left for the guest, in, and its
   * guest time, out. Fields, not an argument and a return: a fraction passed
   * to or returned from a call that is not inlined is boxed by V8, an allocation per event.
   */
  cr8WallNs = 0.5;
  cr8GuestNs = 0.5;
  /**
   * Set by the engine's progress for clockReads (guests/timekeeping.ts): the guest ns the vCPU just
   * ran, a fraction (a field for the reason above).
   */
  ranGuestNs = 0.5;
  /**
   * Each guest's timekeeping: where its clock reads go, what drives its clock (src/core/guests/clock.ts).
   * Read only: the same array as the thread's other hosts whose setups are equal (shared.ts), as is
   * linuxClocks.
   */
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
  /**
   * hostTickPeriod's answer, worked out once: a host tick is drawn at ~0.4 re-keys per idle-fleet event,
   * and the division through config.host cost ~25 instructions each time (docs/perf/engine30.md, E8).
   */
  private readonly tickPeriodNs: number;
  /**
   * guests/interrupts.ts haltEntryNs's answer, a constant of the host worked out at its first use (-1:
   * not yet): it was a division, a rounding and four loads at every halt and wake-up (engine30.md, E11).
   */
  haltEntryMemo = -1;
  /**
   * Whether a wake-up may end other vCPUs' halt polls (guests/interrupts.ts endPollsOnFullHost): KVM
   * polls (halt_poll_ns > 0) on a host with more vCPUs than cores. A constant of the host, answered
   * once instead of tested at every wake-up (docs/perf/engine30.md, E12).
   */
  readonly pollsMayEnd: boolean;
  /**
   * Whether a guest of the host has a phase with work (install, disk-benchmark, build), a duration or a
   * ping-pong: only then can the event walk's IO_DONE, PHASE_END, CHUNK_END, BUILD_END and HOP_END be
   * pending (guests/phases.ts and pingPong.ts set their words in such phases only). A constant of the
   * host: without it the walk skips their blocks, which would find them Infinity (docs/perf/engine30.md, E15).
   */
  readonly phaseEvents: boolean;

  constructor(config: HostConfig) {
    this.config = config;
    this.tickPeriodNs = Math.round(1e9 / config.host.hostTickHz);
    this.guests = config.guests;
    let n = 0;
    for (const g of config.guests) n += g.vcpus;
    if (n > VcpuIndex.MASK + 1) throw new Error(`${n} vCPUs on one host: at most ${VcpuIndex.MASK + 1}`);
    this.n = n;
    this.pollsMayEnd = n > config.cores && config.traits.haltPollNs > 0;
    this.phaseEvents = config.guests.some((g) =>
      g.phases.some((p) => p.work !== undefined || p.durationNs !== undefined || p.phase === 'ping-pong'),
    );
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
    this.phaseKinds = a.phaseKinds; // all 0: startPhase sets them (notePhaseKinds)
    this.workloadGuests = this.wl.length > 0;
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
    // Shared with the thread's earlier hosts whose guests' setups are the same (shared.ts).
    const clocks = guestClocks(config);
    this.clocks = clocks.clocks;
    this.linuxClocks = clocks.linuxClocks;
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
  /**
   * drainDeliveries has something to turn: an IPI sent, a delivery not yet drained. Most calls find
   * nothing, so the hot callers ask this (inlined) first and save the call (docs/perf/engine30.md, E16).
   */
  abstract undrained(): boolean;
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
      if (this.mode(v) === Mode.HALT) this.runsAgain(v);
    } else if (this.mode(v) !== Mode.HALT) {
      this.v8[v * V8.STRIDE + V8.MODE] = Mode.HALT;
      this.vf[b + Vf.NEXT_HOST_TICK] = Infinity;
      if (--this.runnable >= c) this.shareChanged(v, this.runnable + 1);
    }
  }

  /**
   * Halted vCPU `v` becomes runnable (setRunnable's `run`, for a vCPU known to be halted): wake calls
   * it directly, a smaller body than setRunnable's for its caller's inlining budget (engine30.md, E12).
   */
  runsAgain(v: number): void {
    this.v8[v * V8.STRIDE + V8.MODE] = Mode.RUN;
    if (this.config.traits.ple !== null) this.shrinkPleWindow(v);
    if (++this.runnable > this.config.cores) this.shareChanged(v, this.runnable - 1);
  }

  /**
   * The vCPU thread is scheduled in again after its halt (kvm_vcpu_block): kvm_sched_in ->
   * vmx_sched_in (svm_sched_in) -> shrink_ple_window (vmx/pauseLoop.ts). Out of runsAgain's body.
   */
  private shrinkPleWindow(v: number): void {
    const ple = this.config.traits.ple;
    if (ple === null) return;
    const b = v * Vf.STRIDE;
    this.vf[b + Vf.PLE_WINDOW] = kvmShrinkPleWindow(this.vf[b + Vf.PLE_WINDOW], ple.window, ple.shrink);
  }

  /** Set by resumeTime: a field, not a return (a double returned by a call not inlined is boxed). */
  resumeAt = DOUBLE_ZERO;
  /** Set by guests/workloadGuest.ts workloadDynAt: its next HLT/IPI time, a field, not a return (as resumeAt). */
  wlDynAt = DOUBLE_ZERO;
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
    // The host's flag first: the guest's model is read only where a guest can have a profile (E21).
    if (this.workloadGuests === true && this.guests[this.vi[v * Vi.STRIDE + Vi.GUEST_OF]].workload !== undefined)
      this.rate = this.share() / (1 + this.wl[v * WL + WL_COST]);
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

  /** The host's timer tick period, ns (config.host.hostTickHz, rounded). */
  hostTickPeriod(): number {
    return this.tickPeriodNs;
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

  // ------------------------------------------------------ the walk's phase kinds (E17)

  /**
   * Per vCPU, which of the event walk's phase kinds (IO_DONE, PHASE_END, CHUNK_END, BUILD_END, HOP_END)
   * its phase words allow: PhaseKind bits, always phaseKindsOf(this, v). The walk reads this one byte
   * instead of the five blocks' words (docs/perf/engine30.md, E17). guests/phases.ts and pingPong.ts set
   * it where they write those words, before anything re-keys a vCPU: notePhaseKinds for a guest (phase
   * starts, build shares, hops), the chain's one or two bits directly (phases.ts setIoTarget; the
   * worker's CHUNK_END), since the chain moves every few install events (test/engine/phaseKinds.test.ts).
   */
  readonly phaseKinds: Int8Array;

  /** Guest `gi`'s vCPUs' phaseKinds worked out again from their words (after a phase word is written). */
  notePhaseKinds(gi: number): void {
    const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    for (let l = 0; l < this.guests[gi].vcpus; l++) this.phaseKinds[first + l] = phaseKindsOf(this, first + l);
  }

  /**
   * Whether the host has workload-profile guests (`wl` is not empty): the walk's WL_IRQ and WL_DYN
   * blocks behind one test of a boolean field, not a typed array's length (docs/perf/engine30.md, E21).
   */
  readonly workloadGuests: boolean;
}

/** The phase kinds vCPU `v`'s words allow, as bits of HostState.phaseKinds. */
export const enum PhaseKind {
  /** The chain's I/O completion is in flight to `v` (Gi.IO_TARGET): IO_DONE at Gf.IO_DONE_AT. */
  IO_DONE = 1,
  /** `v` is its guest's vCPU 0 and the phase has an end (Gf.PHASE_END finite). */
  PHASE_END = 2,
  /** `v` is the chain's worker running its CPU chunk (Worker.CPU). */
  CHUNK_END = 4,
  /** `v` owes a build share (V8.BUILD_ACTIVE). */
  BUILD_END = 8,
  /** `v` runs a ping-pong hop (Hop.RUNNING). */
  HOP_END = 16,
}

/**
 * Which phase kinds vCPU `v`'s words allow (PhaseKind bits): the tests the walk made of each block
 * before E17, without the running state (the walk still asks that). HostState.phaseKinds holds it.
 */
export function phaseKindsOf(h: HostState, v: number): number {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  let k = 0;
  if (h.gi32[gi * Gi.STRIDE + Gi.IO_TARGET] === v) k |= PhaseKind.IO_DONE;
  if (h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0 && h.gf[gi * Gf.STRIDE + Gf.PHASE_END] !== Infinity)
    k |= PhaseKind.PHASE_END;
  if (v === h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] && h.worker(gi) === Worker.CPU) k |= PhaseKind.CHUNK_END;
  if (h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] !== 0) k |= PhaseKind.BUILD_END;
  if (h.hop(v) === Hop.RUNNING) k |= PhaseKind.HOP_END;
  return k;
}
