import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError, formatDiagnostic } from '../../src/scenario/errors.js';
import { parseScenario } from '../../src/scenario/load.js';
import {
  ThresholdSyntaxError,
  VIOLATION_CHECKS,
  evaluateThresholds,
  histogramQuantile,
  parseThresholdExpr,
  parseThresholdKey,
} from '../../src/scenario/thresholds.js';
import type { Scenario } from '../../src/scenario/types.js';
import { ROOT, histogram, totals } from './helpers.js';

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

describe('histogram quantiles', () => {
  // Buckets (ns): <=1000: 10, <=2000: 30, <=4000: 60, +Inf: 0 -> 100 observations.
  const h = histogram([1000, 2000, 4000], [10, 30, 60, 0]);

  it('interpolates linearly inside the bucket like Prometheus histogram_quantile', () => {
    assert.equal(histogramQuantile(0.05, h), 500); // rank 5 in the first bucket [0, 1000]
    assert.equal(histogramQuantile(0.1, h), 1000);
    assert.equal(histogramQuantile(0.25, h), 1500); // rank 25: 15 of 30 into (1000, 2000]
    assert.equal(histogramQuantile(0.7, h), 3000); // rank 70: 30 of 60 into (2000, 4000]
    assert.equal(histogramQuantile(1, h), 4000);
  });

  it('answers the highest finite bound for ranks in the +Inf bucket', () => {
    assert.equal(histogramQuantile(0.99, histogram([1000, 2000], [1, 1, 98])), 2000);
  });

  it('has no value without observations', () => {
    assert.equal(histogramQuantile(0.5, histogram([1000], [0, 0])), undefined);
  });
});

function scenarioWith(
  thresholds: string,
  matrix = '  policy: [bhyve-12.1, bhyve-tpr-v1]\n',
  cpu = 'i7-2620M',
): Scenario {
  return parseScenario(
    `name: t\nhost: { cpu: ${cpu} }\nguests:\n  - os: windows-7\n    phases: [{ phase: install, work: 1s }]\nmatrix:\n${matrix}thresholds:\n${thresholds}`,
    't.yaml',
  );
}

describe('threshold evaluation', () => {
  it('computes per-guest per-second rates from guestSeconds', () => {
    const s = scenarioWith(
      '  exits_per_second{reason="CR_ACCESS"}: ["< 1000"]\n  cr8_accesses_per_second: [">= 61200", "<= 74800"]\n',
    );
    const t = totals({
      simulatedSeconds: 10,
      guestSeconds: 20,
      guests: 2,
      exits: { CR_ACCESS: 30000 },
      exitsTotal: 30000,
      cr8Accesses: 1_360_000,
    });
    const r = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: t },
      { name: 'bhyve-tpr-v1', totals: totals({ cr8Accesses: 10 }) },
    ]);
    const a = r.perVariant.get('bhyve-12.1')!;
    assert.deepEqual(
      a.map((o) => [o.expr, o.passed, o.value]),
      [
        ['< 1000', false, 1500],
        ['>= 61200', true, 68000],
        ['<= 74800', true, 68000],
      ],
    );
    assert.match(a[0].message!, /exits_per_second\{reason="CR_ACCESS"\} = 1500 \(variant bhyve-12.1\); fails: < 1000/);
    const b = r.perVariant.get('bhyve-tpr-v1')!;
    assert.deepEqual(
      b.map((o) => [o.passed, o.value]),
      [
        [true, 0],
        [false, 1],
        [true, 1],
      ],
    );
    assert.deepEqual(r.crossVariant, []);
  });

  it('falls back to simulatedSeconds * guests without guestSeconds', () => {
    const s = scenarioWith('  exits_per_second: ["== 5"]\n');
    const r = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ simulatedSeconds: 10, guestSeconds: 0, guests: 2, exitsTotal: 100 }) },
    ]);
    assert.equal(r.perVariant.get('bhyve-12.1')![0].value, 5);
  });

  it('restricts thresholds with a variant label to that variant', () => {
    const s = scenarioWith('  cr8_accesses_total{variant="bhyve-tpr-v1"}: ["== 3"]\n');
    const r = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ cr8Accesses: 1 }) },
      { name: 'bhyve-tpr-v1', totals: totals({ cr8Accesses: 3 }) },
    ]);
    assert.deepEqual(r.perVariant.get('bhyve-12.1'), []);
    assert.deepEqual(
      r.perVariant.get('bhyve-tpr-v1')!.map((o) => o.passed),
      [true],
    );
  });

  it('fails a metric without data instead of passing it', () => {
    const s = scenarioWith(
      '  phase_seconds{phase="install"}: ["< 400"]\n  interrupt_latency_seconds: ["p99 < 1", "mean < 1", "count == 0"]\n  exits_per_second: ["< 1"]\n',
    );
    const r = evaluateThresholds(s, [{ name: 'bhyve-12.1', totals: totals({ simulatedSeconds: 0, guestSeconds: 0 }) }]);
    const out = r.perVariant.get('bhyve-12.1')!;
    assert.deepEqual(
      out.map((o) => [o.passed, o.value]),
      [
        [false, null],
        [false, null],
        [false, null],
        [true, 0],
        [false, null],
      ],
    );
    for (const o of [out[0], out[1], out[2], out[4]]) assert.match(o.message!, /^no data/);
  });

  it('evaluates latency aggregations in seconds', () => {
    const s = scenarioWith(
      '  interrupt_latency_seconds: ["p50 < 0.0000025", "p99 > 0.000003", "mean > 0.0000019", "mean < 0.0000021", "count == 100"]\n',
    );
    const r = evaluateThresholds(s, [
      {
        name: 'bhyve-12.1',
        totals: totals({ interruptLatency: histogram([1000, 2000, 4000], [10, 30, 60, 0], 200_000) }),
      },
    ]);
    const out = r.perVariant.get('bhyve-12.1')!;
    assert.deepEqual(
      out.map((o) => o.passed),
      [true, true, true, true, true],
    );
    // p50: rank 50 is 10 of 60 into (2000, 4000] ns.
    assert.ok(Math.abs(out[0].value! - (2000 + 2000 * (10 / 60)) / 1e9) < 1e-15);
    assert.match(
      out[0].message!,
      /interrupt_latency_seconds p50 = 0\.00000233333 \(variant bhyve-12\.1\); holds: < 0\.0000025/,
    );
  });

  it('counts missing exit reasons of the right vendor as 0', () => {
    const s = scenarioWith(
      '  exits_total{reason="TPR_BELOW_THRESHOLD"}: ["== 0"]\n  host_seconds_in_exits{reason="APIC_ACCESS"}: ["== 0"]\n  host_seconds_in_exits: ["== 1.5"]\n  host_exit_time_ratio: ["== 0.075"]\n',
    );
    const r = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ hostSecondsInExits: { CR_ACCESS: 1, HLT: 0.5 }, vcpuSeconds: 20 }) },
    ]);
    assert.deepEqual(
      r.perVariant.get('bhyve-12.1')!.map((o) => [o.passed, o.value]),
      [
        [true, 0],
        [true, 0],
        [true, 1.5],
        [true, 0.075],
      ],
    );
  });

  it('counts interrupts by source and violations by check', () => {
    const s = scenarioWith(
      '  interrupts_delivered_total{source="ipi"}: ["== 4"]\n  interrupts_delivered_total: ["== 9"]\n  violations_total: ["== 2"]\n  violations_total{check="ppr_below_tpr"}: ["== 1"]\n  guest_cpu_seconds: ["> 1"]\n',
    );
    const v = {
      check: 'ppr_below_tpr',
      message: '',
      guest: 'g',
      host: 0,
      vcpu: 0,
      simTimeNs: 0,
      step: 0,
      state: {},
      expected: false,
    };
    const t = totals({
      interruptsDelivered: 9,
      interruptsBySource: {
        timer: { raised: 5, delivered: 5 },
        device: { raised: 0, delivered: 0 },
        ipi: { raised: 4, delivered: 4 },
      },
      violations: [v, { ...v, check: 'isrvec_stk_order' }],
      guestCpuSeconds: 2,
    });
    const r = evaluateThresholds(s, [{ name: 'bhyve-12.1', totals: t }]);
    assert.deepEqual(
      r.perVariant.get('bhyve-12.1')!.map((o) => o.passed),
      [true, true, true, true, true],
    );
  });

  it('evaluates ratio(...) across variants', () => {
    const s = scenarioWith(
      '  ratio(phase_seconds{phase="install"}, variant="bhyve-12.1", variant="bhyve-tpr-v1"): ["> 5"]\n',
    );
    const r = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ phaseSeconds: { install: 600 } }) },
      { name: 'bhyve-tpr-v1', totals: totals({ phaseSeconds: { install: 100 } }) },
    ]);
    assert.deepEqual(
      r.crossVariant.map((o) => [o.passed, o.value, o.metric, o.expr]),
      [[true, 6, 'ratio(phase_seconds{phase="install"}, variant="bhyve-12.1", variant="bhyve-tpr-v1")', '> 5']],
    );
    assert.deepEqual(r.perVariant.get('bhyve-12.1'), []);
  });

  it('fails a ratio when a variant has no results, no data or a zero denominator', () => {
    const s = scenarioWith(
      '  ratio(phase_seconds{phase="install"}, variant="bhyve-12.1", variant="bhyve-tpr-v1"): ["> 5"]\n',
    );
    const only = evaluateThresholds(s, [{ name: 'bhyve-12.1', totals: totals({ phaseSeconds: { install: 600 } }) }]);
    assert.equal(only.crossVariant[0].passed, false);
    assert.match(only.crossVariant[0].message!, /no data: variant bhyve-tpr-v1 has no results/);
    const missing = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ phaseSeconds: { install: 600 } }) },
      { name: 'bhyve-tpr-v1', totals: totals() },
    ]);
    assert.match(missing.crossVariant[0].message!, /no data: phase install did not complete in variant bhyve-tpr-v1/);
    const zero = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ phaseSeconds: { install: 600 } }) },
      { name: 'bhyve-tpr-v1', totals: totals({ phaseSeconds: { install: 0 } }) },
    ]);
    assert.equal(zero.crossVariant[0].value, null);
    assert.equal(zero.crossVariant[0].passed, false);
  });

  it('handles every comparator', () => {
    const s = scenarioWith('  guest_cpu_seconds: ["< 2", "<= 2", "> 2", ">= 2", "== 2", "!= 2"]\n');
    const r = evaluateThresholds(s, [{ name: 'bhyve-12.1', totals: totals({ guestCpuSeconds: 2 }) }]);
    assert.deepEqual(
      r.perVariant.get('bhyve-12.1')!.map((o) => o.passed),
      [false, true, false, true, true, false],
    );
  });

  it('evaluates AMD exit reasons on AMD variants', () => {
    const s = scenarioWith(
      '  exits_total{reason="VMEXIT_CR8_WRITE"}: ["== 0"]\n',
      '  policy: [kvm, bhyve-12.1]\n',
      'epyc-7281',
    );
    const r = evaluateThresholds(s, [{ name: 'kvm', totals: totals() }]);
    assert.deepEqual(
      r.perVariant.get('kvm')!.map((o) => [o.passed, o.value]),
      [[true, 0]],
    );
  });
});

describe('violation check names', () => {
  it('match the checks the machine reports', () => {
    const src = readFileSync(join(ROOT, 'src', 'core', 'vcpu', 'machine.ts'), 'utf8');
    const found = new Set([...src.matchAll(/violate\(\s*\w+\s*,\s*'([a-z0-9_]+)'/g)].map((m) => m[1]));
    assert.deepEqual([...found].sort(), [...VIOLATION_CHECKS].sort());
  });
});
