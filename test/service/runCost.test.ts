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
import { GUEST_OS_NAMES } from '../../src/scenario/types.js';
import { COST_PHASES, configText, loadRunCost } from '../../src/model/runCost.js';
import { loadModelData } from '../../src/model/data.js';
import { costPerVcpuSecond } from '../../src/service/cost.js';

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
