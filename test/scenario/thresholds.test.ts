import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError, formatDiagnostic } from '../../src/input/diagnostics.js';
import { parseScenario } from '../../src/scenario/load.js';
import {
  ThresholdSyntaxError,
  VIOLATION_CHECKS,
  parseThresholdExpr,
  parseThresholdKey,
} from '../../src/scenario/thresholds.js';
import { ROOT } from './helpers.js';

describe('threshold syntax', () => {
  it('parses plain keys, labels and the variant label', () => {
    assert.deepEqual(parseThresholdKey('exits_total'), { kind: 'metric', metric: { name: 'exits_total', labels: {} } });
    assert.deepEqual(parseThresholdKey(' exits_per_second { reason = "CR_ACCESS" , variant="a/b" , } '), {
      kind: 'metric',
      metric: { name: 'exits_per_second', labels: { reason: 'CR_ACCESS' } },
      variant: 'a/b',
    });
    assert.deepEqual(parseThresholdKey('x{l="a\\"b\\\\c"}').metric.labels, { l: 'a"b\\c' });
    assert.deepEqual(
      parseThresholdKey('ratio(phase_seconds{phase="install"}, variant="bhyve-12.1", variant="bhyve-tpr-v1")'),
      {
        kind: 'ratio',
        metric: { name: 'phase_seconds', labels: { phase: 'install' } },
        numerator: 'bhyve-12.1',
        denominator: 'bhyve-tpr-v1',
      },
    );
  });

  it('rejects malformed keys', () => {
    for (const bad of [
      'exits_total{reason=CR_ACCESS}',
      'exits_total{reason="x"',
      'exits_total{reason="x" reason2="y"}',
      'exits_total{reason="x"}z',
      'Exits',
      '{reason="x"}',
      'exits_total{reason="x", reason="y"}',
      'ratio(exits_total, variant="a")',
      'ratio(exits_total, foo="a", variant="b")',
      'ratio(exits_total{variant="a"}, variant="a", variant="b")',
      'ratio(exits_total, variant="a", variant="b"',
      'exits_total{reason="\\n"}',
      '',
    ]) {
      assert.throws(() => parseThresholdKey(bad), ThresholdSyntaxError, bad);
    }
  });

  it('parses expressions with optional aggregation and exponent numbers', () => {
    assert.deepEqual(parseThresholdExpr('< 1000'), { comparator: '<', bound: 1000 });
    assert.deepEqual(parseThresholdExpr('<=1e3'), { comparator: '<=', bound: 1000 });
    assert.deepEqual(parseThresholdExpr(' >= -2.5E-3 '), { comparator: '>=', bound: -0.0025 });
    assert.deepEqual(parseThresholdExpr('== 0'), { comparator: '==', bound: 0 });
    assert.deepEqual(parseThresholdExpr('!= .5'), { comparator: '!=', bound: 0.5 });
    assert.deepEqual(parseThresholdExpr('> 5'), { comparator: '>', bound: 5 });
    assert.deepEqual(parseThresholdExpr('p99 < 0.0005'), {
      aggregation: { kind: 'quantile', q: 0.99 },
      comparator: '<',
      bound: 0.0005,
    });
    assert.deepEqual(parseThresholdExpr('p99.9<1'), {
      aggregation: { kind: 'quantile', q: 0.999 },
      comparator: '<',
      bound: 1,
    });
    assert.deepEqual(parseThresholdExpr('mean < 1'), { aggregation: { kind: 'mean' }, comparator: '<', bound: 1 });
    assert.deepEqual(parseThresholdExpr('count > 0'), { aggregation: { kind: 'count' }, comparator: '>', bound: 0 });
  });

  it('rejects malformed expressions', () => {
    for (const bad of [
      '<< 1000',
      '1000',
      '< ',
      '< abc',
      '=< 5',
      '= 5',
      'p101 < 1',
      'p99',
      'max < 1',
      '< 1e999',
      '< 1 2',
      '<1,000',
      '',
    ]) {
      assert.throws(() => parseThresholdExpr(bad), ThresholdSyntaxError, bad);
    }
  });
});

describe('threshold load-time checks', () => {
  const base =
    'name: t\nhost: { cpu: i7-2620M }\nguests:\n  - os: windows-7\n    phases: [{ phase: install, work: 1s }]\nmatrix:\n  policy: [bhyve-12.1, bhyve-tpr-v1]\nthresholds:\n';
  const err = (lines: string): string[] => {
    try {
      parseScenario(base + lines, 't.yaml');
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      return e.diagnostics.map(formatDiagnostic);
    }
    assert.fail('expected an error');
  };

  it('accepts every metric with valid labels', () => {
    const s = parseScenario(
      base +
        [
          '  exits_total{reason="TPR_BELOW_THRESHOLD"}: ["> 0"]',
          '  exits_per_second: ["< 1"]',
          '  cr8_accesses_total{variant="bhyve-12.1"}: ["> 0"]',
          '  cr8_accesses_per_second: ["< 1"]',
          '  interrupts_delivered_total{source="ipi"}: [">= 0"]',
          '  interrupts_delivered_per_second: [">= 0"]',
          '  interrupt_latency_seconds{variant="bhyve-tpr-v1"}: ["p50 < 1", "mean < 1", "count >= 0"]',
          '  phase_seconds{phase="install"}: ["< 1"]',
          '  host_seconds_in_exits{reason="CR_ACCESS"}: ["< 1"]',
          '  host_exit_time_ratio: ["< 1"]',
          '  guest_cpu_seconds: ["> 0"]',
          '  violations_total{check="ppr_below_tpr"}: ["== 0"]',
          '  ratio(exits_total, variant="bhyve-12.1", variant="bhyve-tpr-v1"): ["> 1"]',
        ].join('\n') +
        '\n',
      't.yaml',
    );
    assert.equal(s.thresholds.length, 15);
    const t = s.thresholds[2];
    assert.equal(t.metric, 'cr8_accesses_total{variant="bhyve-12.1"}');
    assert.equal(t.expr, '> 0');
    assert.deepEqual(t.source, { file: 't.yaml', line: 11, column: 46 });
    assert.deepEqual(t.parsed, {
      kind: 'metric',
      metric: { name: 'cr8_accesses_total', labels: {} },
      variant: 'bhyve-12.1',
      comparator: '>',
      bound: 0,
    });
  });

  it('rejects unknown metrics, labels and values with did-you-mean', () => {
    assert.match(
      err('  exits_totl: ["> 0"]\n')[0],
      /9:3: error: unknown threshold metric "exits_totl" \(did you mean "exits_total"\?\)/,
    );
    assert.match(
      err('  exits_total{resaon="CR_ACCESS"}: ["> 0"]\n')[0],
      /has no label "resaon" \(did you mean "reason"\?\)/,
    );
    assert.match(
      err('  interrupts_delivered_total{source="timr"}: ["> 0"]\n')[0],
      /unknown source "timr" in interrupts_delivered_total \(did you mean "timer"\?\)/,
    );
    assert.match(err('  violations_total{check="ppr_below"}: ["== 0"]\n')[0], /unknown check "ppr_below"/);
    assert.match(err('  phase_seconds: ["< 1"]\n')[0], /needs a phase label/);
    assert.match(err('  phase_seconds{phase="build"}: ["< 1"]\n')[0], /no guest runs a work-bound "build" phase/);
    assert.match(
      err('  exits_total{variant="bhyve-12"}: ["> 0"]\n')[0],
      /unknown variant "bhyve-12" \(did you mean "bhyve-12.1"\?\)/,
    );
    assert.match(err('  ratio(exits_total, variant="bhyve-12.1", variant="bhyve-12.1"): ["> 0"]\n')[0], /with itself/);
    assert.match(
      err('  exits_total{reason="VMEXIT_CR8_WRITE"}: ["> 0"]\n')[0],
      /is an SVM exit, but variant "bhyve-12.1" runs on an Intel CPU/,
    );
  });

  it('rejects bad expression lists at the expression', () => {
    assert.match(err('  exits_total: []\n')[0], /has no expressions/);
    assert.match(err('  exits_total: [5]\n')[0], /9:17: error: wrong type for threshold expression/);
    assert.match(err('  exits_total: ["> 0", "bogus"]\n')[0], /9:24: error: malformed threshold expression/);
  });

  it('reports all threshold problems of a file', () => {
    assert.equal(err('  a: ["> 0"]\n  b: ["> 0"]\n  exits_total: ["x"]\n').length, 3);
  });
});

describe('violation check names', () => {
  // Broken.check is typed by VIOLATION_CHECKS, so the compiler rejects an unlisted name; this
  // test catches the other direction: a listed check nothing in the core reports any more.
  it('are each reported somewhere in the core', () => {
    const coreFiles = readdirSync(join(ROOT, 'src', 'core'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    const reported = new Set<string>();
    for (const f of coreFiles) {
      const src = readFileSync(join(ROOT, 'src', 'core', f), 'utf8');
      for (const m of src.matchAll(/check: '([a-z0-9_]+)'/g)) reported.add(m[1]);
    }
    assert.deepEqual([...reported].sort(), [...VIOLATION_CHECKS].sort());
  });
});
