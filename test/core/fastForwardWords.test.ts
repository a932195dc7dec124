/**
 * The fast-forward's word list (src/core/vcpu/fastForward.ts PAIR_WORDS, SAME_VALUE_WORDS): every
 * word a repeated operation writes is listed, seen through a Proxy on the state - dropping a listed
 * word fails this where the twin comparisons of fastForward.test.ts do not notice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Machine, RepeatOp } from '../../src/core/vcpu/machine.js';
import { PAIR_WORDS, SAME_VALUE_WORDS } from '../../src/core/vcpu/fastForward.js';
import { F } from '../../src/core/vcpu/layout.js';
import { FIELDS } from '../support/enums.js';
import { VENDOR_SLOTS } from '../../src/core/vcpu/exits.js';
import { SEED, configMachine, apply, realistic, caseArb } from '../support/randomCases.js';

/**
 * One run of each operation the fast-forward repeats (Machine.cr8Pairs, hostInterrupts, repeat), as
 * the engine and the workload guests issue them (src/core/engine/host.ts), `x` varying the operand.
 */
const REPEATED: readonly (readonly [string, (m: Machine, v: number, x: number) => void])[] = [
  ['cr8Pairs', (m, v, x) => m.cr8Pairs(v, 1, x % 16, 0)],
  ['hostInterrupts', (m, v) => m.hostInterrupts(v, 1)],
  ['CR8_WRITE_PAIR', (m, v, x) => m.repeat(v, 1, RepeatOp.CR8_WRITE_PAIR, x % 16, 0)],
  ['CR8_READ', (m, v) => m.repeat(v, 1, RepeatOp.CR8_READ, 0, 0)],
  ['CPUID', (m, v) => m.repeat(v, 1, RepeatOp.CPUID, 0, 0)],
  ['IO', (m, v) => m.repeat(v, 1, RepeatOp.IO, 0xcf8, 0)],
  ['MMIO', (m, v) => m.repeat(v, 1, RepeatOp.MMIO, 0, 0)],
  ['RDMSR', (m, v) => m.repeat(v, 1, RepeatOp.RDMSR, 0x6e0, 0)],
  ['WRMSR', (m, v) => m.repeat(v, 1, RepeatOp.WRMSR, 0x6e0, 0)],
  ['WRMSR x2APIC timer', (m, v) => m.repeat(v, 1, RepeatOp.WRMSR, 0x838, 100000)],
  ['TIMER_INITIAL_COUNT', (m, v) => m.repeat(v, 1, RepeatOp.TIMER_INITIAL_COUNT, 100000, 0)],
  ['WRMSR hv-vapic TPR', (m, v, x) => m.repeat(v, 1, RepeatOp.WRMSR, 0x40000072, x & 0xff)],
  ['RDMSR hv-time reference counter', (m, v) => m.repeat(v, 1, RepeatOp.RDMSR, 0x40000020, 0)],
  [
    'OPAQUE_EXIT',
    (m, v, x) => {
      const slots = VENDOR_SLOTS[m.profile.vendor];
      m.repeat(v, 1, RepeatOp.OPAQUE_EXIT, slots[x % slots.length], 0);
    },
  ],
];

/** `IRR+3` for word 3 of F.IRR: the layout field a word offset belongs to. */
function fieldName(offset: number): string {
  let best = '';
  let at = -1;
  for (const [name, o] of Object.entries(FIELDS) as [string, number][])
    if (o <= offset && o > at) [best, at] = [name, o];
  return offset === at ? best : `${best}+${offset - at}`;
}

/**
 * Random states (the property tests' op sequences), each followed by one run of a repeated
 * operation: the fast-forward compares a run with the run before it, so what counts is what a run
 * does from a state an earlier run of the same operation left. Yields the machine, the vCPU and
 * the run.
 */
function* afterOneRun(): Generator<[Machine, number, (m: Machine) => void, string]> {
  const cases = fc.sample(fc.tuple(caseArb(30), fc.nat(), fc.nat({ max: REPEATED.length - 1 }), fc.nat()), {
    seed: SEED,
    numRuns: 1500,
  });
  for (const [c, pick, which, x] of cases) {
    const m = configMachine(c.config, c.vcpus, c.x2apic);
    m.beginStep(0);
    m.launch();
    for (let i = 0; i < c.ops.length; i++) {
      m.beginStep(i + 1);
      apply(m, realistic(m, c.ops[i]));
    }
    const v = pick % c.vcpus;
    const [label, run] = REPEATED[which];
    m.beginStep(1000);
    run(m, v, x);
    yield [m, v, (mm) => run(mm, v, x), `${label} on ${c.config.label} vCPU ${v}`];
  }
}

/**
 * The words of `m.s` that `run` writes (any value, even the one already there), and in which vCPU,
 * seen through a Proxy put in place of the state array for the run.
 */
function writtenWords(m: Machine, run: (m: Machine) => void): number[] {
  const real = m.s;
  const written: number[] = [];
  const spy = new Proxy(real, {
    set(target, key, value: number) {
      if (typeof key === 'string') written.push(Number(key));
      target[Number(key)] = value;
      return true;
    },
  });
  (m as unknown as { s: Int32Array }).s = spy;
  try {
    run(m);
  } finally {
    (m as unknown as { s: Int32Array }).s = real;
  }
  return written;
}

/** Every (vCPU, word) a run of a repeated operation writes in the sampled states, with a run that writes it. */
let writtenCache: Map<string, string> | undefined;
function written(): ReadonlyMap<string, string> {
  if (writtenCache) return writtenCache;
  const out = new Map<string, string>();
  for (const [m, v, run, what] of afterOneRun()) {
    for (let k = 0; k < 3 && !m.isStopped(v); k++) {
      for (const i of writtenWords(m, run)) {
        const key = `${Math.floor(i / F.STRIDE) === v ? '' : 'another vCPU: '}${fieldName(i % F.STRIDE)}`;
        if (!out.has(key)) out.set(key, what);
      }
    }
  }
  writtenCache = out;
  return out;
}

test('[fastForward.ts PAIR_WORDS] every word a run of a repeated operation writes is listed (or in SAME_VALUE_WORDS), and no word of another vCPU', () => {
  const allowed = new Set([...PAIR_WORDS, ...SAME_VALUE_WORDS].map(fieldName));
  const unlisted = [...written()].filter(([word]) => !allowed.has(word)).map(([word, by]) => `${word} (${by})`);
  assert.deepEqual(unlisted, [], 'written by a repeated operation but not compared by the fast-forward');
});

test('[fastForward.ts PAIR_WORDS] the check has teeth: the sampled runs write these listed words, so dropping any of them fails it', () => {
  for (const w of [F.TPR, F.PPR, F.V_TPR, F.TPR_THRESHOLD, F.PROC, F.SVM_INTERCEPTS, F.V_IRQ]) {
    assert.ok(written().has(fieldName(w)), `${fieldName(w)} is written by some sampled run`);
  }
});

test('[fastForward.ts SAME_VALUE_WORDS] a run that leaves PAIR_WORDS as they were leaves every word of every vCPU as it was (the fast-forward judges "the same state" on PAIR_WORDS alone)', () => {
  const missed: string[] = [];
  for (const [m, v, run, what] of afterOneRun()) {
    for (let k = 0; k < 3 && !m.isStopped(v); k++) {
      const before = Int32Array.from(m.s);
      m.beginStep(1001 + k);
      run(m);
      // The fast-forward ends only on a run with no delivery and at most 4 exits.
      if (m.stepDeliveredCount !== 0 || m.stepExitCount > 4) continue;
      if (PAIR_WORDS.some((w) => m.s[v * F.STRIDE + w] !== before[v * F.STRIDE + w])) continue;
      for (let i = 0; i < m.s.length; i++)
        if (m.s[i] !== before[i]) missed.push(`${fieldName(i % F.STRIDE)} (${what})`);
    }
  }
  assert.deepEqual(missed, []);
});
