import { F } from './layout.js';

/**
 * The exact fast-forward (Machine.cr8Pairs, hostInterrupts, repeat): an operation repeated `count`
 * times runs by the per-instruction rules until two consecutive runs leave the same state with the
 * same exits and no delivery; from then on every run repeats them, so the rest are counted without
 * re-executing. "The same state" is judged on PAIR_WORDS only, compared exactly (no hashing) — so
 * the list must hold every word a repeated operation can change.
 * test/core/fastForwardWords.test.ts checks that it does: on random states, every word a run
 * writes (seen through a Proxy on the state) must be listed or in SAME_VALUE_WORDS, and a run
 * that leaves the listed words as they were must leave every word of every vCPU as it was.
 */

/**
 * Operations `repeat` can run in bulk (workload-profile guests, src/core/guests/workload.ts): each
 * is executed by the same per-instruction rules as its single-step method.
 */
export const enum RepeatOp {
  /** Machine.cr8Pairs: Windows' IRQL raise/lower (read CR8, write `a`, write `b`). */
  CR8_PAIR = 0,
  /** Machine.hostInterrupts: the host's timer tick while the vCPU runs. */
  HOST_INTERRUPT = 1,
  /** MOV to CR8 twice: `a` (raise) then `b` (lower). */
  CR8_WRITE_PAIR = 2,
  /** MOV from CR8. */
  CR8_READ = 3,
  CPUID = 4,
  /** IN/OUT on port `a`. */
  IO = 5,
  /** A write to an emulated device's MMIO page. */
  MMIO = 6,
  /** RDMSR of MSR `a`. */
  RDMSR = 7,
  /** WRMSR of MSR `a` (value `b`). */
  WRMSR = 8,
  /**
   * An exit the model does not derive from guest instructions (slot `a`): the hypervisor's common
   * exit path runs (so e.g. bhyve's per-exit PPR sync still happens), nothing else changes.
   */
  OPAQUE_EXIT = 9,
  /** A write of `a` to the LAPIC timer's initial-count register, as the vCPU's LAPIC mode does it. */
  TIMER_INITIAL_COUNT = 10,
}

/** Words (offsets in a vCPU's stride) a repeated operation can change; compared exactly for the fast-forward. */
export const PAIR_WORDS: readonly number[] = [
  F.TPR,
  F.PPR,
  F.TPR_THRESHOLD,
  F.V_TPR,
  F.PROC,
  F.PROC2,
  F.FLAGS,
  F.SVM_INTERCEPTS,
  F.PENDING_INJECT,
  F.STK_TOP,
  F.RVI,
  F.SVI,
  F.V_IRQ,
  F.IRR,
  F.IRR + 1,
  F.IRR + 2,
  F.IRR + 3,
  F.IRR + 4,
  F.IRR + 5,
  F.IRR + 6,
  F.IRR + 7,
  F.ISR,
  F.ISR + 1,
  F.ISR + 2,
  F.ISR + 3,
  F.ISR + 4,
  F.ISR + 5,
  F.ISR + 6,
  F.ISR + 7,
];

/** Exits the ring keeps (a power of 2): two consecutive runs of at most 4 exits each. */
const EXIT_RING = 8;
/** Where the exit ring starts in a machine's fast-forward words, after the PAIR_WORDS snapshot. */
const RING = PAIR_WORDS.length;
/**
 * A machine's fast-forward words (one Int32Array, machineState.ts `ff`): the snapshot of
 * PAIR_WORDS, then the exit ring - the slots of the step's last EXIT_RING exits, then their
 * qualifications - which the exit path writes for every exit.
 */
const FF_WORDS = RING + 2 * EXIT_RING;
/**
 * After them, the table of interned states' words (interned.ts): the tables' generation
 * (transitions.ts txEpoch) the hints were left in, then per vCPU the id of its interned state + 1
 * (0: none) - kept by the vCPU's machine, not looked up in a table shared by every machine.
 */
export const TX_EPOCH_WORD = FF_WORDS;
export const TX_HINT_WORDS = FF_WORDS + 1;
/*
 * Then per vCPU a word the guest's ISR end keeps (guests/isr.ts isrPlan, at TX_HINT_WORDS + n + v:
 * Machine.isrPlan): kept in the machine's words, 4 bytes a vCPU, not in an array of its own.
 */

/** A machine's fast-forward words for `n` vCPUs. */
export function ffWords(n: number): number {
  return TX_HINT_WORDS + 2 * n;
}

/**
 * The ring's slots start at RING_SLOTS, its qualifications at RING_QUALS; exit number `i` at `i &
 * RING_MASK` in each (ringSlot, ringQual; interned.ts apply adds them itself: a module function's
 * call is checked against the function at every call).
 */
export const RING_SLOTS = RING;
export const RING_QUALS = RING + EXIT_RING;
export const RING_MASK = EXIT_RING - 1;

/** Where the slot of the step's exit number `i` stands in the fast-forward words. */
export function ringSlot(i: number): number {
  return RING_SLOTS + (i & RING_MASK);
}

/** Where the qualification of the step's exit number `i` stands in the fast-forward words. */
export function ringQual(i: number): number {
  return RING_QUALS + (i & RING_MASK);
}

/**
 * Words a run of a repeated operation also writes, but always to the same value, so comparing them
 * could never tell two runs apart: PIR_ON = 0 (posted-interrupt processing at every entry with
 * VID), TIMER_INITIAL = the count TIMER_INITIAL_COUNT writes, V_IGN_TPR = 1 (the SVM interrupt
 * window, which V_IRQ already records).
 */
export const SAME_VALUE_WORDS: readonly number[] = [F.PIR_ON, F.TIMER_INITIAL, F.V_IGN_TPR];

/**
 * Compare the PAIR_WORDS of the vCPU at word `b` with the snapshot in `ff` (the previous run's; before
 * the first run whatever an earlier repeat left, which sameExits makes irrelevant) and store them
 * there; true when nothing changed.
 */
export function pairStateRepeats(s: Int32Array, b: number, ff: Int32Array): boolean {
  let same = true;
  for (let i = 0; i < PAIR_WORDS.length; i++) {
    const w = s[b + PAIR_WORDS[i]];
    if (ff[i] !== w) same = false;
    ff[i] = w;
  }
  return same;
}

/** The runs whose exits start at the step's exit numbers `a` and `b` had the same exits (slots), per the ring. */
export function sameExits(ff: Int32Array, a: number, b: number, count: number): boolean {
  if (a < 0) return false;
  for (let i = 0; i < count; i++) if (ff[ringSlot(a + i)] !== ff[ringSlot(b + i)]) return false;
  return true;
}
