/**
 * Paired A/B on common random numbers (docs/BEYOND.md): two policies run the same guests on the
 * same PRNG streams (seed, host, guest, vCPU), so their difference has no sampling noise — it is
 * exactly what the rules make the policies do differently. With every exit costing 0 ns the
 * guests' timelines can only differ where a policy changes WHEN the hypervisor gets control
 * (and can inject a pending interrupt); everything else must be identical, count for count.
 *
 * Rules (docs/MODEL.md 3.7, SDM 25.1.3 / 29.1.2 / 30.1.2):
 *  - bhyve-12.1 keeps CR8-load/-store exiting on: every %cr8 access is a CR_ACCESS exit; a
 *    lowering write that unmasks a pending interrupt is an exit, so it is injected at once.
 *  - bhyve-tpr-v2/v3 shadow the TPR (no CR_ACCESS) and set the TPR threshold to the pending
 *    interrupt's class: the same lowering write is a TPR_BELOW_THRESHOLD exit, at the same instant.
 *    So the guest timeline is identical and only CR_ACCESS and TPR_BELOW_THRESHOLD differ.
 *  - bhyve-tpr-v1 shadows the TPR with no threshold: a masked interrupt waits for the next
 *    unrelated exit (docs/MODEL.md, "DPC requests masked by a raised TPR wait..."), so its guests'
 *    interrupts arrive later even at zero exit cost: the timeline differs, by the rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelData, hostModel, REPO_ROOT } from '../../src/model/data.js';
import { resolvePolicy, type PolicyName } from '../../src/core/hypervisor/policy.js';
import { HostSimulation, GuestCounter } from '../../src/core/engine/host.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { Counter, Machine } from '../../src/core/vcpu/machine.js';
import { runScript } from '../../src/core/script/runScript.js';
import { COUNTERS } from '../support/enums.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';
import { hostGuests } from '../../src/run/simulate.js';
import { parseScenario } from '../../src/scenario/load.js';

const data = loadModelData();
const catalog = loadCpuCatalog();
const cpu = (id: string) => catalog.find((c) => c.id === id)!;

interface Observed {
  readonly exits: Record<string, number>;
  readonly machine: Record<string, number>;
  readonly guest: number[];
  readonly latency: number[];
  readonly latencySumNs: number;
  readonly events: number;
}

/** One host of the scenario's guests under `policy`, every exit costing 0 ns, for `seconds`. */
function simulate(cpuId: string, policy: PolicyName, guestsYaml: string, seconds: number, seed = 11): Observed {
  const s = parseScenario(
    `name: ab\nseed: ${seed}\nhost: { cpu: ${cpuId}, cores: 4 }\nhypervisor: { policy: ${policy} }\nguests:\n${guestsYaml}duration: ${seconds}s\n`,
    'ab.yaml',
  );
  const v = s.variants[0];
  const traits = resolvePolicy(policy, v.host.cpu, v.hypervisor.tunables);
  const sim = new HostSimulation({
    hostIndex: 0,
    seed: s.seed,
    profile: v.host.cpu,
    traits,
    cores: v.host.cores,
    guests: hostGuests(v, data, 0),
    exitCostNs: new Float64Array(EXIT_SLOT_COUNT),
    host: hostModel(data.costModel, traits.hypervisor),
    debugChecks: false,
  });
  sim.advanceTo(seconds * 1e9);
  const exits: Record<string, number> = {};
  for (const k of EXIT_KINDS) if (k.vendor === v.host.cpu.vendor) exits[k.name] = sim.machine.exitTotals[k.slot];
  const machine: Record<string, number> = {};
  for (const [name, c] of Object.entries(COUNTERS)) {
    let n = 0;
    for (let i = 0; i < sim.n; i++) n += sim.machine.counters[i * Counter.COUNT + c];
    machine[name] = n;
  }
  const guest = new Array<number>(GuestCounter.COUNT).fill(0);
  sim.guestCounters.forEach((x, i) => {
    guest[i % GuestCounter.COUNT] += x;
  });
  return {
    exits,
    machine,
    guest,
    latency: Array.from(sim.latencyCounts),
    latencySumNs: sim.latencySumNs,
    events: sim.events,
  };
}

const WINDOWS = `  - os: windows-10-1909\n    vcpus: 2\n    phases: [{ phase: boot, duration: 3s }, { phase: idle }]\n  - os: windows-server-2019\n    vcpus: 2\n    phases: [{ phase: idle }]\n`;
const LINUX = `  - os: ubuntu-18.04\n    vcpus: 2\n    phases: [{ phase: idle }]\n  - os: freebsd-12.1\n    phases: [{ phase: idle }]\n`;

/** Everything but the named exit reasons. */
function without(o: Observed, reasons: readonly string[]): Observed {
  const exits = { ...o.exits };
  for (const r of reasons) delete exits[r];
  return { ...o, exits };
}

for (const cpuId of ['i7-2620M', 'i7-6700K']) {
  for (const candidate of ['bhyve-tpr-v2', 'bhyve-tpr-v3'] as const) {
    test(`${cpuId}: bhyve-12.1 vs ${candidate} on the same streams differ only in CR_ACCESS and TPR_BELOW_THRESHOLD`, () => {
      const a = simulate(cpuId, 'bhyve-12.1', WINDOWS, 12);
      const b = simulate(cpuId, candidate, WINDOWS, 12);
      assert.ok(a.machine.CR8_READS + a.machine.CR8_WRITES > 100_000, 'Windows guests use %cr8');
      // Guest side: identical, count for count (TPR accesses, interrupts by source, guest CPU, latency histogram, events).
      assert.deepEqual(
        without(b, ['CR_ACCESS', 'TPR_BELOW_THRESHOLD']),
        without(a, ['CR_ACCESS', 'TPR_BELOW_THRESHOLD']),
      );
      // 12.1: every %cr8 access exits (CR8-load/-store exiting); the candidate shadows the TPR.
      assert.equal(a.exits.CR_ACCESS, a.machine.CR8_READS + a.machine.CR8_WRITES);
      assert.equal(b.exits.CR_ACCESS, 0);
      // The candidate's TPR threshold: an exit only for a lowering write that unmasks a pending
      // interrupt - some writes (Windows masks DPCs), never more than the writes.
      assert.equal(a.exits.TPR_BELOW_THRESHOLD, 0);
      assert.ok(b.exits.TPR_BELOW_THRESHOLD > 0 && b.exits.TPR_BELOW_THRESHOLD < b.machine.CR8_WRITES);
    });
  }
}

test('bhyve-12.1 vs bhyve-tpr-v1: guests that never touch %cr8 see no difference at all', () => {
  const a = simulate('i7-2620M', 'bhyve-12.1', LINUX, 12);
  const b = simulate('i7-2620M', 'bhyve-tpr-v1', LINUX, 12);
  assert.equal(a.machine.CR8_READS + a.machine.CR8_WRITES, 0);
  assert.deepEqual(b, a);
});

test('bhyve-12.1 vs bhyve-tpr-v1 (no TPR threshold): Windows interrupts wait for the next exit, as the rules say', () => {
  const a = simulate('i7-2620M', 'bhyve-12.1', WINDOWS, 12);
  const b = simulate('i7-2620M', 'bhyve-tpr-v1', WINDOWS, 12);
  assert.equal(b.exits.CR_ACCESS, 0);
  assert.equal(b.exits.TPR_BELOW_THRESHOLD, 0, 'v1 programs no TPR threshold');
  // Not a zero-cost-identical pair: delivery is later, so the latency grows and the timeline moves.
  assert.ok(
    b.latencySumNs / b.machine.DELIVERED > 2 * (a.latencySumNs / a.machine.DELIVERED),
    `mean latency ${b.latencySumNs / b.machine.DELIVERED} vs ${a.latencySumNs / a.machine.DELIVERED} ns`,
  );
  assert.notDeepEqual(b.guest, a.guest);
});

test('scripted guests: the same script under both policies gives the same trace but for the exits of %cr8 operations', () => {
  // Raise IRQL, take an interrupt of a lower class (masked, stays pending), read and lower TPR
  // (delivered now), EOI, then an ordinary exit.
  const script: ScriptOp[] = [
    { op: 'write_cr8', cpu: 0, value: 4 },
    { op: 'interrupt', cpu: 0, vector: 0x31, level: false },
    { op: 'read_cr8', cpu: 0 },
    { op: 'write_cr8', cpu: 0, value: 2 },
    { op: 'write_cr8', cpu: 0, value: 0 },
    { op: 'eoi', cpu: 0 },
    { op: 'iret', cpu: 0 },
    { op: 'interrupt', cpu: 0, vector: 0x51, level: false },
    { op: 'eoi', cpu: 0 },
    { op: 'iret', cpu: 0 },
    { op: 'cpuid', cpu: 0 },
  ] as ScriptOp[];
  const trace = (policy: PolicyName) => {
    const profile = cpu('i7-2620M');
    const m = new Machine({
      profile,
      traits: resolvePolicy(policy, profile, {}),
      vcpus: [{ guest: 0, x2apic: false, apicId: 0 }],
      debugChecks: true,
    });
    return runScript(m, script);
  };
  const a = trace('bhyve-12.1');
  const b = trace('bhyve-tpr-v3');
  assert.equal(a.length, script.length);
  const strip = (s: (typeof a)[number]) => ({ ...s, exits: [] });
  assert.deepEqual(b.map(strip), a.map(strip), 'op, args, TPR, PPR, deliveries, values, violations: identical');
  assert.ok(
    a.some((s) => s.delivered.length > 0),
    'the script delivers interrupts',
  );
  for (const [i, op] of script.entries()) {
    const ea = a[i].exits.map((e) => e.name);
    const eb = b[i].exits.map((e) => e.name);
    if (op.op === 'write_cr8' || op.op === 'read_cr8') {
      assert.equal(ea[0], 'CR_ACCESS', `step ${i + 1}: a %cr8 access exits under 12.1`);
      assert.ok(!eb.includes('CR_ACCESS'), `step ${i + 1}: shadowed under v3`);
      assert.deepEqual(
        ea.slice(1),
        eb.filter((n) => n !== 'TPR_BELOW_THRESHOLD'),
        `step ${i + 1}: the rest as v3's`,
      );
    } else {
      assert.deepEqual(eb, ea, `step ${i + 1} (${op.op}): same exits`);
    }
  }
  assert.ok(
    b.some((s) => s.exits.some((e) => e.name === 'TPR_BELOW_THRESHOLD')),
    'lowering TPR under a pending interrupt exits under v3',
  );
});

test('compare says a shared seed means no sampling noise, and a different seed that it does not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-ab-'));
  try {
    const cli = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
    const scenario = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');
    const run = (out: string, seed: string) =>
      spawnSync(process.execPath, [cli, 'run', '--quiet', '--seed', seed, '--out', join(dir, out), scenario], {
        encoding: 'utf8',
      });
    assert.equal(run('a.json', '1').status, 0);
    assert.equal(run('b.json', '1').status, 0);
    assert.equal(run('c.json', '2').status, 0);
    const same = spawnSync(process.execPath, [cli, 'compare', join(dir, 'a.json'), join(dir, 'b.json')], {
      encoding: 'utf8',
    });
    assert.equal(same.status, 0);
    assert.match(
      same.stdout,
      /same seed \(1\): paired on identical random streams; every difference is the change, with no sampling noise/,
    );
    const other = spawnSync(process.execPath, [cli, 'compare', join(dir, 'a.json'), join(dir, 'c.json')], {
      encoding: 'utf8',
    });
    assert.match(other.stdout, /different seeds \(1 vs 2\): differences include sampling noise/);
    const json = JSON.parse(
      spawnSync(process.execPath, [cli, 'compare', '--json', join(dir, 'a.json'), join(dir, 'b.json')], {
        encoding: 'utf8',
      }).stdout,
    );
    assert.equal(json.paired, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
