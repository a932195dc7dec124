/**
 * E19 (docs/perf/engine30.md, the thirty-ninth session): a transition record holds its exits' host ns
 * (src/core/vcpu/transitions.ts txNs), worked out when the rules ran, and apply adds them instead of
 * reading the machine's cost table. That is a cache: it holds only while every machine of a record's
 * class has the costs it was captured with, so the class is keyed by the exit-cost table and the
 * x2APIC MSR-write rule's cost as well as the profile and policy (src/core/vcpu/interned.ts). Held
 * here: machines of one profile and policy but other costs, run side by side in one thread, each
 * equal their rules twins after every operation (a class that left the costs out would apply the
 * first machine's costs to the second); machines with equal costs share the records; and with debug
 * checks, costs written after a machine's first tabulated operation are caught.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { txEpoch, txStats } from '../../src/core/vcpu/transitions.js';
import { ENGINE_HOSTS, firstHost, hostTotals } from '../support/hosts.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';
import { DESKTOP } from '../support/profiles.js';

/** Exit costs in sevenths or thirds, so that a cost or a sum out of order shows. */
const costsA = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 90 + 41 * i + i / 3);
const costsB = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 70 + 13 * i + i / 7);

function make(su: MachineSetup, costs: Float64Array, apicNs: number, rulesOnly: boolean): Machine {
  const m = buildMachine({ ...su, vcpus: 2 });
  m.exitCostNs.set(costs);
  m.apicMsrWriteCostNs = apicNs;
  if (rulesOnly) m.logStepExits(); // every operation by the rules
  m.launch();
  return m;
}

/** The table's operations, `k` of 14, with deliveries, HLTs and EOIs (x2APIC MSR writes under x2APIC). */
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
  else if (k === 12) m.eoiCr8IretHlt(v, a & 15);
  else m.mmio(v);
}

function same(got: Machine, want: Machine, what: string): void {
  assert.deepEqual(Array.from(got.s), Array.from(want.s), `${what}: state`);
  assert.deepEqual(Array.from(got.exitHostNs), Array.from(want.exitHostNs), `${what}: host ns per slot`);
  assert.deepEqual(Array.from(got.vcpuHostNs), Array.from(want.vcpuHostNs), `${what}: host ns per vCPU`);
  assert.deepEqual(Array.from(got.exitTotals), Array.from(want.exitTotals), `${what}: exits per slot`);
  assert.equal(got.stepHostNs, want.stepHostNs, `${what}: the step's host ns`);
}

const SETUPS: readonly { label: string; su: MachineSetup; apicA: number; apicB: number }[] = [
  { label: 'bhyve-12.1, xAPIC', su: { profile: DESKTOP, policy: 'bhyve-12.1' }, apicA: -1, apicB: -1 },
  // KVM charges an x2APIC EOI the MSR-write rule's cost: two machines apart by that cost alone.
  { label: 'kvm, x2APIC', su: { profile: DESKTOP, policy: 'kvm', x2apic: true }, apicA: 500 + 1 / 3, apicB: 310 },
];

for (const { label, su, apicA, apicB } of SETUPS) {
  test(`${label}: machines of one class but other exit costs apply their own costs from the table, as the rules charge them`, () => {
    // a: costs A; b: costs B (or only the x2APIC rule's cost apart); c: costs A again, after a.
    const b = label.startsWith('kvm') ? costsA : costsB;
    const pairs = [
      { name: 'a', m: make(su, costsA, apicA, false), rules: make(su, costsA, apicA, true) },
      { name: 'b', m: make(su, b, apicB, false), rules: make(su, b, apicB, true) },
      { name: 'c', m: make(su, costsA, apicA, false), rules: make(su, costsA, apicA, true) },
    ];
    let seed = 7;
    const draw = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let capturedB = 0;
    let capturedC = 0;
    let costed = 0;
    const epoch = txEpoch();
    for (let i = 0; i < 6000; i++) {
      const k = draw(14);
      const v = draw(2);
      const a = draw(16); // few vectors and counts: the tables do not fill and start afresh
      for (const p of pairs) {
        const before = txStats().transitions;
        const hostNs = p.m.stepHostNs;
        operate(p.m, i, k, v, a);
        operate(p.rules, i, k, v, a);
        const captured = txStats().transitions - before;
        if (p.name === 'b') capturedB += captured;
        if (p.name === 'c') capturedC += captured;
        if (p.m.stepHostNs !== hostNs && p.m.internedState(v) >= 0) costed++;
        same(p.m, p.rules, `${label}, machine ${p.name}, operation ${i} (${k} on vCPU ${v})`);
      }
    }
    assert.equal(txEpoch(), epoch, 'the tables never started afresh');
    // b's records are its own (its class is another), c replays a's (the same class: shared).
    assert.ok(capturedB > 20, `machine b captured ${capturedB} records of its own`);
    assert.equal(capturedC, 0, "machine c, with a's costs, replays a's records");
    assert.ok(costed > 1000, `${costed} costed operations through the table`);
  });
}

test("with debug checks, exit costs written after a machine's first tabulated operation are caught (its records hold the old ones)", () => {
  const run = (write: (m: Machine) => void): Machine => {
    const m = buildMachine({ profile: DESKTOP, policy: 'kvm', x2apic: true, vcpus: 1, debugChecks: true });
    m.exitCostNs.set(costsA);
    m.apicMsrWriteCostNs = 400;
    m.launch();
    m.beginStep(0);
    m.writeCr8(0, 2); // the class is worked out here
    write(m);
    m.writeCr8(0, 3); // from the hint: checked
    return m;
  };
  assert.doesNotThrow(() => run(() => {}));
  assert.throws(() => run((m) => (m.exitCostNs[3] += 1)), /exit costs written after/);
  assert.throws(() => run((m) => (m.apicMsrWriteCostNs = 401)), /exit costs written after/);
});

test("an engine host sets its exit costs before its machine's first tabulated operation: a KVM fleet with x2APIC guests under debug checks runs, and its totals are the rules'", () => {
  // HostState sets apicMsrWriteCostNs after the Machine is built; a class worked out before that
  // would hold -1 and debug checks would throw at the first hinted operation.
  const yaml = `name: record-costs\nseed: 3\n${ENGINE_HOSTS.kvmIdleFleet.trim()}\nduration: 2s\n`;
  const checked = firstHost(`debug: true\n${yaml}`, 'costs.yaml');
  assert.ok(checked.machine.apicMsrWriteCostNs >= 0, 'the x2APIC MSR-write rule has a cost of its own here');
  const got = hostTotals(checked, 2e9);
  const rules = firstHost(`debug: true\n${yaml}`, 'costs.yaml');
  rules.machine.logStepExits(); // every operation by the rules
  assert.equal(got, hostTotals(rules, 2e9));
});
