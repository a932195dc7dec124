import { createHash } from 'node:crypto';
import { showInvisible } from '../input/diagnostics.js';

/**
 * The `threshold` label: the threshold as the scenario wrote it, `metric: expression`, the one home
 * of it for the vmexit_lab_threshold_passed gauge (hub.ts) and the alert rules that name the same
 * threshold (alertRules.ts). Its number and a guest's name are the client's text of any length (a
 * 20,000-digit number reached /metrics, and a scrape with a label past Prometheus'
 * label_value_length_limit fails whole), so a long one keeps its start and a digest of the whole.
 * Its invisible characters are shown as escapes (`\u2028`, showInvisible: the product's one rule):
 * the threshold grammar reads U+2028, U+2029 and U+FEFF around a key or an expression as the
 * white space JavaScript trims, and the label kept them as written, so two labels that looked the
 * same in Grafana and PromQL differed, and neither could be typed (2026-12-06, the fifth pass).
 */
export const MAX_THRESHOLD_LABEL = 200;
export function thresholdLabel(metric: string, expr: string): string {
  return clientLabel(`${metric}: ${expr}`);
}

/**
 * A label value that is a client's text, as the threshold label is made: invisible characters as
 * escapes, and past MAX_THRESHOLD_LABEL characters its start and a digest of the whole (distinct
 * texts stay distinct labels). Also the per-guest series' `guest` (`--per-guest-metrics`): a
 * guest's name has no length bound but the body's, and a 300,000-character one made every
 * per-guest line of /metrics 300 KB (2026-12-06, the fifth pass).
 */
export function clientLabel(value: string): string {
  const text = showInvisible(value);
  if (text.length <= MAX_THRESHOLD_LABEL) return text;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return `${text.slice(0, MAX_THRESHOLD_LABEL - 17)}... #${digest}`;
}
