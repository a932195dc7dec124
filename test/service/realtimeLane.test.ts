import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import type { RunState } from '../../src/history/records.js';
import {
  api as fetchApi,
  busyScenario,
  tinyScenario as tiny,
  waitForState,
  yamlPost as yaml,
  type FetchAnswer as Answer,
} from '../support/http.js';

/**
 * The realtime lane (docs/SERVICE.md, Queue): a realtime run does not hold up a max-pace run, and
 * a run waiting for the max lane says where in the queue it is. Issue #18 (realtime runs slept on
 * the shared workers); the test failed before its fix.
 */

const { dataDir, services } = serviceFixture('vmexit-lab-realtime-lane-');

// Each test starts a service of its own.
const api = (path: string, init: RequestInit, base: string): Promise<Answer> => fetchApi(base, path, init);
const waitFor = (id: string, states: RunState[], base: string): Promise<any> => waitForState(base, id, states);

test('a realtime run does not hold up a max-pace run, which reports queued with a position', async () => {
  const s = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    limits: { maxConcurrentRuns: 1 },
    stopGraceMs: 2_000,
  });
  services.push(s);
  const rt = await api('/api/runs?pace=realtime', yaml(tiny('rt-long', 1, 120)), s.url);
  assert.equal(rt.status, 202);
  assert.equal(rt.body.options.lane, 'realtime');
  // max-a holds the max lane's one slot while b is posted: busy for minutes, so it cannot finish first
  // (an idle 3,600 s guest, as it was, ends in 0.4 s), cancelled once b's queue is checked.
  const a = await api('/api/runs', yaml(busyScenario('max-a', 2)), s.url);
  const b = await api('/api/runs', yaml(tiny('max-b', 3, 1)), s.url);
  assert.equal(b.body.state, 'queued');
  assert.deepEqual(b.body.queue, { lane: 'max', position: 1 });
  const list = await api('/api/runs', {}, s.url);
  const lanes = Object.fromEntries(list.body.queue.lanes.map((l: { lane: string }) => [l.lane, l]));
  assert.deepEqual(lanes.max.queued, [b.body.id]);
  assert.deepEqual(lanes.realtime.running, [rt.body.id]);
  await api(`/api/runs/${a.body.id}`, { method: 'DELETE' }, s.url);
  const done = await waitFor(b.body.id, ['completed'], s.url);
  assert.equal(done.summary.exitStatus, 0);
  assert.equal((await api(`/api/runs/${rt.body.id}`, {}, s.url)).body.state, 'running', 'the realtime run goes on');
  assert.equal(a.status, 202);
  for (const id of [rt.body.id]) await api(`/api/runs/${id}`, { method: 'DELETE' }, s.url);
  await waitFor(rt.body.id, ['cancelled'], s.url);
});
