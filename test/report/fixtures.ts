/**
 * Synthetic results.json objects for the report tests: small, with every section populated
 * (phases, a time series, latency, passing and failing thresholds, expected and unexpected
 * violations), and a hostile variant whose strings try to break out of HTML.
 */
import type { RunResults, VariantResult, VariantTotals } from '../../src/results/types.js';
import type { Scenario } from '../../src/scenario/types.js';
import { evaluateThresholds } from '../../src/results/thresholds.js';
import { totals as zeroTotals } from '../scenario/helpers.js';

export const NASTY = `</script><script>alert("x")</script><img src=x onerror=alert(1)> & 'q'`;

const BOUNDS = [1000, 2500, 5000, 10000];

/** A variant's totals: 30 s of 2 guests (4 vCPUs) taking 100 interrupts, half timer, half device. */
function totals(over: Partial<VariantTotals>): VariantTotals {
  return zeroTotals({
    simulatedSeconds: 30,
    guestSeconds: 60,
    vcpuSeconds: 120,
    interruptsRaised: 100,
    interruptsInjected: 100,
    interruptsDelivered: 100,
    interruptsBySource: {
      timer: { raised: 50, delivered: 50 },
      device: { raised: 50, delivered: 50 },
      ipi: { raised: 0, delivered: 0 },
    },
    guestCpuSeconds: 10,
    interruptLatency: { boundsNs: BOUNDS, counts: [0, 0, 0, 0, 0], count: 0, sumNs: 0 },
    guests: 2,
    vcpus: 4,
    ...over,
  });
}

/** Exits of one reason per 10 s bucket, for 3 buckets (30 simulated seconds). */
const slowSeries = {
  stepSeconds: 10,
  exits: { CR_ACCESS: [120_000, 240_000, 60_000], EXTERNAL_INTERRUPT: [200, 200, 200], HLT: [20, 40, 0] },
};
const fastSeries = { stepSeconds: 10, exits: { EXTERNAL_INTERRUPT: [200, 180], HLT: [40, 40] } };

export function syntheticResults(options: { series?: boolean; nasty?: boolean } = {}): RunResults {
  const withSeries = options.series !== false;
  const slow: VariantResult = {
    name: 'bhyve-12.1',
    params: { policy: 'bhyve-12.1' },
    host: { cpu: 'i7-2620M', cores: 4, count: 1 },
    policy: 'bhyve-12.1',
    tunables: {},
    totals: totals({
      simulatedSeconds: 30,
      guestSeconds: 60,
      exits: { CR_ACCESS: 420_000, EXTERNAL_INTERRUPT: 600, HLT: 60 },
      exitsTotal: 420_660,
      cr8Accesses: 420_000,
      cr8Reads: 140_000,
      cr8Writes: 280_000,
      phaseSeconds: { install: 2280 },
      hostSecondsInExits: { CR_ACCESS: 0.6 },
      interruptLatency: { boundsNs: BOUNDS, counts: [60, 30, 10, 0, 0], count: 100, sumNs: 150_000 },
    }),
    ...(withSeries ? { series: slowSeries } : {}),
    thresholds: [
      { expr: '>= 1938', metric: 'phase_seconds{phase="install",variant="bhyve-12.1"}', passed: true, value: 2280 },
      {
        expr: '< 1000',
        metric: 'exits_per_second{reason="CR_ACCESS",variant="bhyve-12.1"}',
        passed: false,
        value: 7000,
        message: 'exits_per_second = 7000; does not hold: < 1000',
      },
    ],
  };
  const fast: VariantResult = {
    name: options.nasty ? NASTY : 'bhyve-tpr-v1',
    params: { policy: 'bhyve-tpr-v1' },
    host: { cpu: 'i7-2620M', cores: 4, count: 1 },
    policy: 'bhyve-tpr-v1',
    tunables: { tpr_threshold: 1 },
    totals: totals({
      simulatedSeconds: 20,
      guestSeconds: 40,
      exits: { EXTERNAL_INTERRUPT: 380, HLT: 80 },
      exitsTotal: 460,
      cr8Accesses: 500_000,
      cr8Reads: 170_000,
      cr8Writes: 330_000,
      phaseSeconds: { install: 370 },
      interruptLatency: { boundsNs: BOUNDS, counts: [10, 20, 30, 30, 10], count: 100, sumNs: 900_000 },
      violations: [
        {
          check: 'isr_isrvec_stk_out_of_sync',
          message: options.nasty ? NASTY : 'ISR and isrvec_stk out of sync',
          guest: 'windows-10-1909',
          host: 0,
          vcpu: 1,
          simTimeNs: 2_776_088,
          step: 431,
          state: {
            tpr: 0,
            ppr: 240,
            isr: [251],
            irr: [],
            isrvecStk: [],
            svi: 251,
            ...(options.nasty ? { [NASTY]: NASTY } : {}),
          },
          expected: true,
        },
        {
          check: 'ppr_above_tpr',
          message: 'PPR below TPR',
          guest: 'ubuntu-18.04',
          host: 0,
          vcpu: 3,
          simTimeNs: 16_058_551,
          step: 147,
          state: { tpr: 224, ppr: 208 },
          expected: false,
        },
      ],
    }),
    ...(withSeries ? { series: fastSeries } : {}),
    thresholds: [
      { expr: '== 0', metric: 'exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v1"}', passed: true, value: 0 },
    ],
  };
  return {
    version: 1,
    tool: { name: 'vmexit-lab', version: '0.1.0', modelVersion: '1' },
    scenario: options.nasty ? NASTY : 'synthetic-install',
    file: options.nasty ? NASTY : 'scenarios/synthetic.yaml',
    seed: 7,
    variants: [slow, fast],
    crossVariantThresholds: [
      {
        expr: '>= 5.546',
        metric: 'ratio(phase_seconds{phase="install"}, variant="bhyve-12.1", variant="bhyve-tpr-v1")',
        passed: true,
        value: 2280 / 370,
      },
    ],
    startedAt: '2026-11-25T06:00:00.000Z',
    wallSeconds: 1.25,
  };
}

/** syntheticResults with one variant, `base`, of totals `t`, its thresholds judged by `scenario`'s. */
export function judgedResults(scenario: Scenario, t: VariantTotals): RunResults {
  const outcomes = evaluateThresholds(scenario, [{ name: 'base', totals: t }]).perVariant.get('base')!;
  const base = syntheticResults();
  return {
    ...base,
    variants: [{ ...base.variants[0], name: 'base', totals: t, thresholds: outcomes }],
    crossVariantThresholds: [],
  };
}
