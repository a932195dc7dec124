/**
 * One threshold, two evaluators (docs/BEYOND.md): the scenario's thresholds compiled to PromQL
 * alert rules fire, under Debian's `promtool test rules` on the run's own history, for exactly the
 * (threshold, variant) pairs the JS evaluator failed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../../src/model/data.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import {
  ALERT_NAME,
  compileAlertRules,
  compileMetric,
  compileThreshold,
  renderAlertRules,
  RuleCompileError,
  thresholdLabel,
} from '../../src/metrics/alertRules.js';
import { thresholdLabel as gaugeThresholdLabel } from '../../src/metrics/thresholdLabel.js';
import { renderOpenMetrics, runWithTimeline } from '../../src/metrics/openmetrics.js';
import type { RunResults } from '../../src/results/types.js';
import type { Scenario } from '../../src/scenario/types.js';
import { systemBinary } from './support.js';
import { parseOpenMetrics } from './history.js';

const promtool = systemBinary('promtool', 'prometheus');
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'metrics', 'thresholds-mixed.yaml');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const scenario = loadScenarioFile(FIXTURE);
const { run, timeline } = runWithTimeline(scenario);
const results = run.results;
const history = renderOpenMetrics([{ scenario, results, timeline }], { startMs: 0, job: '' });

/** The alerts the JS evaluator's failures mean: labels of each expected firing alert (the gauge's threshold label). */
function expectedAlerts(r: RunResults, s: Scenario): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const v of r.variants) {
    for (const t of v.thresholds)
      if (!t.passed) out.push({ scenario: s.name, variant: v.name, threshold: gaugeThresholdLabel(t.metric, t.expr) });
  }
  for (const t of r.crossVariantThresholds)
    if (!t.passed) out.push({ scenario: s.name, threshold: gaugeThresholdLabel(t.metric, t.expr) });
  return out;
}

/** promtool test input: every series of the history, one value per step of simulated time. */
function promtoolTest(rulesFile: string, alerts: Record<string, string>[], of = history): string {
  const series = [...parseOpenMetrics(of).values()];
  const n = Math.max(...series.map((s) => s.points.length));
  const first = series.find((s) => s.points.length === n)!;
  const stepMs = first.points[1][0] - first.points[0][0];
  const endMs = first.points[n - 1][0];
  const input = series
    .filter((s) => s.points.length === n)
    .map((s) => {
      s.points.forEach(([t], i) => assert.equal(t, i * stepMs, `${s.key}: uniform steps`));
      return { series: s.key, values: s.points.map(([, v]) => String(v)).join(' ') };
    });
  return stringify(
    {
      rule_files: [rulesFile],
      evaluation_interval: `${stepMs}ms`,
      tests: [
        {
          interval: `${stepMs}ms`,
          input_series: input,
          alert_rule_test: [
            { eval_time: `${endMs}ms`, alertname: ALERT_NAME, exp_alerts: alerts.map((a) => ({ exp_labels: a })) },
          ],
        },
      ],
    },
    { lineWidth: 0 },
  );
}

/** The rule file without annotations (promtool compares those too; they quote $value). */
function rulesWithoutAnnotations(s: Scenario): string {
  const g = parse(renderAlertRules([s])) as { groups: { rules: { annotations?: unknown }[] }[] };
  for (const group of g.groups) for (const r of group.rules) delete r.annotations;
  return stringify(g, { lineWidth: 0 });
}

function promtoolRun(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(promtool.path!, args, { encoding: 'utf8', cwd: dir });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('the fixture has passing and failing thresholds of every kind (per-second, total, pNN, ratio)', () => {
  const all = [...results.variants.flatMap((v) => v.thresholds), ...results.crossVariantThresholds];
  for (const kind of [/_per_second/, /_total/, /: p\d+/, /^ratio\(/]) {
    assert.ok(
      all.some((t) => kind.test(`${t.metric}: ${t.expr}`) && t.passed),
      `a passing ${kind}`,
    );
    assert.ok(
      all.some((t) => kind.test(`${t.metric}: ${t.expr}`) && !t.passed),
      `a failing ${kind}`,
    );
  }
});

test(
  'promtool: the compiled alerts fire for exactly the thresholds the JS evaluator failed',
  { skip: promtool.skip, timeout: 60_000 },
  () => {
    assert.ok(promtool.path, promtool.missing);
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, renderAlertRules([scenario]));
    const check = promtoolRun(['check', 'rules', rules]);
    assert.equal(check.status, 0, check.out);
    writeFileSync(join(dir, 'test-rules.yml'), rulesWithoutAnnotations(scenario));
    const alerts = expectedAlerts(results, scenario);
    assert.ok(alerts.length >= 5 && alerts.length < scenario.thresholds.length * 2, `${alerts.length} failing`);
    writeFileSync(join(dir, 'test.yml'), promtoolTest('test-rules.yml', alerts));
    const ok = promtoolRun(['test', 'rules', 'test.yml']);
    assert.equal(ok.status, 0, ok.out);

    // A wrong expectation fails: one failing threshold left out, or a passing one added.
    writeFileSync(join(dir, 'missing.yml'), promtoolTest('test-rules.yml', alerts.slice(1)));
    assert.notEqual(promtoolRun(['test', 'rules', 'missing.yml']).status, 0, 'an expected alert left out must fail');
    const passing = results.variants[0].thresholds.find((t) => t.passed)!;
    writeFileSync(
      join(dir, 'extra.yml'),
      promtoolTest('test-rules.yml', [
        ...alerts,
        {
          scenario: scenario.name,
          variant: results.variants[0].name,
          threshold: gaugeThresholdLabel(passing.metric, passing.expr),
        },
      ]),
    );
    assert.notEqual(
      promtoolRun(['test', 'rules', 'extra.yml']).status,
      0,
      'an alert for a passing threshold must fail',
    );

    // A mutated bound (the failing "< 1000" per-second threshold made to pass) fails the same expectations.
    const mutated = {
      ...scenario,
      thresholds: scenario.thresholds.map((t) =>
        t.expr === '< 1000' ? { ...t, parsed: { ...t.parsed!, bound: 1e9 } } : t,
      ),
    };
    assert.notDeepEqual(mutated.thresholds, scenario.thresholds);
    writeFileSync(join(dir, 'mutated-rules.yml'), rulesWithoutAnnotations(mutated));
    writeFileSync(join(dir, 'mutated.yml'), promtoolTest('mutated-rules.yml', alerts));
    assert.notEqual(promtoolRun(['test', 'rules', 'mutated.yml']).status, 0, 'a mutated bound must fail the test');
  },
);

test(
  'promtool: a phase some guests had not finished fires its phase_seconds alert, as the JS evaluator fails it',
  { skip: promtool.skip, timeout: 60_000 },
  () => {
    assert.ok(promtool.path, promtool.missing);
    // Two installs, one cut by maxDuration: the finished guest's 118 s meets "<= 150", the phase does not.
    const half = loadScenarioFile(join(REPO_ROOT, 'test', 'fixtures', 'scenarios', 'half-installed.yaml'));
    const r = runWithTimeline(half);
    const om = renderOpenMetrics([{ scenario: half, results: r.run.results, timeline: r.timeline }], {
      startMs: 0,
      job: '',
    });
    const alerts = expectedAlerts(r.run.results, half);
    assert.equal(alerts.length, 1, 'the JS evaluator fails the phase time');
    writeFileSync(join(dir, 'half-rules.yml'), rulesWithoutAnnotations(half));
    writeFileSync(join(dir, 'half.yml'), promtoolTest('half-rules.yml', alerts, om));
    const ok = promtoolRun(['test', 'rules', 'half.yml']);
    assert.equal(ok.status, 0, ok.out);
    writeFileSync(join(dir, 'half-none.yml'), promtoolTest('half-rules.yml', [], om));
    assert.notEqual(promtoolRun(['test', 'rules', 'half-none.yml']).status, 0, 'the alert fires');
  },
);

test('compiled PromQL, form by form', () => {
  const S = 'scenario="thresholds-mixed"';
  const table: [
    Parameters<typeof compileMetric>[1],
    Parameters<typeof compileMetric>[2],
    string | undefined,
    string,
  ][] = [
    [
      { name: 'exits_total', labels: {} },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_vm_exits_total{${S}})`,
    ],
    [
      { name: 'exits_total', labels: { reason: 'CR_ACCESS' } },
      undefined,
      'bhyve-12.1',
      `sum by (scenario, variant) (vmexit_lab_vm_exits_total{${S}, variant="bhyve-12.1", reason="CR_ACCESS"})`,
    ],
    [
      { name: 'exits_per_second', labels: {} },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_vm_exits_total{${S}}) / sum by (scenario, variant) (vmexit_lab_guest_simulated_seconds_total{${S}})`,
    ],
    [
      { name: 'cr8_accesses_total', labels: {} },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_tpr_accesses_total{${S}, kind=~"cr8_read|cr8_write"})`,
    ],
    [
      { name: 'interrupts_delivered_total', labels: { source: 'ipi' } },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_interrupts_total{${S}, outcome="delivered", source="ipi"})`,
    ],
    [
      { name: 'interrupt_latency_seconds', labels: {} },
      { kind: 'quantile', q: 0.99 },
      undefined,
      `histogram_quantile(0.99, sum by (scenario, variant, le) (vmexit_lab_interrupt_latency_seconds_bucket{${S}}))`,
    ],
    [
      { name: 'interrupt_latency_seconds', labels: {} },
      { kind: 'mean' },
      undefined,
      `sum by (scenario, variant) (vmexit_lab_interrupt_latency_seconds_sum{${S}}) / sum by (scenario, variant) (vmexit_lab_interrupt_latency_seconds_count{${S}})`,
    ],
    [
      { name: 'interrupt_latency_seconds', labels: {} },
      { kind: 'count' },
      undefined,
      `sum by (scenario, variant) (vmexit_lab_interrupt_latency_seconds_count{${S}})`,
    ],
    [
      { name: 'phase_seconds', labels: { phase: 'install' } },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_phase_duration_seconds_total{${S}, phase="install"}) / sum by (scenario, variant) (vmexit_lab_phase_completions_total{${S}, phase="install"})`,
    ],
    [
      { name: 'host_seconds_in_exits', labels: { reason: 'HLT' } },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_exit_handling_seconds_total{${S}, reason="HLT"})`,
    ],
    [
      { name: 'host_exit_time_ratio', labels: {} },
      undefined,
      'bhyve-12.1',
      `(sum by (scenario, variant) (vmexit_lab_exit_handling_seconds_total{${S}, variant="bhyve-12.1"}) / (sum by (scenario, variant) (vmexit_lab_guest_simulated_seconds_total{${S}, variant="bhyve-12.1"}) * 1.5))`,
    ],
    [
      { name: 'guest_cpu_seconds', labels: {} },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_guest_cpu_seconds_total{${S}})`,
    ],
    [
      { name: 'violations_total', labels: { check: 'isrvec_stk_overflow' } },
      undefined,
      undefined,
      `sum by (scenario, variant) (vmexit_lab_invariant_violations_total{${S}, check="isrvec_stk_overflow"})`,
    ],
  ];
  for (const [metric, agg, variant, want] of table)
    assert.equal(compileMetric(scenario, metric, agg, variant).value, want, metric.name);
  // The alert: the series that do not satisfy the comparison, plus a zero denominator.
  const perSecond = scenario.thresholds.find((t) => t.metric.startsWith('exits_per_second') && t.expr === '< 1000')!;
  const v = `sum by (scenario, variant) (vmexit_lab_vm_exits_total{${S}, variant="bhyve-12.1", reason="CR_ACCESS"}) / sum by (scenario, variant) (vmexit_lab_guest_simulated_seconds_total{${S}, variant="bhyve-12.1"})`;
  assert.equal(
    compileThreshold(scenario, perSecond),
    `(${v}) unless (${v}) < 1000 or (sum by (scenario, variant) (vmexit_lab_guest_simulated_seconds_total{${S}, variant="bhyve-12.1"}) == 0)`,
  );
  const ratio = scenario.thresholds.find((t) => t.metric.startsWith('ratio('))!;
  assert.match(
    compileThreshold(scenario, ratio),
    /^\(\(.*variant="bhyve-tpr-v1".*\) \/ ignoring \(variant\) \(.*variant="bhyve-12.1".*\)\) unless .* < 0.5 or \(\(.*\) == 0\)/,
  );
  // Labels: the threshold as the threshold_passed gauge names it.
  const groups = compileAlertRules(scenario).groups;
  assert.equal(groups[0].rules.length, scenario.thresholds.length);
  assert.deepEqual(
    groups[0].rules.map((r) => r.labels.threshold),
    scenario.thresholds.map(thresholdLabel),
  );
});

test('a threshold that cannot be compiled is a clear error naming it and where it is', () => {
  const text = [
    'name: scripted-deliveries',
    'description: x',
    'host: { cpu: i7-2620M }',
    'hypervisor: { policy: bhyve-12.1 }',
    'guests:',
    '  - os: scripted',
    '    vcpus: 1',
    '    script:',
    '      - write_cr8: 2',
    'duration: 1s',
    'thresholds:',
    '  interrupts_delivered_total: ["> 0"]',
    '',
  ].join('\n');
  let s: Scenario;
  try {
    s = parseScenario(text, 'scripted.yaml');
  } catch (e) {
    assert.fail(`fixture scenario does not load: ${(e as Error).message}`);
  }
  assert.throws(
    () => compileAlertRules(s),
    (e: unknown) =>
      e instanceof RuleCompileError &&
      /^scripted\.yaml:12:\d+: interrupts_delivered_total: "> 0": .*source=/.test(e.message),
  );
  const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'rules', FIXTURE], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(parse(cli.stdout).groups[0].rules.length, scenario.thresholds.length);
});

test('the thresholds of every shipped scenario compile to rules promtool accepts', { skip: promtool.skip }, () => {
  assert.ok(promtool.path, promtool.missing);
  const files = [
    'default.yaml',
    ...['seed', 'library'].flatMap((d) =>
      readdirSync(join(REPO_ROOT, 'scenarios', d))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(d, f)),
    ),
  ];
  const scenarios = files.map((f) => loadScenarioFile(join(REPO_ROOT, 'scenarios', f)));
  const file = join(dir, 'shipped.yml');
  writeFileSync(file, renderAlertRules(scenarios));
  const check = promtoolRun(['check', 'rules', file]);
  assert.equal(check.status, 0, check.out);
  const n = scenarios.reduce((a, s) => a + s.thresholds.length, 0);
  assert.match(check.out, new RegExp(`SUCCESS: ${n} rules found`));
  assert.doesNotMatch(check.out, /FAILED|lint/);
});

test('a long threshold is labelled as the threshold_passed gauge labels it: at most 200 characters, a digest of the whole', () => {
  // Variant names of three tunables each: a ratio of two is past 200 characters.
  const s = parseScenario(
    `name: long-threshold
host: { cpu: i7-6700K }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 1, phases: [{ phase: idle }] }
duration: 1s
matrix:
  tunables.kvm_intel.ple_window_grow: [1, 2]
  tunables.kvm_intel.ple_window_shrink: [0, 1]
  tunables.kvm_intel.ple_window_max: [4096, 8192]
thresholds:
  ratio(exits_per_second{reason="HLT"}, variant="kvm_intel.ple_window_grow=1/kvm_intel.ple_window_shrink=0/kvm_intel.ple_window_max=4096", variant="kvm_intel.ple_window_grow=2/kvm_intel.ple_window_shrink=0/kvm_intel.ple_window_max=4096"): ["< 1"]
  ratio(exits_per_second{reason="HLT"}, variant="kvm_intel.ple_window_grow=1/kvm_intel.ple_window_shrink=0/kvm_intel.ple_window_max=4096", variant="kvm_intel.ple_window_grow=2/kvm_intel.ple_window_shrink=0/kvm_intel.ple_window_max=8192"): ["< 1"]
`,
    'long.yaml',
  );
  const labels = compileAlertRules(s).groups[0].rules.map((r) => r.labels.threshold);
  assert.deepEqual(
    labels,
    s.thresholds.map((t) => gaugeThresholdLabel(t.metric, t.expr)),
  );
  assert.ok(
    labels.every((l) => l.length <= 200 && / #[0-9a-f]{12}$/.test(l)),
    labels.join('\n'),
  );
  assert.notEqual(labels[0], labels[1], 'the digest keeps the two apart');
});
