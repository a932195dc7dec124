import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import type { RunState } from '../../src/history/records.js';
import {
  api as fetchApi,
  tinyScenario as tiny,
  waitForState,
  yamlPost as yaml,
  type FetchAnswer as Answer,
  assertErrorCode as assertError,
} from '../support/http.js';
import { parseExposition } from '../metrics/support.js';

/**
 * A run's limits in the units that cost (docs/SERVICE.md, Limits): a fleet over --max-run-cost is
 * refused with its predicted core-seconds, and a run stopped at its wall-clock limit says why, with
 * exit status 3 and partial results. Issue #18 (guests were capped, CPU was not; a partial run said
 * exitStatus 0); each test failed before its fix.
 */

const { dataDir, services, shared } = serviceFixture('vmexit-lab-run-limits-', {
  limits: { maxSeries: 1_000, maxQueued: 200, maxConcurrentRuns: 2 },
});

let svc: ServiceHandle;
before(async () => {
  svc = await shared();
});

const api = (path: string, init: RequestInit = {}, base = svc.url): Promise<Answer> => fetchApi(base, path, init);
const waitFor = (id: string, states: RunState[], base = svc.url): Promise<any> => waitForState(base, id, states);

test('caps in the unit that costs: 20,000 guests x 64 vCPUs for 2 s is refused with its predicted cost', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const heavy = `name: heavy
host: { cpu: i7-6700K, cores: 64, count: 2000 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    vcpus: 64
    count: 10
    phases: [{ phase: disk-benchmark, duration: 2s }]
duration: 2s
`;
  const r = await api('/api/runs', yaml(heavy), s.url);
  assertError(r, 422, 'limit_exceeded');
  assert.match(
    r.body.error.message,
    /predicted to cost [\d,]+ core-seconds of simulation \([\d,]+ simulated vCPU-seconds; biggest: .*windows-10-1909.*\); this service allows at most 3,600 per run \(--max-run-cost/,
  );
});

test('a run stopped by its time limit says why; a partial run reports exit status 3 and partial: true', async () => {
  const r = await api('/api/runs?pace=realtime&timeLimitSeconds=1', yaml(tiny('limited', 1, 60)));
  assert.equal(r.status, 202, r.text);
  const rec = await waitFor(r.body.id, ['cancelled', 'failed', 'completed']);
  assert.equal(rec.state, 'cancelled');
  assert.equal(rec.stopReason, 'time_limit');
  assert.equal(rec.summary.exitStatus, 3, 'as the CLI exits for a run that did not reach its end');
  assert.match(rec.summary.partialReason, /wall-clock limit of 1 s at \d+( to \d+)? of 60 simulated seconds/);
  assert.ok(rec.progress.simSeconds < 60, `progress says where it stopped: ${rec.progress.simSeconds}/60`);
  const res = await api(`/api/runs/${r.body.id}/results`);
  assert.equal(res.body.partial, true);
  assert.equal(res.body.partialReason, rec.summary.partialReason);
  const m = parseExposition((await api('/metrics')).text);
  assert.equal(m.get(`vmexit_lab_run_last_exit_status{scenario="${r.body.seriesLabel}"}`), 3);
  assert.equal(m.get(`vmexit_lab_run_state{scenario="${r.body.seriesLabel}",state="cancelled"}`), 1);
});
