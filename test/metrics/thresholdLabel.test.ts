/**
 * One threshold, one series: the `threshold` label of vmexit_lab_threshold_passed and of the alert
 * rules (src/metrics/thresholdLabel.ts) is built from the parsed threshold, so two spellings of one
 * threshold are one label, and a real difference is still two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAlertRules, thresholdLabel as ruleLabel } from '../../src/metrics/alertRules.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { thresholdLabel } from '../../src/metrics/thresholdLabel.js';
import { runWithTimeline } from '../../src/metrics/openmetrics.js';
import { parseScenario } from '../../src/scenario/load.js';

const label = (key: string, expr: string): string => thresholdLabel(key, expr);

test('two spellings of one threshold are one label', () => {
  const same: readonly (readonly [string, string])[][] = [
    [
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000'],
      ['exits_per_second{reason="CR_ACCESS"}', '<  1000'],
      ['exits_per_second { reason = "CR_ACCESS" , }', '<1000'],
      ['exits_per_second{reason="CR_ACCESS"}', '< 1e3'],
      ['exits_per_second{reason="CR_ACCESS"}', '< +1000.0'],
    ],
    [
      ['exits_per_second{reason="CR_ACCESS",variant="bhyve-12.1"}', '>= 0.5'],
      ['exits_per_second{reason="CR_ACCESS", variant="bhyve-12.1"}', '>= .50'],
      ['exits_per_second{variant="bhyve-12.1",reason="CR_ACCESS"}', '>= 5e-1'],
    ],
    [
      ['interrupt_latency_seconds', 'p99 < 0.0005'],
      ['interrupt_latency_seconds', 'p(99) < 5e-4'],
      ['interrupt_latency_seconds{}', 'p( 99.0 )<0.00050'],
    ],
    [
      ['interrupt_latency_seconds', 'mean < 1'],
      ['interrupt_latency_seconds', 'avg < 1'],
    ],
    [
      ['interrupt_latency_seconds', 'p50 < 1'],
      ['interrupt_latency_seconds', 'med < 1'],
    ],
    [
      ['ratio(exits_per_second, variant="a", variant="b")', '< 0.5'],
      ['ratio( exits_per_second{} ,variant="a",variant="b" )', '<0.5'],
    ],
  ];
  for (const group of same) {
    const labels = group.map(([k, e]) => label(k, e));
    assert.deepEqual(new Set(labels).size, 1, `one label for ${JSON.stringify(group)}: ${labels.join(' | ')}`);
  }
});

test('a real difference is still two labels', () => {
  const pairs: readonly (readonly [readonly [string, string], readonly [string, string]])[] = [
    [
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000'],
      ['exits_per_second{reason="CR_ACCESS"}', '<= 1000'],
    ],
    [
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000'],
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000.001'],
    ],
    [
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000'],
      ['exits_per_second{reason="HLT"}', '< 1000'],
    ],
    [
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000'],
      ['exits_total{reason="CR_ACCESS"}', '< 1000'],
    ],
    [
      ['exits_per_second{reason="CR_ACCESS",variant="a"}', '< 1000'],
      ['exits_per_second{reason="CR_ACCESS",variant="b"}', '< 1000'],
    ],
    [
      ['exits_per_second{reason="CR_ACCESS"}', '< 1000'],
      ['exits_per_second{reason="CR_ACCESS",variant="a"}', '< 1000'],
    ],
    [
      ['interrupt_latency_seconds', 'p99 < 1'],
      ['interrupt_latency_seconds', 'p99.9 < 1'],
    ],
    [
      ['interrupt_latency_seconds', 'mean < 1'],
      ['interrupt_latency_seconds', 'count < 1'],
    ],
    [
      ['ratio(exits_per_second, variant="a", variant="b")', '< 0.5'],
      ['ratio(exits_per_second, variant="b", variant="a")', '< 0.5'],
    ],
  ];
  for (const [a, b] of pairs) assert.notEqual(label(...a), label(...b), `${a.join(': ')} vs ${b.join(': ')}`);
});

test('the canonical spelling: labels sorted by name, variant among them, no blanks in a selector, the number as the evaluator reads it', () => {
  assert.equal(
    label('exits_per_second{ variant = "bhyve-12.1", reason = "CR_ACCESS" }', '<  1e3'),
    'exits_per_second{reason="CR_ACCESS",variant="bhyve-12.1"}: < 1000',
  );
  assert.equal(label('interrupt_latency_seconds', 'p(99.9)<5e-4'), 'interrupt_latency_seconds: p99.9 < 0.0005');
  assert.equal(label('interrupt_latency_seconds', 'med < 1'), 'interrupt_latency_seconds: p50 < 1');
  assert.equal(label('interrupt_latency_seconds', 'avg < 1'), 'interrupt_latency_seconds: mean < 1');
  assert.equal(
    label('ratio(exits_per_second{reason="CR_ACCESS"},variant="a",variant="b")', '<0.5'),
    'ratio(exits_per_second{reason="CR_ACCESS"}, variant="a", variant="b"): < 0.5',
  );
  assert.equal(label('violations_total', '== -0'), 'violations_total: == 0');
  // A label value keeps the grammar's escapes, so the key stays one the grammar reads.
  assert.equal(label('exits_total{variant="a\\"b\\\\c"}', '> 0'), 'exits_total{variant="a\\"b\\\\c"}: > 0');
});

test('what the label already guaranteed: invisible characters as escapes, a long one cut with a digest of the whole', () => {
  // White space the grammar trims (U+2028, U+FEFF) is gone; inside a quoted value it is shown.
  assert.equal(
    label('exits_per_second{reason="CR_ACCESS"}\u2028', '< 1000\ufeff'),
    'exits_per_second{reason="CR_ACCESS"}: < 1000',
  );
  assert.equal(label('exits_total{variant="a\u2028b"}', '> 0'), 'exits_total{variant="a\\u2028b"}: > 0');
  const v = 'x'.repeat(150);
  const a = label(`ratio(exits_total, variant="${v}1", variant="${v}2")`, '< 1');
  const b = label(`ratio(exits_total, variant="${v}1", variant="${v}3")`, '< 1');
  for (const l of [a, b]) {
    assert.ok(l.startsWith(`ratio(exits_total, variant="${v}1", v`), l);
    assert.match(l, /\.\.\. #[0-9a-f]{12}$/);
    assert.ok(l.length <= 200, `${l.length} characters`);
  }
  assert.notEqual(a, b, 'the digest keeps the two apart');
  // Text the grammar does not read (results from elsewhere) keeps its written form.
  assert.equal(label('not a key', '< 1'), 'not a key: < 1');
});

test('the gauge and the alert rules name one threshold written twice with one label, once', () => {
  const scenario = parseScenario(
    `name: spellings
seed: 3
host: { cpu: i7-2620M, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 1, phases: [{ phase: idle }] }
duration: 1s
thresholds:
  exits_per_second{reason="CR_ACCESS",variant="base"}: ["< 1000", "<  1e3", ">= 1000"]
  exits_per_second{variant="base", reason="CR_ACCESS"}: ["<1000.0"]
  interrupt_latency_seconds: ["p(99) < 1", "p99 < 1"]
`,
    'spellings.yaml',
  );
  const want = [
    'exits_per_second{reason="CR_ACCESS",variant="base"}: < 1000',
    'exits_per_second{reason="CR_ACCESS",variant="base"}: >= 1000',
    'interrupt_latency_seconds: p99 < 1',
  ];
  const rules = compileAlertRules(scenario).groups[0].rules;
  assert.deepEqual(
    rules.map((r) => r.labels.threshold),
    want,
    'one rule per threshold',
  );
  assert.deepEqual([...new Set(scenario.thresholds.map(ruleLabel))], want);
  const { run } = runWithTimeline(scenario);
  const hub = new MetricsHub();
  hub.restore([{ label: scenario.name, state: 'completed', finishedAtMs: 0, exitStatus: 0, results: run.results }]);
  assert.deepEqual(
    hub
      .thresholdPassed()
      .map((s) => s.labels.threshold)
      .sort(),
    want,
  );
});
