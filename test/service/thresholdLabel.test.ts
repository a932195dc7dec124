/**
 * The `threshold` label of vmexit_lab_threshold_passed is spelled from the parsed threshold
 * (src/metrics/thresholdLabel.ts): what the threshold grammar trims as white space is not in it
 * (docs/SERVICE.md, "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '../support/wait.js';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';

const { dataDir, services } = serviceFixture('vmexit-lab-threshold-label-');

test('the threshold label has no invisible character (U+2028 and U+FEFF the grammar trims as white space were kept in /metrics as written)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const yaml = `name: invisible
seed: 1
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests: [{ os: freebsd-12.1, phases: [{ phase: idle }] }]
duration: 1s
thresholds:
  "exits_per_second{reason=\\"CR_ACCESS\\"}\\u2028": ["< 1000\\ufeff"]
`;
  const r = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: yaml,
  });
  const rec = (await r.json()) as { seriesLabel: string };
  assert.equal(r.status, 202, JSON.stringify(rec));
  const gauge = `vmexit_lab_threshold_passed{scenario="${rec.seriesLabel}"`;
  const metrics = await waitUntil('the threshold gauge', async () => {
    const m = await (await fetch(`${s.url}/metrics`)).text();
    return m.includes(gauge) ? m : undefined;
  });
  assert.equal(
    metrics.split('\n').find((l) => l.startsWith(gauge)),
    // The label is spelled from the parsed threshold (src/metrics/thresholdLabel.ts): the white
    // space the grammar trims is not in it at all (it was, as escapes, before one spelling).
    `${gauge},variant="base",threshold="exits_per_second{reason=\\"CR_ACCESS\\"}: < 1000"} 1`,
  );
  assert.doesNotMatch(metrics, /[\u2028\u2029\ufeff]/u, 'no invisible character left in /metrics');
});
