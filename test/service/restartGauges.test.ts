import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import type { RunState } from '../../src/history/records.js';
import {
  api as fetchApi,
  tinyScenario as tiny,
  waitForState,
  yamlPost as yaml,
  type FetchAnswer as Answer,
} from '../support/http.js';
import { parseExposition } from '../metrics/support.js';

/**
 * After a restart the latest finished run of each scenario comes back into the metrics from the
 * history (docs/SERVICE.md, History): run state, threshold outcomes, exit status, so an alert on a
 * failed threshold does not resolve because the process restarted. Issue #17; the test failed
 * before its fix.
 */

const { dataDir, services } = serviceFixture('vmexit-lab-restart-gauges-');

// Each test starts a service of its own.
const api = (path: string, init: RequestInit, base: string): Promise<Answer> => fetchApi(base, path, init);
const waitFor = (id: string, states: RunState[], base: string): Promise<any> => waitForState(base, id, states);

test('after a restart the run-state, threshold and exit-status gauges come back from the history', async () => {
  const d = dataDir();
  const first = await startService({ port: 0, dataDir: d, workers: 1 });
  const failing = `${tiny('restored')}thresholds:\n  exits_per_second{reason="HLT"}: ["< 0"]\n`;
  const r = await api('/api/runs', yaml(failing), first.url);
  assert.equal(r.status, 202, r.text);
  const rec = await waitFor(r.body.id, ['completed'], first.url);
  assert.equal(rec.summary.exitStatus, 1);
  await first.close();
  const again = await startService({ port: 0, dataDir: d, workers: 1 });
  services.push(again);
  const m = parseExposition((await api('/metrics', {}, again.url)).text);
  const label = r.body.seriesLabel as string;
  assert.equal(m.get(`vmexit_lab_run_state{scenario="${label}",state="completed"}`), 1);
  assert.equal(m.get(`vmexit_lab_run_last_exit_status{scenario="${label}"}`), 1);
  const thresholds = [...m].filter(([k]) => k.startsWith(`vmexit_lab_threshold_passed{scenario="${label}"`));
  assert.equal(thresholds.length, 1);
  assert.equal(thresholds[0][1], 0, 'the failed threshold is still failed: its alert does not resolve');
});
