import { stringify } from 'yaml';
import type {
  ParsedThreshold,
  Scenario,
  ThresholdAggregation,
  ThresholdComparator,
  ThresholdSpec,
} from '../scenario/types.js';
import { parseThreshold } from '../scenario/thresholds.js';
import { parsedThresholdLabel, thresholdLabel as labelOfThreshold } from './thresholdLabel.js';

/**
 * One threshold, two evaluators: a scenario's thresholds (src/scenario/thresholds.ts, evaluated on
 * results.json by src/results/thresholds.ts) compiled to Prometheus alerting rules over the metrics
 * /metrics exports (src/metrics/catalogue.ts). An alert fires for exactly the (threshold, variant)
 * pairs the JS evaluator fails, when the counters hold one run of the scenario: a backfilled
 * `run --openmetrics` file, a `run --push` group, a `run --metrics-listen` scrape (docs/BEYOND.md).
 *
 * Every threshold metric is a PromQL expression with one series per variant (labels scenario,
 * variant); the alert is `VALUE unless (VALUE <cmp> bound)`: the series whose value does not
 * satisfy the comparison, NaN (no data: 0/0, an empty histogram) included. Where the JS evaluator
 * fails for "no data" on a zero denominator that PromQL would turn into +Inf, the zero
 * denominator is added with `or`; so is, for a phase's time, the gauge of guests that had not
 * finished the phase (the JS evaluator fails it whatever the mean of those that did).
 */

export class RuleCompileError extends Error {}

export const ALERT_NAME = 'VmexitLabScenarioThreshold';

const BY = 'scenario, variant';

function q(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function matchers(m: Readonly<Record<string, string>>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(', ');
}

/**
 * A PromQL value per variant and, where the JS evaluator fails for "no data" and the value would not
 * show it, the series of that case: a zero denominator (PromQL's +Inf), or a phase some guests had not
 * finished (the finished guests' mean is a number; src/results/thresholds.ts fails it).
 */
interface Compiled {
  readonly value: string;
  readonly noData?: string;
}

/** Modelled vCPUs / modelled guests per host of a variant (vCPU seconds = guest seconds * this). */
function vcpusPerGuest(scenario: Scenario, variant: string): number | undefined {
  const v = scenario.variants.find((x) => x.name === variant);
  let guests = 0;
  let vcpus = 0;
  for (const g of v?.guests ?? []) {
    if (g.kind !== 'modelled') continue;
    guests += g.count;
    vcpus += g.count * g.vcpus;
  }
  return guests > 0 ? vcpus / guests : undefined;
}

function fmtNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
}

/**
 * The PromQL value of a threshold metric for the variants `sel` selects ({scenario="..."} plus
 * variant="..." when restricted). Throws RuleCompileError for a form that has no exact PromQL.
 */
export function compileMetric(
  scenario: Scenario,
  metric: ParsedThreshold['metric'],
  aggregation: ThresholdAggregation | undefined,
  variant: string | undefined,
): Compiled {
  const base: Record<string, string> = { scenario: scenario.name, ...(variant !== undefined ? { variant } : {}) };
  const sum = (name: string, extra: Record<string, string> = {}, regex: Record<string, string> = {}): string => {
    const parts = [matchers({ ...base, ...extra }), ...Object.entries(regex).map(([k, v]) => `${k}=~${q(v)}`)].filter(
      (s) => s !== '',
    );
    return `sum by (${BY}) (${name}{${parts.join(', ')}})`;
  };
  const reason = metric.labels['reason'];
  const source = metric.labels['source'];
  const guestSeconds = sum('vmexit_lab_guest_simulated_seconds_total');
  const perSecond = (total: string): Compiled => ({
    value: `${total} / ${guestSeconds}`,
    noData: `${guestSeconds} == 0`,
  });
  const exits = (): string => sum('vmexit_lab_vm_exits_total', reason !== undefined ? { reason } : {});
  const delivered = (): string => {
    if (source === undefined && scenario.variants.some((v) => v.guests.some((g) => g.kind === 'scripted'))) {
      throw new RuleCompileError(
        `${metric.name} without a source label cannot be compiled for a scenario with scripted guests: their deliveries have no source in the exported metrics; add source="timer", "device" or "ipi"`,
      );
    }
    return sum('vmexit_lab_interrupts_total', { outcome: 'delivered', ...(source !== undefined ? { source } : {}) });
  };
  switch (metric.name) {
    case 'exits_total':
      return { value: exits() };
    case 'exits_per_second':
      return perSecond(exits());
    case 'cr8_accesses_total':
      return { value: sum('vmexit_lab_tpr_accesses_total', {}, { kind: 'cr8_read|cr8_write' }) };
    case 'cr8_accesses_per_second':
      return perSecond(sum('vmexit_lab_tpr_accesses_total', {}, { kind: 'cr8_read|cr8_write' }));
    case 'interrupts_delivered_total':
      return { value: delivered() };
    case 'interrupts_delivered_per_second':
      return perSecond(delivered());
    case 'interrupt_latency_seconds': {
      const h = 'vmexit_lab_interrupt_latency_seconds';
      if (aggregation?.kind === 'quantile') {
        const m = matchers(base);
        return { value: `histogram_quantile(${fmtNumber(aggregation.q)}, sum by (${BY}, le) (${h}_bucket{${m}}))` };
      }
      if (aggregation?.kind === 'mean') return { value: `${sum(`${h}_sum`)} / ${sum(`${h}_count`)}` };
      if (aggregation?.kind === 'count') return { value: sum(`${h}_count`) };
      throw new RuleCompileError(
        `${metric.name} is a histogram: the expression needs an aggregation (pNN, mean, count)`,
      );
    }
    case 'phase_seconds': {
      const phase = metric.labels['phase'];
      if (phase === undefined) throw new RuleCompileError('phase_seconds needs a phase label');
      return {
        value: `${sum('vmexit_lab_phase_duration_seconds_total', { phase })} / ${sum('vmexit_lab_phase_completions_total', { phase })}`,
        // The JS evaluator fails the phase when guests had not finished it (results.json phaseUnfinished),
        // whatever the finished ones' mean: the run-scoped gauge of them (catalogue.ts), above 0.
        noData: `${sum('vmexit_lab_run_phase_unfinished_guests', { phase })} > 0`,
      };
    }
    case 'host_seconds_in_exits':
      return { value: sum('vmexit_lab_exit_handling_seconds_total', reason !== undefined ? { reason } : {}) };
    case 'host_exit_time_ratio': {
      // vCPU seconds are not exported; every host of a variant is identical, so they are the guest
      // seconds times the variant's vCPUs per guest (a constant of the scenario): one term per variant.
      const names = variant !== undefined ? [variant] : scenario.variants.map((v) => v.name);
      const terms = names.map((n) => {
        const k = vcpusPerGuest(scenario, n);
        if (k === undefined)
          throw new RuleCompileError(
            `host_exit_time_ratio cannot be compiled for variant "${n}": it has no modelled guests (no vCPU seconds)`,
          );
        const s = (name: string): string =>
          `sum by (${BY}) (${name}{${matchers({ scenario: scenario.name, variant: n })}})`;
        return `(${s('vmexit_lab_exit_handling_seconds_total')} / (${s('vmexit_lab_guest_simulated_seconds_total')} * ${fmtNumber(k)}))`;
      });
      return {
        value: terms.length === 1 ? terms[0] : `(${terms.join(' or ')})`,
        noData: `${guestSeconds} == 0`,
      };
    }
    case 'guest_cpu_seconds':
      return { value: sum('vmexit_lab_guest_cpu_seconds_total') };
    case 'violations_total': {
      const check = metric.labels['check'];
      return { value: sum('vmexit_lab_invariant_violations_total', check !== undefined ? { check } : {}) };
    }
    default:
      throw new RuleCompileError(`threshold metric ${metric.name} has no PromQL form`);
  }
}

/** The alert expression of one threshold: the variants (or ratio) that FAIL it. */
export function compileThreshold(scenario: Scenario, spec: ThresholdSpec): string {
  const p = spec.parsed ?? parseThreshold(spec.metric, spec.expr);
  const cmp = (v: string, op: ThresholdComparator): string => `(${v}) ${op} ${fmtNumber(p.bound)}`;
  if (p.kind === 'metric') {
    const c = compileMetric(scenario, p.metric, p.aggregation, p.variant);
    const fails = `(${c.value}) unless ${cmp(c.value, p.comparator)}`;
    return c.noData !== undefined ? `${fails} or (${c.noData})` : fails;
  }
  const a = compileMetric(scenario, p.metric, p.aggregation, p.numerator);
  const b = compileMetric(scenario, p.metric, p.aggregation, p.denominator);
  // A over B, matched on everything but variant (the result keeps the scenario label).
  const value = `(${a.value}) / ignoring (variant) (${b.value})`;
  // The JS evaluator fails when B's value is 0 (and when either side has no data).
  const zero = [`(${b.value}) == 0`, ...(a.noData ? [a.noData] : []), ...(b.noData ? [b.noData] : [])];
  return `(${value}) unless ${cmp(value, p.comparator)} or ${zero.map((z) => `(${z})`).join(' or ')}`;
}

/** The `threshold` label of a threshold, as the vmexit_lab_threshold_passed gauge has it (thresholdLabel.ts). */
export function thresholdLabel(spec: ThresholdSpec): string {
  return spec.parsed !== undefined ? parsedThresholdLabel(spec.parsed) : labelOfThreshold(spec.metric, spec.expr);
}

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

interface RuleGroups {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

/**
 * Compile every threshold of the scenario; any threshold that cannot be compiled throws, naming it
 * and where it is. One rule per threshold label: two spellings of one threshold (`"< 1000"`,
 * `"<  1e3"`) are one series of the gauge, and two rules with one label set are a duplicate to
 * promtool; the first one written names the rule's source.
 */
export function compileAlertRules(scenario: Scenario): RuleGroups {
  const rules: AlertRule[] = [];
  const seen = new Set<string>();
  for (const spec of scenario.thresholds) {
    const threshold = thresholdLabel(spec);
    if (seen.has(threshold)) continue;
    seen.add(threshold);
    let expr: string;
    try {
      expr = compileThreshold(scenario, spec);
    } catch (e) {
      if (e instanceof RuleCompileError)
        throw new RuleCompileError(
          `${spec.source.file}:${spec.source.line}:${spec.source.column}: ${spec.metric}: ${JSON.stringify(spec.expr)}: ${e.message}`,
        );
      throw e;
    }
    rules.push({
      alert: ALERT_NAME,
      expr,
      labels: { scenario: scenario.name, threshold },
      annotations: {
        summary: `Threshold ${threshold} of scenario ${scenario.name} fails`,
        description: `{{ $labels.variant }}${spec.parsed?.kind === 'ratio' ? ' (ratio)' : ''}: value {{ $value }}; the scenario requires ${spec.expr} (${spec.source.file}:${spec.source.line})`,
      },
    });
  }
  return { groups: [{ name: `vmexit-lab-thresholds:${scenario.name}`, rules }] };
}

/** The rule file (YAML) of several scenarios: one group each. */
export function renderAlertRules(scenarios: readonly Scenario[]): string {
  const groups = scenarios.flatMap((s) => compileAlertRules(s).groups);
  return stringify({ groups }, { lineWidth: 0 });
}
