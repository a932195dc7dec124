/**
 * Exact history in Prometheus (docs/BEYOND.md): `run --openmetrics` writes a timestamped
 * OpenMetrics file; Debian's promtool turns it into TSDB blocks, the real prometheus serves them,
 * and the values at the run's end equal results.json exactly; every panel query of the shipped
 * dashboards returns data at that instant.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { METRICS } from '../../src/metrics/catalogue.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import { renderOpenMetrics, runWithTimeline } from '../../src/metrics/openmetrics.js';
import { buildDashboards } from '../../src/dashboards/index.js';
import type { RunResults } from '../../src/results/types.js';
import { parseExposition, systemBinary } from './support.js';
import { parseOpenMetrics, startPrometheus } from './history.js';
import { interpolate, panelTargets, queryVariables, type DashboardJson } from '../grafana/support.js';

const promtool = systemBinary('promtool', 'prometheus');
const prometheus = systemBinary('prometheus', 'prometheus');
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const DEFAULT = join(REPO_ROOT, 'scenarios', 'default.yaml');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-om-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A start an hour ago, on a whole second: inside Prometheus' retention, reproducible bytes.
const START_MS = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

test('the history has every /metrics family with the same type, HELP and label sets, and valid OpenMetrics structure', () => {
  const scenario = { ...loadScenarioFile(DEFAULT), duration: { kind: 'fixed' as const, ns: 5e9 } };
  const { run, timeline } = runWithTimeline(scenario);
  const text = renderOpenMetrics([{ scenario, results: run.results, timeline }], { startMs: START_MS, job: '' });
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[lines.length - 1], '# EOF', 'ends with # EOF');
  assert.equal(lines.filter((l) => l === '# EOF').length, 1);
  // Families: TYPE and HELP as the registry's, counters without _total in the family name.
  // Service-only families have no values in a run's history; the default scenario expects no
  // violation, so vmexit_lab_invariant_violation_expected has no series (and no family) either, nor
  // the KVM-only halt-poll families on its bhyve variants; nor
  // vmexit_lab_run_last_not_judged, a shard's only (test/cli/shardVerdict.test.ts).
  for (const def of METRICS.filter(
    (d) =>
      !d.perGuest &&
      d.serviceOnly !== true &&
      d.kvmOnly !== true && // the default scenario is bhyve's: test/metrics/haltPoll.test.ts
      d.workPhasesOnly !== true && // it has no work-bound phase: test/metrics/phaseUnfinished.test.ts
      d.name !== 'vmexit_lab_invariant_violation_expected' &&
      d.name !== 'vmexit_lab_run_last_not_judged' &&
      d.name !== 'vmexit_lab_realtime_lag_seconds',
  )) {
    const family = def.type === 'counter' ? def.name.replace(/_total$/, '') : def.name;
    assert.ok(lines.includes(`# TYPE ${family} ${def.type}`), `# TYPE ${family} ${def.type}`);
    assert.ok(
      lines.some((l) => l.startsWith(`# HELP ${family} `)),
      `# HELP ${family}`,
    );
  }
  // Every series: increasing timestamps; counters never go down.
  const series = parseOpenMetrics(text);
  for (const s of series.values()) {
    for (let i = 1; i < s.points.length; i++) {
      assert.ok(s.points[i][0] > s.points[i - 1][0], `${s.key}: timestamps increase`);
      if (/_total\{|_bucket\{|_count\{|_sum\{/.test(s.key))
        assert.ok(s.points[i][1] >= s.points[i - 1][1], `${s.key}: a counter does not go down`);
    }
  }
  // The label sets of the last instant are exactly those /metrics exports for the same run.
  const hub = new MetricsHub();
  hub.addFinished(scenario, run.accumulators, run.results);
  return new MetricsEndpoint(hub).render(true).then(({ body }) => {
    const live = parseExposition(body.replace(/^# EOF$/m, ''));
    const scenarioKeys = (keys: Iterable<string>): string[] =>
      [...keys].filter((k) => k.includes(`scenario="${scenario.name}"`)).sort();
    assert.deepEqual(scenarioKeys(series.keys()), scenarioKeys(live.keys()));
    // ... with the same final values (the last point of each series), timestamps aside.
    for (const key of scenarioKeys(live.keys())) {
      // wall-clock gauges (the history's run starts at --start-time, this hub's at results.startedAt)
      if (key.startsWith('vmexit_lab_run_last_') || key.startsWith('vmexit_lab_run_started_')) continue;
      const s = series.get(key)!;
      assert.equal(s.points[s.points.length - 1][1], live.get(key), key);
    }
    // Timestamps are start + simulated time: the last is start + 5 s.
    const ex = [...series.values()].find((s) => s.key.startsWith('vmexit_lab_simulated_seconds_total'))!;
    assert.deepEqual(
      ex.points.map(([t, v]) => [t - START_MS, v]),
      [0, 1, 2, 3, 4, 5].map((s) => [s * 1000, s]),
    );
  });
});

test(
  'run --openmetrics: promtool backfills it and a real Prometheus answers the results exactly, dashboards included',
  { skip: promtool.skip || prometheus.skip, timeout: 180_000 },
  async () => {
    assert.ok(promtool.path, promtool.missing);
    assert.ok(prometheus.path, prometheus.missing);
    const om = join(dir, 'run.om');
    const resultsFile = join(dir, 'results.json');
    const start = new Date(START_MS).toISOString();
    const r = spawnSync(
      process.execPath,
      [CLI, 'run', '--quiet', '--openmetrics', om, '--start-time', start, '--out', resultsFile, DEFAULT],
      { encoding: 'utf8' },
    );
    assert.ok(r.status === 0 || r.status === 1, `run: ${r.status}\n${r.stderr}`);
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as RunResults;
    // Reproducible: the same start gives the same bytes (wall-clock gauge aside).
    const again = join(dir, 'again.om');
    spawnSync(process.execPath, [CLI, 'run', '--quiet', '--openmetrics', again, '--start-time', start, DEFAULT], {
      encoding: 'utf8',
    });
    const strip = (t: string): string =>
      t
        .split('\n')
        .filter((l) => !l.startsWith('vmexit_lab_run_last_wall_seconds'))
        .join('\n');
    assert.equal(strip(readFileSync(again, 'utf8')), strip(readFileSync(om, 'utf8')), 'same --start-time, same file');

    const tsdb = join(dir, 'tsdb');
    const b = spawnSync(promtool.path, ['tsdb', 'create-blocks-from', 'openmetrics', om, tsdb], { encoding: 'utf8' });
    assert.equal(b.status, 0, `promtool tsdb create-blocks-from openmetrics:\n${b.stdout}\n${b.stderr}`);

    const prom = await startPrometheus(prometheus.path, tsdb, dir);
    try {
      const end = (START_MS + Math.max(...results.variants.map((v) => v.totals.simulatedSeconds)) * 1000) / 1000;
      for (const v of results.variants) {
        const sel = `scenario="${results.scenario}",variant="${v.name}"`;
        const exits = await prom.query(`sum by (reason) (vmexit_lab_vm_exits_total{${sel}})`, end);
        assert.ok(exits.length >= 15, `${v.name}: every VT-x reason pre-created (${exits.length})`);
        for (const e of exits) {
          assert.equal(Number(e.value[1]), v.totals.exits[e.metric.reason] ?? 0, `${v.name} ${e.metric.reason}`);
        }
        const sim = await prom.query(`vmexit_lab_simulated_seconds_total{${sel}}`, end);
        assert.equal(sim.length, 1);
        assert.equal(Number(sim[0].value[1]), v.totals.simulatedSeconds, `${v.name} simulated seconds`);
        const guest = await prom.query(`vmexit_lab_guest_simulated_seconds_total{${sel}}`, end);
        assert.equal(Number(guest[0].value[1]), v.totals.guestSeconds);
        const cr8 = await prom.query(`sum(vmexit_lab_tpr_accesses_total{${sel},kind=~"cr8_.*"})`, end);
        assert.equal(Number(cr8[0].value[1]), v.totals.cr8Accesses);
        // Halfway, the exits are the sum of the results' series buckets up to then.
        const half = Math.floor(v.totals.simulatedSeconds / 2);
        const mid = await prom.query(
          `sum(vmexit_lab_vm_exits_total{${sel},reason="CR_ACCESS"})`,
          (START_MS + half * 1000) / 1000,
        );
        const buckets = v.series!.exits['CR_ACCESS'] ?? [];
        const upTo = buckets.slice(0, half / v.series!.stepSeconds).reduce((a, x) => a + x, 0);
        assert.equal(Number(mid[0].value[1]), upTo, `${v.name} CR_ACCESS at ${half} s`);
      }

      // Every panel query of both dashboards returns data at the run's end.
      let checked = 0;
      for (const { dashboard } of buildDashboards()) {
        const d = dashboard as unknown as DashboardJson;
        const vars: Record<string, string> = {};
        for (const v of queryVariables(d)) {
          const match = `${v.metric}{${interpolate(v.selector, vars)}}`.replace('{}', '');
          const values = await prom.labelValues(v.label, match, START_MS / 1000, end);
          assert.ok(values.length > 0, `values of $${v.name} (${match})`);
          vars[v.name] = v.name === 'b' ? values[values.length - 1] : values[0];
        }
        const empty: string[] = [];
        for (const t of panelTargets(d)) {
          const q = interpolate(t.expr, vars);
          // The default scenario has no work-bound phase: no phase completion time and no series of
          // guests that had not finished one (rightly no value; test/grafana/values.test.ts has them).
          if (t.panel === 'Phase completion time (mean over guests)') continue;
          if (/vmexit_lab_run_phase_unfinished_guests/.test(t.expr)) {
            assert.deepEqual(await prom.query(q, end), [], `${t.panel} [${t.refId}] without a work-bound phase: ${q}`);
            continue;
          }
          // KVM's halt-poll panels: the default scenario is bhyve, whose vm_handle_hlt never polls, so
          // they must have no series here (test/grafana/prometheus.test.ts fills them on a KVM run).
          if (/vmexit_lab_kvm_halt/.test(t.expr)) {
            assert.deepEqual(await prom.query(q, end), [], `${t.panel} [${t.refId}] on bhyve: ${q}`);
            continue;
          }
          if ((await prom.query(q, end)).length === 0) empty.push(`${t.panel} [${t.refId}]: ${q}`);
          checked++;
        }
        assert.deepEqual(empty, [], `${d.uid} with ${JSON.stringify(vars)}: panels without data at the run's end`);
      }
      assert.ok(checked > 30, `${checked} panel queries`);
    } finally {
      await prom.stop();
    }
  },
);
