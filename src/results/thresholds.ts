/**
 * Threshold evaluation: a scenario's thresholds (parsed at load time by src/scenario/thresholds.ts,
 * which has the grammar and the metric catalogue, and checked against the scenario by
 * src/scenario/thresholdChecks.ts) measured on a run's results and compared. A
 * metric without data FAILS with "no data" instead of passing. The same thresholds also compile to
 * Prometheus alerting rules over the live metrics (src/metrics/alertRules.ts).
 */
import type { Vendor } from '../core/cpu/profile.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { parseThreshold, parseThresholdExpr, type InterruptSource } from '../scenario/thresholds.js';
import type {
  MetricSelector,
  ParsedThreshold,
  Scenario,
  ThresholdAggregation,
  ThresholdComparator,
  ThresholdSpec,
} from '../scenario/types.js';
import { thresholdFigure, thresholdFigures } from './figures.js';
import { phaseUnfinishedOf, unfinishedPhaseSentence } from './phases.js';
import type { LatencyHistogram, RunResults, ThresholdOutcome, VariantTotals } from './types.js';

type Measured = { readonly value: number } | { readonly noData: string };

/** Prometheus histogram_quantile(): linear interpolation inside the bucket that holds the rank. */
export function histogramQuantile(q: number, h: LatencyHistogram): number | undefined {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total <= 0 || h.boundsNs.length === 0) return undefined;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < h.boundsNs.length; i++) {
    const inBucket = h.counts[i] ?? 0;
    if (cum + inBucket >= rank) {
      const lower = i === 0 ? 0 : h.boundsNs[i - 1];
      const upper = h.boundsNs[i];
      if (inBucket === 0) return lower;
      return lower + ((upper - lower) * (rank - cum)) / inBucket;
    }
    cum += inBucket;
  }
  // The rank falls in the +Inf bucket: like Prometheus, answer the highest finite bound.
  return h.boundsNs[h.boundsNs.length - 1];
}

function measure(
  sel: MetricSelector,
  aggregation: ThresholdAggregation | undefined,
  t: VariantTotals,
  vendor: Vendor | undefined,
): Measured {
  // Per guest per simulated second: guestSeconds (each guest's own run time, summed) is the
  // denominator; it equals simulatedSeconds * guests when every guest ran the whole time.
  const guestSeconds = t.guestSeconds > 0 ? t.guestSeconds : t.simulatedSeconds * t.guests;
  const perSecond = (total: number): Measured =>
    guestSeconds > 0 ? { value: total / guestSeconds } : { noData: 'no simulated time or no guests' };
  const reason = sel.labels['reason'];
  const exits = (): Measured => {
    if (reason === undefined) return { value: t.exitsTotal };
    const v = t.exits[reason];
    if (v !== undefined) return { value: v };
    const kind = EXIT_KINDS.find((k) => k.name === reason);
    if (kind !== undefined && vendor !== undefined && kind.vendor === vendor) return { value: 0 };
    return { noData: `exit reason ${reason} does not occur on this CPU` };
  };
  const source = sel.labels['source'] as InterruptSource | undefined;
  const delivered = (): number =>
    source === undefined ? t.interruptsDelivered : (t.interruptsBySource[source]?.delivered ?? 0);
  switch (sel.name) {
    case 'exits_total':
      return exits();
    case 'exits_per_second': {
      const e = exits();
      return 'value' in e ? perSecond(e.value) : e;
    }
    case 'cr8_accesses_total':
      return { value: t.cr8Accesses };
    case 'cr8_accesses_per_second':
      return perSecond(t.cr8Accesses);
    case 'interrupts_delivered_total':
      return { value: delivered() };
    case 'interrupts_delivered_per_second':
      return perSecond(delivered());
    case 'interrupt_latency_seconds': {
      const h = t.interruptLatency;
      const count = h.count;
      if (aggregation?.kind === 'count') return { value: count };
      if (count <= 0) return { noData: 'no interrupt latency observations' };
      if (aggregation?.kind === 'mean') return { value: h.sumNs / count / 1e9 };
      if (aggregation?.kind === 'quantile') {
        const ns = histogramQuantile(aggregation.q, h);
        return ns === undefined ? { noData: 'no interrupt latency observations' } : { value: ns / 1e9 };
      }
      return { noData: 'a histogram needs an aggregation' };
    }
    case 'phase_seconds': {
      const phase = sel.labels['phase'];
      const v = phase === undefined ? undefined : t.phaseSeconds[phase];
      // The mean of the guests that finished is not the phase's time when others had not: judged on
      // it, the slowest variant would look faster the fewer of its guests got through.
      const unfinished = phaseUnfinishedOf(t, phase);
      if (phase !== undefined && unfinished > 0)
        return { noData: unfinishedPhaseSentence(phase, unfinished, v !== undefined) };
      return v === undefined ? { noData: `phase ${phase ?? '?'} did not complete` } : { value: v };
    }
    case 'host_seconds_in_exits': {
      if (reason === undefined) return { value: Object.values(t.hostSecondsInExits).reduce((a, b) => a + b, 0) };
      const v = t.hostSecondsInExits[reason];
      if (v !== undefined) return { value: v };
      const e = exits();
      return 'value' in e ? { value: 0 } : e;
    }
    case 'host_exit_time_ratio': {
      const denom = t.vcpuSeconds > 0 ? t.vcpuSeconds : t.simulatedSeconds * t.vcpus;
      if (!(denom > 0)) return { noData: 'no simulated time or no vCPUs' };
      return { value: Object.values(t.hostSecondsInExits).reduce((a, b) => a + b, 0) / denom };
    }
    case 'guest_cpu_seconds':
      return { value: t.guestCpuSeconds };
    case 'violations_total': {
      const check = sel.labels['check'];
      return {
        value: check === undefined ? t.violations.length : t.violations.filter((v) => v.check === check).length,
      };
    }
    default:
      return { noData: `unknown metric ${sel.name}` };
  }
}

function compare(value: number, op: ThresholdComparator, bound: number): boolean {
  switch (op) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '==':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

function outcome(spec: ThresholdSpec, p: ParsedThreshold, m: Measured, label: string): ThresholdOutcome {
  if ('noData' in m) {
    return {
      expr: spec.expr,
      metric: spec.metric,
      passed: false,
      value: null,
      message: `no data: ${m.noData} (${label})`,
    };
  }
  const passed = compare(m.value, p.comparator, p.bound);
  const agg =
    p.aggregation === undefined
      ? ''
      : p.aggregation.kind === 'quantile'
        ? ` p${thresholdFigure(p.aggregation.q * 100)}`
        : ` ${p.aggregation.kind}`;
  const [value, bound] = thresholdFigures(m.value, p.bound);
  const message = `${spec.metric}${agg} = ${value} (${label}); ${passed ? 'holds' : 'fails'}: ${p.comparator} ${bound}`;
  return { expr: spec.expr, metric: spec.metric, passed, value: m.value, message };
}

/**
 * A threshold's measured value as its message writes it, beside its bound (thresholdFigures): the
 * summary's ok line, the Markdown summary's and the HTML report's value column. The bound is read
 * back from the expression; an expression that does not parse (a results.json written by hand) gets
 * the value alone (thresholdFigure).
 */
export function thresholdValueFigure(value: number, expr: string): string {
  let bound: number;
  try {
    bound = parseThresholdExpr(expr).bound;
  } catch {
    return thresholdFigure(value);
  }
  return thresholdFigures(value, bound)[0];
}

/**
 * Evaluate every threshold of the scenario. Per-variant thresholds go to perVariant (one list per
 * variant given, in scenario order); ratio(...) thresholds to crossVariant. A ratio whose variant
 * has no results fails with "no data".
 */
export function evaluateThresholds(
  scenario: Scenario,
  variants: readonly { readonly name: string; readonly totals: VariantTotals }[],
): { perVariant: Map<string, ThresholdOutcome[]>; crossVariant: ThresholdOutcome[] } {
  const perVariant = new Map<string, ThresholdOutcome[]>();
  for (const v of variants) perVariant.set(v.name, []);
  const crossVariant: ThresholdOutcome[] = [];
  const vendorOf = (name: string): Vendor | undefined =>
    scenario.variants.find((v) => v.name === name)?.host.cpu.vendor;
  const totalsOf = (name: string): VariantTotals | undefined => variants.find((v) => v.name === name)?.totals;

  for (const spec of scenario.thresholds) {
    const p = spec.parsed ?? parseThreshold(spec.metric, spec.expr);
    if (p.kind === 'metric') {
      for (const v of variants) {
        if (p.variant !== undefined && p.variant !== v.name) continue;
        perVariant
          .get(v.name)!
          .push(outcome(spec, p, measure(p.metric, p.aggregation, v.totals, vendorOf(v.name)), `variant ${v.name}`));
      }
      continue;
    }
    const label = `${p.numerator} / ${p.denominator}`;
    const num = totalsOf(p.numerator);
    const den = totalsOf(p.denominator);
    let m: Measured;
    if (num === undefined || den === undefined) {
      m = { noData: `variant ${num === undefined ? p.numerator : p.denominator} has no results` };
    } else {
      const a = measure(p.metric, p.aggregation, num, vendorOf(p.numerator));
      const b = measure(p.metric, p.aggregation, den, vendorOf(p.denominator));
      if ('noData' in a) m = { noData: `${a.noData} in variant ${p.numerator}` };
      else if ('noData' in b) m = { noData: `${b.noData} in variant ${p.denominator}` };
      else if (b.value === 0) m = { noData: `the value in variant ${p.denominator} is 0` };
      else m = { value: a.value / b.value };
    }
    crossVariant.push(outcome(spec, p, m, label));
  }
  return { perVariant, crossVariant };
}

/** What a shard of a run (`run --shard I/N`, N > 1) says of each threshold, in every output. */
export const NOT_JUDGED_ON_SHARD = 'not judged on a shard: judged on the merged totals by `vmexit-lab merge`';

/**
 * Whether a run judges its thresholds: the whole run does (no --shard, or --shard 1/1); a shard of
 * N > 1 holds part of the totals (a part of the fleet, a ratio of two parts, a shard with no host at
 * all), so `vmexit-lab merge` judges them once, on the merged totals (docs/SCALE.md).
 */
export function judgesThresholds(shard: { readonly count: number } | undefined): boolean {
  return shard === undefined || shard.count <= 1;
}

/**
 * A failed run's thresholds (`run` after a simulation worker died or could not start): its totals
 * lack the failed task's hosts, so a value measured there is no verdict either way; the run's failure
 * is said once, by exit status 3 and JUnit's failed `run` case (docs/CLI.md, "Exit statuses").
 */
export const NOT_JUDGED_RUN_FAILED = "not judged: the run failed, and its totals lack the failed task's hosts";

/**
 * A stopped run's word on its thresholds (Ctrl-C, SIGTERM, a cancel; `partial` results that did not
 * fail): they were measured on the part that ran, which is no verdict either way. The one home of
 * the wording: run's verdict line ("partial results, no verdict (...)") and, with the stop's
 * partialReason, each threshold's JUnit case (skipped: "partial results (terminated (SIGTERM) at 3 of
 * 30 simulated seconds, 0 of 1 hosts done), no verdict; on the part that ran: ...").
 */
export function partialNoVerdictText(partialReason?: string): string {
  const why = partialReason?.replace(/\.$/, '');
  return why === undefined || why === '' ? 'partial results, no verdict' : `partial results (${why}), no verdict`;
}

/**
 * Results with every threshold outcome replaced by "not judged" (`judged: false`, `passed` true so
 * that it fails nothing, `value` null, `message` why): the same thresholds, per variant and across
 * variants; the totals and everything else unchanged.
 */
export function notJudged(results: RunResults, message: string): RunResults {
  const mark = (t: ThresholdOutcome): ThresholdOutcome => ({
    expr: t.expr,
    metric: t.metric,
    passed: true,
    value: null,
    message,
    judged: false,
  });
  return {
    ...results,
    variants: results.variants.map((v) => ({ ...v, thresholds: v.thresholds.map(mark) })),
    crossVariantThresholds: results.crossVariantThresholds.map(mark),
  };
}

/** A shard's results, its thresholds not judged (NOT_JUDGED_ON_SHARD): `vmexit-lab merge` judges them. */
export function notJudgedOnShard(results: RunResults): RunResults {
  return notJudged(results, NOT_JUDGED_ON_SHARD);
}

/** Every threshold outcome of a run: each variant's, then the cross-variant ones. */
export function allOutcomes(results: RunResults): ThresholdOutcome[] {
  return [...results.variants.flatMap((v) => v.thresholds), ...results.crossVariantThresholds];
}

/** Outcomes counted for a verdict: judged ones (of which failed) and a shard's, not judged. */
export function thresholdTally(list: readonly ThresholdOutcome[]): {
  judged: number;
  failed: number;
  notJudged: number;
} {
  const judged = list.filter((t) => t.judged !== false);
  return {
    judged: judged.length,
    failed: judged.filter((t) => !t.passed).length,
    notJudged: list.length - judged.length,
  };
}

/** Why the outcomes of `list` that were not judged were not: the first one's message (a shard's by default). */
export function notJudgedWhy(list: readonly ThresholdOutcome[]): string {
  return list.find((t) => t.judged === false)?.message ?? NOT_JUDGED_ON_SHARD;
}

/**
 * Whether `list` is a failed run's (a simulation worker died or could not start): `run` judged none of
 * its thresholds (NOT_JUDGED_RUN_FAILED). The one home of the question the text, Markdown and HTML
 * reports ask; asked of notJudgedWhy, so that the reason they print and the answer cannot disagree.
 * Not results.json's `partial`: a stop (Ctrl-C, a cancel, a drain) is partial too, and its thresholds
 * were judged on the part that ran.
 */
export function runFailed(list: readonly ThresholdOutcome[]): boolean {
  return notJudgedWhy(list) === NOT_JUDGED_RUN_FAILED;
}

/**
 * The verdict's words for thresholds that were not judged, e.g. "2 thresholds not judged on a shard:
 * judged on the merged totals by `vmexit-lab merge`"; `why` is a failed run's reason (notJudgedWhy).
 */
export function notJudgedText(count: number, why: string = NOT_JUDGED_ON_SHARD): string {
  return `${count === 1 ? 'the threshold' : `${count} thresholds`} ${why}`;
}

/**
 * Results without threshold outcomes: what a shard's metrics (`run --push`, `--metrics-listen`,
 * `--openmetrics`) are built from, so that they export no vmexit_lab_threshold_passed series for
 * thresholds the shard did not judge.
 */
export function withoutThresholds(results: RunResults): RunResults {
  return {
    ...results,
    variants: results.variants.map((v) => ({ ...v, thresholds: [] })),
    crossVariantThresholds: [],
  };
}
