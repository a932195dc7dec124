/**
 * A run's wall-clock limit and DELETE as users meet them on the service's shared workers: a run with
 * `timeLimitSeconds: 1` posted while another max-pace run holds the only worker stops at its limit
 * (its tasks, still waiting for the worker, leave the queue), instead of waiting for the other run's
 * task to end first (46 s on the default scenario, minutes here: the old code failed the wait below).
 * The busy run is then DELETEd and stops within one host's simulated second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { api, busyScenario, waitForSimulated, waitForState, yamlPost } from '../support/http.js';
import { idleFreebsdFleet } from '../support/fleets.js';

const { dataDir, services } = serviceFixture('vmexit-lab-stop-');

const fleet = idleFreebsdFleet({
  name: 'limited-fleet',
  seed: 2,
  cores: 2,
  hosts: 4,
  policies: ['bhyve-12.1', 'bhyve-tpr-v3'],
  seconds: 30,
});

test('timeLimitSeconds 1 stops a run whose tasks wait behind another run; DELETE stops the other', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 10_000 });
  services.push(s);
  const busy = await api(s.url, '/api/runs', yamlPost(busyScenario('stop-busy', 4)));
  assert.equal(busy.status, 202);
  await waitForSimulated(s.url, busy.body.id, 1);
  const limited = await api(s.url, '/api/runs?timeLimitSeconds=1', yamlPost(fleet));
  assert.equal(limited.status, 202);
  assert.equal(limited.body.options.lane, 'max');
  // The bound is what a hung service would take: the busy run holds the worker for minutes.
  const rec = await waitForState(s.url, limited.body.id, ['cancelled'], { timeoutMs: 30_000, intervalMs: 100 });
  assert.equal(rec.stopReason, 'time_limit');
  assert.equal(rec.partial, true);
  assert.equal(
    rec.summary.partialReason,
    'stopped at its wall-clock limit of 1 s at 0 of 30 simulated seconds, 0 of 8 hosts done.',
  );
  const still = await api(s.url, `/api/runs/${busy.body.id}`);
  assert.equal(still.body.state, 'running', 'the limited run ended while the busy run held the worker');

  const del = await api(s.url, `/api/runs/${busy.body.id}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
  const cancelled = await waitForState(s.url, busy.body.id, ['cancelled'], { timeoutMs: 30_000, intervalMs: 100 });
  assert.equal(cancelled.stopReason, 'cancelled');
  assert.match(cancelled.summary.partialReason, /^cancelled through the API \(DELETE \/api\/runs\/\{id\}\) at \d+ /);
  assert.ok(cancelled.progress.simSeconds >= 1);
});
