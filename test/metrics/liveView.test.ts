import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import type { LivePart, LiveRun } from '../../src/run/liveRun.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { parseExposition, sumOf } from './support.js';
import { idleFreebsdFleet } from '../support/fleets.js';

const scenario = parseScenario(
  idleFreebsdFleet({ name: 'view-fleet', seed: 1, cores: 4, hosts: 1, policies: ['bhyve-12.1'], seconds: 60 }),
  'view-fleet.yaml',
);

const hlt = EXIT_KINDS.find((k) => k.name === 'HLT');
if (hlt === undefined) throw new Error('no HLT exit kind');

function totalsWith(halts: number): TotalsAccumulator {
  const t = new TotalsAccumulator();
  t.exits[hlt!.slot] = halts;
  t.osExits('freebsd-12.1')[hlt!.slot] = halts;
  return t;
}

test('a scrape sees the live totals of its moment, even when they changed earlier in the same event-loop turn', async () => {
  const hub = new MetricsHub();
  const endpoint = new MetricsEndpoint(hub);
  const part: { -readonly [K in keyof LivePart]: LivePart[K] } = {
    variantIndex: 0,
    totals: totalsWith(10),
    hostsRunning: 1,
  };
  const run: LiveRun = { pace: 'max', startedAtMs: 0, live: () => [part] };
  hub.addRun('r', scenario, run);
  const exits = async (): Promise<number> =>
    sumOf(parseExposition((await endpoint.render(false)).body), 'vmexit_lab_vm_exits_total');
  assert.equal(await exits(), 10);
  // No macrotask between the two scrapes: a worker's final totals can arrive and a run's `done` resolve
  // in the same turn as the scrape before (the pool's live test saw the previous snapshot this way).
  part.totals = totalsWith(25);
  part.hostsRunning = 0;
  assert.equal(await exits(), 25, 'the second scrape reads the new totals');
  hub.finishRun('r', 'completed');
  assert.equal(await exits(), 25, 'folding the run into the finished totals keeps the value');
  assert.equal(sumOf(parseExposition((await endpoint.render(true)).body), 'vmexit_lab_vm_exits_total'), 25);
});
