/**
 * The checked-in dashboards are what src/dashboards/ generates (`npm run dashboards`), they are
 * well-formed for Grafana's file provisioning, and the Prometheus files pass promtool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { buildDashboards, renderDashboard } from '../../src/dashboards/index.js';
import { systemBinary } from '../metrics/support.js';
import { allPanels, interpolate, panelTargets, queryVariables } from './support.js';

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
    const vars = Object.fromEntries(queryVariables(d).map((v) => [v.name, 'x']));
    for (const t of panelTargets(d)) {
      for (const m of t.expr.matchAll(/\[([^\]]+)\]/g))
        assert.equal(m[1], '$__rate_interval', `${file}: ${t.panel}: rate windows are $__rate_interval: ${t.expr}`);
      assert.doesNotThrow(() => interpolate(t.expr, vars), `${file}: ${t.panel}: only known variables`);
    }
    for (const v of queryVariables(d))
      assert.doesNotThrow(() => interpolate(v.selector, vars), `${file}: variable ${v.name}`);
  }
  assert.ok(uids.has('vmexit-lab-overview') && uids.has('vmexit-lab-drilldown'));
});

const promtool = systemBinary('promtool', 'prometheus');

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
