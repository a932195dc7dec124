/**
 * The exact fast-forwards (src/core/vcpu/fastForward.ts, repeatMemo.ts), as properties over random
 * cases (test/support/randomCases.ts): cr8Pairs(), hostInterrupts() and repeat() equal executing the
 * operations one by one, from any state and from the fixed point the memo keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Machine, RepeatOp } from '../../src/core/vcpu/machine.js';
import { memoUnreadWords } from '../../src/core/vcpu/repeatMemo.js';
import { F } from '../../src/core/vcpu/layout.js';
import { EXIT_SLOT_COUNT, VENDOR_SLOTS } from '../../src/core/vcpu/exits.js';
import { SEED, configMachine, apply, realistic, caseArb, describeCase, type Case } from '../support/randomCases.js';

/** Two machines of the same case that ran the same (realistic) ops, ready for the step under test. */
function twinMachines(c: Case, costs: Float64Array): [Machine, Machine] {
  const a = configMachine(c.config, c.vcpus, c.x2apic);
  const b = configMachine(c.config, c.vcpus, c.x2apic);
  for (const m of [a, b]) {
    m.exitCostNs.set(costs);
    m.beginStep(0);
    m.launch();
  }
  for (let i = 0; i < c.ops.length; i++) {
    a.beginStep(i + 1);
    b.beginStep(i + 1);
    const op = realistic(a, c.ops[i]);
    apply(a, op);
    apply(b, op);
  }
  a.beginStep(1000);
  b.beginStep(1000);
  return [a, b];
}

/** Everything a fast-forward must reproduce: exit counts, counters, host time, state, violations, deliveries. */
function assertSameMachines(a: Machine, b: Machine, what: string): void {
  assert.deepEqual(Array.from(a.exitCounts), Array.from(b.exitCounts), `${what}: exit counts`);
  assert.deepEqual(Array.from(a.counters), Array.from(b.counters), `${what}: counters`);
  assert.deepEqual(Array.from(a.exitHostNs), Array.from(b.exitHostNs), `${what}: host ns per slot`);
  assert.deepEqual(Array.from(a.vcpuHostNs), Array.from(b.vcpuHostNs), `${what}: host ns per vCPU`);
  assert.deepEqual(Array.from(a.s), Array.from(b.s), `${what}: state`);
  assert.deepEqual(
    a.violations.map((x) => x.check),
    b.violations.map((x) => x.check),
    `${what}: violations`,
  );
  assert.equal(a.stepDeliveredCount, b.stepDeliveredCount, `${what}: deliveries`);
}

test('[Machine.cr8Pairs exact fast-forward] n x (read CR8, write raised, write base) fast-forwarded equals executing them one by one: exit counts, counters, host time, state', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 100 + 37 * i);
  fc.assert(
    fc.property(
      caseArb(30),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: 0, max: 15 }),
      fc.nat(),
      (c, pairs, raised, base, pick) => {
        const [a, b] = twinMachines(c, costs);
        const v = pick % c.vcpus;
        const executed = a.cr8Pairs(v, pairs, raised, base);
        assert.ok(executed >= 1 && executed <= pairs);
        for (let p = 0; p < pairs; p++) {
          b.readCr8(v);
          b.writeCr8(v, raised);
          b.writeCr8(v, base);
        }
        assertSameMachines(
          a,
          b,
          `${describeCase(c)} v=${v} pairs=${pairs} raised=${raised} base=${base} executed=${executed}`,
        );
      },
    ),
    { seed: SEED, numRuns: 1000 },
  );
});

test('[Machine.hostInterrupts exact fast-forward] n host timer ticks fast-forwarded equal n hostInterrupt() calls one by one', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 50 + 13 * i);
  fc.assert(
    fc.property(caseArb(30), fc.integer({ min: 1, max: 500 }), fc.nat(), (c, ticks, pick) => {
      const [a, b] = twinMachines(c, costs);
      const v = pick % c.vcpus;
      a.hostInterrupts(v, ticks);
      for (let t = 0; t < ticks; t++) b.hostInterrupt(v);
      assertSameMachines(a, b, `${describeCase(c)} v=${v} ticks=${ticks}`);
    }),
    { seed: SEED, numRuns: 500 },
  );
});

test('[Machine.repeat memo] cr8Pairs and hostInterrupts again from the fixed point the last call left (src/core/vcpu/repeatMemo.ts) equal running them one by one, and the memo-less fast-forward', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 100 + 37 * i);
  fc.assert(
    fc.property(
      caseArb(30),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 6 }),
      fc.integer({ min: 0, max: 15 }),
      fc.boolean(),
      fc.nat(),
      (c, calls, raised, ticks, pick) => {
        const [a, b] = twinMachines(c, costs);
        const [plain] = twinMachines(c, costs);
        plain.logStepExits(); // the step's exit log on: no memo
        const v = pick % c.vcpus;
        for (const n of calls) {
          for (const m of [a, plain]) {
            if (ticks) m.hostInterrupts(v, n);
            else m.cr8Pairs(v, n, raised, 0);
          }
          for (let i = 0; i < n; i++) {
            if (ticks) b.hostInterrupt(v);
            else {
              b.readCr8(v);
              b.writeCr8(v, raised);
              b.writeCr8(v, 0);
            }
          }
        }
        const what = `${describeCase(c)} v=${v} calls=${calls.join(',')} ${ticks ? 'host ticks' : `raised=${raised}`}`;
        assertSameMachines(a, b, what);
        assertSameMachines(a, plain, what);
        assert.equal(a.stepExitCount, plain.stepExitCount, `${what}: the step's exit count`);
      },
    ),
    { seed: SEED, numRuns: 500 },
  );
});

test('[Machine.repeat memo] a %cr8 pair or a host tick never reads the words the memo does not compare (memoUnreadWords): scrambling them changes nothing it does', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 100 + 37 * i);
  fc.assert(
    fc.property(
      caseArb(30),
      fc.integer({ min: 0, max: 15 }),
      fc.boolean(),
      fc.nat(),
      fc.array(fc.integer(), { minLength: 20, maxLength: 20 }),
      (c, raised, tick, pick, noise) => {
        const [a, b] = twinMachines(c, costs);
        const v = pick % c.vcpus;
        const base = v * F.STRIDE;
        const unread = memoUnreadWords(b.s, base);
        unread.forEach((w, i) => (b.s[base + w] = noise[i % noise.length]));
        b.forgetStates(); // written from outside: the table of interned states (vcpu/transitions.ts) must not trust its hint
        for (const m of [a, b]) {
          if (tick) m.hostInterrupt(v);
          else {
            m.readCr8(v);
            m.writeCr8(v, raised);
            m.writeCr8(v, 0);
          }
        }
        // What the run did: the same, but in the words it never reads (as they are after the run).
        const skip = new Set(memoUnreadWords(a.s, base).map((w) => base + w));
        for (const m of [a, b]) for (const i of skip) m.s[i] = 0;
        const what = `${describeCase(c)} v=${v} ${tick ? 'host tick' : `raised=${raised}`}`;
        assertSameMachines(a, b, what);
        assert.equal(a.stepExitCount, b.stepExitCount, `${what}: exits`);
      },
    ),
    { seed: SEED, numRuns: 1000 },
  );
});

test('[Machine.repeat exact fast-forward] n repetitions of each RepeatOp (workload-profile instructions) equal n single repetitions', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 70 + 11 * i);
  // [op, a, b] as the workload engine issues them (src/core/engine/host.ts WL_REPEAT), plus an x2APIC-range MSR.
  const ops: readonly (readonly [number, number, number])[] = [
    [RepeatOp.CR8_WRITE_PAIR, 2, 0],
    [RepeatOp.CR8_READ, 0, 0],
    [RepeatOp.CPUID, 0, 0],
    [RepeatOp.IO, 0xcf8, 0],
    [RepeatOp.MMIO, 0, 0],
    [RepeatOp.RDMSR, 0x6e0, 0],
    [RepeatOp.WRMSR, 0x6e0, 0],
    [RepeatOp.WRMSR, 0x838, 100000],
    [RepeatOp.TIMER_INITIAL_COUNT, 100000, 0],
  ];
  fc.assert(
    fc.property(caseArb(30), fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (c, n, pick, which) => {
      const [a, b] = twinMachines(c, costs);
      const v = pick % c.vcpus;
      const vendorSlots = VENDOR_SLOTS[c.config.profile.vendor];
      // One of the listed ops, or an opaque exit in one of this vendor's slots.
      const k = which % (ops.length + 1);
      const [op, x, y] = k < ops.length ? ops[k] : [RepeatOp.OPAQUE_EXIT, vendorSlots[which % vendorSlots.length], 0];
      const executed = a.repeat(v, n, op, x, y);
      assert.ok(executed >= 1 && executed <= n);
      for (let i = 0; i < n; i++) b.repeat(v, 1, op, x, y);
      assertSameMachines(a, b, `${describeCase(c)} v=${v} op=${op} a=${x} b=${y} n=${n} executed=${executed}`);
    }),
    { seed: SEED, numRuns: 800 },
  );
});
