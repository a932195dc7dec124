import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, tinyScenario as tiny, waitForState } from '../support/http.js';

/**
 * Thresholds in /metrics: a threshold written twice is one series, and a number of any length is
 * spelled as the evaluator reads it (thresholdLabel.test.ts has the label's invisible characters).
 * From the hostile-input audit; the test failed before its fix.
 * docs/SERVICE.md "Hostile input" names each test of this file by its title (hostileInputTable.test.ts).
 */

const { dataDir, services } = serviceFixture('vmexit-lab-threshold-series-');

let open: ServiceHandle;
before(async () => {
  open = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000 });
  services.push(open);
});

test('threshold labels: one series per label set, and no client number of any length in /metrics', async () => {
  const digits = '0'.repeat(20_000);
  const post = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml' },
    `${tiny('thresholds')}thresholds:
  exits_per_second{reason="HLT"}: ["< 1000", "< 1000", ">= 0"]
  exits_per_second{reason="CR_ACCESS"}: ["< 1.${digits}1", "< 1.${digits}2"]
`,
  );
  assert.equal(post.status, 202, post.text.slice(0, 300));
  // Its threshold series exist once it has completed (the loop that waited gave up after 300 polls and went on).
  await waitForState(open.url, post.body.id, ['completed']);
  for (const accept of ['text/plain', 'application/openmetrics-text; version=1.0.0']) {
    const text = (await raw(open.url, 'GET', '/metrics', { Accept: accept })).text;
    const lines = text
      .split('\n')
      .filter((l) => l.startsWith(`vmexit_lab_threshold_passed{scenario="${post.body.seriesLabel}"`));
    const series = lines.map((l) => l.slice(0, l.lastIndexOf(' ')));
    assert.equal(new Set(series).size, series.length, `${accept}: a label set twice:\n${series.join('\n')}`);
    // The label spells the number as the evaluator reads it (src/metrics/thresholdLabel.ts): both
    // 20,000-digit numbers are the bound 1, one threshold and one series.
    assert.equal(series.length, 3, `${accept}: "< 1000" once, ">= 0", and the two long ones as "< 1"`);
    for (const l of lines) assert.ok(l.length < 400, `${accept}: a ${l.length}-character line`);
    const long = lines.filter((l) => l.includes('CR_ACCESS'));
    assert.equal(long.length, 1);
    assert.match(long[0], /threshold="exits_per_second\{reason=\\"CR_ACCESS\\"\}: < 1"/);
  }
});
