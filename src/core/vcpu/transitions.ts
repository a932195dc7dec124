import { F } from './layout.js';

/**
 * Interned machine states and their transitions (issue #16, direction 1 of docs/PERF.md). A guest
 * operation of the Machine (MOV to/from CR8, an interrupt's arrival, EOI, IRET, HLT, a host tick, a
 * guest timer's expiry or arming, KfRaiseIrql's read-then-write of CR8, an ISR's EOI and CR8 write (and its IRET, and an idle vCPU's HLT after it),
 * KVM's TSC-deadline and Hyper-V stimer arms and a stimer's expiry, a device's MMIO exit) is a function of the vCPU's words in the state array (but the ICR,
 * which only IPIs read, and the vCPU's identity: VCPU_ID, GUEST_INDEX, APIC_ID, read only by IPIs,
 * register reads and reports), the operand and the machine's fixed inputs (CPU profile, policy
 * traits): its outcome - the next state, the exits by slot and qualification in order, the counters
 * it moves, the vectors it delivers, its return value - is the same every time it runs from the same
 * state. An idle guest's vCPUs go round a few tens of states (measured: 99.6-99.97 % of operations
 * start from a state and operand seen before), so each distinct state gets an id once, and
 * (state id, operation, operand) -> outcome is tabulated the first time the rules run; afterwards the
 * outcome is applied without running them.
 *
 * Exact by construction, under one discipline: the id of the state a vCPU is in is kept from the
 * operation that left it there (a hint per vCPU, in its machine's words: TabulatedInstructions
 * hinted, void when the tables' generation moved) and trusted without comparing, so everything else
 * that may write a vCPU's words forgets it - every other operation of the Machine
 * (TabulatedInstructions), a violation, launch, and anyone writing the state array directly
 * (Machine.forgetStates; with debug checks on, a hint is compared and a stale one throws). A vCPU
 * without a hint is looked up by hash, then compared word for word. Machine operations that a record
 * could not replay exactly (a report, a fault, an IPI, an exit cost other than the slot's or the
 * x2APIC MSR-write rule's (MachineCore.apicMsrExit, marked APIC_COST in the record), more
 * exits or words than a record holds) run by the rules and are not tabulated. Measured first
 * (docs/PERF.md): comparing the words at every operation instead of trusting the hint made the
 * engine slower than the rules (x0.86-0.98); trusting it, x1.16-1.31.
 *
 * Tables per thread, allocated once (the memory per simulated vCPU does not grow); states are shared
 * by every vCPU of every machine of one class (the same CPU profile and policy traits), since the
 * identity words are outside the key. When a table fills, all of them start afresh: only speed
 * depends on what is in them.
 */

/** The operations tabulated; the operand `a` of each as Machine.interned passes it. */
export const enum TxOp {
  WRITE_CR8 = 0, // a: the value
  READ_CR8 = 1,
  EOI = 2,
  IRET = 3,
  HLT = 4,
  RAISE = 5, // a: vector | level << 8 | eoiExit << 9
  TIMER_EXPIRES = 6, // a: vector
  TIMER_INITIAL = 7, // a: the initial count
  HOST_INTERRUPT = 8,
  RAISE_CR8 = 9, // a: the value written after the read (GuestInstructions.raiseCr8)
  EOI_CR8 = 10, // a: the value written after the EOI (GuestInstructions.eoiCr8)
  TSC_DEADLINE = 11, // a: the value (high half 0) written to IA32_TSC_DEADLINE
  STIMER_COUNT = 12, // a: the value (high half 0) written to HV_X64_MSR_STIMER0_COUNT
  STIMER_EXPIRES = 13, // a: the SINT vector (Machine.stimerExpires)
  EOI_CR8_IRET = 14, // a: as EOI_CR8, then IRET (GuestInstructions.eoiCr8Iret: an ISR's end)
  EOI_CR8_IRET_HLT = 15, // a: as EOI_CR8_IRET, then HLT if it delivered nothing (GuestInstructions.eoiCr8IretHlt)
  MMIO = 16, // a device's MMIO register (a doorbell): its EPT exit and the entry (GuestInstructions.mmio)
}

/** Words of a vCPU's state outside the key (never read or written by a TxOp). */
const OUTSIDE: readonly number[] = [F.ICR_LOW, F.ICR_HIGH, F.VCPU_ID, F.GUEST_INDEX, F.APIC_ID];
const KEY_WORDS = Int32Array.from(Array.from({ length: F.STRIDE }, (_, i) => i).filter((i) => !OUTSIDE.includes(i)));
const K = KEY_WORDS.length;
/** A record holds at most this many changed words, exits, counters moved and deliveries. */
export const MAX_DIFFS = 24;
export const MAX_EXITS = 6;
export const MAX_COUNTERS = 8;
export const MAX_DELIVERIES = 2;

const STATE_CAP = 2048; // the bench's cases intern 74-215 states and 157-427 transitions
const STATE_INDEX = STATE_CAP * 2; // open addressing, load <= 1/2
const TX_CAP = 4096;
const TX_INDEX = TX_CAP * 2;
/**
 * An exit in a record charged by the x2APIC MSR-write rule (MachineCore.apicMsrExit) rather than
 * at its slot's cost: this bit set in the record's slot word.
 */
export const APIC_COST = 1 << 16;
/** The record's slot word: the slot below APIC_COST... */
export const SLOT_MASK = APIC_COST - 1;
/**
 * ...and above it the slot's index among its vendor's (exits.ts LOCAL_SLOT): the column of the
 * vCPU's exit counts, read from the record rather than looked up at every apply.
 */
export const LOCAL_SHIFT = 17;

/** A transition record's words. */
export const enum T {
  FROM = 0,
  OP = 1,
  A = 2,
  NEXT = 3,
  RET = 4,
  DIFFS = 5,
  EXITS = 6,
  COUNTERS = 7,
  DELIVERIES = 8,
  DIFF = 9, // (word, value) pairs
  EXIT = DIFF + 2 * MAX_DIFFS, // (slot | APIC_COST? | local slot << LOCAL_SHIFT, qualification) pairs
  COUNTER = EXIT + 2 * MAX_EXITS, // (counter, delta) pairs
  DELIVERY = COUNTER + 2 * MAX_COUNTERS, // vectors
  SIZE = DELIVERY + MAX_DELIVERIES,
}

const states = new Int32Array(STATE_CAP * K);
const stateClass = new Int32Array(STATE_CAP);
/** 1 when the interned state is quiet (quietWords), worked out once when it is interned. */
const stateQuiet = new Uint8Array(STATE_CAP);
const stateIndex = new Int32Array(STATE_INDEX); // state id + 1; 0 empty
let stateCount = 0;
/** The transition records (read by Machine.interned to apply one). */
export const tx = new Int32Array(TX_CAP * T.SIZE);
const txIndex = new Int32Array(TX_INDEX); // record + 1; 0 empty
let txCount = 0;
const classes = new Map<string, number>();
/** How many times the tables started afresh: ids handed out before a reset name other states after it. */
let epoch = 0;

/** The class of machines with these fixed inputs (once per machine). */
export function txClass(key: string): number {
  let c = classes.get(key);
  if (c === undefined) {
    c = classes.size + 1;
    classes.set(key, c);
  }
  return c;
}

function reset(): void {
  epoch = (epoch + 1) | 0;
  stateCount = 0;
  stateIndex.fill(0);
  txCount = 0;
  txIndex.fill(0);
}

/**
 * Nothing requested, in service or being injected (Machine.isQuiet): no event pending injection and
 * every word of IRR, ISR and PIR 0. Key words only, so a function of the interned state.
 */
export function quietWords(s: Int32Array, b: number): boolean {
  if (s[b + F.PENDING_INJECT] >= 0) return false;
  for (let w = 0; w < 8; w++) if ((s[b + F.IRR + w] | s[b + F.ISR + w] | s[b + F.PIR + w]) !== 0) return false;
  return true;
}

/** Interned state `id` is quiet (quietWords of its words), as worked out when it was interned. */
export function txQuiet(id: number): boolean {
  return stateQuiet[id] === 1;
}

function hashState(cls: number, s: Int32Array, b: number): number {
  let h = Math.imul(cls, 0x9e3779b1);
  for (let i = 0; i < K; i++) h = Math.imul(h ^ s[b + KEY_WORDS[i]], 0x85ebca6b) ^ (h >>> 13);
  return h >>> 0;
}

/** The state at word `b` of `s` equals interned state `id` of class `cls`. */
function equals(id: number, cls: number, s: Int32Array, b: number): boolean {
  if (stateClass[id] !== cls) return false;
  const o = id * K;
  for (let i = 0; i < K; i++) if (states[o + i] !== s[b + KEY_WORDS[i]]) return false;
  return true;
}

/** The vCPU's words (at word `b` of `s`) equal interned state `id` of class `cls` (debug checks). */
export function txEquals(id: number, cls: number, s: Int32Array, b: number): boolean {
  return equals(id, cls, s, b);
}

/** The id of the vCPU's state (at word `b` of `s`), or -1 if it was never interned: hashed, then compared. */
export function txFind(cls: number, s: Int32Array, b: number): number {
  let i = hashState(cls, s, b) & (STATE_INDEX - 1);
  for (;;) {
    const e = stateIndex[i];
    if (e === 0) return -1;
    if (equals(e - 1, cls, s, b)) return e - 1;
    i = (i + 1) & (STATE_INDEX - 1);
  }
}

/**
 * The id of the state at word `b` of `s` (class `cls`), interned if new; -1 when the tables were
 * full and started afresh (ids handed out before are void then: the caller stores nothing).
 */
export function txIntern(cls: number, s: Int32Array, b: number): number {
  let i = hashState(cls, s, b) & (STATE_INDEX - 1);
  for (;;) {
    const e = stateIndex[i];
    if (e === 0) break;
    if (equals(e - 1, cls, s, b)) return e - 1;
    i = (i + 1) & (STATE_INDEX - 1);
  }
  if (stateCount === STATE_CAP) {
    reset();
    return -1;
  }
  const id = stateCount++;
  stateClass[id] = cls;
  stateQuiet[id] = quietWords(s, b) ? 1 : 0;
  const o = id * K;
  for (let w = 0; w < K; w++) states[o + w] = s[b + KEY_WORDS[w]];
  stateIndex[i] = id + 1;
  return id;
}

function txHash(from: number, op: number, a: number): number {
  return (Math.imul(from, 0x9e3779b1) ^ Math.imul(op + 1, 0x85ebca6b) ^ Math.imul(a, 0xc2b2ae35)) >>> 0;
}

/** The record (its first word in `tx`) of (state `from`, op, a), or -1. */
export function txLookup(from: number, op: number, a: number): number {
  let i = txHash(from, op, a) & (TX_INDEX - 1);
  for (;;) {
    const e = txIndex[i];
    if (e === 0) return -1;
    const r = (e - 1) * T.SIZE;
    if (tx[r + T.FROM] === from && tx[r + T.OP] === op && tx[r + T.A] === a) return r;
    i = (i + 1) & (TX_INDEX - 1);
  }
}

/**
 * A new record for (from, op, a), its first word in `tx` (the caller fills the outcome), or -1 when
 * the table was full and everything started afresh.
 */
export function txNew(from: number, op: number, a: number): number {
  if (txCount === TX_CAP) {
    reset();
    return -1;
  }
  let i = txHash(from, op, a) & (TX_INDEX - 1);
  while (txIndex[i] !== 0) i = (i + 1) & (TX_INDEX - 1);
  const r = txCount * T.SIZE;
  txIndex[i] = ++txCount;
  tx[r + T.FROM] = from;
  tx[r + T.OP] = op;
  tx[r + T.A] = a;
  return r;
}

/** How many states and transitions are interned now (tests). */
export function txStats(): { states: number; transitions: number } {
  return { states: stateCount, transitions: txCount };
}

/**
 * The tables' generation (it moves when they start afresh): a state id kept elsewhere (the
 * fast-forward's memo, repeatMemo.ts) names the same state only while the generation is unchanged.
 */
export function txEpoch(): number {
  return epoch;
}

/** Key words, for the caller's diff of the state before and after an operation. */
export const KEY: Int32Array = KEY_WORDS;
/** The words outside the key (checked unchanged by a tabulated operation). */
export const OUTSIDE_WORDS: readonly number[] = OUTSIDE;
