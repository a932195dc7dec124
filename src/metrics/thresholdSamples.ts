/** Threshold outcomes of complete results as vmexit_lab_threshold_passed samples, one per label set. */
import type { RunResults } from '../results/types.js';
import type { Sample } from './series.js';
import { thresholdLabel } from './thresholdLabel.js';

/**
 * Threshold outcomes of complete results, as vmexit_lab_threshold_passed samples: one per label
 * set (a list may repeat an expression, `["< 1000", "< 1000"]` or `["< 1000", "<  1e3"]`, and two
 * samples with one label set make the exposition invalid; one threshold label is one parsed
 * threshold, which evaluates the same: thresholdLabel.ts).
 */
export function thresholdSamples(label: string, results: RunResults): Sample[] {
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const add = (variant: string, t: { metric: string; expr: string; passed: boolean }): void => {
    const threshold = thresholdLabel(t.metric, t.expr);
    const key = `${variant}\u0000${threshold}`;
    if (seen.has(key)) return;
    seen.add(key);
    samples.push({ labels: { scenario: label, variant, threshold }, value: t.passed ? 1 : 0 });
  };
  for (const v of results.variants) for (const t of v.thresholds) add(v.name, t);
  for (const t of results.crossVariantThresholds) add('*', t);
  return samples;
}
