import { archPpr, guestTpr } from '../apic/priority.js';
import { STEP_LOG } from './machineState.js';
import { Counter } from './counters.js';
import { EXIT_KINDS, LOCAL_SLOT, Slot, SVM_PAUSE_SLOT } from './exits.js';
import { pairStateRepeats, RepeatOp, ringQual, ringSlot, sameExits, TX_HINT_WORDS } from './fastForward.js';
import { brokenInvariant } from './invariants.js';
import { F, Flag } from './layout.js';
import { ProcBased, ProcBased2 } from '../vmx/controls.js';
import { ExitWhy, RecKind } from './recorder.js';
import { memoExitCount, memoExitSlot, memoLookup, memoStore } from './repeatMemo.js';
import { snapshotOf, type VcpuSnapshot } from './reports.js';
import { TabulatedInstructions } from './tabulated.js';
import { txEpoch } from './transitions.js';

export type { MachineConfig } from './machineSetup.js';
export { Counter, Fault } from './counters.js';
export { RepeatOp } from './fastForward.js';
export { RecKind } from './recorder.js';
export type { EntryFailure, VcpuSnapshot, Violation } from './reports.js';
export type { VcpuSetup, VmcsOverrides } from '../hypervisor/vmcs.js';
export { HvFeature, HvMsr, type HypervSetup } from '../hypervisor/hyperv.js';

/**
 * A host's vCPUs under one hypervisor policy on one CPU profile: the exact model of which guest
 * operation exits, with which reason, and what state it leaves. Pure: no I/O, no allocation on the
 * operation paths (violations and entry failures allocate their report, which stops the vCPU).
 *
 * The facade is the guest's side: the guest's instructions (instructions.ts), which ask the rules
 * whether they exit and carry the answer out through the machinery of core.ts — exit, emulation,
 * entry, evaluation of pending virtual interrupts — plus, here, the accessors, the exact
 * fast-forward (fastForward.ts) and the consistency checks (invariants.ts). The hottest operations
 * come from the table of interned states once their rules have run (tabulated.ts, transitions.ts).
 *
 * Rules cite Intel SDM vol. 3 chapter "APIC Virtualization and Virtual Interrupts" (SDM-29 below),
 * "VMX Non-Root Operation" (SDM-26), "Advanced Programmable Interrupt Controller" (SDM-11) and
 * AMD APM vol. 2 chapter 15 "Secure Virtual Machine" (APM-15); docs/MODEL.md has the full list.
 */
export class Machine extends TabulatedInstructions {
  /** Validate the initial VMCS of every vCPU (the first VM entry). */
  launch(): void {
    this.forgetStates();
    for (let v = 0; v < this.n; v++) this.enter(v);
  }

  // ---------------------------------------------------------------- accessors

  flags(v: number): number {
    return this.s[v * F.STRIDE + F.FLAGS];
  }

  /** Exits of vCPU `v` in exit slot `slot` (0 for the other vendor's kinds). */
  exitCount(v: number, slot: number): number {
    if (EXIT_KINDS[slot].vendor !== (this.intel ? 'intel' : 'amd')) return 0;
    return this.exitCounts[v * this.slotStride + LOCAL_SLOT[slot]];
  }

  /**
   * "PAUSE-loop exiting" is in effect for vCPU `v` (SDM "Controls for PAUSE-Loop Exiting"): secondary
   * bit 10 with the secondary controls active and "PAUSE exiting" 0 (with it 1 every PAUSE exits,
   * which no policy sets). On SVM: the PAUSE intercept with the pause filter, which KVM sets in
   * init_vmcb exactly when PolicyTraits.ple is set (svm/pauseFilter.ts).
   */
  pauseLoopExiting(v: number): boolean {
    if (!this.intel) return this.traits.ple !== null;
    const proc = this.s[v * F.STRIDE + F.PROC];
    return (
      (proc & ProcBased.ActivateSecondaryControls) !== 0 &&
      (proc & ProcBased.PauseExiting) === 0 &&
      (this.s[v * F.STRIDE + F.PROC2] & ProcBased2.PauseLoopExiting) !== 0
    );
  }

  /** The vCPU's Hyper-V features (hypervisor/hyperv.ts HvFeature bits; 0 under bhyve). */
  hyperv(v: number): number {
    return this.s[v * F.STRIDE + F.HV] & 0xff;
  }

  isStopped(v: number): boolean {
    return (this.s[v * F.STRIDE + F.FLAGS] & Flag.STOPPED) !== 0;
  }

  isHalted(v: number): boolean {
    return (this.s[v * F.STRIDE + F.FLAGS] & Flag.HALTED) !== 0;
  }

  /**
   * A word per vCPU that guests/isr.ts keeps here (its ISR end's plan: constants of the vCPU's guest,
   * worked out once, docs/perf/engine30.md E22), 0 until set; no rule of the machine reads it.
   */
  isrPlan(v: number): number {
    return this.ff[TX_HINT_WORDS + this.n + v];
  }

  setIsrPlan(v: number, plan: number): void {
    this.ff[TX_HINT_WORDS + this.n + v] = plan;
  }

  /** The guest-visible TPR: VTPR / V_TPR when virtualized, else the vlapic TPR. */
  tpr(v: number): number {
    return guestTpr(this.s, v * F.STRIDE, this.intel);
  }

  /** The architectural PPR computed from TPR and the highest in-service vector (SDM-11 "Processor Priority Register"). */
  archPpr(v: number): number {
    return archPpr(this.s, v * F.STRIDE, this.intel);
  }

  /** The PPR field of the (virtual-)APIC page as the hypervisor/CPU last wrote it. */
  pprField(v: number): number {
    return this.s[v * F.STRIDE + F.PPR];
  }

  snapshot(v: number): VcpuSnapshot {
    return snapshotOf(this.s, v * F.STRIDE, this.intel);
  }

  // ---------------------------------------------------------------- exact fast-forward (fastForward.ts)

  /**
   * `pairs` IRQL raise/lower pairs as Windows does them (KfRaiseIrql: read CR8, write `raised`;
   * KeLowerIrql: write `base`), executed by the exact per-instruction rules. Once two consecutive
   * pairs leave the vCPU in the same state with the same exits, every further pair repeats them
   * exactly, so their counts are added without re-executing (exact fast-forward). Returns the
   * number of pairs executed one by one.
   */
  cr8Pairs(v: number, pairs: number, raised: number, base: number): number {
    return this.repeat(v, pairs, RepeatOp.CR8_PAIR, raised, base);
  }

  /**
   * `count` host timer interrupts while the vCPU runs (hostInterrupt each), with the same exact
   * fast-forward as cr8Pairs. Returns the number executed one by one.
   */
  hostInterrupts(v: number, count: number): number {
    return this.repeat(v, count, RepeatOp.HOST_INTERRUPT, 0, 0);
  }

  /**
   * Run a RepeatOp `count` times by the exact per-instruction rules until two consecutive runs
   * leave the same state (the words in PAIR_WORDS, compared exactly) with the same exits and no
   * delivery; from then on every run repeats them, so the rest are counted without re-executing.
   * Only runs within the step's first STEP_LOG exits compare: the bound of the exit log the
   * comparison once read, kept so that which exits the recorder sees in bulk stays as it was.
   * Returns the number of runs executed one by one.
   */
  repeat(v: number, count: number, op: RepeatOp, a: number, b: number): number {
    if (count <= 0) return 0;
    const base = v * F.STRIDE;
    // The memo (repeatMemo.ts): own-state operations, nothing recording the runs one by one.
    const memo = (op === RepeatOp.CR8_PAIR || op === RepeatOp.HOST_INTERRUPT) && !this.recOn && !this.logExits;
    if (memo) {
      const key = this.machineKey;
      const e = memoLookup(key, v, op, a, b, this.s, base, this.hinted(v), txEpoch(), this.debugChecks);
      if (e >= 0) return this.repeatFixedPoint(v, count, op, e);
    }
    let executed = 0;
    // No snapshot to clear: the first run stores one and cannot fast-forward (sameExits of -1 is false).
    let prevExitStart = -1;
    let prevExitCount = 0;
    while (executed < count) {
      if ((this.s[base + F.FLAGS] & Flag.STOPPED) !== 0) return executed;
      const exitStart = this.stepExitCount;
      const deliveredBefore = this.stepDeliveredCount;
      switch (op) {
        case RepeatOp.CR8_PAIR:
          this.readCr8(v);
          this.writeCr8(v, a);
          this.writeCr8(v, b);
          break;
        case RepeatOp.HOST_INTERRUPT:
          this.hostInterrupt(v);
          break;
        case RepeatOp.CR8_WRITE_PAIR:
          this.writeCr8(v, a);
          this.writeCr8(v, b);
          break;
        case RepeatOp.CR8_READ:
          this.readCr8(v);
          break;
        case RepeatOp.CPUID:
          this.cpuid(v);
          break;
        case RepeatOp.IO:
          this.ioInstruction(v, a);
          break;
        case RepeatOp.MMIO:
          this.mmio(v);
          break;
        case RepeatOp.RDMSR:
          this.rdmsr(v, a);
          break;
        case RepeatOp.WRMSR:
          this.wrmsr(v, a, b, 0);
          break;
        case RepeatOp.TIMER_INITIAL_COUNT:
          this.timerInitialCount(v, a);
          break;
        case RepeatOp.OPAQUE_EXIT:
          this.opaqueExit(v, a, 0, this.keepsWhy ? this.opaqueWhy(v, a) : ExitWhy.NONE);
          break;
      }
      executed++;
      // One run in all: it cannot fast-forward (sameExits of -1 is false) and nothing stores a fixed
      // point, so its snapshot would only be overwritten by the next repeat's first run unread (the
      // install's host ticks come one at a time: docs/perf/engine30.md, E20).
      if (count === 1) return executed;
      const exitCount = this.stepExitCount - exitStart;
      const repeats = pairStateRepeats(this.s, base, this.ff);
      if (
        this.stepDeliveredCount === deliveredBefore &&
        repeats &&
        exitCount === prevExitCount &&
        exitCount <= 4 &&
        exitStart + exitCount <= STEP_LOG &&
        sameExits(this.ff, prevExitStart, exitStart, exitCount)
      ) {
        const remaining = count - executed;
        if (remaining > 0) this.addRepeated(v, op, remaining, exitStart, exitCount);
        if (memo) {
          const key = this.machineKey;
          memoStore(key, v, op, a, b, this.s, base, this.ff, exitStart, exitCount, this.hinted(v), txEpoch());
        }
        return executed;
      }
      prevExitStart = exitStart;
      prevExitCount = exitCount;
    }
    return executed;
  }

  /**
   * `count` runs of `op` from the fixed point of memo entry `e` (the vCPU's state equals it): what the
   * loop above does from there, without executing a run. It would execute two runs one by one (one if
   * count is 1), or every run when the step's exit log bound stops the fast-forward, then count the
   * rest in bulk; each run has the entry's exits and changes no state, counters but the %cr8 ones
   * included. The same integer sums, so the same totals bit for bit; the step's exit count as well.
   */
  private repeatFixedPoint(v: number, count: number, op: RepeatOp, e: number): number {
    const exits = memoExitCount(e);
    const start = this.stepExitCount;
    const executed = start + 2 * exits <= STEP_LOG ? Math.min(count, 2) : count;
    const acct = this.acct;
    if (op === RepeatOp.CR8_PAIR) {
      const c = this.countersAt + v * Counter.COUNT;
      acct[c + Counter.CR8_READS] += count;
      acct[c + Counter.CR8_WRITES] += 2 * count;
    }
    // countExits' sums exit by exit, in its order, through the one accounting view, the first three
    // written out (interned.ts apply's way: each array checked once; a memorized run has at most 4
    // exits, 2.8 on the install). The memo runs only while nothing records (repeat): no record, no
    // qualification to read.
    if (exits > 0) {
      const row = v * this.slotStride;
      const vcpuNsAt = this.vcpuHostNsAt + v;
      let cost = this.memoExit(e, 0, row, count);
      let stepNs = this.stepHostNs + cost;
      let vcpuNs = acct[vcpuNsAt] + cost;
      if (exits > 1) {
        cost = this.memoExit(e, 1, row, count);
        stepNs += cost;
        vcpuNs += cost;
      }
      if (exits > 2) {
        cost = this.memoExit(e, 2, row, count);
        stepNs += cost;
        vcpuNs += cost;
      }
      for (let i = 3; i < exits; i++) {
        cost = this.memoExit(e, i, row, count);
        stepNs += cost;
        vcpuNs += cost;
      }
      this.stepHostNs = stepNs;
      acct[vcpuNsAt] = vcpuNs;
    }
    this.stepExitCount = start + executed * exits;
    return executed;
  }

  /**
   * repeatFixedPoint's `i`-th exit of memo entry `e`, `count` times, for the vCPU whose exit counts
   * start at `row`: counted, its slot's host ns and total moved (countExits' sums); its cost returned
   * for the step's and the vCPU's sums (inlined: a double returned otherwise is boxed).
   */
  private memoExit(e: number, i: number, row: number, count: number): number {
    const acct = this.acct;
    const slot = memoExitSlot(e, i);
    const cost = this.exitCostNs[slot] * count;
    acct[row + LOCAL_SLOT[slot]] += count;
    acct[this.exitHostNsAt + slot] += cost;
    acct[this.exitTotalsAt + slot] += count;
    return cost;
  }

  /**
   * The cause of an opaque exit in `slot`: a workload profile's measured exit, but a PAUSE exit of a
   * vCPU with PAUSE-loop exiting (SVM: the pause filter) is the spin loop outlasting its window,
   * whoever ran it (guests/spin.ts's lock-spin phase, or a profile's measured PAUSE exits): with the
   * control set a PAUSE exits no other way (SDM "Controls for PAUSE-Loop Exiting"; APM-15 "Pause Intercept Filtering").
   */
  private opaqueWhy(v: number, slot: number): ExitWhy {
    const pause = slot === (this.intel ? (Slot.PAUSE as number) : SVM_PAUSE_SLOT);
    return pause && this.pauseLoopExiting(v) ? ExitWhy.PAUSE_LOOP : ExitWhy.MEASURED;
  }

  /** Count `remaining` further runs of `op`, whose exits are the step's [exitStart, exitStart + exitCount), in the ring. */
  private addRepeated(v: number, op: RepeatOp, remaining: number, exitStart: number, exitCount: number): void {
    const c = v * Counter.COUNT;
    if (op === RepeatOp.CR8_PAIR || op === RepeatOp.CR8_READ) this.counters[c + Counter.CR8_READS] += remaining;
    if (op === RepeatOp.CR8_PAIR || op === RepeatOp.CR8_WRITE_PAIR)
      this.counters[c + Counter.CR8_WRITES] += 2 * remaining;
    const kind =
      op === RepeatOp.CR8_PAIR
        ? RecKind.BULK_CR8_PAIRS
        : op === RepeatOp.HOST_INTERRUPT
          ? RecKind.BULK_HOST_INTERRUPTS
          : RecKind.BULK_REPEATED;
    for (let e = 0; e < exitCount; e++) {
      const k = exitStart + e;
      // While recording, the last run's exits are the recorder's last exitCount records of `v` (a run
      // at the fixed point delivers nothing): the bulk record of its e-th exit takes that one's cause.
      const why = this.recOn ? this.recorder.whyBack(v, exitCount) : 0;
      this.countExits(v, this.ff[ringSlot(k)], this.ff[ringQual(k)], remaining, kind);
      if (why !== 0) this.exitWhy(v, why);
    }
  }

  // ---------------------------------------------------------------- invariants (invariants.ts)

  /**
   * The consistency checks, run after every operation in debug mode and at the end of every run:
   * bhyve's isrvec_stk checks on the software path, SVI/RVI with VID, PPR against TPR. Returns the
   * number of new violations.
   */
  checkInvariants(v: number): number {
    const b = v * F.STRIDE;
    if ((this.s[b + F.FLAGS] & Flag.STOPPED) !== 0) return 0;
    const broken = brokenInvariant(this.s, b, this.traits.isrvecStack, this.intel);
    if (broken === undefined) return 0;
    this.violate(v, broken);
    return 1;
  }

  checkAllInvariants(): number {
    let n = 0;
    for (let v = 0; v < this.n; v++) n += this.checkInvariants(v);
    return n;
  }
}
