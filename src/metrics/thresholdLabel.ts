import { createHash } from 'node:crypto';
import { showInvisible } from '../input/diagnostics.js';
import { parseThreshold, ThresholdSyntaxError } from '../scenario/thresholds.js';
import type { MetricSelector, ParsedThreshold, ThresholdAggregation } from '../scenario/types.js';

/**
 * The `threshold` label: `key: expression`, the one home of it for the vmexit_lab_threshold_passed
 * gauge (thresholdSamples.ts) and the alert rules that name the same threshold (alertRules.ts). It is spelled
 * from the parsed threshold (canonicalThreshold), not as written: `"< 1000"` and `"<  1000"`, or
 * `{reason="X",variant="Y"}` and `{variant="Y", reason="X"}`, are one threshold to the evaluator
 * and were two label values, so a dashboard or an alert written against one missed the other.
 * Text the grammar does not read (results from elsewhere) keeps its written form.
 *
 * Its label values are the client's text of any length (a guest's phase, a variant name), and a
 * scrape with a label past Prometheus' label_value_length_limit fails whole, so a long one keeps
 * its start and a digest of the whole. Its invisible characters are shown as escapes (`\u2028`,
 * showInvisible: the product's one rule): a label that looks like another and cannot be typed in
 * PromQL (2026-12-06, the fifth pass).
 */
export const MAX_THRESHOLD_LABEL = 200;
export function thresholdLabel(metric: string, expr: string): string {
  let parsed: ParsedThreshold;
  try {
    parsed = parseThreshold(metric, expr);
  } catch (e) {
    if (!(e instanceof ThresholdSyntaxError)) throw e;
    return clientLabel(`${metric}: ${expr}`);
  }
  return clientLabel(canonicalThreshold(parsed));
}

/** The `threshold` label of a parsed threshold (the alert rules' spec.parsed). */
export function parsedThresholdLabel(parsed: ParsedThreshold): string {
  return clientLabel(canonicalThreshold(parsed));
}

/**
 * One spelling per threshold, which the grammar (src/scenario/thresholds.ts) reads back as the same
 * threshold. What is canonical, and why:
 * - labels sorted by name, `variant` among them: a selector's labels are a set to the evaluator
 *   (each at most once), as PromQL's matchers are; `variant` sorts after check, phase, reason and
 *   source, so it is last, where the shipped scenarios write it;
 * - no blanks inside `{...}` and `,` between labels: the spelling of a label set in the text
 *   exposition format, and of most shipped scenarios (their labels do not move);
 * - ratio(...)'s two variants stay in their order (numerator, denominator: a different threshold
 *   swapped), written `ratio(M, variant="a", variant="b")`;
 * - the aggregation by one name: p(99) is p99, med is p50, avg is mean;
 * - the number as the evaluator reads it, String(bound): `1e3`, `1000.0` and `+1000` are the
 *   bound 1000, and the alert rule's PromQL compares with the same String (alertRules.ts
 *   fmtNumber); two texts that read as one double are one threshold, and a number's length is no
 *   longer the client's (a 20,000-digit one is its double).
 */
export function canonicalThreshold(p: ParsedThreshold): string {
  const key =
    p.kind === 'ratio'
      ? `ratio(${selector(p.metric, undefined)}, variant=${quoted(p.numerator)}, variant=${quoted(p.denominator)})`
      : selector(p.metric, p.variant);
  const agg = p.aggregation !== undefined ? `${aggregation(p.aggregation)} ` : '';
  return `${key}: ${agg}${p.comparator} ${String(p.bound)}`;
}

/** A label value as the grammar writes it: '"', with '\' and '"' escaped. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

function selector(metric: MetricSelector, variant: string | undefined): string {
  const labels = Object.entries(metric.labels);
  if (variant !== undefined) labels.push(['variant', variant]);
  if (labels.length === 0) return metric.name;
  labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${metric.name}{${labels.map(([k, v]) => `${k}=${quoted(v)}`).join(',')}}`;
}

function aggregation(a: ThresholdAggregation): string {
  // q is pct / 100 rounded to 12 places (parseThresholdExpr): 12 digits undo it.
  return a.kind === 'quantile' ? `p${Number((a.q * 100).toPrecision(12))}` : a.kind;
}

/**
 * A label value that is a client's text, as the threshold label is made: invisible characters as
 * escapes, and past MAX_THRESHOLD_LABEL characters its start and a digest of the whole (distinct
 * texts stay distinct labels). Also the per-guest series' `guest` (`--per-guest-metrics`): a
 * 300,000-character guest name once made every per-guest line of /metrics 300 KB (2026-12-06, the
 * fifth pass); the scenario loader now bounds names to 128 characters (src/scenario/guests.ts), and
 * this bound stays for labels built from other client text.
 */
export function clientLabel(value: string): string {
  const text = showInvisible(value);
  if (text.length <= MAX_THRESHOLD_LABEL) return text;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return `${text.slice(0, MAX_THRESHOLD_LABEL - 17)}... #${digest}`;
}
