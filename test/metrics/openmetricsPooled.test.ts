/**
 * `run --openmetrics` on the worker pool: the history the CLI assembles from the tasks' own histories
 * (timelineFromTasks) is the single-thread runWithTimeline's, byte for byte, for any number of workers
 * and tasks; a stopped run's history ends where it stopped, with its partial totals.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { renderOpenMetrics, runWithTimeline, timelineFromTasks } from '../../src/metrics/openmetrics.js';
import { SimPool } from '../../src/pool/pool.js';
import { runScenarioPooled, startPooledRun } from '../../src/pool/pooledRun.js';
import { seriesStepNs } from '../../src/run/simulate.js';
import type { Scenario } from '../../src/scenario/types.js';

const START_MS = Date.UTC(2026, 0, 1);
/** The one value that is not the simulation's: the wall seconds the run took. */
const wallless = (text: string): string => text.replace(/^(vmexit_lab_run_last_wall_seconds\{[^}]*\}) \S+/gm, '$1 W');
const pools: SimPool[] = [];
after(async () => {
  for (const p of pools) await p.close();
});
const pool = (workers: number): SimPool => {
  const p = new SimPool({ workers, idleTimeoutMs: 5_000 });
  pools.push(p);
  return p;
};

/** Hosts that finish their work at different seconds (until-complete), in three variants. */
const uneven = parseScenario(
  `name: uneven
seed: 3
host: { cpu: i7-2620M, cores: 4, count: 5 }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, work: 3s }] }
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: build, work: 2s }] }
duration: until-complete
maxDuration: 1h
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v1, bhyve-tpr-v3]
`,
  'uneven.yaml',
);
const fleet: Scenario = {
  ...loadScenarioFile(join(REPO_ROOT, 'scenarios', 'default.yaml')),
  duration: { kind: 'fixed', ns: 4e9 },
};

for (const [name, scenario] of [
  ['default fleet, 4 s', fleet],
  ['until-complete, hosts ending apart', uneven],
] as const) {
  test(`pooled history = single-thread history, byte for byte: ${name}, 1 and 2 workers`, async () => {
    const one = runWithTimeline(scenario);
    const want = wallless(
      renderOpenMetrics([{ scenario, results: one.run.results, timeline: one.timeline }], { startMs: START_MS }),
    );
    assert.match(want, /vmexit_lab_run_last_wall_seconds\{[^}]*\} W /, 'the wall seconds are masked, nothing else');
    for (const workers of [1, 2]) {
      const out = await runScenarioPooled(scenario, {
        pool: pool(workers),
        pace: 'max',
        historyStepNs: seriesStepNs(scenario),
      });
      assert.ok(out.histories !== undefined && out.histories.length === out.tasks);
      if (workers > 1) assert.ok(out.tasks > scenario.variants.length, `${out.tasks} tasks: hosts split in a variant`);
      const timeline = timelineFromTasks(scenario, out.histories, out.accumulators);
      const got = wallless(renderOpenMetrics([{ scenario, results: out.results, timeline }], { startMs: START_MS }));
      assert.equal(got.length, want.length, `${workers} workers: length`);
      assert.ok(got === want, `${workers} workers: the same bytes`);
    }
  });
}

test('a stopped pooled run: the history ends at the stop, with the partial totals, counters never decreasing', async () => {
  const long: Scenario = { ...fleet, duration: { kind: 'fixed', ns: 600e9 } };
  const ac = new AbortController();
  const run = startPooledRun(long, {
    pool: pool(2),
    pace: 'max',
    signal: ac.signal,
    historyStepNs: seriesStepNs(long),
    onUpdate: (r) => {
      // Once any task has simulated 2 s (the slowest, a queued one, is still at 0).
      if (r.tasks.some((t) => t.progress.simNs >= 2e9) && !ac.signal.aborted) ac.abort();
    },
  });
  const out = await run.done;
  assert.equal(out.stopped, true);
  assert.ok(out.histories !== undefined);
  const timeline = timelineFromTasks(long, out.histories, out.accumulators);
  const points = timeline[0];
  const last = points[points.length - 1];
  assert.equal(last.totals, out.accumulators[0], 'the last point is the run totals');
  assert.ok(last.simNs < 600e9 && last.simNs >= 2e9, `ended at ${last.simNs / 1e9} s`);
  const sum = (a: Float64Array): number => a.reduce((x, y) => x + y, 0);
  for (let i = 1; i < points.length; i++) {
    assert.ok(points[i].simNs > points[i - 1].simNs, 'increasing time');
    assert.ok(sum(points[i].totals.exits) >= sum(points[i - 1].totals.exits), `exits never decrease (point ${i})`);
  }
  const text = renderOpenMetrics([{ scenario: long, results: out.results, timeline }], { startMs: START_MS });
  assert.match(text, /# EOF\n$/);
});
