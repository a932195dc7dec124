import { flushIpiOutbox } from '../guests/devices.js';
import { cr8Stream } from '../guests/irql.js';
import { clockPeriodByRule, clockReads } from '../guests/timekeeping.js';
import { isrStart } from '../guests/isr.js';
import { consumeWork, startPhase } from '../guests/phases.js';
import { isSpinning, spinRun } from '../guests/spin.js';
import { timerClass } from '../guests/timers.js';
import { workloadRun } from '../guests/workloadGuest.js';
import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
import { DOUBLE_ZERO } from '../numbers.js';
import { Counter } from '../vcpu/machine.js';
import { dispatch, Ev, firstDue, walkNextEvent } from './events.js';
import type { HostConfig } from './config.js';
import { Gi, GuestCounter, HostState, Mode, V8, Vf, Vi } from './state.js';

export type { PhaseKind, PhasePlan } from '../guests/model.js';
export { PHASE_ORDER } from '../guests/model.js';
export type { GuestInstance, HostConfig } from './config.js';
export { GuestCounter, LATENCY_BOUNDS_NS, Source } from './state.js';

/**
 * Discrete-event simulation of one host: its guests' vCPUs share `cores` host cores and one
 * hypervisor policy. Simulated time is integer nanoseconds; every random choice comes from a
 * stream derived from (seed, host index, guest index, vCPU), so a host's results depend on nothing
 * but its own inputs — the same in any worker, shard or order.
 *
 * The engine: the event queue (one entry per vCPU, keyed by its next event; src/core/engine/heap.ts:
 * a scan on a host of up to SCAN_MAX vCPUs, a binary heap above), the loop that pops a vCPU, advances
 * it and runs its first due event (src/core/engine/events.ts), time and exit debt (advance), host
 * ticks, and the machine's outputs turned into guest events (drainDeliveries).
 * Guest behaviour lives in src/core/guests/; the state both share, in src/core/engine/state.ts.
 *
 * Pure: no I/O. Hot paths use typed arrays only; no closure or object per event.
 */
export class HostSimulation extends HostState {
  /** Events processed one by one; CR8 accesses fast-forwarded are counted by the machine. */
  events = 0;
  /**
   * Diagnostics (bench/run.ts, bench/eventMix.ts): when set, every engine event (a heap pop) is tallied
   * here by the kind that ran (an Ev; Ev.HOST_TICK for a wake-up that ran none and was not folded into
   * the next: foldTally), over all hosts of the thread.
   */
  static kindTally: Float64Array | null = null;
  /**
   * Diagnostics (bench/eventMix.ts): when set, its [0] counts the wake-ups folded into the event that
   * followed them (processVcpu: a wake-up that ran nothing, the vCPU still the earliest), all hosts.
   */
  static foldTally: Float64Array | null = null;
  /**
   * Fold wake-ups that ran nothing into the event after them (processVcpu). Off, each is an engine
   * event of its own, as before the fifteenth session: test/engine/fold.test.ts compares the two.
   */
  static foldWakeUps = true;
  private stepNo = 0;
  private deliveredSeen = 0;
  /** The machine's reports (violations + entry failures) when noteStops last looked: every stop makes one. */
  private reportsSeen = -1;
  /** Set by progress for advance's host ticks: wall time up to which the interval was root mode (exit debt). */
  private rootUntil = -Infinity;
  /**
   * Set by progress (before guestModeTicks reads it): the share of the interval's wall time after
   * rootUntil that the vCPU was in guest mode. Initialised as a double (DOUBLE_ZERO, src/core/numbers.ts).
   */
  private guestFraction = DOUBLE_ZERO;
  /**
   * Set by advance for guestModeTicks: the first of the ticks it applies (a field, not an argument: an
   * absolute time is past the small-integer range, and V8 boxes a double argument, an allocation).
   */
  private firstTick = 0.5;
  /** advanceTo's bound, for processVcpu's folded wake-ups (a field: a double argument is boxed). */
  private untilNs = 0.5;

  constructor(config: HostConfig) {
    super(config);
    this.machine.launch();
    this.runnable = this.n; // every vCPU starts running (mode RUN); halts and wake-ups keep the count
    for (let v = 0; v < this.n; v++) {
      this.v8[v * V8.STRIDE + V8.TIMER_CLASS] = timerClass(this, v);
      this.vf[v * Vf.STRIDE + Vf.CLOCK_PERIOD] = clockPeriodByRule(this, v);
    }
    for (let gi = 0; gi < this.guests.length; gi++) startPhase(this, gi, 0);
    for (let v = 0; v < this.n; v++) this.reschedule(v);
  }

  // ---------------------------------------------------------------- public

  /** Process every event before `untilNs` (exclusive) and advance all vCPUs to it. */
  advanceTo(untilNs: number): void {
    this.untilNs = untilNs;
    this.runEvents();
    this.now = untilNs;
    this.machine.clockNs = untilNs;
    for (let v = 0; v < this.n; v++) this.advance(v);
  }

  /**
   * advanceTo's loop: every event before `untilNs`. A method of its own, with nothing after the loop:
   * V8 compiles a long first loop on-stack (OSR) before the code after it has ever run, and a store
   * there without type feedback deopted that code at the loop's exit - at every advanceTo of a host
   * that ran alone in its thread, whose advanceTo is called too rarely to be optimized whole (the
   * cached OSR code kept the deopt: 18 of 18 epochs of overcommit-host; the twenty-first session,
   * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
   */
  private runEvents(): void {
    const heap = this.heap;
    const untilNs = this.untilNs;
    // The root's time is read from the key array here, not returned by a heap method: a double
    // returned by a call V8 does not inline is boxed, and whether TurboFan inlines a method of more
    // than 27 bytes of bytecode depends on the feedback it read (in about 1 process in 300 it left
    // out a `peekTime` here: 16 bytes per event, test/engine/alloc.test.ts).
    while (heap.size > 0) {
      const v = heap.peek();
      const time = heap.key[v];
      if (!(time < untilNs)) break;
      this.now = time;
      this.machine.clockNs = time;
      this.processVcpu(v);
      this.events++;
    }
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
    this.noteStops();
  }

  guestCount(): number {
    return this.guests.length;
  }

  // ---------------------------------------------------------------- the event loop

  /**
   * vCPU `v`'s event at `this.now`: advance it, run its first due kind, re-key it. The event's time is
   * state (`now`, set by advanceTo), read by every call below and by the handlers in src/core/guests,
   * never an argument: it is a double past the small-integer range after 2.1 simulated seconds, and
   * V8 boxes a double passed to a call it does not inline (an allocation per event).
   *
   * A wake-up that runs nothing (a host tick, or work-counted due time that the exits since the walk
   * pushed later: docs/perf/history.md#fifteenth-session-busy-phases-no-op-wake-ups-folded-not-removed-16)
   * is folded into what follows while the vCPU stays
   * the earliest (foldWakeUp): the loop goes on at its next time, without a pop of the heap. The same
   * steps run at the same times in the same order as when each wake-up was its own event, so results
   * are the same; only the engine-event count (heap pops) and the work between the steps differ.
   */
  private processVcpu(v: number): void {
    const m = this.machine;
    // The common path only: the stop, a new report, the fold and the tally are calls out of line, so
    // that TurboFan's inlining budget for this function (max_inlined_bytecode_size_cumulative, V8's
    // src/compiler/js-inlining-heuristic.cc) goes to advance, dispatch and drainDeliveries
    // (docs/perf/history.md#twentieth-session-second-round-processvcpus-cold-paths-out-of-line-kept-inline-16).
    for (;;) {
      this.stepNo++;
      m.beginStep(this.stepNo);
      this.deliveredSeen = 0;
      this.advance(v);
      if (m.isStopped(v)) {
        this.stoppedStep(v);
        return;
      }
      const kind = firstDue(this, v);
      if (kind !== -1) dispatch(this, v, kind);
      // Nothing ran and nothing is left to drain: the walk firstDue has just done is the one reschedule
      // would do (it leaves the earliest due time in walkNext, and nothing below writes what it reads).
      const quiet =
        kind === -1 &&
        m.ipiOutCount === 0 &&
        !(this.deliveredSeen < m.stepDeliveredCount && this.deliveredSeen < m.stepDelivered.length);
      if (this.undrained()) this.drainDeliveries();
      if (m.debugChecks) m.checkAllInvariants();
      // noteStops' own first test, here: a vCPU stops only with a new report.
      if (m.violations.length + m.entryFailures.length !== this.reportsSeen) this.noteStops();
      if (quiet && HostSimulation.foldWakeUps) {
        if (this.foldWakeUp(v)) continue;
        if (HostSimulation.kindTally !== null) HostSimulation.tallyKind(kind);
        return;
      }
      if (HostSimulation.kindTally !== null) HostSimulation.tallyKind(kind);
      this.reschedule(v);
      return;
    }
  }

  /** processVcpu's stop path (out of line: cold): vCPU `v` is stopped after its advance. */
  private stoppedStep(v: number): void {
    this.noteStops();
    this.reschedule(v);
  }

  /** Diagnostics (kindTally set): the engine event that ran `kind` (-1: none, tallied as Ev.HOST_TICK). */
  private static tallyKind(kind: number): void {
    const tally = HostSimulation.kindTally;
    if (tally !== null) tally[kind === -1 ? Ev.HOST_TICK : kind]++;
  }

  /**
   * After a wake-up of vCPU `v` that ran nothing, with the walk's earliest time in walkNext: re-key `v`
   * as reschedule would, and when it stays the heap's root at a time before advanceTo's bound (the
   * next pop would be `v` again), set the event's time to it and return true: processVcpu goes on
   * there. Otherwise `v` is re-keyed (or reschedule runs, where it would do more: a stopped vCPU, a
   * host tick to draw) and it returns false.
   */
  private foldWakeUp(v: number): boolean {
    const b = v * Vf.STRIDE;
    if (this.machine.isStopped(v) || (this.mode(v) !== Mode.HALT && this.vf[b + Vf.NEXT_HOST_TICK] === Infinity)) {
      this.reschedule(v);
      return false;
    }
    const k = this.walkNext;
    if (k === Infinity) {
      this.heap.remove(v);
      return false;
    }
    const heap = this.heap;
    heap.key[v] = Math.max(k, this.vf[b + Vf.T]);
    if (heap.key[v] < this.untilNs && heap.keepsRoot(v)) {
      this.now = heap.key[v];
      this.machine.clockNs = heap.key[v];
      const folds = HostSimulation.foldTally;
      if (folds !== null) folds[0]++;
      return true;
    }
    heap.rekey(v);
    return false;
  }

  /** Re-key vCPU `v` in the heap at its next event (or take it out when nothing is pending). */
  reschedule(v: number): void {
    if (this.machine.isStopped(v)) {
      this.heap.remove(v);
      return;
    }
    // A running vCPU's host tick is drawn when it starts running (its phase on the host's tick grid).
    if (this.mode(v) !== Mode.HALT && this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] === Infinity)
      this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] = this.now + 1 + this.rng.below(v, this.hostTickPeriod());
    // The earliest due time read from walkNext and written in the heap's key array: no double crosses
    // a call (each would be a boxed number, an allocation per event).
    walkNextEvent(this, v);
    const k = this.walkNext;
    if (k === Infinity) this.heap.remove(v);
    else {
      this.heap.key[v] = Math.max(k, this.vf[v * Vf.STRIDE + Vf.T]);
      this.heap.rekey(v);
    }
  }

  // ---------------------------------------------------------------- time

  /**
   * The share changed at `now`: vCPU `w` halted or woke, `before` vCPUs were runnable. Processor
   * sharing gives every runnable vCPU the new share from now on (CFS's "ideal, precise multi-tasking
   * CPU", each task at 1/nr_running speed: Documentation/scheduler/sched-design-CFS.rst, section 1;
   * equal weights). The service clock moves to now at the old share; each vCPU last advanced since the
   * previous change keeps its reading at Vf.T (Vf.SERVICE: progress and resumeTime read it while
   * T < shareSince); and the other running vCPUs are re-keyed, their work-counted due times having
   * been worked out at the old share (events.ts, resumeTime). A vCPU whose host tick is not drawn yet
   * has just started running: its waker re-keys it.
   */
  protected shareChanged(w: number, before: number): void {
    const c = this.config.cores;
    const old = before <= c ? 1 : c / before;
    const since = this.shareSince;
    const s0 = this.serviceNs;
    this.serviceNs = s0 + (this.now - since) * old;
    this.shareSince = this.now;
    for (let u = 0; u < this.n; u++) {
      const b = u * Vf.STRIDE;
      if (this.vf[b + Vf.T] >= since) this.vf[b + Vf.SERVICE] = s0 + (this.vf[b + Vf.T] - since) * old;
      if (u === w || this.mode(u) === Mode.HALT || this.vf[b + Vf.NEXT_HOST_TICK] === Infinity) continue;
      if (this.stoppedAtNs[this.vi[u * Vi.STRIDE + Vi.GUEST_OF]] < 0) this.reschedule(u);
    }
  }

  /** Bring vCPU `v` forward to `this.now`: guest progress, CR8 traffic, exit debt, then host ticks. */
  advance(v: number): void {
    const time = this.now;
    if (this.stoppedAtNs[this.vi[v * Vi.STRIDE + Vi.GUEST_OF]] >= 0) {
      this.vf[v * Vf.STRIDE + Vf.T] = Math.max(this.vf[v * Vf.STRIDE + Vf.T], time); // a stopped guest runs no more
      return;
    }
    // Already at `time` (a second advance in one event: an ISR start's, a halt's): progress would
    // only set these two and return, as its first lines do; a call saved at ~0.9 advances per
    // engine event (docs/perf/engine30.md, E8).
    if (time <= this.vf[v * Vf.STRIDE + Vf.T]) {
      this.rootUntil = -Infinity;
      this.guestFraction = 1;
    } else this.progress(v);
    if (this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] <= time && this.mode(v) !== Mode.HALT && !this.machine.isStopped(v))
      this.hostTicks(v);
  }

  /**
   * advance's host ticks, out of line: advance is inlined wherever an event runs (processVcpu, isrStart),
   * and this part, taken at ~0.24 advances per install event, spent the inlining budget there that
   * dispatch's call then lacked; here guestModeTicks and drainDeliveries inline into it instead
   * (docs/perf/engine30.md, E10). The host's timer ticks that fell in (from, now]: the grid advances
   * over all of them; those that landed in guest mode are external-interrupt exits, exact and in bulk.
   */
  private hostTicks(v: number): void {
    const time = this.now;
    const tick = this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK];
    const period = this.hostTickPeriod();
    const ticks = Math.floor((time - tick) / period) + 1;
    this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] = tick + ticks * period;
    this.firstTick = tick;
    this.machine.hostInterrupts(v, this.guestModeTicks(v, ticks, period));
    if (this.undrained()) this.drainDeliveries();
  }

  /**
   * Of `ticks` host ticks at `firstTick`, `firstTick + period`, ... in the interval progress just
   * advanced, how many land while vCPU `v` is in guest mode: the one home of the rule. A host interrupt is a VM exit
   * only in VMX non-root operation (SDM vol. 3C, "Pin-Based VM-Execution Controls": external-interrupt
   * exiting; "Other Causes of VM Exits"; SVM: the INTR intercept, AMD APM vol. 2 §15.13). In root
   * mode the host takes it itself: KVM handles an exit with interrupts off (arch/x86/kvm/x86.c
   * vcpu_enter_guest: vcpu->mode = OUTSIDE_GUEST_MODE, handle_exit_irqoff, then local_irq_enable),
   * so a tick that lands during exit handling runs as a plain host interrupt - no exit, no count. Its
   * handler time is part of the exit being handled, whose measured cost (cost-model.yaml) already
   * holds it: nothing more is charged.
   *
   * progress pays the exit debt first, so the interval is root mode up to `rootUntil` (ticks there are
   * taken by the host). After it, a guest whose exits come in bulk (%cr8 stream, workload profile, PAUSE
   * loop) interleaves them with its guest time, and an overcommitted host's processor sharing keeps the
   * vCPU off its core part of the time: a `guestFraction` of that time is guest mode, and that share of
   * the ticks exits, the fraction carried (Vf.TICK_CARRY) so the mean count is exact. Every
   * tick path comes here: ticks applied in bulk and HOST_TICK wake-ups alike; a workload profile's own
   * hostInterrupts are per guest second already (workloadRun).
   */
  private guestModeTicks(v: number, ticks: number, period: number): number {
    const tick = this.firstTick;
    const rootUntil = this.rootUntil;
    const inRoot = tick > rootUntil ? 0 : Math.min(ticks, Math.floor((rootUntil - tick) / period) + 1);
    const after = ticks - inRoot;
    const g = this.guestFraction;
    if (g >= 1 || after === 0) return after;
    const x = after * g + this.vf[v * Vf.STRIDE + Vf.TICK_CARRY];
    const k = Math.floor(x);
    this.vf[v * Vf.STRIDE + Vf.TICK_CARRY] = x - k;
    return k;
  }

  /**
   * vCPU `v`'s wall time since it was last advanced: exit debt is paid from it first (processor
   * sharing scales it when cores are overcommitted); the rest is guest time, in which the guest's
   * %cr8 stream or workload profile runs and its work progresses.
   */
  private progress(v: number): void {
    const time = this.now;
    const from = this.vf[v * Vf.STRIDE + Vf.T];
    this.rootUntil = -Infinity;
    this.guestFraction = 1;
    if (time <= from) return;
    this.vf[v * Vf.STRIDE + Vf.T] = time;
    const m = this.machine;
    this.vf[v * Vf.STRIDE + Vf.DEBT] += m.vcpuHostNs[v];
    m.vcpuHostNs[v] = 0;
    if (m.isStopped(v)) return;
    const gi = this.vi[v * Vi.STRIDE + Vi.GUEST_OF];
    // Processor sharing: the vCPU's thread gets its share of a core, in root mode as in guest mode.
    // When the share changed since `from`, its CPU is the service clock's since then (exact piecewise)
    // and `share` the interval's mean (rootUntil and guestFraction below spread it evenly: sharebooks).
    let share = this.share();
    if (from < this.shareSince)
      share = (this.serviceNs + (time - this.shareSince) * share - this.vf[v * Vf.STRIDE + Vf.SERVICE]) / (time - from);
    let wall = (time - from) * share;
    // The mode read once here, not through this.mode at each test below: TurboFan, out of inlining
    // budget in progress, called it (docs/perf/engine30.md, E8). Nothing before the guest's bulk work
    // (cr8Stream, workloadRun, spinRun, which may start an ISR) changes it; the last test reads it again.
    const mode: Mode = this.v8[v * V8.STRIDE + V8.MODE];
    // A halted vCPU's debt is root-mode work its thread does before it blocks (KVM handles the HLT
    // exit, then vcpu_block -> kvm_vcpu_halt -> kvm_vcpu_block schedules it out, arch/x86/kvm/x86.c;
    // bhyve: vmm.c vm_handle_hlt, msleep_spin), on a core it competes for like any thread: it pays at
    // the runnable vCPUs' share (not counted in `runnable` itself; until books3 it paid at a whole
    // core). Its credit is dropped: the guest reached its HLT that much earlier, so that time was
    // halted, not guest time.
    if (mode === Mode.HALT) {
      this.vf[v * Vf.STRIDE + Vf.DEBT] = Math.max(0, this.vf[v * Vf.STRIDE + Vf.DEBT] - wall);
      return;
    }
    const pay = Math.min(this.vf[v * Vf.STRIDE + Vf.DEBT], wall);
    this.vf[v * Vf.STRIDE + Vf.DEBT] -= pay;
    wall -= pay;
    // Root mode while the debt is paid: its wall time is the debt over the vCPU's share of a core.
    // Two stores, not one of `wall <= 0 ? time : from + pay / share`: V8 makes that phi of the
    // argument (a tagged number) and a computed double a tagged value, i.e. boxes the double (an
    // allocation per event) before unboxing it into the field.
    if (wall <= 0) {
      this.rootUntil = time;
      return;
    }
    this.rootUntil = from + pay / share;
    const model = this.guests[gi].model;
    let guestNs = wall;
    const workload = this.guests[gi].workload;
    if (workload !== undefined) {
      if (mode === Mode.RUN) {
        this.cr8WallNs = wall; // fields, not an argument and a return (state.ts: a boxed double per event)
        workloadRun(this, v, workload);
        guestNs = this.cr8GuestNs;
      }
    } else if (isSpinning(this, v)) {
      guestNs = spinRun(this, v, wall);
    } else if (mode === Mode.RUN && this.vf[v * Vf.STRIDE + Vf.RAISED_END] === Infinity && model.usesCr8) {
      this.cr8WallNs = wall;
      cr8Stream(this, v, gi);
      guestNs = this.cr8GuestNs;
    }
    // The rest of the interval is wall / share ns, in which the vCPU is in guest mode for guestNs: the
    // bulk exits' predicted time (wall - guestNs) is spread over it, and when the host is overcommitted
    // the vCPU is off its core (another vCPU in guest mode there takes the tick) for 1 - share of it.
    this.guestFraction = (share * guestNs) / wall;
    if (workload === undefined) {
      this.ranGuestNs = guestNs;
      clockReads(this, v, gi);
    }
    guestNs = Math.round(guestNs);
    this.guestCounters[gi * GuestCounter.COUNT + GuestCounter.GUEST_CPU_NS] += guestNs;
    // Background I/O and IPIs wait for guest work (their due time: events.ts walk).
    this.vf[v * Vf.STRIDE + Vf.BG_IO_LEFT] -= guestNs;
    this.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT] -= guestNs;
    if ((this.v8[v * V8.STRIDE + V8.MODE] as Mode) === Mode.RUN && this.vf[v * Vf.STRIDE + Vf.RAISED_END] === Infinity)
      consumeWork(this, gi, v, guestNs);
  }

  // ---------------------------------------------------------------- the machine's outputs

  /** A guest whose vCPU the machine stopped (failed entry, violated invariant) stops as a whole. */
  private noteStops(): void {
    const m = this.machine;
    // A vCPU stops only with a report (a violation or a failed entry): no new report, no new stop.
    const reports = m.violations.length + m.entryFailures.length;
    if (reports === this.reportsSeen) return;
    this.reportsSeen = reports;
    for (let gi = 0; gi < this.guests.length; gi++) {
      if (this.stoppedAtNs[gi] >= 0) continue;
      const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
      for (let l = 0; l < this.guests[gi].vcpus; l++) {
        if (m.isStopped(first + l)) {
          this.stoppedAtNs[gi] = this.now;
          for (let k = 0; k < this.guests[gi].vcpus; k++) this.heap.remove(first + k);
          break;
        }
      }
    }
  }

  /** HostState.undrained: what drainDeliveries would find, without its call. */
  undrained(): boolean {
    const m = this.machine;
    return m.ipiOutCount > 0 || this.deliveredSeen < m.stepDeliveredCount;
  }

  /** IPIs the step sent become arrivals; interrupts the machine delivered start their ISRs. */
  drainDeliveries(): void {
    const m = this.machine;
    if (m.ipiOutCount > 0) flushIpiOutbox(this);
    while (this.deliveredSeen < m.stepDeliveredCount && this.deliveredSeen < m.stepDelivered.length) {
      const i = this.deliveredSeen++;
      // How it was delivered matters only to the recorder, and is logged only by the rules (machineState.ts).
      isrStart(this, m.stepDeliveredVcpu[i], m.stepDelivered[i], m.recOn ? m.stepDeliveredVia[i] : 0);
    }
  }

  // ---------------------------------------------------------------- results

  /** Exit counts of guest `gi`, summed over its vCPUs, into `exits` (length EXIT_SLOT_COUNT). */
  guestExits(gi: number, exits: Float64Array): void {
    const m = this.machine;
    const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    for (let l = 0; l < this.guests[gi].vcpus; l++) {
      for (let s = 0; s < EXIT_SLOT_COUNT; s++) exits[s] += m.exitCount(first + l, s);
    }
  }

  /** Machine counter `counter` (a Counter) of guest `gi`, summed over its vCPUs. */
  guestMachineCounter(gi: number, counter: number): number {
    const m = this.machine;
    const first = this.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
    let sum = 0;
    for (let l = 0; l < this.guests[gi].vcpus; l++) sum += m.counters[(first + l) * Counter.COUNT + counter];
    return sum;
  }
}
