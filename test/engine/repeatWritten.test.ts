/**
 * E20 (docs/perf/engine30.md, the thirty-ninth session): Machine.repeat (src/core/vcpu/machine.ts)
 * returns after a repeat of one run without pairStateRepeats' snapshot, and a memo hit
 * (repeatFixedPoint) counts its exits through the one accounting view, the first three written out.
 * Nothing is kept or trusted: what is held here is that both give what the loop gives. A machine with
 * the memo against one whose hits count each exit by countExits as before (costs in thirds, so that a
 * sum out of order shows), and against one with every operation by the rules and no memo
 * (logStepExits): after every operation of a stream of %cr8 pairs and host ticks of 1 to 40 runs among
 * the table's operations, the same state, exit counts, counters, host ns and step exits; and an install
 * host's totals with and without the memo. A hit's exit counted wrong, twice or out of order, or a
 * repeat of more than one run cut short, fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { Counter, type Machine, RecKind, RepeatOp } from '../../src/core/vcpu/machine.js';
import { STEP_LOG } from '../../src/core/vcpu/machineState.js';
import { ffWords, ringQual, ringSlot } from '../../src/core/vcpu/fastForward.js';
import { memoExitCount, memoExitQual, memoExitSlot, memoStore } from '../../src/core/vcpu/repeatMemo.js';
import { ENGINE_HOSTS, firstHost, hostTotals } from '../support/hosts.js';
import { assertSameAccounting, buildMachine, seededDraws } from '../support/machines.js';
import { DESKTOP } from '../support/profiles.js';

/** Memo hits by their run's exits (last bucket: 4), and repeats of one run (repeat is public). */
interface Seen {
  hits: number[];
  single: number;
}

function watch(m: Machine): Seen {
  const seen: Seen = { hits: [0, 0, 0, 0, 0], single: 0 };
  const at = m as unknown as { repeatFixedPoint(v: number, count: number, op: number, e: number): number };
  const hit = at.repeatFixedPoint.bind(m);
  at.repeatFixedPoint = (v: number, count: number, op: number, e: number): number => {
    seen.hits[Math.min(memoExitCount(e), 4)]++;
    return hit(v, count, op, e);
  };
  const repeat = m.repeat.bind(m);
  m.repeat = (v: number, count: number, op: number, a: number, b: number): number => {
    if (count === 1) seen.single++;
    return repeat(v, count, op, a, b);
  };
  return seen;
}

/** One operation of a deterministic stream: mostly repeats, among the table's operations that move the state. */
function operate(m: Machine, i: number, k: number, v: number, a: number): void {
  if (i % 40 === 0) m.beginStep(i);
  const runs = [1, 1, 1, 2, 3, 5, 40][a % 7];
  if (k < 4) m.cr8Pairs(v, runs, a % 3 === 0 ? 8 : 2, k === 0 ? 1 : 0);
  else if (k < 7) m.hostInterrupts(v, runs);
  else if (k === 7) m.raiseInterrupt(v, 0x20 + (a % 0xe0), a % 5 === 0);
  else if (k === 8) m.eoi(v);
  else if (k === 9) m.iret(v);
  else if (k === 10) m.writeCr8(v, a & 15);
  else if (k === 11) m.guestTimerExpires(v, 0xd1);
  else m.eoiCr8Iret(v, a & 15);
}

/**
 * repeatFixedPoint as it was before E20 (countExits per exit, each its own additions), put on `m`:
 * the sums the written-out form must make in the same order.
 */
function countedOneByOne(m: Machine): void {
  const at = m as unknown as {
    repeatFixedPoint(v: number, count: number, op: RepeatOp, e: number): number;
    countExits(v: number, slot: number, qualification: number, count: number, kind: RecKind): void;
  };
  at.repeatFixedPoint = (v: number, count: number, op: RepeatOp, e: number): number => {
    const exits = memoExitCount(e);
    const start = m.stepExitCount;
    const executed = start + 2 * exits <= STEP_LOG ? Math.min(count, 2) : count;
    const c = v * Counter.COUNT;
    if (op === RepeatOp.CR8_PAIR) {
      m.counters[c + Counter.CR8_READS] += count;
      m.counters[c + Counter.CR8_WRITES] += 2 * count;
    }
    for (let i = 0; i < exits; i++) at.countExits(v, memoExitSlot(e, i), memoExitQual(e, i), count, RecKind.EXIT);
    m.stepExitCount = start + executed * exits;
    return executed;
  };
}

type Make = 'memo' | 'one by one' | 'rules';

function machineOf(policy: 'bhyve-12.1' | 'bhyve-tpr-v1' | 'kvm', how: Make, thirds: boolean): Machine {
  const m = buildMachine({ profile: DESKTOP, policy, vcpus: 2 });
  m.exitCostNs.set(Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 90 + 41 * i + (thirds ? i / 3 : 0)));
  if (how === 'one by one') countedOneByOne(m);
  if (how === 'rules') m.logStepExits(); // no memo, no table (Machine.repeat)
  m.launch();
  return m;
}

/** `got` and `want` fed the same stream of 6,000 operations, compared after each; what `got`'s memo saw. */
function compareStreams(got: Machine, want: Machine): Seen {
  const seen = watch(got);
  const draw = seededDraws(7);
  for (let i = 0; i < 6000; i++) {
    const k = draw(13);
    const v = draw(2);
    const a = draw(1e6);
    for (const m of [got, want]) operate(m, i, k, v, a);
    const what = `operation ${i} (${k} on vCPU ${v})`;
    assertSameAccounting(got, want, what);
  }
  return seen;
}

for (const policy of ['bhyve-12.1', 'bhyve-tpr-v1', 'kvm'] as const) {
  test(`a machine under ${policy}: a memo hit's sums are countExits', in its order, after every operation`, () => {
    // Costs in thirds: count x cost added once differs from the loop's runs one by one (the memo is
    // exact on whole-ns costs, as the cost model's), but not from countExits' additions.
    const seen = compareStreams(machineOf(policy, 'memo', true), machineOf(policy, 'one by one', true));
    // The memo was hit with runs of exits (bhyve-12.1's %cr8 pairs: three), and repeats of one run made.
    assert.ok(seen.hits.slice(1).reduce((s, n) => s + n, 0) >= 100, `hits: ${JSON.stringify(seen.hits)}`);
    if (policy === 'bhyve-12.1') assert.ok(seen.hits[3] >= 100, `hits: ${JSON.stringify(seen.hits)}`);
    assert.ok(seen.single >= 500, `repeats of one run: ${seen.single}`);
  });

  test(`a machine under ${policy}: repeats from the memo and of one run equal the loop, after every operation`, () => {
    compareStreams(machineOf(policy, 'memo', false), machineOf(policy, 'rules', false));
  });
}

/**
 * A fixed point of %cr8 pairs (raised 8, base 0) kept for vCPU 0 of `m` at its state now, whose run
 * has `slots.length` exits in those slots. The memo's own runs have one slot (CR_ACCESS three times, an
 * external interrupt once): this one tells the exits apart and reaches the count past three.
 */
function keepFixedPoint(m: Machine, slots: number[]): void {
  const ff = new Int32Array(ffWords(m.n));
  slots.forEach((slot, i) => {
    ff[ringSlot(i)] = slot;
    ff[ringQual(i)] = 100 + i;
  });
  const key = (m as unknown as { machineKey: number }).machineKey;
  memoStore(key, 0, RepeatOp.CR8_PAIR, 8, 0, m.s, 0, ff, 0, slots.length, -1, 0);
}

test("a memo hit of four exits in four slots: countExits' sums, exit by exit, in its order", () => {
  for (const slots of [[3, 11, 17, 29], [29, 17], [5, 9, 5], [1]]) {
    const [got, want] = [machineOf('bhyve-12.1', 'memo', true), machineOf('bhyve-12.1', 'one by one', true)];
    const seen = watch(got);
    for (const m of [got, want]) {
      keepFixedPoint(m, slots);
      for (const count of [3, 1, 70, 2]) m.cr8Pairs(0, count, 8, 0);
    }
    assert.deepEqual(
      seen.hits,
      [0, 0, 0, 0, 0].map((_, i) => (Math.min(slots.length, 4) === i ? 4 : 0)),
      `${slots}`,
    );
    assertSameAccounting(got, want, `${slots}`);
    assert.equal(
      got.exitTotals.reduce((s, n) => s + n, 0),
      76 * slots.length,
      `${slots}: every run's exits`,
    );
  }
});

const HOSTS: Record<string, string> = {
  "the seed's Windows 10 install on 4 cores, bhyve-12.1": `
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 20s }] }`,
  'an install, a build and a ping-pong on 2 cores for 6 vCPUs, bhyve-12.1': ENGINE_HOSTS.installBuildPingPong,
};

function host(yaml: string): HostSimulation {
  return firstHost(`name: repeat\nseed: 3\n${yaml.trim()}\nduration: 2s\n`, 'repeat.yaml');
}

test('engine hosts: the same totals with the memo and one-run repeats as with every repeat by the loop', () => {
  const all: Seen = { hits: [0, 0, 0, 0, 0], single: 0 };
  for (const [name, yaml] of Object.entries(HOSTS)) {
    const memo = host(yaml);
    const seen = watch(memo.machine);
    const got = hostTotals(memo, 2e9);
    const rules = host(yaml);
    rules.machine.logStepExits();
    assert.equal(got, hostTotals(rules, 2e9), name);
    seen.hits.forEach((n, i) => (all.hits[i] += n));
    all.single += seen.single;
  }
  // The install's hits: %cr8 pairs of three exits, host ticks of one; its ticks one run at a time.
  assert.ok(all.hits[1] > 100 && all.hits[3] > 1000, `hits: ${JSON.stringify(all.hits)}`);
  assert.ok(all.single > 1000, `repeats of one run: ${all.single}`);
});
