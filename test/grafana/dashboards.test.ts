/**
 * The checked-in dashboards are what src/dashboards/ generates (`npm run dashboards`), they are
 * well-formed for Grafana's file provisioning, and the Prometheus files pass promtool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { buildDashboards, renderDashboard } from '../../src/dashboards/index.js';
import { systemBinary } from '../metrics/support.js';
import { allPanels, interpolate, panelTargets, queryVariables, type DashboardJson } from './support.js';

const GRAFANA = join(REPO_ROOT, 'grafana');
const PROM = join(GRAFANA, 'provisioning', 'prometheus');

test('grafana/dashboards/ is up to date with src/dashboards/ (run `npm run dashboards`)', () => {
  const built = buildDashboards();
  for (const { file, dashboard } of built) {
    const onDisk = readFileSync(join(GRAFANA, 'dashboards', file), 'utf8');
    assert.equal(onDisk, renderDashboard(dashboard), `grafana/dashboards/${file} is stale: run npm run dashboards`);
  }
  const files = readdirSync(join(GRAFANA, 'dashboards'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.deepEqual(files, built.map((b) => b.file).sort(), 'no stray dashboard JSON');
});

test('dashboards: unique uids, datasource variable on every panel, $__rate_interval, known variables', () => {
  const uids = new Set<string>();
  for (const { file } of buildDashboards()) {
    const d = JSON.parse(readFileSync(join(GRAFANA, 'dashboards', file), 'utf8'));
    assert.ok(!uids.has(d.uid), `duplicate uid ${d.uid}`);
    uids.add(d.uid);
    assert.equal(d.schemaVersion, 42, `${file}: classic schema 42`);
    assert.ok(
      d.templating.list.some(
        (v: any) => v.type === 'datasource' && v.name === 'DS_PROMETHEUS' && v.query === 'prometheus',
      ),
      `${file}: DS_PROMETHEUS variable`,
    );
    const ids = new Set<number>();
    for (const p of d.panels as { id: number }[]) {
      assert.ok(!ids.has(p.id), `${file}: panel ids unique`);
      ids.add(p.id);
    }
    const panels = allPanels(d);
    assert.ok(panels.length >= 10, `${file}: ${panels.length} panels`);
    for (const p of panels as any[]) {
      assert.deepEqual(
        p.datasource,
        { type: 'prometheus', uid: '${DS_PROMETHEUS}' },
        `${file}: ${p.title} uses the datasource variable`,
      );
      assert.ok(p.title && p.description, `${file}: panel title and description`);
      assert.ok((p.targets ?? []).length > 0, `${file}: ${p.title} has a query`);
    }
    // A panel says what each of its lines is: the device model's host time (a third line beside
    // host in exits and guest CPU) is named in the description (the A/B pair's did not say it).
    for (const p of panels as any[])
      if ((p.targets ?? []).some((t: { expr?: string }) => /vmexit_lab_device_model_seconds_total/.test(t.expr ?? '')))
        assert.match(
          p.description,
          /device model/,
          `${file}: ${p.title}: the description names the device model's line`,
        );
    const vars = Object.fromEntries(queryVariables(d).map((v) => [v.name, 'x']));
    for (const t of panelTargets(d)) {
      for (const m of t.expr.matchAll(/\[([^\]]+)\]/g))
        assert.ok(
          m[1] === '$__rate_interval' || (m[1] === '$__range' && /^increase\($/.test(before(t.expr, m.index))),
          `${file}: ${t.panel}: rate windows are $__rate_interval (increase() of rare events may span $__range): ${t.expr}`,
        );
      assert.doesNotThrow(() => interpolate(t.expr, vars), `${file}: ${t.panel}: only known variables`);
      // Divisors are guarded: no NaN between runs (0 / 0), no +Inf.
      if (/ \/ /.test(t.expr)) assert.match(t.expr, /> 0\)/, `${file}: ${t.panel}: a guarded divisor: ${t.expr}`);
      // Aggregations keep variants apart (the heatmap is one variant per repeated panel; run state,
      // thresholds and annotations are per scenario).
      for (const m of t.expr.matchAll(/\b(sum|min|max) by \(([^)]*)\)/g)) {
        const labels = m[2].split(',').map((l) => l.trim());
        const ok =
          labels.includes('variant') ||
          (t.panel.startsWith('Interrupt latency heatmap') && m[2] === 'le') ||
          (t.panel === 'Latest run state' && m[2] === 'state') ||
          (t.panel === 'Latest run verdict' && m[2] === 'scenario') ||
          // The service's lag gauge has no variant label: one series per scrape job.
          (t.panel === 'Realtime lag of the service' && m[2] === 'job');
        assert.ok(ok, `${file}: ${t.panel}: ${m[0]} sums variants together: ${t.expr}`);
      }
      if (/latency/i.test(t.panel)) assert.equal(t.exemplar, true, `${file}: ${t.panel}: exemplars on`);
      // Units: CPU seconds per simulated second are CPUs (not a percentage: a variant has many
      // vCPUs); CPU seconds per vCPU-second are a share (0-1, shown as a percentage, the one place
      // a percentage means something, with the share of halt polls that succeeded, a ratio of two
      // counts of one counter); latencies simulated seconds.
      const perVcpu = /vcpu_simulated_seconds_total/.test(t.expr);
      // successful polls over all polls of the same counter, and nothing else.
      const metrics = [...t.expr.matchAll(/\b(vmexit_lab_\w+)\{([^}]*)\}/g)];
      const pollShare =
        metrics.length === 2 &&
        metrics.every((m) => m[1] === 'vmexit_lab_kvm_halt_polls_total') &&
        metrics[0][2].endsWith('outcome="successful"') &&
        !metrics[1][2].includes('outcome') &&
        / \/ on /.test(t.expr);
      if (pollShare) assert.equal(t.unit, 'percentunit', `${file}: ${t.panel}: a share of polls`);
      if (/cpu_seconds_total|exit_handling_seconds_total|halt_poll_seconds_total/.test(t.expr))
        assert.equal(
          t.unit,
          perVcpu ? 'percentunit' : 'suffix:CPUs',
          `${file}: ${t.panel}: CPU seconds per ${perVcpu ? 'vCPU-second are a share' : 'simulated second are CPUs'}`,
        );
      if (/histogram_quantile/.test(t.expr)) assert.equal(t.unit, 's', `${file}: ${t.panel}: seconds`);
      if (!perVcpu && !pollShare)
        assert.ok(!/percent/.test(t.unit ?? ''), `${file}: ${t.panel}: no percent unit (${t.unit})`);
    }
    for (const v of queryVariables(d)) {
      assert.doesNotThrow(() => interpolate(v.selector, vars), `${file}: variable ${v.name}`);
      assert.ok(v.description && v.description.length > 20, `${file}: variable ${v.name} has a description`);
    }
    // Shared crosshair, run annotations.
    assert.equal(d.graphTooltip, 1, `${file}: shared crosshair`);
    assert.deepEqual(
      (d.annotations.list as { name: string }[]).map((a) => a.name),
      ['Runs', 'Run starts', 'Run ends'],
      `${file}: run annotations`,
    );
    if (d.uid === 'vmexit-lab-overview') {
      // A/B: A sorted ascending, B descending, so by default (the first option) they differ.
      const sort = Object.fromEntries(
        (d.templating.list as { name: string; sort?: number }[]).map((v) => [v.name, v.sort]),
      );
      assert.deepEqual([sort.a, sort.b], [1, 2], 'a alphabetical ascending, b descending');
    }
  }
  assert.ok(uids.has('vmexit-lab-overview') && uids.has('vmexit-lab-drilldown'));
});

/** The 10 characters before index i (what a range selector belongs to). */
function before(expr: string, i: number | undefined): string {
  const head = expr.slice(0, i ?? 0);
  const open = head.lastIndexOf('increase(');
  return open >= 0 && !head.slice(open).includes(')') ? 'increase(' : head.slice(-10);
}

const promtool = systemBinary('promtool', 'prometheus');

test(
  'promtool parses every panel and annotation query of both dashboards',
  { skip: promtool.skip, timeout: 60_000 },
  () => {
    assert.ok(promtool.path, promtool.missing);
    const exprs: string[] = [];
    for (const { dashboard } of buildDashboards()) {
      const d = dashboard as unknown as DashboardJson;
      const vars = Object.fromEntries(queryVariables(d).map((v) => [v.name, 'x']));
      for (const t of panelTargets(d)) exprs.push(interpolate(t.expr, vars));
      for (const a of (dashboard.annotations?.list ?? []) as { target?: { expr?: string } }[])
        if (a.target?.expr) exprs.push(interpolate(a.target.expr, vars));
    }
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-dash-'));
    try {
      const file = join(dir, 'queries.yml');
      const rules = exprs.map((e, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(e)}`);
      writeFileSync(file, `groups:\n  - name: dashboards\n    rules:\n${rules.join('\n')}\n`);
      const r = spawnSync(promtool.path, ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `promtool check rules on the dashboards' queries:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('promtool: check config, check rules, test rules', { skip: promtool.skip, timeout: 60_000 }, () => {
  assert.ok(promtool.path, promtool.missing);
  const runs: string[][] = [
    ['check', 'config', 'prometheus.yml'],
    ['check', 'rules', 'rules/vmexit-lab.rules.yml'],
    ['test', 'rules', 'tests/vmexit-lab.rules.test.yml'],
  ];
  for (const args of runs) {
    const r: { status: number | null; stdout: string; stderr: string } = spawnSync(promtool.path, args, {
      cwd: PROM,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
});

test('provisioning files: datasource and dashboard provider', () => {
  const ds = readFileSync(join(GRAFANA, 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8');
  assert.match(ds, /type: prometheus/);
  const prov = readFileSync(join(GRAFANA, 'provisioning', 'dashboards', 'vmexit-lab.yaml'), 'utf8');
  assert.match(prov, /type: file/);
  assert.match(prov, /foldersFromFilesStructure: true/);
});
