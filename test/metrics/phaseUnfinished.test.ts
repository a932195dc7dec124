/**
 * Guests that had not finished a work-bound phase, on /metrics (vmexit_lab_run_phase_unfinished_guests,
 * docs/GRAFANA.md): the phase series count finished guests only, so without it a dashboard shows the
 * fast install of the guests that got through. Through the real registry:
 * test/fixtures/scenarios/half-installed.yaml (two installs, one cut by maxDuration) shows 1, as
 * results.json's totals.phaseUnfinished; the same guests both finishing show 0; a scenario without a
 * work-bound phase has no series. While the run goes on the gauge counts the guests that have not
 * finished the phase yet (2, then 1 once the quick install is done); the series count computed before
 * the run counts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { METRICS } from '../../src/metrics/catalogue.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import { expectedSeries } from '../../src/metrics/cardinality.js';
import { renderOpenMetrics, runWithTimeline } from '../../src/metrics/openmetrics.js';
import type { Scenario } from '../../src/scenario/types.js';
import type { TotalsAccumulator } from '../../src/run/totals.js';
import { parseExposition } from './support.js';
import { parseOpenMetrics } from './history.js';

const NAME = 'vmexit_lab_run_phase_unfinished_guests';
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'scenarios', 'half-installed.yaml');

/** The gauge's series of a scenario after a finished run: `phase` -> value. */
async function gaugeAfter(
  scenario: Scenario,
  accumulators: readonly TotalsAccumulator[],
  results: never,
): Promise<{
  phases: Map<string, number>;
  series: number;
}> {
  const hub = new MetricsHub();
  hub.addFinished(scenario, accumulators, results);
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  const phases = new Map<string, number>();
  let series = 0;
  for (const [key, v] of s) {
    if (!key.includes(`scenario="${scenario.name}"`)) continue;
    series++;
    if (!key.startsWith(`${NAME}{`)) continue;
    phases.set(/phase="([^"]+)"/.exec(key)![1], v);
  }
  return { phases, series };
}

const half = loadScenarioFile(FIXTURE);
const { run, timeline } = runWithTimeline(half);

test('half-installed: the cut-off install shows 1, as results.json phaseUnfinished; the series count counts it', async () => {
  const t = run.results.variants[0].totals;
  assert.deepEqual(t.phaseUnfinished, { install: 1 }, 'the fixture leaves one install unfinished');
  const g = await gaugeAfter(half, run.accumulators, run.results as never);
  // Only the phase a guest's plan has bound by work: boot, idle, build, disk-benchmark have no series.
  assert.deepEqual([...g.phases], [['install', 1]]);
  assert.equal(g.series, expectedSeries(half).total);
  // One frozen label set per series, the same at every scrape (prom-client caches its text by object).
  const hub = new MetricsHub();
  hub.addFinished(half, run.accumulators, run.results);
  const defs = METRICS.filter((d) => d.workPhasesOnly === true);
  assert.deepEqual(
    defs.map((d) => d.name),
    [NAME],
  );
  const first = defs[0].collect(hub, NAME);
  assert.equal(first.length, 1);
  assert.ok(Object.isFrozen(first[0].labels) && first[0].sharedLabels === first[0].labels);
  assert.equal(defs[0].collect(hub, NAME)[0].labels, first[0].labels);
});

test('the same installs, both finished: the series is there at 0', async () => {
  const text = readFileSync(FIXTURE, 'utf8').replace('work: 200s', 'work: 0.5s');
  assert.notEqual(text, readFileSync(FIXTURE, 'utf8'));
  const done = parseScenario(text, 'both-installed.yaml');
  const r = runScenario(done);
  assert.equal(r.results.variants[0].totals.phaseUnfinished, undefined, 'both guests finished');
  assert.equal(r.results.variants[0].totals.phaseSeconds['install'] > 0, true);
  const g = await gaugeAfter(done, r.accumulators, r.results as never);
  assert.deepEqual([...g.phases], [['install', 0]]);
  assert.equal(g.series, expectedSeries(done).total);
});

test('a scenario without a work-bound phase has no series of the gauge', async () => {
  const idle = parseScenario(
    `name: no-work-phase
host: { cpu: i7-6700K, cores: 4 }
guests:
  - { os: ubuntu-18.04, vcpus: 1, phases: [{ phase: idle }] }
duration: 1s
hypervisor: { policy: bhyve-12.1 }
`,
    'no-work-phase.yaml',
  );
  const r = runScenario(idle);
  const g = await gaugeAfter(idle, r.accumulators, r.results as never);
  assert.equal(g.phases.size, 0);
  assert.equal(g.series, expectedSeries(idle).total);
});

test('while the run goes on: the guests that have not finished the phase yet, from 2 to the 1 the run ends with', () => {
  const history = parseOpenMetrics(
    renderOpenMetrics([{ scenario: half, results: run.results, timeline }], { startMs: 0 }),
  );
  const series = [...history.values()].filter((s) => s.key.startsWith(`${NAME}{`));
  assert.equal(series.length, 1);
  const values = series[0].points.map(([, v]) => v);
  // The history starts at simulated time 0, before any snapshot, where every series is 0.
  assert.equal(values[0], 0);
  assert.equal(values[1], 2, 'at the first simulated second neither guest has installed');
  assert.equal(values[values.length - 1], 1, 'at the end: results.json phaseUnfinished');
  // The quick guest's install ends at its completion time (results.json phaseSeconds, whole seconds here).
  const quickS = run.results.variants[0].totals.phaseSeconds['install'];
  const at = (s: number): number => series[0].points.find(([ms]) => ms >= s * 1000)![1];
  assert.equal(at(Math.floor(quickS) - 1), 2);
  assert.equal(at(Math.ceil(quickS) + 1), 1);
  for (let i = 2; i < values.length; i++) assert.ok(values[i] <= values[i - 1], 'never up once the run began');
});

test('the live hub: a running run shows its latest snapshot, and the finished run replaces it', async () => {
  const points = timeline[0];
  const mid = points[1];
  assert.ok(mid.simNs > 0 && mid.simNs < points[points.length - 1].simNs);
  const hub = new MetricsHub();
  const startedAtMs = Date.now();
  hub.addRun('r1', half, {
    pace: 'max',
    startedAtMs,
    live: () => [{ variantIndex: 0, totals: mid.totals, hostsRunning: 1 }],
  });
  const read = async (): Promise<number> => {
    const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
    const keys = [...s.keys()].filter((k) => k.startsWith(`${NAME}{`));
    assert.equal(keys.length, 1);
    return s.get(keys[0])!;
  };
  assert.equal(await read(), 2);
  hub.finishRun('r1', 'completed', run.results);
  // finishRun reads the run's parts once more: here still the snapshot, so 2; the results' run is 1.
  assert.equal(await read(), 2);
  hub.addFinished(half, run.accumulators, run.results);
  assert.equal(await read(), 1, "the latest run's value, not a sum over runs");
});
