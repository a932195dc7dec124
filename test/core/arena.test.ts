/**
 * One buffer per host (src/core/vcpu/arena.ts): the views a layout asks for are aligned, disjoint,
 * zeroed and fill the buffer exactly; every typed array a host simulation holds is a view of that
 * one buffer, but for the exit-cost table it shares with the variant's other hosts and the empty
 * workload array of a host without workload guests (the bench's memory per vCPU, issue #16).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { carve, type Carver } from '../../src/core/vcpu/arena.js';
import { HostSimulation, type GuestInstance } from '../../src/core/engine/host.js';
import { resolvePolicy, type PolicyName } from '../../src/core/hypervisor/policy.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { HaltPoll, HOST_WORDS, polling } from '../../src/core/hypervisor/haltPoll.js';
import { Machine } from '../../src/core/vcpu/machine.js';
import { machineArrays, slotStrideOf } from '../../src/core/vcpu/machineSetup.js';
import { hostModel, loadModelData } from '../../src/model/data.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';
import { quietWorkload } from '../support/workloads.js';
import { clockSetup } from '../../src/core/guests/clock.js';

const data = loadModelData();
const cpu = loadCpuCatalog().find((c) => c.id === 'i7-6700K')!;

test('carve: aligned, disjoint, zeroed views that fill one buffer exactly', () => {
  const a = carve((c: Carver) => ({ b: c.i8(3), i: c.i32(5), f: c.f64(2), u: c.u32(1), e: c.f64(0) }));
  const views = [a.b, a.i, a.f, a.u, a.e];
  const buffer = a.b.buffer;
  for (const v of views) {
    assert.equal(v.buffer, buffer);
    assert.equal(v.byteOffset % 8, 0);
    assert.ok(v.every((x) => x === 0));
  }
  assert.deepEqual(
    views.map((v) => v.length),
    [3, 5, 2, 1, 0],
  );
  const sorted = views.filter((v) => v.byteLength > 0).sort((x, y) => x.byteOffset - y.byteOffset);
  for (let k = 1; k < sorted.length; k++)
    assert.ok(sorted[k].byteOffset >= sorted[k - 1].byteOffset + sorted[k - 1].byteLength, 'views overlap');
  assert.equal(buffer.byteLength, 8 + 24 + 16 + 8);
});

test('carve: a layout that asks for other sizes the second time is refused', () => {
  let calls = 0;
  assert.throws(() => carve((c) => c.f64(calls++ === 0 ? 2 : 1)), /layout asked for 8 bytes, measured 16/);
  calls = 0;
  assert.throws(() => carve((c) => c.f64(++calls)), RangeError); // past the buffer's end
});

test('Machine: arrays carved for another vCPU count are refused', () => {
  const traits = resolvePolicy('bhyve-tpr-v3', cpu, {});
  const vcpus = [{ guest: 0, x2apic: false, apicId: 0 }];
  const arrays = carve((c) => machineArrays(c, 2, slotStrideOf(cpu), traits));
  assert.throws(() => new Machine({ profile: cpu, traits, vcpus, arrays }), /not carved for 1 vCPUs/);
});

test('Machine: arrays whose halt-poll words were carved for another hypervisor are refused', () => {
  const vcpus = [{ guest: 0, x2apic: false, apicId: 0 }];
  const bhyve = resolvePolicy('bhyve-tpr-v3', cpu, {});
  const kvm = resolvePolicy('kvm', cpu, {});
  const arrays = carve((c) => machineArrays(c, 1, slotStrideOf(cpu), bhyve));
  assert.throws(() => new Machine({ profile: cpu, traits: kvm, vcpus, arrays }), /halt-poll words not carved for kvm/);
  assert.doesNotThrow(() => new Machine({ profile: cpu, traits: bhyve, vcpus, arrays }));
});

test('machineArrays: an exit-cost table of the wrong length is refused', () => {
  const traits = resolvePolicy('bhyve-tpr-v3', cpu, {});
  assert.throws(
    () => carve((c) => machineArrays(c, 1, slotStrideOf(cpu), traits, new Float64Array(EXIT_SLOT_COUNT - 1))),
    /exit cost table/,
  );
});

/** Every typed array reachable from `root` through objects and arrays, with its path. */
function typedArrays(root: object): Map<ArrayBufferView, string> {
  const out = new Map<ArrayBufferView, string>();
  const seen = new Set<object>();
  const walk = (o: unknown, path: string): void => {
    if (o === null || typeof o !== 'object' || seen.has(o)) return;
    seen.add(o);
    if (ArrayBuffer.isView(o)) {
      out.set(o, path);
      return;
    }
    for (const k of Object.keys(o)) walk((o as Record<string, unknown>)[k], `${path}.${k}`);
  };
  walk(root, 'host');
  return out;
}

/**
 * A host of an idle Windows 10 and an idle Ubuntu guest of 2 vCPUs each on 2 cores (and a quiet
 * workload guest beside them with `workload`) under `policy`, run 10 ms.
 */
function idleHost(
  policy: PolicyName,
  o: { tunables?: Record<string, number>; workload?: boolean; exitCostNs?: Float64Array } = {},
): HostSimulation {
  const traits = resolvePolicy(policy, cpu, o.tunables ?? {});
  const guest = (index: number, os: string): GuestInstance => ({
    index,
    label: os,
    model: data.guestModels.get(os)!,
    vcpus: 2,
    x2apicOffered: false,
    phases: [{ phase: 'idle' }],
  });
  const guests = [guest(0, 'windows-10-1909'), guest(1, 'ubuntu-18.04')];
  if (o.workload === true) guests.push({ ...guest(2, 'ubuntu-18.04'), workload: quietWorkload() });
  const sim = new HostSimulation({
    hostIndex: 0,
    seed: 1,
    profile: cpu,
    traits,
    cores: 2,
    guests,
    exitCostNs: o.exitCostNs ?? new Float64Array(EXIT_SLOT_COUNT),
    host: hostModel(data.costModel, traits.hypervisor),
    debugChecks: false,
  });
  sim.advanceTo(1e7);
  return sim;
}

for (const workload of [false, true]) {
  test(`HostSimulation${workload ? ' with a workload guest' : ''}: its typed arrays are views of one buffer`, () => {
    const exitCostNs = new Float64Array(EXIT_SLOT_COUNT);
    const sim = idleHost('bhyve-tpr-v3', { workload, exitCostNs });
    assert.equal(sim.machine.exitCostNs, exitCostNs, 'the exit-cost table is shared, not copied');
    const buffer = sim.vf.buffer;
    if (workload) assert.ok(sim.wl.length > 0 && sim.wl.buffer === buffer);
    else assert.equal(sim.wl.length, 0);
    const own = [...typedArrays(sim)].filter(([a]) => a.buffer !== buffer && a.byteLength > 0);
    // The guests' workload rates are the config's (built once per variant), not the host's.
    const config = new Set(typedArrays(sim.config).keys());
    assert.deepEqual(
      own.filter(([a]) => !config.has(a)).map(([, path]) => path),
      [],
    );
    assert.ok(typedArrays(sim).size >= 20, 'the walk finds the host arrays');
  });
}

test('halt-poll words only on hosts that keep them: none on bhyve, every KVM host (halt_poll_ns 0 too)', () => {
  // bhyve never polls (vm_handle_hlt): its 7 doubles a vCPU are the bench's memory margin (docs/PERF.md).
  const bhyve = idleHost('bhyve-tpr-v3');
  const kvm = idleHost('kvm');
  const kvmOff = idleHost('kvm', { tunables: { 'kvm.halt_poll_ns': 0 } });
  const words = kvm.n * HaltPoll.STRIDE + HOST_WORDS;
  assert.equal(bhyve.machine.haltPoll.length, 0);
  assert.equal(kvm.machine.haltPoll.length, words);
  assert.equal(kvmOff.machine.haltPoll.length, words, 'halt_wakeup is counted with halt_poll_ns 0');
  assert.equal(
    kvm.vf.buffer.byteLength - bhyve.vf.buffer.byteLength,
    8 * words,
    "the bhyve host's buffer is that much smaller",
  );
  // The readers a bhyve host reaches answer on the empty array: nobody polls.
  for (let v = 0; v < bhyve.n; v++) assert.equal(polling(bhyve.machine, v), false);
});

test("clock setups: a thread's hosts whose guests' setups are equal share one read-only copy", () => {
  // Each host's guests are built afresh (src/run/simulate.ts hostGuests), as idleHost does: equal
  // content, other objects. Two frozen setups and two arrays per host were ~57 bytes per vCPU of the
  // bench's fleet (docs/perf/memory.md).
  const a = idleHost('bhyve-tpr-v3');
  const b = idleHost('bhyve-tpr-v3');
  assert.equal(a.clocks, b.clocks, 'one clocks array for both hosts');
  assert.equal(a.linuxClocks, b.linuxClocks, 'one linuxClocks array for both hosts');
  // Other setups are not confused with them: KVM reads a Windows guest's clock elsewhere (guests/clock.ts).
  const kvm = idleHost('kvm');
  assert.notEqual(kvm.clocks, a.clocks);
  const fresh = (sim: HostSimulation) => sim.guests.map((g) => clockSetup(sim.config.traits, g.model, g.timekeeping));
  assert.deepEqual(kvm.clocks, fresh(kvm));
  assert.deepEqual(a.clocks, fresh(a));
  assert.notDeepEqual(kvm.clocks, a.clocks, 'the two policies give different setups');
});

test("a host's typed arrays: 23 views of its buffer (bhyve, no workload guest), the event queue's in two", () => {
  // Each view is ~96 bytes of V8 object per host beside its data (~14 per vCPU of the bench's fleet):
  // one more is a change to the layout docs/perf/memory.md counts; update both together. A host this
  // small queues its events as a scan (src/core/engine/heap.ts): its keys and queued times, no heap ids.
  // The machine's accounting is one view more (acct: the table's apply counts in it, interned.ts), and
  // so is the event walk's phaseKinds byte per vCPU (docs/perf/engine30.md, E17).
  const sim = idleHost('bhyve-tpr-v3');
  const views = [...typedArrays(sim)].filter(([a]) => a.buffer === sim.vf.buffer);
  assert.equal(views.length, 23, views.map(([, path]) => path).join(', '));
  assert.deepEqual(
    views.filter(([, path]) => path.startsWith('host.heap.')).map(([, path]) => path),
    ['host.heap.key', 'host.heap.at'],
  );
});

test('what a machine does not use until it must is not its own: exit logs, reports, entry checks', () => {
  const a = idleHost('bhyve-tpr-v3').machine;
  const b = idleHost('bhyve-tpr-v3').machine;
  // The step's exit logs are kept for traces only (logStepExits): until then, nothing per machine.
  assert.equal(a.stepExits, b.stepExits);
  assert.equal(a.stepExitQual, b.stepExitQual);
  assert.equal(a.stepExitWhy, b.stepExitWhy);
  assert.equal(a.stepExits.length, 0);
  // Reports only once there is one (no violation, no failed entry in an idle run).
  assert.equal(a.violations, b.violations);
  assert.equal(a.entryFailures, b.entryFailures);
  // The VM-entry checks of a CPU profile: one cache for the thread's machines of that profile.
  const checks = (m: Machine) => (m as unknown as { entryChecks: object }).entryChecks;
  assert.ok(checks(a) !== undefined);
  assert.equal(checks(a), checks(b));
  // A machine that logs gets logs of its own.
  b.logStepExits();
  assert.notEqual(a.stepExits, b.stepExits);
  b.stepExits.push(1);
  assert.equal(a.stepExits.length, 0);
});
