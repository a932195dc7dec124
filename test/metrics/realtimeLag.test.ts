import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import type { LivePart, LiveRun } from '../../src/run/liveRun.js';
import { parseExposition, sumOf } from './support.js';
import { idleFreebsdFleet } from '../support/fleets.js';

const scenario = parseScenario(
  idleFreebsdFleet({ name: 'lag-fleet', seed: 1, cores: 4, hosts: 2, policies: ['bhyve-12.1'], seconds: 60 }),
  'lag-fleet.yaml',
);

function fakeRun(pace: 'max' | 'realtime', parts: LivePart[]): LiveRun {
  return { pace, startedAtMs: 0, live: () => parts };
}

async function lag(hub: MetricsHub): Promise<number> {
  return sumOf(parseExposition((await new MetricsEndpoint(hub).render(false)).body), 'vmexit_lab_realtime_lag_seconds');
}

test('vmexit_lab_realtime_lag_seconds: the largest lag of the running parts of realtime runs, 0 otherwise', async () => {
  const hub = new MetricsHub();
  assert.equal(await lag(hub), 0, 'no run: 0');
  hub.addRun('max', scenario, fakeRun('max', [{ variantIndex: 0, totals: undefined, hostsRunning: 2, lagSeconds: 9 }]));
  assert.equal(await lag(hub), 0, 'a run at pace max has no lag');
  hub.addRun(
    'rt',
    scenario,
    fakeRun('realtime', [
      { variantIndex: 0, totals: undefined, hostsRunning: 1, lagSeconds: 0.25 },
      { variantIndex: 0, totals: undefined, hostsRunning: 1, lagSeconds: 1.5 },
      { variantIndex: 0, totals: undefined, hostsRunning: 0, lagSeconds: 7 },
    ]),
  );
  assert.equal(await lag(hub), 1.5, 'the slowest running part; a finished part no longer counts');
});
