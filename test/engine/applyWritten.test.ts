/**
 * E18 (docs/perf/engine30.md, the thirty-eighth session): the table's apply (src/core/vcpu/interned.ts)
 * writes a record's first five words, three exits and three counters out and loops only past them.
 * Held here: records of every one of those counts and past them, applied from the table, give what the
 * rules give - on two hosts, the same totals, exit counts, counters, host ns and state words, bit for
 * bit, as the same host with every operation by the rules (a machine that logs its step exits); on a
 * machine whose ISR ends take four exits, the same after every operation, the exit ring included. A
 * count written out wrong (a word, exit or counter left out, taken twice or from the wrong place) fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { RING_MASK, RING_QUALS, RING_SLOTS } from '../../src/core/vcpu/fastForward.js';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { T, tx } from '../../src/core/vcpu/transitions.js';
import { ENGINE_HOSTS, firstHost, hostTotals } from '../support/hosts.js';
import { assertSameAccounting, buildMachine, seededDraws } from '../support/machines.js';
import { DESKTOP } from '../support/profiles.js';

/** Records applied per count of words, exits and counters; the last bucket: that many or more. */
interface Shapes {
  words: number[];
  exits: number[];
  counters: number[];
}

/** Counts the shapes of the records `m` applies from the table (apply is private: replaced on the instance). */
function countShapes(m: Machine): Shapes {
  const shapes: Shapes = { words: [0, 0, 0, 0, 0, 0, 0], exits: [0, 0, 0, 0, 0], counters: [0, 0, 0, 0, 0] };
  const at = m as unknown as { apply(v: number, r: number): number };
  const apply = at.apply.bind(m);
  at.apply = (v: number, r: number): number => {
    shapes.words[Math.min(tx[r + T.DIFFS], 6)]++;
    shapes.exits[Math.min(tx[r + T.EXITS], 4)]++;
    shapes.counters[Math.min(tx[r + T.COUNTERS], 4)]++;
    return apply(v, r);
  };
  return shapes;
}

const HOSTS: Record<string, string> = {
  'an install, a build and a ping-pong on 2 cores for 6 vCPUs, bhyve-12.1': ENGINE_HOSTS.installBuildPingPong,
  'an idle mixed fleet under KVM with Hyper-V guests': ENGINE_HOSTS.kvmIdleFleet,
};

function host(yaml: string): HostSimulation {
  return firstHost(`name: apply\nseed: 5\n${yaml.trim()}\nduration: 2s\n`, 'apply.yaml');
}

test('engine hosts: records applied from the table, past every written-out count of words and counters, equal the rules', () => {
  const all: Shapes = { words: [0, 0, 0, 0, 0, 0, 0], exits: [0, 0, 0, 0, 0], counters: [0, 0, 0, 0, 0] };
  for (const [name, yaml] of Object.entries(HOSTS)) {
    const tabulated = host(yaml);
    const shapes = countShapes(tabulated.machine);
    const got = hostTotals(tabulated, 2e9);
    const rules = host(yaml);
    rules.machine.logStepExits(); // every operation by the rules (tabulated.ts tabulates)
    assert.equal(got, hostTotals(rules, 2e9), name);
    for (const k of ['words', 'exits', 'counters'] as const) shapes[k].forEach((n, i) => (all[k][i] += n));
  }
  // Every written-out count and the loop past it, but four exits or more (the machine below).
  for (const k of ['words', 'exits', 'counters'] as const)
    all[k].forEach((n, i) => assert.ok(k === 'exits' && i === 4 ? true : n > 0, `${k}: ${JSON.stringify(all[k])}`));
});

/** A deterministic stream of the table's operations (`k` of 14), with deliveries and HLTs among them. */
function operate(m: Machine, i: number, k: number, v: number, a: number): void {
  if (i % 50 === 0) m.beginStep(i);
  if (k === 0) m.writeCr8(v, a & 15);
  else if (k === 1) m.readCr8(v);
  else if (k === 2) m.raiseInterrupt(v, 0x20 + (a % 0xe0), a % 7 === 0);
  else if (k === 3) m.eoi(v);
  else if (k === 4) m.iret(v);
  else if (k === 5) m.hlt(v);
  else if (k === 6) m.hostInterrupt(v);
  else if (k === 7) m.guestTimerExpires(v, 0xd1);
  else if (k === 8) m.timerInitialCount(v, a);
  else if (k === 9) m.raiseCr8(v, a & 15);
  else if (k === 10) m.eoiCr8(v, a & 15);
  else if (k === 11) m.eoiCr8Iret(v, a & 15);
  // An idle ISR's end: some of its records take four exits.
  else if (k === 12) m.eoiCr8IretHlt(v, a & 15);
  else m.mmio(v);
}

test('a machine under bhyve-12.1: records of four exits and more applied from the table equal the rules, exit ring included', () => {
  const make = (rulesOnly: boolean): Machine => {
    const m = buildMachine({ profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 2 });
    // Costs whose sums depend on their order (thirds), so an addition out of the rules' order shows.
    m.exitCostNs.set(Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 90 + 41 * i + i / 3));
    if (rulesOnly) m.logStepExits();
    m.launch();
    return m;
  };
  const tabulated = make(false);
  const rules = make(true);
  const shapes = countShapes(tabulated);
  const ring = (m: Machine): number[] =>
    Array.from((m as unknown as { ff: Int32Array }).ff.subarray(RING_SLOTS, RING_QUALS + RING_MASK + 1));
  const draw = seededDraws(1);
  for (let i = 0; i < 20000; i++) {
    const k = draw(14);
    const v = draw(2);
    const a = draw(1e6);
    for (const m of [tabulated, rules]) operate(m, i, k, v, a);
    const what = `operation ${i} (${k} on vCPU ${v})`;
    assertSameAccounting(tabulated, rules, what);
    assert.deepEqual(ring(tabulated), ring(rules), `${what}: the exit ring`);
  }
  assert.ok(shapes.exits[4] >= 10 && shapes.exits[3] >= 100, `exits: ${JSON.stringify(shapes.exits)}`);
});
