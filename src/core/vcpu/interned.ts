/**
 * The interned-state layer of the Machine (issue #16; the tables are transitions.ts): each vCPU's
 * hint of the interned state it is in (kept in the machine's words), a tabulated operation looked up
 * (`interned`), its record applied to the machine's one accounting view (`apply`, `countExit`) or, on
 * a miss, run by the rules and captured as a record (`capture`, `byRules`), and the hint kept around
 * an operation that leaves the words as they were (`kept`, `rehint`). Which operations go through it
 * and which forget the hint is tabulated.ts, the layer above.
 */
import { STEP_LOG } from './machineState.js';
import { IA32_TSC_DEADLINE } from '../apic/registers.js';
import { HvMsr } from '../hypervisor/hyperv.js';
import { Counter, Fault } from './counters.js';
import { RING_MASK, RING_QUALS, RING_SLOTS, ringQual, ringSlot, TX_EPOCH_WORD, TX_HINT_WORDS } from './fastForward.js';
import { GuestInstructions } from './instructions.js';
import { F } from './layout.js';
import { LOCAL_SLOT } from './exits.js';
import { memoKey } from './repeatMemo.js';
import {
  APIC_COST,
  KEY,
  LOCAL_SHIFT,
  MAX_COUNTERS,
  MAX_DELIVERIES,
  MAX_DIFFS,
  MAX_EXITS,
  OUTSIDE_WORDS,
  quietWords,
  SLOT_MASK,
  T,
  tx,
  txClass,
  txEpoch,
  txEquals,
  txFind,
  txIntern,
  txLookup,
  txNew,
  TxOp,
  txQuiet,
} from './transitions.js';

/** HV_X64_MSR_STIMER0_COUNT: a Windows guest's stimer arm under KVM with hv-stimer. */
export const STIMER0_COUNT: number = HvMsr.STIMER0_COUNT;

/** The vCPU's words and counters before a tabulated operation ran by the rules (one per thread). */
const STRIDE: number = F.STRIDE;
const COUNTERS: number = Counter.COUNT;
const pre = new Int32Array(STRIDE);
const preCounters = new Float64Array(COUNTERS);

/**
 * The table of interned states as the Machine uses it: on a hit the tabulated outcome is applied -
 * state words, exits (counted, costed and put in the exit ring as the exit path does), counters,
 * deliveries - without running the rules; on a miss the rules run and their outcome is tabulated.
 */
export class InternedInstructions extends GuestInstructions {
  /** This machine's key, unique in the thread: in the fast-forward's memo (repeatMemo.ts). */
  protected readonly machineKey = memoKey();
  /** The class of machines with this CPU profile and policy (0 until the first operation). */
  protected txCls = 0;
  /**
   * Operations running by the rules (an operation the table does not hold, or one being tabulated):
   * what they call inside run by the rules as well, since the words change again after it.
   */
  protected depth = 0;

  /** The operation goes through the table (else `rules`). */
  protected tabulates(): boolean {
    return this.depth === 0 && !this.recOn && !this.logExits;
  }

  /** What may write vCPU `v`'s words outside the table: its hint is void. */
  protected forget(v: number): void {
    this.ff[TX_HINT_WORDS + v] = 0;
  }

  /**
   * The interned state vCPU `v` is in by the id its last tabulated operation left (-1: none kept, or
   * forgotten since). Trusted without comparing: everything else that may write the vCPU's words
   * forgets it. Kept in the machine's words (fastForward.ts TX_HINT_WORDS), an id + 1 per vCPU, with
   * the tables' generation they were left in: when the tables started afresh since, every hint of
   * the machine is void, and is cleared here before anything is hinted again (a new hint follows a
   * read: interned, kept, and a record or a capture of the same operation, which stores none after
   * the tables start afresh).
   */
  protected hinted(v: number): number {
    const ff = this.ff;
    const epoch = txEpoch();
    if (ff[TX_EPOCH_WORD] !== epoch) {
      ff.fill(0, TX_HINT_WORDS, TX_HINT_WORDS + this.n);
      ff[TX_EPOCH_WORD] = epoch;
    }
    return ff[TX_HINT_WORDS + v] - 1;
  }

  /** `op` by the rules, outside the table (nested in an operation, or while something records). */
  protected rules(op: TxOp, v: number, a: number): number {
    this.forget(v);
    this.depth++;
    const r = this.byRules(op, v, a);
    this.depth--;
    return r;
  }

  /**
   * Around an operation outside the table that often leaves the vCPU's key words as they were (an
   * IPI's ICR write exits and enters again): the hint it had (-1: none, or the operation is nested)...
   */
  protected kept(v: number): number {
    return this.depth === 0 ? this.hinted(v) : -1;
  }

  /**
   * ...is kept after the operation if the words still equal that state, compared word for word (so
   * exact whatever the operation did); otherwise it stays forgotten and the next tabulated operation
   * looks the state up by hash. Measured: an idle fleet forgets a hint ~75 k times a simulated minute
   * on IPIs alone, each costing a hash lookup next and a word-by-word fast-forward memo comparison.
   */
  protected rehint(v: number, id: number): void {
    if (id >= 0 && txEquals(id, this.txCls, this.s, v * F.STRIDE)) this.ff[TX_HINT_WORDS + v] = id + 1;
  }

  /**
   * Nothing requested, in service or being injected: host-side exits cannot change what the guest
   * sees (the engine's walk asks it of a running vCPU whose host tick could come first). Answered
   * from the interned state the vCPU's hint names, whose flag was worked out when it was interned
   * (transitions.ts txQuiet), trusted as the table trusts it; without a hint, from the 24 words
   * (docs/perf/engine30.md, E13). Read only: a stale generation's hint is not trusted, nor cleared.
   */
  isQuiet(v: number): boolean {
    const ff = this.ff;
    const id = ff[TX_HINT_WORDS + v] - 1;
    if (id >= 0 && ff[TX_EPOCH_WORD] === txEpoch()) {
      if (this.debugChecks && !txEquals(id, this.txCls, this.s, v * F.STRIDE))
        throw new Error(`vCPU ${v}: its state was written outside the machine's operations (forgetStates not called)`);
      return txQuiet(id);
    }
    return quietWords(this.s, v * F.STRIDE);
  }

  /** The interned state vCPU `v` is known to be in: the id its last tabulated operation left, or -1 (tests). */
  internedState(v: number): number {
    return this.hinted(v);
  }

  /**
   * Every vCPU's words may have been written by something else than the machine's operations (a
   * test or a tool setting up a state): their hints are void.
   */
  forgetStates(): void {
    for (let v = 0; v < this.n; v++) this.forget(v);
  }

  /** Operation `op` (operand `a`) on vCPU `v`: from the table, or by the rules and then tabulated. */
  protected interned(op: TxOp, v: number, a: number): number {
    // The class: the machine's fixed inputs, plain data (CpuProfile, PolicyTraits: strings, finite
    // numbers, booleans, nested records), so their JSON tells two machines apart exactly.
    if (this.txCls === 0) this.txCls = txClass(JSON.stringify(this.profile) + JSON.stringify(this.traits));
    const b = v * F.STRIDE;
    let from = this.hinted(v);
    if (from < 0) from = txFind(this.txCls, this.s, b);
    else if (this.debugChecks && !txEquals(from, this.txCls, this.s, b))
      throw new Error(`vCPU ${v}: its state was written outside the machine's operations (forgetStates not called)`);
    if (from >= 0) {
      const r = txLookup(from, op, a);
      if (r >= 0) return this.apply(v, r);
    }
    return this.capture(op, v, a, from);
  }

  /**
   * Apply record `r` to vCPU `v`: what the rules did, in the same order for every sum. Its exits are
   * counted as MachineCore.exit counts them (machineState.ts countExits: at the slot's cost, or the
   * x2APIC MSR-write rule's when marked) and its counters moved, all in the machine's one accounting
   * view (acct), the vCPU's and the step's host ns held in locals across the record's exits: the same
   * additions in the same order. The recorder is off here (tabulates()).
   *
   * The first words, exits and counters of a record are written out, a loop only past them: at a
   * loop's every turn TurboFan checks each typed array's map and reloads its length again (the
   * turn's interrupt check ends what it knew), and most records hold 1-5 words, 0-3 exits and 0-3
   * counters (docs/perf/engine30.md, E18). Words and counters of a record are distinct: any order.
   */
  private apply(v: number, r: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    const diffs = tx[r + T.DIFFS];
    if (diffs > 0) {
      const d = r + T.DIFF;
      s[b + tx[d]] = tx[d + 1];
      if (diffs > 1) s[b + tx[d + 2]] = tx[d + 3];
      if (diffs > 2) s[b + tx[d + 4]] = tx[d + 5];
      if (diffs > 3) s[b + tx[d + 6]] = tx[d + 7];
      if (diffs > 4) s[b + tx[d + 8]] = tx[d + 9];
      for (let j = d + 10, end = d + 2 * diffs; j < end; j += 2) s[b + tx[j]] = tx[j + 1];
    }
    const acct = this.acct;
    const exits = tx[r + T.EXITS];
    if (exits > 0) {
      const row = v * this.slotStride;
      const vcpuNsAt = this.vcpuHostNsAt + v;
      const e = r + T.EXIT;
      const k = this.stepExitCount;
      let cost = this.countExit(e, k, row);
      let stepNs = this.stepHostNs + cost;
      let vcpuNs = acct[vcpuNsAt] + cost;
      if (exits > 1) {
        cost = this.countExit(e + 2, k + 1, row);
        stepNs += cost;
        vcpuNs += cost;
      }
      if (exits > 2) {
        cost = this.countExit(e + 4, k + 2, row);
        stepNs += cost;
        vcpuNs += cost;
      }
      for (let i = 3; i < exits; i++) {
        cost = this.countExit(e + 2 * i, k + i, row);
        stepNs += cost;
        vcpuNs += cost;
      }
      this.stepHostNs = stepNs;
      acct[vcpuNsAt] = vcpuNs;
      this.stepExitCount = k + exits;
    }
    const counters = tx[r + T.COUNTERS];
    if (counters > 0) {
      const c = this.countersAt + v * Counter.COUNT;
      const m = r + T.COUNTER;
      acct[c + tx[m]] += tx[m + 1];
      if (counters > 1) acct[c + tx[m + 2]] += tx[m + 3];
      if (counters > 2) acct[c + tx[m + 4]] += tx[m + 5];
      for (let j = m + 6, end = m + 2 * counters; j < end; j += 2) acct[c + tx[j]] += tx[j + 1];
    }
    const deliveries = tx[r + T.DELIVERIES];
    for (let i = 0; i < deliveries; i++) {
      const d = this.stepDeliveredCount;
      if (d < STEP_LOG) {
        this.stepDelivered[d] = tx[r + T.DELIVERY + i];
        this.stepDeliveredVcpu[d] = v;
      }
      this.stepDeliveredCount = d + 1;
    }
    this.ff[TX_HINT_WORDS + v] = tx[r + T.NEXT] + 1;
    return tx[r + T.RET];
  }

  /**
   * apply's exit at record word `j`, the step's exit number `k`, of the vCPU whose exit counts start
   * at `row`: counted, its slot's host ns and total moved, put in the exit ring; its cost returned
   * for the step's and the vCPU's sums (inlined into apply: a double returned otherwise is boxed).
   */
  private countExit(j: number, k: number, row: number): number {
    const acct = this.acct;
    const word = tx[j];
    const slot = word & SLOT_MASK;
    const apicNs = this.apicMsrWriteCostNs;
    const cost = (word & APIC_COST) === 0 || apicNs < 0 ? this.exitCostNs[slot] : apicNs;
    acct[row + (word >>> LOCAL_SHIFT)] += 1;
    acct[this.exitHostNsAt + slot] += cost;
    acct[this.exitTotalsAt + slot] += 1;
    this.ff[RING_SLOTS + (k & RING_MASK)] = slot;
    this.ff[RING_QUALS + (k & RING_MASK)] = tx[j + 1];
    return cost;
  }

  /** Run `op` by the rules and tabulate its outcome when a record can replay it exactly. */
  private capture(op: TxOp, v: number, a: number, from: number): number {
    const s = this.s;
    const b = v * F.STRIDE;
    const c = v * Counter.COUNT;
    for (let i = 0; i < STRIDE; i++) pre[i] = s[b + i];
    for (let i = 0; i < COUNTERS; i++) preCounters[i] = this.counters[c + i];
    const exits0 = this.stepExitCount;
    const delivered0 = this.stepDeliveredCount;
    const reports0 = this.violations.length + this.entryFailures.length;
    const ipis0 = this.ipiOutCount;
    const fault0 = this.stepFault;
    this.forget(v); // until the outcome is tabulated below
    this.apicCostFrom = exits0;
    this.apicCostMask = 0;
    this.depth++;
    const ret = this.byRules(op, v, a);
    this.depth--;
    const apicCost = this.apicCostMask;
    // What a record cannot replay: a report, a fault, an IPI, too many exits, deliveries past the log.
    const exits = this.stepExitCount - exits0;
    const deliveries = this.stepDeliveredCount - delivered0;
    if (
      this.violations.length + this.entryFailures.length !== reports0 ||
      this.ipiOutCount !== ipis0 ||
      this.stepFault !== fault0 ||
      fault0 !== Fault.NONE ||
      exits > MAX_EXITS ||
      deliveries > MAX_DELIVERIES ||
      delivered0 + deliveries > STEP_LOG
    )
      return ret;
    for (let i = 0; i < OUTSIDE_WORDS.length; i++) if (s[b + OUTSIDE_WORDS[i]] !== pre[OUTSIDE_WORDS[i]]) return ret;
    for (let i = 0; i < deliveries; i++) if (this.stepDeliveredVcpu[delivered0 + i] !== v) return ret;
    let diffs = 0;
    for (let i = 0; i < KEY.length; i++) if (s[b + KEY[i]] !== pre[KEY[i]]) diffs++;
    let moved = 0;
    for (let i = 0; i < COUNTERS; i++) if (this.counters[c + i] !== preCounters[i]) moved++;
    if (diffs > MAX_DIFFS || moved > MAX_COUNTERS) return ret;
    const cls = this.txCls;
    const start = from >= 0 ? from : txIntern(cls, pre, 0);
    if (start < 0) return ret;
    const next = txIntern(cls, s, b);
    if (next < 0) return ret;
    const r = txNew(start, op, a);
    if (r < 0) return ret;
    tx[r + T.NEXT] = next;
    tx[r + T.RET] = ret;
    tx[r + T.DIFFS] = diffs;
    let d = 0;
    for (let i = 0; i < KEY.length; i++) {
      const w = KEY[i];
      if (s[b + w] === pre[w]) continue;
      tx[r + T.DIFF + 2 * d] = w;
      tx[r + T.DIFF + 2 * d + 1] = s[b + w];
      d++;
    }
    tx[r + T.EXITS] = exits;
    for (let i = 0; i < exits; i++) {
      const slot = this.ff[ringSlot(exits0 + i)];
      tx[r + T.EXIT + 2 * i] = slot | ((apicCost >>> i) & 1 ? APIC_COST : 0) | (LOCAL_SLOT[slot] << LOCAL_SHIFT);
      tx[r + T.EXIT + 2 * i + 1] = this.ff[ringQual(exits0 + i)];
    }
    tx[r + T.COUNTERS] = moved;
    let m = 0;
    for (let i = 0; i < COUNTERS; i++) {
      if (this.counters[c + i] === preCounters[i]) continue;
      tx[r + T.COUNTER + 2 * m] = i;
      tx[r + T.COUNTER + 2 * m + 1] = this.counters[c + i] - preCounters[i];
      m++;
    }
    tx[r + T.DELIVERIES] = deliveries;
    for (let i = 0; i < deliveries; i++) tx[r + T.DELIVERY + i] = this.stepDelivered[delivered0 + i];
    this.ff[TX_HINT_WORDS + v] = next + 1;
    return ret;
  }

  /** The rules' own operation (the methods this class overrides). */
  private byRules(op: TxOp, v: number, a: number): number {
    switch (op) {
      case TxOp.WRITE_CR8:
        super.writeCr8(v, a);
        return 0;
      case TxOp.READ_CR8:
        return super.readCr8(v);
      case TxOp.EOI:
        super.eoi(v);
        return 0;
      case TxOp.IRET:
        super.iret(v);
        return 0;
      case TxOp.HLT:
        super.hlt(v);
        return 0;
      case TxOp.HOST_INTERRUPT:
        super.hostInterrupt(v);
        return 0;
      case TxOp.RAISE:
        return super.raiseInterrupt(v, a & 0xff, (a & 256) !== 0, (a & 512) !== 0) ? 1 : 0;
      case TxOp.TIMER_EXPIRES:
        return super.guestTimerExpires(v, a) ? 1 : 0;
      case TxOp.TIMER_INITIAL:
        super.timerInitialCount(v, a);
        return 0;
      case TxOp.RAISE_CR8:
        return super.raiseCr8(v, a);
      case TxOp.EOI_CR8:
        super.eoiCr8(v, a);
        return 0;
      case TxOp.EOI_CR8_IRET:
        super.eoiCr8Iret(v, a);
        return 0;
      case TxOp.EOI_CR8_IRET_HLT:
        return super.eoiCr8IretHlt(v, a);
      case TxOp.TSC_DEADLINE:
        super.wrmsr(v, IA32_TSC_DEADLINE, a, 0);
        return 0;
      case TxOp.STIMER_COUNT:
        super.wrmsr(v, STIMER0_COUNT, a, 0);
        return 0;
      case TxOp.STIMER_EXPIRES:
        return super.stimerExpires(v, a) ? 1 : 0;
      case TxOp.MMIO:
        super.mmio(v);
        return 0;
    }
  }
}
