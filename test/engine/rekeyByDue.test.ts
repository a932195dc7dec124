/**
 * shareChanged's re-key without the walk (HostSimulation.rekeyByDue, docs/PERF.md twenty-first
 * session) is exact: two copies of an overcommitted host, one re-keying every running vCPU by its walk
 * at each share change (HostSimulation.rekeyAll, as before) and one taking the shortcut where it
 * holds, run event by event in lockstep (advanceTo's own loop, written out, and its closing advances
 * at each bound). After every event every machine and engine word, the PRNG, the heap's keys, order
 * and positions, `now` and `events` are equal, and the shortcut was taken often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSimulation } from '../../src/core/engine/host.js';
import type { EventHeap } from '../../src/core/engine/heap.js';
import { scenarios } from '../../bench/cases.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';
import { firstHost } from '../support/hosts.js';
import { hostWords, wordsDiffer } from '../support/hostWords.js';

/** What advanceTo's loop reads and writes, reached past `private` (the test drives the loop itself). */
interface Loop {
  heap: Pick<EventHeap, 'key' | 'size' | 'peek'> & { heap: Int32Array; pos: Int32Array };
  untilNs: number;
  processVcpu(v: number): void;
}
const loop = (h: HostSimulation): Loop => h as unknown as Loop;

/** Every word hostWords compares, plus the heap's order and positions, `now` and `events`. */
function words(h: HostSimulation): ReturnType<typeof hostWords> {
  const heap = loop(h).heap;
  return [...hostWords(h), heap.heap, heap.pos, Float64Array.of(h.now, h.events, heap.size)];
}

/** Runs `f` on `h` with the re-key rule `all` (the static switch is the engine's, for both copies). */
function withRule<T>(all: boolean, f: () => T): T {
  const was = HostSimulation.rekeyAll;
  HostSimulation.rekeyAll = all;
  try {
    return f();
  } finally {
    HostSimulation.rekeyAll = was;
  }
}

/** One event of `h` before `until`, as advanceTo's loop runs it; false when none is left. */
function step(h: HostSimulation, until: number): boolean {
  const l = loop(h);
  if (l.heap.size === 0) return false;
  const v = l.heap.peek();
  const time = l.heap.key[v];
  if (!(time < until)) return false;
  h.now = time;
  h.machine.clockNs = time;
  l.processVcpu(v);
  h.events++;
  return true;
}

/**
 * Host `scenario` twice, by walk and by shortcut, run to `seconds` in bounds `boundNs` apart (each an
 * advanceTo closing advance, which the shortcut must not trust), compared after every event. Returns
 * the re-keys [shortcut, walked] of the shortcut copy.
 */
function lockstep(scenario: string | Scenario, seconds: number, boundNs: number): number[] {
  const walked = firstHost(scenario);
  const fast = firstHost(scenario);
  const tally = new Float64Array(2);
  let t = 0;
  let events = 0;
  while (t < seconds * 1e9) {
    t += boundNs;
    loop(walked).untilNs = t;
    loop(fast).untilNs = t;
    for (;;) {
      const a = withRule(true, () => step(walked, t));
      HostSimulation.rekeyTally = tally;
      const b = withRule(false, () => step(fast, t));
      HostSimulation.rekeyTally = null;
      assert.equal(b, a, `an event before ${t} in one copy only (event ${events})`);
      if (!a) break;
      events++;
      const moved = wordsDiffer(words(walked), words(fast));
      assert.equal(moved, '', `after event ${events} (t ${walked.now}): ${moved} differ`);
    }
    withRule(true, () => walked.advanceTo(t));
    HostSimulation.rekeyTally = tally;
    withRule(false, () => fast.advanceTo(t));
    HostSimulation.rekeyTally = null;
    const moved = wordsDiffer(words(walked), words(fast));
    assert.equal(moved, '', `after advanceTo(${t}): ${moved} differ`);
  }
  return Array.from(tally);
}

const withSeed = (yaml: string, seed: number): string => yaml.replace(/^seed: \d+$/m, `seed: ${seed}`);

/** bench/cases.ts's overcommitted host (matrix.yaml's: 21 vCPUs on 4 cores, bhyve-tpr-v1), as YAML with its seed. */
const OVERCOMMIT = `name: rekey-by-due
seed: 1
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-tpr-v1 }
guests:
  - os: windows-10-1909
    count: 10
    vcpus: 2
    phases:
      - { phase: boot, duration: 300ms }
      - { phase: build, work: 400ms }
      - { phase: idle }
  - { os: ubuntu-18.04, name: linux, memory: 1GiB }
duration: 2s
`;

/** KVM on 2 cores: an install's chunks, Linux ping-pong hops and a build, overcommitted. */
const CHUNKS_AND_HOPS = `name: rekey-by-due-mixed
seed: 1
host: { cpu: xeon-e5-2667v4, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, name: installer, vcpus: 2, phases: [{ phase: install, work: 300ms }, { phase: idle }] }
  - { os: ubuntu-18.04, name: pingpong, vcpus: 2, x2apic: true, phases: [{ phase: ping-pong, hop: 40us, duration: 2s }] }
  - { os: freebsd-12.1, name: builder, vcpus: 2, phases: [{ phase: build, work: 300ms }, { phase: idle }] }
  - { os: windows-server-2019, name: idle, vcpus: 2 }
duration: 2s
`;

test("the bench's overcommitted host (booting): the same words after every event, re-keyed by walk or by due time", () => {
  const [shortcut, walked] = lockstep(scenarios['overcommit-host'].scenario, 1, 250e6);
  assert.ok(shortcut > 5_000 && walked > 5_000, `shortcut ${shortcut}, walked ${walked}`);
});

for (const seed of [2, 3, 4]) {
  test(`21 vCPUs on 4 cores booting, building and idle, seed ${seed}: the same words after every event`, () => {
    const [shortcut, walked] = lockstep(withSeed(OVERCOMMIT, seed), 1.2, 100e6 + seed * 37_000);
    assert.ok(shortcut > 1_000 && walked > 1_000, `shortcut ${shortcut}, walked ${walked}`);
  });
}

for (const seed of [1, 5]) {
  test(`an install, ping-pong and a build on 2 cores under KVM, seed ${seed}: the same words after every event`, () => {
    const [shortcut, walked] = lockstep(parseScenario(withSeed(CHUNKS_AND_HOPS, seed), 'rekey.yaml'), 1, 50e6);
    assert.ok(shortcut > 100 && walked > 100, `shortcut ${shortcut}, walked ${walked}`);
  });
}
