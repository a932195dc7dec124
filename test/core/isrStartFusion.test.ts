/**
 * A clock interrupt's arrival and its ISR's %cr8 raise as one machine operation
 * (src/core/guests/timekeeping.ts clockInterrupt, Machine.clockInterruptRaiseCr8; issue #16). raise
 * (guests/interrupts.ts) asks isrEntryCr8 (guests/irql.ts: the ISR raises %cr8 at all, nothing earlier
 * in the step waits to be drained, the recorder is off) and then - the operation's own test - the
 * raise runs only if the arrival delivered its vector to that vCPU as the step's one delivery and
 * sent no IPI; isrStart then takes the %cr8 value read and the host ns between the two from the
 * machine instead of raising itself. Otherwise the operation returns -1 and isrStart raises.
 * 1. Lockstep: two copies of each host, one fused, one with the operation split into the arrival
 *    and a return of -1 (the unfused path: isrStart's own isrRaiseIrql), run event by event: after
 *    every event the machine's words, exit counts, counters, host ns, the step's counts, and the
 *    engine's words, guest counters, PRNG and event heap are the same bit for bit, and the fused
 *    raise ran exactly where the unfused path's ISR start raised %cr8 right after the arrival.
 * 2. Whole runs: the fused operation (one table record) gives the totals of the unfused path and of
 *    the arrival and raiseCr8 as two table operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostState } from '../../src/core/engine/state.js';
import type { ClockArrival } from '../../src/core/vcpu/instructions.js';
import { Machine } from '../../src/core/vcpu/machine.js';
import { runScenario } from '../../src/run/runScenario.js';
import { parseScenario } from '../../src/scenario/load.js';
import { firstHost } from '../support/hosts.js';

const HOSTS: Record<string, string> = {
  "bhyve 12.1 (%cr8 accesses exit), the idle fleet's guests and an install": `
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, name: idle1, vcpus: 2 }
  - { os: windows-10-1909, name: idle2, vcpus: 2 }
  - { os: windows-10-1909, name: installer, vcpus: 2, phases: [{ phase: install, work: 200ms }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2 }
  - { os: freebsd-12.1, vcpus: 2 }`,
  'bhyve-tpr-v3 on an EPYC, idle Windows': `
host: { cpu: epyc-7281, cores: 4 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-10-1909, vcpus: 2 }
  - { os: windows-server-2019, vcpus: 4 }`,
  'KVM on an APICv Xeon: Windows on the RTC installing, on the HPET in a disk benchmark, on a synthetic timer; Linux in ping-pong': `
host: { cpu: xeon-e5-2667v4, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, hpet: false, enlightenments: none, phases: [{ phase: install, work: 200ms }, { phase: idle }] }
  - { os: windows-server-2019, name: hpet, vcpus: 2, hpet: true, enlightenments: none, phases: [{ phase: disk-benchmark, duration: 400ms }] }
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: ping-pong, hop: 40us, duration: 300ms }, { phase: idle }] }
  - { os: windows-server-2019, name: stimer, vcpus: 2, enlightenments: [hv-vpindex, hv-synic, hv-stimer, hv-time] }`,
};

type Op = (this: Machine, v: number, arrival: ClockArrival, vector: number, value: number) => number;

/** The unfused path: the arrival alone (one table operation); isrStart raises %cr8 by itself. */
const unfused: Op = function (v, arrival, vector) {
  this.clockArrives(v, arrival, vector);
  return -1;
};

/** The raise as its own table operation after the arrival, under the fused operation's own test. */
const twoOps: Op = function (v, arrival, vector, value) {
  const delivered = this.stepDeliveredCount;
  const ipis = this.ipiOutCount;
  this.clockArrives(v, arrival, vector);
  if (
    this.stepDeliveredCount !== delivered + 1 ||
    this.ipiOutCount !== ipis ||
    this.stepDeliveredVcpu[delivered] !== v ||
    this.stepDelivered[delivered] !== vector
  )
    return -1;
  this.isrEntryHostNs = this.vcpuHostNs[v];
  const old = this.raiseCr8(v, value);
  this.isrEntryVcpu = v;
  this.isrEntryPrevCr8 = old;
  return old;
};

// ---------------------------------------------------------------- 1. lockstep, event by event

type Words = Float64Array | Int32Array | Int8Array | Uint32Array;

function stateOf(h: HostState): Words[] {
  const m = h.machine;
  const heap = (h as unknown as { heap: { key: Float64Array } }).heap;
  return [
    m.s,
    m.exitCounts,
    m.exitTotals,
    m.counters,
    m.vcpuHostNs,
    m.exitHostNs,
    Float64Array.of(m.stepExitCount, m.ipiOutCount, m.stepDeliveredCount, m.stepHostNs),
    h.vf,
    h.vi,
    h.v8,
    h.gf,
    h.gi32,
    h.g8,
    h.guestCounters,
    h.rng.state,
    heap.key,
    h.latencyCounts,
    Float64Array.of(h.latencySumNs, h.latencyCount),
    Float64Array.from(h.latencyExemplars.data),
  ];
}

const NAMES = [
  'machine words',
  'exit counts',
  'exit totals',
  'counters',
  'vCPU host ns',
  'exit host ns',
  'step',
].concat([
  'vf',
  'vi',
  'v8',
  'gf',
  'gi32',
  'g8',
  'guest counters',
  'rng',
  'event heap',
  'latency counts',
  'latency sum',
  'latency exemplars',
]);

/** Which of the two hosts' words differ ('' none). */
function differ(a: HostState, b: HostState): string {
  const x = stateOf(a);
  const y = stateOf(b);
  const moved: string[] = [];
  for (let i = 0; i < x.length; i++) {
    const p = Buffer.from(x[i].buffer, x[i].byteOffset, x[i].byteLength);
    const q = Buffer.from(y[i].buffer, y[i].byteOffset, y[i].byteLength);
    if (!p.equals(q)) moved.push(NAMES[i]);
  }
  return moved.join(', ');
}

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: fused and unfused clock arrivals leave the same machine and engine state after every event, and the %cr8 raise is fused exactly where the ISR starts with it`, () => {
    const text = `name: isrstart\nseed: 5\n${yaml.trim()}\nduration: 1s\n`;
    const fused = firstHost(text, 'isrstart.yaml');
    const split = firstHost(text, 'isrstart.yaml');
    // The fused host's operation as it is, counted by whether it raised (and whether its raise exited).
    const own = (Machine.prototype as unknown as { clockInterruptRaiseCr8: Op }).clockInterruptRaiseCr8;
    const ran = [0, 0];
    let raiseExited = 0;
    (fused.machine as unknown as { clockInterruptRaiseCr8: Op }).clockInterruptRaiseCr8 = function (
      v,
      arrival,
      vector,
      value,
    ) {
      const r = own.call(this, v, arrival, vector, value);
      ran[r >= 0 ? 1 : 0]++;
      if (r >= 0 && this.vcpuHostNs[v] !== this.isrEntryHostNs) raiseExited++;
      return r;
    };
    // The split host's: the arrival only; isrStart raises %cr8 by the unfused path, which is the rule.
    let after = -1; // the vCPU whose split operation ran last, until its next %cr8 raise or the event's end
    let splitCalls = 0;
    let raisesAfter = 0;
    (split.machine as unknown as { clockInterruptRaiseCr8: Op }).clockInterruptRaiseCr8 = function (
      v,
      arrival,
      vector,
      value,
    ) {
      splitCalls++;
      after = v;
      return unfused.call(this, v, arrival, vector, value);
    };
    const raiseCr8 = (Machine.prototype as unknown as { raiseCr8: (this: Machine, v: number, x: number) => number })
      .raiseCr8;
    split.machine.raiseCr8 = function (v: number, value: number): number {
      if (v === after) raisesAfter++;
      after = -1;
      return raiseCr8.call(this, v, value);
    };
    const heap = (fused as unknown as { heap: { key: Float64Array; size: number; peek(): number } }).heap;
    let events = 0;
    while (heap.size > 0) {
      const next = heap.key[heap.peek()];
      if (!(next < 1e9)) break;
      const before = [ran[1], raisesAfter];
      fused.advanceTo(next + 1e-3);
      split.advanceTo(next + 1e-3);
      after = -1;
      events++;
      const at = `after the event at ${next} ns`;
      assert.equal(differ(fused, split), '', `${at}: the hosts' words differ`);
      assert.equal(fused.machine.isrEntryVcpu, -1, `${at}: a fused raise left for no ISR start`);
      assert.equal(
        ran[1] - before[0],
        raisesAfter - before[1],
        `${at}: fused raises and ISR starts' raises after the arrival`,
      );
    }
    assert.ok(events > 400, `${events} events`);
    assert.equal(ran[0] + ran[1], splitCalls);
    // Both sides met: arrivals that start their ISR, and ones that deliver nothing (or something else).
    assert.ok(ran[1] > 100, `${ran[1]} clock arrivals with the ISR's raise fused`);
    assert.ok(ran[0] > 0, `${ran[0]} fused clock arrivals that did not raise`);
    if (name.startsWith('bhyve 12.1')) assert.ok(raiseExited > 100, `${raiseExited} fused raises that exited`);
  });
}

// ---------------------------------------------------------------- 2. whole runs

/** Runs `yaml` with Machine.clockInterruptRaiseCr8 replaced by `op`; its results and how often raise called it. */
function runWith(yaml: string, op: Op): { totals: unknown; calls: number } {
  const proto = Machine.prototype as unknown as { clockInterruptRaiseCr8: Op };
  const own = Object.getOwnPropertyDescriptor(proto, 'clockInterruptRaiseCr8');
  let calls = 0;
  proto.clockInterruptRaiseCr8 = function (v, arrival, vector, value) {
    calls++;
    return op.call(this, v, arrival, vector, value);
  };
  try {
    const s = parseScenario(`name: fused\nseed: 7\n${yaml.trim()}\nduration: 1s\n`, 'fused.yaml');
    return { totals: runScenario(s).results.variants.map((x) => x.totals), calls };
  } finally {
    if (own === undefined) delete (proto as Partial<typeof proto>).clockInterruptRaiseCr8;
    else Object.defineProperty(proto, 'clockInterruptRaiseCr8', own);
  }
}

const fusedOp: Op = (Machine.prototype as unknown as { clockInterruptRaiseCr8: Op }).clockInterruptRaiseCr8;

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: clock arrivals with their ISR's %cr8 raise as one table operation give the results of the unfused path and of two operations`, () => {
    const one = runWith(yaml, fusedOp);
    const split = runWith(yaml, unfused);
    const two = runWith(yaml, twoOps);
    assert.ok(one.calls > 100, `${one.calls} clock arrivals through the fused operation`);
    assert.equal(split.calls, one.calls);
    assert.equal(two.calls, one.calls);
    assert.deepEqual(split.totals, one.totals);
    assert.deepEqual(two.totals, one.totals);
  });
}
