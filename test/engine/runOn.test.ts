/**
 * An engine event that runs on in processVcpu without a heap round trip (src/core/engine/host.ts runOn,
 * docs/PERF.md twentieth session): after a kind ran, when the vCPU stays the heap's root at a time
 * before advanceTo's bound, the next pop would return it, so processVcpu goes on there. The same steps
 * at the same times in the same order, so nothing may differ from the engine that pops every event
 * (HostSimulation.runOnEvents off), not even the engine-event count.
 * 1. Lockstep: two copies of each host, run-on on and off, advanced to the same bounds in 37 us
 *    steps (thousands of run-ons stop at a bound, and a tick's ISR end a few microseconds on often
 *    falls on the other side of one): after every step the machine's and engine's words, the PRNG,
 *    the heap (keys, order, positions) and the events count are the same bit for bit.
 * 2. The lockstep catches a run-on that ignores advanceTo's bound or another vCPU's earlier key (each
 *    put in place of runOn here): the comparison can fail.
 * 3. Whole runs: the totals (with the events count) of run-on on and off are equal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSimulation } from '../../src/core/engine/host.js';
import { loadModelData } from '../../src/model/data.js';
import { runHosts } from '../../src/run/simulate.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { parseScenario } from '../../src/scenario/load.js';
import { firstHost, ISR_FUSION_HOSTS } from '../support/hosts.js';
import { hostWords, wordsDiffer } from '../support/hostWords.js';

interface Heap {
  key: Float64Array;
  heap: Int32Array;
  pos: Int32Array;
  size: number;
  peek(): number;
  keepsRoot(id: number): boolean;
}
type RunOn = (this: HostSimulation, v: number) => boolean;

const data = loadModelData();
const heapOf = (h: HostSimulation): Heap => (h as unknown as { heap: Heap }).heap;
const untilOf = (h: HostSimulation): number => (h as unknown as { untilNs: number }).untilNs;

const HOSTS: Record<string, string> = {
  ...ISR_FUSION_HOSTS,
  // test/engine/fold.test.ts's mixed fleet (bursts and idle gaps), with the invariant checks on.
  'a mixed host, bursts and idle gaps, bhyve-tpr-v3, invariant checks on': `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-tpr-v3 }
debug: true
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: boot, duration: 100ms }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: install, duration: 300ms }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: build, duration: 300ms }, { phase: idle }] }
  - { os: freebsd-12.1, vcpus: 1, phases: [{ phase: disk-benchmark, duration: 300ms }] }`,
};

/** A step of advanceTo: the bound falls between a tick's TIMER and its ISR end often (a few us apart). */
const STEP_NS = 37_000;
const RUN_NS = 400e6;

/** Which words of the two hosts differ, by name ('' none): hostWords', the heap's order and positions, the events count. */
function differ(a: HostSimulation, b: HostSimulation): string {
  const moved = [wordsDiffer(hostWords(a), hostWords(b))];
  const [p, q] = [heapOf(a), heapOf(b)];
  if (p.size !== q.size || p.heap.subarray(0, p.size).some((id, i) => q.heap[i] !== id)) moved.push('heap order');
  if (p.pos.some((i, id) => q.pos[id] !== i)) moved.push('heap positions');
  if (a.events !== b.events) moved.push(`events (${a.events}, ${b.events})`);
  if (a.now !== b.now) moved.push('now');
  return moved.filter((d) => d !== '').join(', ');
}

/**
 * Host `yaml`'s first host twice, run-on on and off, advanced in lockstep: the first step after which
 * they differ ('' none) and the run-ons the first made.
 */
function lockstep(yaml: string, runNs = RUN_NS): { differ: string; runOns: number; events: number } {
  const text = `name: runon\nseed: 11\n${yaml.trim()}\nduration: 1s\n`;
  const on = firstHost(text, 'runon.yaml');
  const off = firstHost(text, 'runon.yaml');
  const runOns = new Float64Array(1);
  try {
    for (let t = STEP_NS; t < runNs; t += STEP_NS) {
      HostSimulation.runOnEvents = true;
      HostSimulation.runOnTally = runOns;
      on.advanceTo(t);
      HostSimulation.runOnEvents = false;
      HostSimulation.runOnTally = null;
      off.advanceTo(t);
      const d = differ(on, off);
      if (d !== '') return { differ: `after advanceTo(${t}): ${d}`, runOns: runOns[0], events: off.events };
    }
  } finally {
    HostSimulation.runOnEvents = true;
    HostSimulation.runOnTally = null;
  }
  return { differ: '', runOns: runOns[0], events: off.events };
}

// ---------------------------------------------------------------- 1. lockstep

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: events run on without a heap round trip leave the same words, heap and events count after every step`, () => {
    const r = lockstep(yaml);
    assert.equal(r.differ, '');
    assert.ok(r.events > 3000, `${r.events} events`);
    assert.ok(r.runOns > r.events / 10, `${r.runOns} of ${r.events} events ran on`);
  });
}

// ---------------------------------------------------------------- 2. the comparison can fail

/**
 * runOn as it is, and two wrong ones: each runs on where the heap would pop another vCPU, or none. The
 * third way to be wrong, a tie at the same time broken otherwise than by index, is held by
 * test/core/heap.test.ts (keepsRoot against the least (time, id), times from 0 to 12: many ties); in
 * whole hosts a tie with the root at a run-on is rare (1 in 0.83 M run-on tests over the busy fleet's
 * first 10 s, none in the idle fleet's, docs/PERF.md twentieth session), too rare for a lockstep to meet.
 */
const own = (HostSimulation.prototype as unknown as { runOn: RunOn }).runOn;
const wrong: Record<string, RunOn> = {
  "ignores advanceTo's bound": function (v) {
    const heap = heapOf(this);
    if (heap.keepsRoot(v)) {
      this.now = heap.key[v];
      this.machine.clockNs = heap.key[v];
      return true;
    }
    return own.call(this, v);
  },
  "ignores another vCPU's earlier key": function (v) {
    const heap = heapOf(this);
    if (heap.key[v] < untilOf(this) && heap.peek() === v) {
      this.now = heap.key[v];
      this.machine.clockNs = heap.key[v];
      return true;
    }
    return own.call(this, v);
  },
};

for (const [how, runOn] of Object.entries(wrong)) {
  test(`the lockstep catches a run-on that ${how}`, () => {
    const proto = HostSimulation.prototype as unknown as { runOn: RunOn };
    proto.runOn = runOn;
    try {
      const r = Object.values(HOSTS).map((yaml) => lockstep(yaml, 100e6).differ);
      assert.deepEqual(
        r.map((d) => d !== ''),
        r.map(() => true),
        'a host did not differ',
      );
    } finally {
      proto.runOn = own;
    }
  });
}

// ---------------------------------------------------------------- 3. whole runs

/** The case's totals as results.json's raw form, with the engine-event count (TotalsAccumulator.toJSON). */
function totals(yaml: string, runOn: boolean): string {
  const scenario = parseScenario(`name: runon\nseed: 7\n${yaml.trim()}\nduration: 1s\n`, 'runon.yaml');
  const acc = new TotalsAccumulator(true);
  HostSimulation.runOnEvents = runOn;
  try {
    for (const variant of scenario.variants) runHosts(scenario, variant, data, 0, variant.host.count, acc);
  } finally {
    HostSimulation.runOnEvents = true;
  }
  return JSON.stringify(acc.toJSON());
}

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: whole runs with and without run-on give the same totals and events count`, () => {
    const on = totals(yaml, true);
    assert.match(on, /"events":[1-9]/);
    assert.equal(on, totals(yaml, false));
  });
}
