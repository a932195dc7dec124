/**
 * deploy/k8s: the PrometheusRule: its recording rules use metrics and labels vmexit-lab exports,
 * and promtool checks the rules and their unit tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { METRICS } from '../../src/metrics/catalogue.js';
import { rendered, find, scratchDir } from './objects.js';

const tmp = scratchDir();

const rule = find(rendered.get('overlays/fleet-10k')!, 'PrometheusRule', 'vmexit-lab');

test('the recording rules use metrics and labels vmexit-lab exports', () => {
  const defs = new Map(METRICS.map((m) => [m.name, m]));
  const grouping = ['job', 'shard', 'shards', 'instance'];
  for (const g of rule.spec.groups) {
    for (const r of g.rules) {
      for (const name of (r.expr as string).match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
        if (!name.startsWith('vmexit_lab_') || name.includes(':')) continue;
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const def = defs.get(name) ?? (defs.get(base)?.type === 'histogram' ? defs.get(base) : undefined);
        assert.ok(def, `${r.record ?? r.alert}: ${name} is an exported metric`);
        const by = new RegExp(`by \\(([^)]*)\\) \\(${name}\\b`).exec(r.expr);
        if (by) {
          for (const l of by[1].split(',').map((s: string) => s.trim())) {
            assert.ok(
              [...def.labels, ...grouping, 'le'].includes(l),
              `${r.record ?? r.alert}: ${name} has no label ${l}`,
            );
          }
        }
      }
    }
  }
});

test('promtool checks the rules and their unit tests (Debian package prometheus)', (t) => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    if (process.env.CI === 'true') assert.fail('promtool not found: CI must install the Debian package "prometheus"');
    t.skip('promtool is not installed (Debian package prometheus)');
    return;
  }
  const dir = join(tmp, 'promtool');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
  const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  // Two shards of one run pushed (absolute counters of their own hosts) plus the service's own
  // series of the same scenario, which the fleet sums must leave out.
  const labels = 'scenario="fleet-10k",variant="bhyve-12.1",cpu="i7-6700K",policy="bhyve-12.1"';
  const shard = (i: number): string => `job="vmexit-lab-shards",instance="",shard="${i}",shards="2"`;
  const tests = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [
          { series: `vmexit_lab_vm_exits_total{${shard(1)},${labels},reason="CR_ACCESS"}`, values: '100x10' },
          { series: `vmexit_lab_vm_exits_total{${shard(2)},${labels},reason="CR_ACCESS"}`, values: '250x10' },
          { series: `vmexit_lab_vm_exits_total{${shard(2)},${labels},reason="HLT"}`, values: '50x10' },
          {
            series: `vmexit_lab_vm_exits_total{job="vmexit-lab",instance="10.0.0.1:8080",${labels},reason="CR_ACCESS"}`,
            values: '999x10',
          },
          { series: `vmexit_lab_guest_simulated_seconds_total{${shard(1)},${labels}}`, values: '10x10' },
          { series: `vmexit_lab_guest_simulated_seconds_total{${shard(2)},${labels}}`, values: '30x10' },
          { series: `vmexit_lab_interrupt_latency_seconds_bucket{${shard(1)},${labels},le="+Inf"}`, values: '7x10' },
          { series: `vmexit_lab_interrupt_latency_seconds_bucket{${shard(2)},${labels},le="+Inf"}`, values: '5x10' },
          { series: `push_time_seconds{${shard(1)}}`, values: '1000x10' },
          { series: `push_time_seconds{${shard(2)}}`, values: '1001x10' },
          { series: 'up{job="vmexit-lab",instance="10.0.0.1:8080"}', values: '0x10' },
          // A shard's threshold series is no alert (since shards judge no threshold they export none; an
          // old image's would be on partial totals); the service's latest run's is.
          {
            series: `vmexit_lab_threshold_passed{${shard(1)},scenario="fleet-10k",variant="bhyve-12.1",threshold="t"}`,
            values: '0x10',
          },
          {
            series:
              'vmexit_lab_threshold_passed{job="vmexit-lab",instance="10.0.0.1:8080",scenario="default-mixed-fleet",variant="bhyve-12.1",threshold="t"}',
            values: '0x10',
          },
        ],
        promql_expr_test: [
          {
            expr: 'vmexit_lab_fleet:vm_exits:sum{reason="CR_ACCESS"}',
            eval_time: '5m',
            exp_samples: [
              {
                labels: `vmexit_lab_fleet:vm_exits:sum{job="vmexit-lab-shards",${labels},reason="CR_ACCESS"}`,
                value: 350,
              },
            ],
          },
          {
            expr: 'vmexit_lab_fleet:vm_exits_per_guest_second:ratio',
            eval_time: '5m',
            exp_samples: [
              {
                labels: `vmexit_lab_fleet:vm_exits_per_guest_second:ratio{job="vmexit-lab-shards",${labels}}`,
                value: 10,
              },
            ],
          },
          {
            expr: 'vmexit_lab_fleet:interrupt_latency_seconds_bucket:sum',
            eval_time: '5m',
            exp_samples: [
              {
                labels: `vmexit_lab_fleet:interrupt_latency_seconds_bucket:sum{job="vmexit-lab-shards",${labels},le="+Inf"}`,
                value: 12,
              },
            ],
          },
          {
            expr: 'vmexit_lab_fleet:shards_pushed:count',
            eval_time: '5m',
            exp_samples: [
              { labels: 'vmexit_lab_fleet:shards_pushed:count{job="vmexit-lab-shards",shards="2"}', value: 2 },
            ],
          },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'VmexitLabServiceDown', exp_alerts: [] },
          {
            eval_time: '1m',
            alertname: 'VmexitLabThresholdFailed',
            exp_alerts: [
              {
                exp_labels: {
                  severity: 'warning',
                  job: 'vmexit-lab',
                  instance: '10.0.0.1:8080',
                  scenario: 'default-mixed-fleet',
                  variant: 'bhyve-12.1',
                  threshold: 't',
                },
                exp_annotations: { summary: 'The latest run of default-mixed-fleet failed threshold t (bhyve-12.1).' },
              },
            ],
          },
          {
            eval_time: '6m',
            alertname: 'VmexitLabServiceDown',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', job: 'vmexit-lab', instance: '10.0.0.1:8080' },
                exp_annotations: { summary: 'The vmexit-lab service has not answered a scrape for 5 minutes.' },
              },
            ],
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'rules.test.yaml'), stringify(tests));
  const run = spawnSync('promtool', ['test', 'rules', join(dir, 'rules.test.yaml')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});
