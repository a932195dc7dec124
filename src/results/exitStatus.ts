import type { RunResults, ThresholdOutcome } from './types.js';

/**
 * The exit status of `vmexit-lab run` for a run's results (README, docs/CLI.md): 3 when the results
 * are partial (the run did not reach its end: a failed task, a stop), an invariant violation the
 * scenario does not expect or a failed VM entry occurred, else 1 when a threshold failed, else 0.
 * A threshold a shard did not judge (`judged: false`: `run --shard I/N`, N > 1) fails nothing.
 * The service's run summary and the HTML report's verdict say the same.
 */
export function exitStatusOf(results: RunResults): 0 | 1 | 3 {
  // A run cut short has thresholds evaluated on part of it: no verdict on them, as the CLI's exit 3.
  if (results.partial === true) return 3;
  for (const v of results.variants) {
    if (v.totals.violations.some((x) => !x.expected)) return 3;
    if (v.totals.entryFailures.length > 0) return 3;
  }
  const fails = (t: ThresholdOutcome): boolean => t.judged !== false && !t.passed;
  const failed = results.variants.some((v) => v.thresholds.some(fails)) || results.crossVariantThresholds.some(fails);
  return failed ? 1 : 0;
}
