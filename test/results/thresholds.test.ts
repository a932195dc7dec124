/** Threshold evaluation on results (src/results/thresholds.ts); the grammar is test/scenario/thresholds.test.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScenario } from '../../src/scenario/load.js';
import {
  allOutcomes,
  evaluateThresholds,
  histogramQuantile,
  NOT_JUDGED_RUN_FAILED,
  notJudged,
  notJudgedOnShard,
  runFailed,
} from '../../src/results/thresholds.js';
import type { Scenario } from '../../src/scenario/types.js';
import { histogram, totals } from '../scenario/helpers.js';
import { syntheticResults } from '../report/fixtures.js';

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
    assert.match(
      a[0].message!,
      /exits_per_second\{reason="CR_ACCESS"\} = 1,500 \(variant bhyve-12.1\); fails: < 1,000/,
    );
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

  it("evaluates k6's p(NN), avg and med like p99, mean and p50, and keeps the expression as written", () => {
    const s = scenarioWith(
      '  interrupt_latency_seconds: ["p(99) < 0.000004", "p99 < 0.000004", "avg > 0.0000019", "mean > 0.0000019", "med < 0.0000025", "p50 < 0.0000025"]\n',
    );
    const r = evaluateThresholds(s, [
      {
        name: 'bhyve-12.1',
        totals: totals({ interruptLatency: histogram([1000, 2000, 4000], [10, 30, 60, 0], 200_000) }),
      },
    ]);
    const out = r.perVariant.get('bhyve-12.1')!;
    assert.deepEqual(
      out.map((o) => o.expr),
      [
        'p(99) < 0.000004',
        'p99 < 0.000004',
        'avg > 0.0000019',
        'mean > 0.0000019',
        'med < 0.0000025',
        'p50 < 0.0000025',
      ],
    );
    for (let i = 0; i < out.length; i += 2) {
      assert.equal(out[i].value, out[i + 1].value, out[i].expr);
      assert.equal(out[i].passed, out[i + 1].passed, out[i].expr);
      assert.equal(out[i].message, out[i + 1].message, out[i].expr);
    }
    assert.ok(out.every((o) => o.passed));
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

describe('a failed run (runFailed, the one test the reports ask)', () => {
  const whole = syntheticResults();

  it("is a run whose thresholds `run` left unjudged for the failure (NOT_JUDGED_RUN_FAILED), each variant's too", () => {
    const failed = { ...notJudged(whole, NOT_JUDGED_RUN_FAILED), partial: true as const };
    assert.equal(runFailed(allOutcomes(failed)), true);
    for (const v of failed.variants) assert.equal(runFailed(v.thresholds), true, v.name);
  });

  it('is not a shard, a whole run, a run stopped early (partial, its thresholds judged) or one without thresholds', () => {
    assert.equal(runFailed(allOutcomes(notJudgedOnShard(whole))), false);
    assert.equal(runFailed(allOutcomes(whole)), false);
    assert.equal(runFailed(allOutcomes({ ...whole, partial: true, partialReason: 'stopped.' })), false);
    assert.equal(runFailed([]), false);
  });
});

describe('a work-bound phase some guests had not finished (phaseUnfinished)', () => {
  const s = scenarioWith(
    '  phase_seconds{phase="install"}: ["<= 150"]\n  ratio(phase_seconds{phase="install"}, variant="bhyve-12.1", variant="bhyve-tpr-v1"): [">= 1"]\n',
  );

  it('fails the phase time instead of judging the mean of the guests that got through', () => {
    const r = evaluateThresholds(s, [
      { name: 'bhyve-12.1', totals: totals({ phaseSeconds: { install: 118 }, phaseUnfinished: { install: 1 } }) },
      { name: 'bhyve-tpr-v1', totals: totals({ phaseSeconds: { install: 100 } }) },
    ]);
    const slow = r.perVariant.get('bhyve-12.1')![0];
    assert.equal(slow.passed, false);
    assert.equal(slow.value, null);
    assert.match(
      slow.message!,
      /no data: 1 guest had not finished phase install when the run ended \(its mean covers only those that did\)/,
    );
    // The same totals without an unfinished guest pass: the message is not the 'did not complete' of an absent phase.
    const whole = r.perVariant.get('bhyve-tpr-v1')![0];
    assert.deepEqual([whole.passed, whole.value], [true, 100]);
    assert.equal(r.crossVariant[0].passed, false);
    assert.match(r.crossVariant[0].message!, /had not finished phase install/);
  });

  it('says none did when no guest finished it', () => {
    const r = evaluateThresholds(s, [{ name: 'bhyve-12.1', totals: totals({ phaseUnfinished: { install: 2 } }) }]);
    assert.match(r.perVariant.get('bhyve-12.1')![0].message!, /2 guests had not finished phase install .*\(none did\)/);
  });
});
