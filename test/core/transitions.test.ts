/**
 * The table of interned states (src/core/vcpu/transitions.ts, tabulated.ts): a machine whose hot
 * operations come from the table gives, bit for bit, what the rules give - state words, exit counts,
 * counters, host ns per slot and per vCPU, the step's exits and deliveries, return values - on random
 * operation sequences under every policy family, including from the table alone (a second machine
 * of the same class replaying what the first tabulated). The rules' reference is a machine that logs
 * its step exits, which keeps every operation on the rules' path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { HvFeature, HvMsr } from '../../src/core/hypervisor/hyperv.js';
import { F } from '../../src/core/vcpu/layout.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { TxOp, txEpoch, txLookup, txStats } from '../../src/core/vcpu/transitions.js';
import { assertSameAccounting, buildMachine, type MachineSetup } from '../support/machines.js';
import { AMD_AVIC, AMD_NO_AVIC, DESKTOP, NO_TPR_SHADOW, SERVER } from '../support/profiles.js';

const SEED = 0x7ab1e5;
const ALL_HV = HvFeature.VAPIC | HvFeature.SYNIC | HvFeature.STIMER | HvFeature.TIME;
/** IA32_TSC_DEADLINE (SDM vol. 3, "TSC-Deadline Mode"). */
const IA32_TSC_DEADLINE = 0x6e0;

const SETUPS: readonly (Omit<MachineSetup, 'vcpus' | 'x2apic'> & { label: string })[] = [
  { label: 'bhyve-12.1/DESKTOP', profile: DESKTOP, policy: 'bhyve-12.1' },
  { label: 'bhyve-tpr-v1/DESKTOP', profile: DESKTOP, policy: 'bhyve-tpr-v1' },
  { label: 'bhyve-tpr-v3/SERVER', profile: SERVER, policy: 'bhyve-tpr-v3' },
  { label: 'bhyve-tpr-v3/NO_TPR_SHADOW', profile: NO_TPR_SHADOW, policy: 'bhyve-tpr-v3' },
  { label: 'kvm/SERVER', profile: SERVER, policy: 'kvm' },
  { label: 'kvm/DESKTOP', profile: DESKTOP, policy: 'kvm' },
  { label: 'bhyve-12.1/AMD', profile: AMD_NO_AVIC, policy: 'bhyve-12.1' },
  { label: 'kvm/AMD AVIC', profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } },
  { label: 'kvm/DESKTOP Hyper-V', profile: DESKTOP, policy: 'kvm', hyperv: { features: ALL_HV, autoEoiVector: 0x50 } },
  { label: 'kvm/SERVER Hyper-V', profile: SERVER, policy: 'kvm', hyperv: { features: ALL_HV } },
];

type Op = readonly [kind: number, cpu: number, arg: number];

/**
 * The tabulated operations (12, 13: KfRaiseIrql's read-then-write of CR8 and an ISR's EOI then CR8
 * write, each one operation of the table; 14-16: KVM's TSC-deadline and stimer arms and a stimer's
 * expiry; 17: an ISR's EOI, CR8 write and IRET as one operation; an x2APIC EOI under KVM, 3, 13 and 17, with the short MSR-write cost when the machine has one), and
 * three that are not between them: an IPI and a doorbell's MMIO write (which keep the vCPU's interned
 * state id when its words come back unchanged) and an I/O instruction.
 */
function run(m: Machine, op: Op): number {
  const [kind, v, arg] = op;
  switch (kind) {
    case 0:
      m.writeCr8(v, arg & 15);
      return 0;
    case 1:
      return m.readCr8(v);
    case 2:
      return m.raiseInterrupt(v, 0x20 + (arg % 0xe0), arg % 7 === 0) ? 1 : 0;
    case 3:
      m.eoi(v);
      return 0;
    case 4:
      m.iret(v);
      return 0;
    case 5:
      m.hlt(v);
      return 0;
    case 6:
      m.hostInterrupt(v);
      return 0;
    case 7:
      return m.guestTimerExpires(v, 0xd1) ? 1 : 0;
    case 8:
      m.timerInitialCount(v, arg);
      return 0;
    case 9:
      m.sendIpi(v, arg % m.n, 0x30 + (arg % 0x40));
      return 0;
    case 10:
      m.ioInstruction(v, arg & 0xffff);
      return 0;
    case 12:
      return m.raiseCr8(v, arg & 15);
    case 13:
      m.eoiCr8(v, arg & 15);
      return 0;
    case 14:
      m.wrmsr(v, IA32_TSC_DEADLINE, arg % 3, 0);
      return 0;
    case 15:
      m.wrmsr(v, HvMsr.STIMER0_COUNT, arg % 3, 0);
      return 0;
    case 16:
      return m.stimerExpires(v, arg % 2 === 0 ? 0x50 : 0x30 + (arg % 0x40)) ? 1 : 0;
    case 17:
      // An ISR's end, EOI + CR8 write + IRET, one operation of the table; the rules' reference
      // (logging its exits) runs the three one by one.
      m.eoiCr8Iret(v, arg & 15);
      return 0;
    default:
      m.mmio(v);
      return 0;
  }
}

function opArb(vcpus: number): fc.Arbitrary<Op> {
  return fc.tuple(fc.integer({ min: 0, max: 17 }), fc.integer({ min: 0, max: vcpus - 1 }), fc.nat({ max: 1e6 }));
}

function machine(setup: MachineSetup, costs: Float64Array, rulesOnly: boolean, apicMsrWriteCostNs = -1): Machine {
  const m = buildMachine(setup);
  m.exitCostNs.set(costs);
  m.apicMsrWriteCostNs = apicMsrWriteCostNs;
  if (rulesOnly) m.logStepExits();
  m.beginStep(0);
  m.launch();
  return m;
}

/** Everything an operation leaves: what the engine and the totals read. */
function same(a: Machine, b: Machine, what: string): void {
  assertSameAccounting(a, b, what);
  assert.equal(a.stepDeliveredCount, b.stepDeliveredCount, `${what}: the step's deliveries`);
  for (let i = 0; i < Math.min(a.stepDeliveredCount, 64); i++) {
    assert.equal(a.stepDelivered[i], b.stepDelivered[i], `${what}: delivery ${i}`);
    assert.equal(a.stepDeliveredVcpu[i], b.stepDeliveredVcpu[i], `${what}: delivery ${i}'s vCPU`);
  }
  assert.deepEqual(
    a.violations.map((x) => x.check),
    b.violations.map((x) => x.check),
    `${what}: violations`,
  );
}

test('[vcpu/transitions.ts] operations from the table of interned states equal the rules bit for bit, also when a second machine replays only from the table', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 90 + 41 * i + 0.25 * (i % 3));
  let replayedOnly = 0;
  const quietAsked = [0, 0]; // with an id kept: not quiet, quiet
  const replayedKinds = new Map<string, number>();
  fc.assert(
    fc.property(
      fc.constantFrom(...SETUPS),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.constantFrom(-1, 37.25, 1234.5),
      fc
        .integer({ min: 1, max: 4 })
        .chain((steps) => fc.array(fc.array(opArb(3), { maxLength: 12 }), { minLength: steps, maxLength: steps })),
      (setup, vcpus, x2apic, apicCost, steps) => {
        const su = { ...setup, vcpus, x2apic };
        const rules = machine(su, costs, true, apicCost);
        const first = machine(su, costs, false, apicCost);
        const second = machine(su, costs, false, apicCost);
        steps.forEach((ops, step) => {
          for (const m of [rules, first, second]) m.beginStep(step + 1);
          for (const raw of ops) {
            const op: Op = [raw[0], raw[1] % vcpus, raw[2]];
            const what = `${setup.label} vcpus=${vcpus} x2apic=${x2apic} apicCost=${apicCost} step ${step + 1} op ${op.join(',')}`;
            const want = run(rules, op);
            assert.equal(run(first, op), want, `${what}: return value (first)`);
            const before = txStats().transitions;
            assert.equal(run(second, op), want, `${what}: return value (second)`);
            if (txStats().transitions === before && (op[0] <= 8 || op[0] >= 12)) {
              replayedOnly++;
              const tabulated = second.internedState(op[1]) >= 0; // a rules path forgets it
              const costed =
                tabulated &&
                x2apic &&
                apicCost >= 0 &&
                setup.policy === 'kvm' &&
                (op[0] === 3 || op[0] === 13 || op[0] === 17);
              const kind = op[0] >= 14 && tabulated ? `op ${op[0]}` : costed ? 'x2APIC EOI at the MSR-write cost' : '';
              if (kind !== '') replayedKinds.set(kind, (replayedKinds.get(kind) ?? 0) + 1);
            }
            same(first, rules, `${what}, first`);
            same(second, rules, `${what}, second`);
            // isQuiet from the interned state's flag (E13); the rules' machine keeps no ids and reads the words.
            for (let v = 0; v < vcpus; v++) {
              const quiet = rules.isQuiet(v);
              if (first.internedState(v) >= 0) quietAsked[quiet ? 1 : 0]++;
              assert.equal(first.isQuiet(v), quiet, `${what}: vCPU ${v} quiet (first)`);
              assert.equal(second.isQuiet(v), quiet, `${what}: vCPU ${v} quiet (second)`);
            }
          }
        });
      },
    ),
    { seed: SEED, numRuns: 400 },
  );
  assert.ok(replayedOnly > 1000, `the second machine took its outcomes from the table (${replayedOnly} times)`);
  assert.ok(quietAsked[0] > 1000 && quietAsked[1] > 1000, `isQuiet answered from an id: ${quietAsked.join(', ')}`);
  // KVM's timer arms, stimer expiries and x2APIC EOIs (tabulated since the seventeenth session:
  // docs/perf/history.md#seventeenth-session-kvms-timer-operations-in-the-table-the-records-layout-measured-applyfast-16).
  // And an ISR's end as one operation (EOI_CR8_IRET, fuseops).
  for (const kind of ['op 14', 'op 15', 'op 16', 'op 17', 'x2APIC EOI at the MSR-write cost'])
    assert.ok(
      (replayedKinds.get(kind) ?? 0) > 20,
      `${kind} replayed from the table (${replayedKinds.get(kind) ?? 0} times)`,
    );
});

/**
 * What trusts a vCPU's interned state id without comparing (the table, and the fast-forward memo's
 * fixed point), each operation run twice so that the second trusts it; then a test writes the state.
 */
const TRUSTING: readonly { label: string; op: (m: Machine) => void; tpr: number }[] = [
  { label: '[vcpu/transitions.ts] the table (MOV to CR8)', op: (m) => m.writeCr8(0, 3), tpr: 0x90 },
  {
    label: "[vcpu/repeatMemo.ts] the fast-forward memo's fixed point (%cr8 pairs)",
    op: (m) => m.cr8Pairs(0, 10, 2, 0),
    tpr: 0x20,
  },
];

for (const { label, op, tpr } of TRUSTING) {
  test(`${label}: a state written from outside the operations is looked up anew after forgetStates; with debug checks, forgetting to is caught`, () => {
    const costs = new Float64Array(EXIT_SLOT_COUNT).fill(100);
    const su: MachineSetup = { profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 1 };
    const rules = machine(su, costs, true);
    const m = machine(su, costs, false);
    for (const x of [rules, m]) {
      op(x);
      op(x);
      x.s[F.TPR] = tpr; // a test sets a state directly
    }
    m.forgetStates();
    for (const x of [rules, m]) op(x);
    same(m, rules, 'after forgetStates');

    const checked = buildMachine({ profile: DESKTOP, policy: 'bhyve-12.1', debugChecks: true });
    checked.launch();
    op(checked);
    op(checked);
    checked.s[F.TPR] = tpr;
    assert.throws(() => op(checked), /written outside the machine's operations/);
  });
}

test('[vcpu/interned.ts] isQuiet answers from the interned state a vCPU keeps: a request written behind it is seen after forgetStates; with debug checks, forgetting to is caught', () => {
  const costs = new Float64Array(EXIT_SLOT_COUNT).fill(100);
  const su: MachineSetup = { profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 1 };
  const m = machine(su, costs, false);
  m.writeCr8(0, 3);
  assert.ok(m.internedState(0) >= 0 && m.isQuiet(0), 'quiet, with an id kept');
  m.s[F.IRR + 2] = 1 << 1; // vector 0x41 requested, written directly
  assert.equal(m.isQuiet(0), true, 'the kept id is trusted (the words are not read)');
  m.forgetStates();
  assert.equal(m.isQuiet(0), false, 'after forgetStates: the words');

  const checked = machine({ ...su, debugChecks: true }, costs, false);
  checked.writeCr8(0, 3);
  assert.equal(checked.isQuiet(0), true);
  checked.s[F.PIR + 7] = 1 << 31;
  assert.throws(() => checked.isQuiet(0), /written outside the machine's operations/);
});

test("[vcpu/tabulated.ts] a device's MMIO exit (a doorbell) goes through the table: its record is applied the second time, as the rules do it, under every policy family", () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 90 + 41 * i + 0.25 * (i % 3));
  for (const setup of SETUPS) {
    const su = { ...setup, vcpus: 1 };
    const rules = machine(su, costs, true);
    const m = machine(su, costs, false);
    for (const x of [rules, m]) x.writeCr8(0, 3);
    const from = m.internedState(0);
    for (const x of [rules, m]) x.mmio(0);
    assert.ok(from >= 0 && txLookup(from, TxOp.MMIO, 0) >= 0, `${setup.label}: a record of (state, MMIO)`);
    for (const x of [rules, m]) for (let i = 0; i < 3; i++) x.mmio(0); // the state may move, then settles
    const records = txStats().transitions;
    for (const x of [rules, m]) for (let i = 0; i < 3; i++) x.mmio(0);
    assert.equal(txStats().transitions, records, `${setup.label}: replayed, not tabulated again`);
    assert.ok(m.internedState(0) >= 0, `${setup.label}: an id kept`);
    same(m, rules, `${setup.label}: after seven doorbells`);
  }
});

test("[vcpu/tabulated.ts] an IPI or a doorbell that leaves the sender's words as they were keeps its interned state id (trusted: with debug checks a state written behind it is caught)", () => {
  for (const send of [(m: Machine) => m.sendIpi(0, 1, 0x41), (m: Machine) => m.mmio(0)]) {
    const m = buildMachine({ profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 2, debugChecks: true });
    m.launch();
    m.writeCr8(0, 3);
    const before = Array.from(m.s.subarray(0, F.STRIDE));
    send(m);
    const after = Array.from(m.s.subarray(0, F.STRIDE));
    const icr: number[] = [F.ICR_LOW, F.ICR_HIGH];
    assert.deepEqual(
      after.filter((w, i) => w !== before[i] && !icr.includes(i)),
      [],
      'the key words came back',
    );
    m.s[F.TPR] = 0x90; // behind the machine's back: the kept id is stale now
    assert.throws(() => m.writeCr8(0, 3), /written outside the machine's operations/);
  }
});

test('[vcpu/transitions.ts] when the tables fill and start afresh, the state ids vCPUs kept from before are not trusted (with debug checks a stale one would throw)', () => {
  const costs = new Float64Array(EXIT_SLOT_COUNT).fill(100);
  const su: MachineSetup = { profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 2 };
  const rules = machine(su, costs, true);
  const m = machine({ ...su, debugChecks: true }, costs, false);
  // Both vCPUs keep an id of a state that is not quiet (an interrupt requested or in service)...
  for (const x of [rules, m]) for (const v of [0, 1]) x.raiseInterrupt(v, 0x41, false);
  for (const x of [rules, m]) for (const v of [0, 1]) x.writeCr8(v, 3);
  for (const v of [0, 1]) assert.equal(m.isQuiet(v), false, `vCPU ${v} quiet before`);
  // Another machine of the class interns a new state per timer count until the tables start afresh.
  const filler = machine({ ...su, vcpus: 1 }, costs, false);
  const epoch = txEpoch();
  const kept = txStats().states; // the kept ids are below it
  let count = 1;
  while (count < 100_000 && txEpoch() === epoch) filler.timerInitialCount(0, count++);
  assert.notEqual(txEpoch(), epoch, 'the tables started afresh');
  // New states under the kept ids: trusting one now would apply another state's records.
  while (count < 100_000 && txStats().states <= kept) filler.timerInitialCount(0, count++);
  assert.equal(txEpoch(), epoch + 1, 'one new generation');
  // ...and the filler's states under those ids are quiet: a kept id's flag would answer wrongly.
  for (const v of [0, 1])
    assert.equal(m.isQuiet(v), rules.isQuiet(v), `vCPU ${v} quiet after the tables started afresh`);
  for (const x of [rules, m]) for (const v of [0, 1]) x.writeCr8(v, 5);
  same(m, rules, 'after the tables started afresh');
});

test("[vcpu/interned.ts] every vCPU keeps the interned state id its last tabulated operation left, whatever the other vCPUs and machines of the thread do (each machine keeps its vCPUs' ids in its own words)", () => {
  // A table shared by every machine of the thread, direct-mapped by (machine, vCPU), lost ids to
  // collisions: a vCPU whose id was pushed out looked its state up by hash again (only speed
  // depended on it, but the id is what internedState reports).
  const costs = new Float64Array(EXIT_SLOT_COUNT).fill(100);
  const su: MachineSetup = { profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 1024, x2apic: true };
  const m = machine(su, costs, false);
  for (let v = 0; v < m.n; v++) m.writeCr8(v, 3);
  const others = Array.from({ length: 8 }, () => machine({ ...su, vcpus: 256 }, costs, false));
  for (const o of others) for (let v = 0; v < o.n; v++) o.writeCr8(v, 5);
  const lost: number[] = [];
  for (let v = 0; v < m.n; v++) if (m.internedState(v) < 0) lost.push(v);
  assert.deepEqual(lost, [], 'vCPUs that lost their interned state id');
  const rules = machine(su, costs, true);
  for (let v = 0; v < m.n; v++) rules.writeCr8(v, 3);
  for (let v = 0; v < m.n; v++) for (const x of [m, rules]) x.writeCr8(v, 7);
  same(m, rules, 'after every vCPU trusted its id');
});

test('[vcpu/tabulated.ts] KVM timer writes and stimer expiries with operands the table does not key (a 64-bit or unsigned value, a vector outside 0-255) run by the rules, with the same outcome', () => {
  const costs = Float64Array.from({ length: EXIT_SLOT_COUNT }, (_, i) => 70 + 13 * i + 0.5 * (i % 2));
  const su: MachineSetup = { profile: DESKTOP, policy: 'kvm', vcpus: 2, x2apic: true, hyperv: { features: ALL_HV } };
  const rules = machine(su, costs, true, 37.25);
  const m = machine(su, costs, false, 37.25);
  const ops: readonly ((x: Machine) => unknown)[] = [
    (x) => x.wrmsr(0, IA32_TSC_DEADLINE, 0xffffffff, 0),
    (x) => x.wrmsr(0, IA32_TSC_DEADLINE, 5, 1),
    (x) => x.wrmsr(1, HvMsr.STIMER0_COUNT, 2 ** 31, 0),
    (x) => x.wrmsr(1, HvMsr.STIMER0_COUNT, 1.5, 0),
    (x) => x.stimerExpires(0, 300),
    (x) => x.stimerExpires(1, -1),
    (x) => x.wrmsr(0, IA32_TSC_DEADLINE, 1, 0),
    (x) => x.stimerExpires(1, 0x50),
  ];
  ops.forEach((op, i) => {
    assert.equal(op(m), op(rules), `op ${i}: return value`);
    same(m, rules, `op ${i}`);
    if (i < 6) assert.equal(m.internedState(i < 2 || i === 4 ? 0 : 1), -1, `op ${i} ran by the rules`);
  });
  assert.ok(m.internedState(1) >= 0, 'a stimer expiry with a vector in range went through the table');
});
