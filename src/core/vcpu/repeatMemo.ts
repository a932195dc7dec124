import { F, ISRVEC_STK_SIZE } from './layout.js';
import { ringQual, ringSlot } from './fastForward.js';

/**
 * The fast-forward's memo (Machine.repeat). A repeat that fast-forwards ends at a fixed point of
 * its operation: a state S the run leaves as it found it, with the same exits each time. The engine
 * calls cr8Pairs and hostInterrupts again and again on a vCPU that is back at that very state, and
 * each call used to execute two runs one by one (six exits and entries for a %cr8 pair under
 * bhyve-12.1) before it could fast-forward again. The memo keeps the last fixed point per
 * (machine, vCPU, operation): the operation and its operands, every word of the vCPU's state, and the run's
 * exits. A call that finds the vCPU's state equal to it word for word (but for words no run reads:
 * memoUnreadWords), with the same operation and operands, runs from S, where every run repeats those exits and leaves S: its counts are added
 * without executing a run, exactly as the fast-forward adds them after its two runs.
 *
 * Exact under two conditions Machine.repeat checks: the operation reads and writes the vCPU's own
 * state only (MOV to/from CR8 and the host's timer tick: the memo is not used for the workload
 * operations, some of which send IPIs), and nothing records the runs one by one (the exit recorder
 * and the step's exit log, whose records differ between executed and bulk runs). The machine-wide
 * inputs of a run (CPU profile, policy traits, exit costs) are fixed per machine, and a machine's key
 * is unique for the life of the thread.
 *
 * One table per thread, allocated once (not per machine or vCPU: the memory per simulated vCPU does
 * not grow), SLOTS entries addressed by a hash of (machine, vCPU, operation): a colliding entry is replaced.
 */

const SLOTS = 1024;
/** Most exits a memorized run has (Machine.repeat fast-forwards runs of at most 4). */
const MAX_EXITS = 4;
/** Interned ids kept per fixed point (W.STATE_ID). */
const STATE_IDS = 4;

const enum W {
  MACHINE = 0,
  VCPU = 1,
  OP = 2,
  A = 3,
  B = 4,
  EXITS = 5,
  /**
   * STATE_IDS interned state ids (transitions.ts) of the fixed point, -1 if none, the latest first;
   * and the tables' generation. More than one: a vCPU comes back to one fixed point in states that
   * differ only in dead isrvec_stk entries (which the memo does not compare and an interned state
   * holds), e.g. after a timer tick's ISR and after an IPI's. Four: the install's vCPUs come back in
   * three or four such states in turn, so with two kept each lookup found its id gone and compared the
   * state word for word (0.22 per engine event; 0.05 with three; none with four: docs/perf/engine30.md).
   */
  STATE_ID = 6,
  EPOCH = STATE_ID + STATE_IDS,
  SLOT = EPOCH + 1,
  QUAL = SLOT + MAX_EXITS,
  STATE = QUAL + MAX_EXITS,
  SIZE = STATE + F.STRIDE,
}

/** End of bhyve's isrvec_stk (its placeholder and ISRVEC_STK_SIZE entries). */
const STK_END = F.STK + 1 + ISRVEC_STK_SIZE;
const ICR_LOW: number = F.ICR_LOW;
const AFTER_ICR: number = F.ICR_HIGH + 1;
const STRIDE: number = F.STRIDE;

/**
 * Words of a vCPU's state that a %cr8 or host-interrupt run never reads, so the memo does not compare
 * them: isrvec_stk entries above its top (left from earlier pushes, dead until a push overwrites
 * them; the top is at F.STK_TOP) and the ICR, which only IPIs read. test/core/fastForward.test.ts
 * checks that scrambling them changes nothing a run does.
 */
export function memoUnreadWords(s: Int32Array, base: number): number[] {
  const out = [F.ICR_LOW, F.ICR_HIGH];
  for (let i = F.STK + 1 + Math.max(s[base + F.STK_TOP], 0); i < STK_END; i++) out.push(i);
  return out;
}

const table = new Int32Array(SLOTS * W.SIZE);
let machines = 0;

/** A new machine's key (never 0, the key of an empty entry). */
export function memoKey(): number {
  machines = (machines + 1) | 0 || 1;
  return machines;
}

function entryOf(machine: number, v: number, op: number): number {
  return ((Math.imul(machine, 0x9e3779b1) + Math.imul(v, 0x85ebca6b) + Math.imul(op, 0xc2b2ae35)) >>> 22) * W.SIZE;
}

/**
 * The entry (>= 0) holding a fixed point of (op, a, b) for vCPU `v` of machine `machine` that the
 * vCPU's state (words [base, base + F.STRIDE) of `s`) equals word for word; -1 when there is none.
 *
 * `stateId` is the interned state the vCPU is in by its trusted hint (interned.ts InternedInstructions.hinted, -1:
 * none) and `epoch` the tables' generation (txEpoch). When the entry's fixed point was interned as
 * that same state in the same generation, the state equals it without comparing: an interned state
 * holds every word the comparison below reads but the vCPU's identity words, which are its own and
 * the same in its own entry, and more (dead isrvec_stk entries). The hint is trusted here under the
 * same discipline as in interned.ts; with `verify` (debug checks) the words are compared anyway
 * and a stale hint throws.
 */
export function memoLookup(
  machine: number,
  v: number,
  op: number,
  a: number,
  b: number,
  s: Int32Array,
  base: number,
  stateId: number,
  epoch: number,
  verify: boolean,
): number {
  const e = entryOf(machine, v, op);
  const t = table;
  if (t[e + W.MACHINE] !== machine || t[e + W.VCPU] !== v || t[e + W.OP] !== op || t[e + W.A] !== a || t[e + W.B] !== b)
    return -1;
  const ids = e + W.STATE_ID;
  let interned = false;
  if (stateId >= 0 && t[e + W.EPOCH] === epoch)
    for (let i = 0; i < STATE_IDS && !interned; i++) interned = t[ids + i] === stateId;
  if (interned && !verify) return e;
  const st = e + W.STATE;
  // Every word but those a run never reads (memoUnreadWords). F.STK_TOP, before F.STK, is equal here.
  const live = F.STK + 1 + Math.min(Math.max(s[base + F.STK_TOP], 0), STK_END - F.STK - 1);
  let equal = true;
  for (let i = 0; i < live && equal; i++) if (t[st + i] !== s[base + i]) equal = false;
  for (let i = STK_END; i < ICR_LOW && equal; i++) if (t[st + i] !== s[base + i]) equal = false;
  for (let i = AFTER_ICR; i < STRIDE && equal; i++) if (t[st + i] !== s[base + i]) equal = false;
  if (interned && !equal)
    throw new Error(`vCPU ${v}: its state was written outside the machine's operations (forgetStates not called)`);
  if (!equal) return -1;
  // Equal on the words a run reads, so state `stateId` is this fixed point too (it may differ in dead
  // isrvec_stk entries, which an interned state holds): the next lookup from it needs no comparison.
  // The latest first: the one kept longest makes room (all of them do in a new generation).
  if (stateId >= 0 && !interned) {
    const same = t[e + W.EPOCH] === epoch;
    for (let i = STATE_IDS - 1; i > 0; i--) t[ids + i] = same ? t[ids + i - 1] : -1;
    t[ids] = stateId;
    t[e + W.EPOCH] = epoch;
  }
  return e;
}

/** Exits of one run from the fixed point of entry `e`. */
export function memoExitCount(e: number): number {
  return table[e + W.EXITS];
}

/** Slot of the run's `i`-th exit. */
export function memoExitSlot(e: number, i: number): number {
  return table[e + W.SLOT + i];
}

/** Qualification of the run's `i`-th exit. */
export function memoExitQual(e: number, i: number): number {
  return table[e + W.QUAL + i];
}

/**
 * Keep the fixed point a repeat of (op, a, b) on vCPU `v` has just reached: the vCPU's state now, its
 * interned id by the vCPU's hint (`stateId`, -1: none) in the tables' generation `epoch`, and the
 * exits of its last run, the step's exits [exitStart, exitStart + exitCount) in the exit ring `ff`.
 */
export function memoStore(
  machine: number,
  v: number,
  op: number,
  a: number,
  b: number,
  s: Int32Array,
  base: number,
  ff: Int32Array,
  exitStart: number,
  exitCount: number,
  stateId: number,
  epoch: number,
): void {
  if (exitCount > MAX_EXITS) return;
  const e = entryOf(machine, v, op);
  const t = table;
  t[e + W.STATE_ID] = stateId;
  for (let i = 1; i < STATE_IDS; i++) t[e + W.STATE_ID + i] = -1;
  t[e + W.EPOCH] = epoch;
  t[e + W.MACHINE] = machine;
  t[e + W.VCPU] = v;
  t[e + W.OP] = op;
  t[e + W.A] = a;
  t[e + W.B] = b;
  t[e + W.EXITS] = exitCount;
  for (let i = 0; i < exitCount; i++) {
    t[e + W.SLOT + i] = ff[ringSlot(exitStart + i)];
    t[e + W.QUAL + i] = ff[ringQual(exitStart + i)];
  }
  const st = e + W.STATE;
  for (let i = 0; i < STRIDE; i++) t[st + i] = s[base + i];
}
