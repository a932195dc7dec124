/**
 * The service's run-cost weights (data/run-cost.yaml, src/service/cost.ts) against the engine: each
 * weight is CPU time measured on one configuration, where the phase made a known number of engine
 * events per simulated vCPU-second (`measuredOn`). A model change that makes a phase busier leaves
 * the weight too low for the new model, so the prediction is no longer an upper bound: this counts
 * the events again (deterministic: same scenario and seed, same count) and fails when a phase makes
 * more than its weight was measured on. The fix is `npm run calibrate:cost -- --write`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_OS_NAMES, type Scenario } from '../../src/scenario/types.js';
import { COST_PHASES, configText, loadRunCost, type RunCostWeights } from '../../src/model/runCost.js';
import { DATA_DIR, loadModelData } from '../../src/model/data.js';
import { costPerVcpuSecond, overCostMessage, predictCost } from '../../src/service/cost.js';
import { parseScenario } from '../../src/scenario/load.js';

const data = loadModelData();
const weights = loadRunCost();

test('[data/run-cost.yaml] every guest model and phase has a weight and the configuration it was measured on', () => {
  for (const os of GUEST_OS_NAMES)
    for (const phase of COST_PHASES) {
      assert.ok(weights.byModel.get(os)?.has(phase), `no weight for ${os} ${phase}`);
      assert.ok(weights.worst.get(os)?.has(phase), `no measuredOn for ${os} ${phase}`);
    }
  assert.ok(weights.worst.get('workload')?.has('workload'), 'no measuredOn for workload guests');
});

test('[data/run-cost.yaml vs the engine] no shipped phase makes more engine events per simulated vCPU-second than its weight was measured on', () => {
  const over: string[] = [];
  for (const [kind, phases] of weights.worst)
    for (const [phase, on] of phases) {
      const now = costPerVcpuSecond(kind, phase, on, data).events;
      if (now > on.events)
        over.push(
          `${kind} ${phase} on ${configText(on)}: ${now.toFixed(1)} events per vCPU-second, weight measured at ${on.events}`,
        );
    }
  assert.deepEqual(over, [], 'recalibrate: npm run calibrate:cost -- --write');
});

/** A scenario of `hosts` hosts, each one 1-vCPU idle Ubuntu guest, for 10 simulated seconds. */
function fleet(hosts: number): Scenario {
  return parseScenario(
    `name: many-hosts
host: { cpu: i7-6700K, cores: 4, count: ${hosts} }
hypervisor: { policy: kvm }
guests: [{ os: ubuntu-18.04, vcpus: 1, phases: [{ phase: idle }] }]
duration: 10s
`,
    'many-hosts.yaml',
  );
}

test("predictCost: each host adds perHostMs, beside its guests' vCPU-seconds and the run's perRunMs", () => {
  const w: RunCostWeights = { ...weights, perRunMs: 500, perHostMs: 0.4 };
  const idle = w.byModel.get('ubuntu-18.04')!.get('idle')!;
  for (const hosts of [1, 10, 10_000]) {
    const p = predictCost(fleet(hosts), w);
    const expected = 0.5 + (hosts * 10 * idle) / 1000 + (hosts * 0.4) / 1000;
    assert.ok(Math.abs(p.coreSeconds - expected) < 1e-9, `${hosts} hosts: ${p.coreSeconds} against ${expected}`);
    assert.equal(p.vcpuSeconds, hosts * 10);
  }
  // Without the per-host term 10,000 one-guest hosts were predicted at their guests' 1.9 ms of idle.
  const big = predictCost(fleet(10_000), w);
  assert.ok(big.top.some((t) => t.what === '10,000 hosts built and run (0.4 ms each)' && t.coreSeconds === 4));
  assert.match(
    overCostMessage('many-hosts', big, 1, 2),
    /biggest: 10,000 hosts built and run \(0\.4 ms each\): 4; 100,000 vCPU-seconds of 10000 x 1-vCPU ubuntu/,
  );
  // A host's share too small to show in whole core-seconds is not named among the biggest.
  assert.ok(!predictCost(fleet(10), w).top.some((t) => t.what.includes('built and run')));
});

test('[data/run-cost.yaml] perHostMs is required: a file without it is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-runcost-'));
  try {
    const file = join(dir, 'run-cost.yaml');
    const shipped = readFileSync(join(DATA_DIR, 'run-cost.yaml'), 'utf8');
    writeFileSync(file, shipped.replace(/^perHostMs: .*$/m, ''));
    assert.throws(() => loadRunCost(file), /perHostMs: expected a number >= 0/);
    writeFileSync(file, shipped);
    assert.equal(loadRunCost(file).perHostMs, weights.perHostMs);
    assert.ok(weights.perHostMs > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
