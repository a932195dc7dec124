/**
 * The overview's "Latest run verdict" on a real Prometheus, case by case: what each kind of latest
 * run shows, from the series the service and `run --push` / `--openmetrics` export. A shard's run
 * (`run --shard I/N`, N > 1) exits 0 but judged no threshold: it must show as not judged (-1), never
 * as a green pass, unless it failed (3). Each case is a scenario label in one OpenMetrics history
 * that Debian's promtool turns into TSDB blocks; the panel's own query runs over it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDashboards } from '../../src/dashboards/index.js';
import { systemBinary } from '../metrics/support.js';
import { startPrometheus } from '../metrics/history.js';
import { allPanels, interpolate, panelTargets, type DashboardJson } from './support.js';

const promtool = systemBinary('promtool', 'prometheus');
const prometheus = systemBinary('prometheus', 'prometheus');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-verdict-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Series = [metric: string, labels: Record<string, string>, value: number];

/** Per scenario label: the series of its latest run, and the value and text the panel must show. */
const CASES: { scenario: string; series: Series[]; value: number; text: string }[] = [
  { scenario: 'judged-pass', series: [['vmexit_lab_run_last_exit_status', {}, 0]], value: 0, text: 'passed' },
  {
    scenario: 'judged-fail',
    series: [['vmexit_lab_run_last_exit_status', {}, 1]],
    value: 1,
    text: 'threshold failed',
  },
  {
    scenario: 'shard-clean',
    series: [
      ['vmexit_lab_run_last_exit_status', {}, 0],
      ['vmexit_lab_run_last_not_judged', {}, 1],
    ],
    value: -1,
    text: 'not judged (a shard: merge judges)',
  },
  {
    scenario: 'shard-violation',
    series: [
      ['vmexit_lab_run_last_exit_status', {}, 3],
      ['vmexit_lab_run_last_not_judged', {}, 1],
    ],
    value: 3,
    text: 'violation, failed entry or partial run',
  },
  {
    // Two shards pushed to a Pushgateway (grouping label shard): neither judged.
    scenario: 'two-shards',
    series: [
      ['vmexit_lab_run_last_exit_status', { shard: '1' }, 0],
      ['vmexit_lab_run_last_not_judged', { shard: '1' }, 1],
      ['vmexit_lab_run_last_exit_status', { shard: '2' }, 0],
      ['vmexit_lab_run_last_not_judged', { shard: '2' }, 1],
    ],
    value: -1,
    text: 'not judged (a shard: merge judges)',
  },
  {
    // A service from before vmexit_lab_run_last_exit_status: the threshold outcomes.
    scenario: 'old-service',
    series: [['vmexit_lab_threshold_passed', { variant: 'a', threshold: 'exits_total: < 1' }, 0]],
    value: 1,
    text: 'threshold failed',
  },
];

function history(startS: number): string {
  const out: string[] = [];
  for (const name of new Set(CASES.flatMap((c) => c.series.map(([m]) => m)))) {
    out.push(`# TYPE ${name} gauge`);
    for (const c of CASES)
      for (const [m, labels, value] of c.series) {
        if (m !== name) continue;
        const text = Object.entries({ job: 'vmexit-lab', scenario: c.scenario, ...labels })
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        for (const t of [0, 1, 2]) out.push(`${name}{${text}} ${value} ${startS + t}`);
      }
  }
  return `${out.join('\n')}\n# EOF\n`;
}

test(
  'Latest run verdict: a shard shows as not judged, a judged run as its exit status',
  {
    skip: promtool.skip || prometheus.skip,
    timeout: 120_000,
  },
  async () => {
    assert.ok(promtool.path && prometheus.path);
    const overview = buildDashboards().find((d) => d.dashboard.uid === 'vmexit-lab-overview')!
      .dashboard as unknown as DashboardJson;
    const [target] = panelTargets(overview).filter((t) => t.panel === 'Latest run verdict');
    const panel = allPanels(overview).find((p) => p.title === 'Latest run verdict') as unknown as {
      fieldConfig: { defaults: { mappings: { options: Record<string, { text: string; color: string }> }[] } };
    };
    const mapping = panel.fieldConfig.defaults.mappings[0].options;

    const startS = Math.floor(Date.now() / 1000) - 3600;
    const om = join(dir, 'verdict.om');
    writeFileSync(om, history(startS));
    const tsdb = join(dir, 'tsdb');
    const b = spawnSync(promtool.path, ['tsdb', 'create-blocks-from', 'openmetrics', om, tsdb], { encoding: 'utf8' });
    assert.equal(b.status, 0, `${b.stdout}\n${b.stderr}`);
    const prom = await startPrometheus(prometheus.path, tsdb, dir);
    try {
      const q = interpolate(target.expr, { job: { raw: '.*' }, scenario: { raw: '.*' } });
      const got = new Map((await prom.query(q, startS + 2)).map((s) => [s.metric.scenario, Number(s.value[1])]));
      for (const c of CASES) {
        assert.equal(got.get(c.scenario), c.value, `${c.scenario}: ${q}`);
        assert.equal(mapping[String(c.value)]?.text, c.text, `${c.scenario}: the text it shows`);
        assert.equal(
          mapping[String(c.value)].color === 'green',
          c.text === 'passed',
          `${c.scenario}: green only for a pass`,
        );
      }
      assert.equal(got.size, CASES.length, 'one value per scenario');
    } finally {
      await prom.stop();
    }
  },
);
