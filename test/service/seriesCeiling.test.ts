import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceHandle } from '../../src/service/server.js';
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
 * Metric series are bounded by the service, not by clients (docs/SERVICE.md, Metrics, "Series are
 * bounded by construction"): 100 distinct posted scenarios stay under --max-series, older labels
 * retired, labels the service's own; a scenario's cardinalityBudget cannot raise the ceiling.
 * Issue #18 (series labelled with the client's name); each test failed before its fix.
 */

const { shared } = serviceFixture('vmexit-lab-series-ceiling-', {
  limits: { maxSeries: 1_000, maxQueued: 200, maxConcurrentRuns: 2 },
});

let svc: ServiceHandle;
before(async () => {
  svc = await shared();
});

const api = (path: string, init: RequestInit = {}, base = svc.url): Promise<Answer> => fetchApi(base, path, init);
const waitFor = (id: string, states: RunState[], base = svc.url): Promise<any> => waitForState(base, id, states);

test('100 distinct posted scenarios leave the series under the ceiling; labels are the service’s', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    // Every name a client could choose is different, and a label would once have been made of it.
    const r = await api('/api/runs', yaml(tiny(`flood-${i}-${'x'.repeat(40)}`, i + 1)));
    assert.equal(r.status, 202, r.text);
    assert.match(r.body.seriesLabel, /^inline-[0-9a-f]{12}$/);
    ids.push(r.body.id);
  }
  for (const id of ids) await waitFor(id, ['completed']);
  const text = (await api('/metrics')).text;
  const m = parseExposition(text);
  const labels = new Set<string>();
  let series = 0;
  for (const key of m.keys()) {
    const s = /scenario="([^"]*)"/.exec(key);
    if (!s) continue;
    series++;
    labels.add(s[1]);
  }
  assert.doesNotMatch(text, /flood-/, 'no client text in a label');
  assert.ok(series <= 1_000, `${series} scenario series, ceiling 1000`);
  assert.equal(m.get('vmexit_lab_series_ceiling'), 1_000);
  assert.ok((m.get('vmexit_lab_series_in_use') ?? Infinity) <= 1_000);
  assert.ok((m.get('vmexit_lab_series_retirements_total') ?? 0) > 0, 'older scenarios were retired to make room');
  assert.ok(labels.size < 100, `${labels.size} scenario labels exported`);
  assert.ok(text.length < 2_000_000, `scrape of ${text.length} bytes`);
  // Retired series leave /metrics; the history keeps every run.
  const runs = await api('/api/runs?limit=1000');
  assert.ok(runs.body.runs.filter((r: { id: string }) => ids.includes(r.id)).length === 100);
});

test('a scenario cannot raise the ceiling with its own cardinalityBudget', async () => {
  const big = `name: budget-raiser
host: { cores: 2, count: 1 }
guests:
  - { os: freebsd-12.1, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, phases: [{ phase: idle }] }
duration: 1s
cardinalityBudget: 10000000
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v1, bhyve-tpr-v2, bhyve-tpr-v3, kvm]
  cpu: [i7-6700K, xeon-e5-2667v4]
`;
  const r = await api('/api/runs', yaml(big));
  assertError(r, 422, 'limit_exceeded');
  assert.match(r.body.error.message, /metric series; this service exports at most 1000 \(--max-series/);
});
