import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';

/**
 * Issue #17 item 2: exemplars used to keep the first run's timestamp for ever (Prometheus held 62,
 * all 19 minutes old, and a query over a live run's last minutes found none). Each run now brings
 * its own exemplars, stamped when they happened or were first shown.
 */

const scenario = parseScenario(
  `name: exemplar-times
seed: 3
host: { cpu: i7-6700K, cores: 4, count: 1 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
duration: 1s
`,
  'exemplar-times.yaml',
);

/** The timestamps of the latency exemplars in an OpenMetrics scrape. */
async function exemplarTimes(ep: MetricsEndpoint): Promise<number[]> {
  const body = (await ep.render(true)).body;
  const out: number[] = [];
  for (const line of body.split('\n')) {
    if (!line.startsWith('vmexit_lab_interrupt_latency_seconds_bucket')) continue;
    const m = / # \{[^}]*\} \S+ (\S+)$/.exec(line);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

test('#17.2: every run brings exemplars with its own time; repeated scrapes keep them stable', async () => {
  const hub = new MetricsHub();
  const ep = new MetricsEndpoint(hub);
  const first = runScenario(scenario);
  hub.addFinished(scenario, first.accumulators, first.results);
  const a = await exemplarTimes(ep);
  assert.ok(a.length > 0, 'the run has latency exemplars');
  assert.deepEqual(await exemplarTimes(ep), a, 'the same exemplar keeps its time between scrapes');
  await new Promise((ok) => setTimeout(ok, 30));
  const t1 = Date.now() / 1000;
  const second = runScenario({ ...scenario, seed: 4 });
  hub.addFinished({ ...scenario, seed: 4 }, second.accumulators, {
    ...second.results,
    startedAt: new Date().toISOString(),
  });
  const b = await exemplarTimes(ep);
  assert.ok(b.length > 0);
  assert.ok(
    b.every((t) => t >= t1),
    `the second run's exemplars are stamped after it started: ${Math.min(...b)} >= ${t1}`,
  );
});
