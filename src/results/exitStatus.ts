import { allOutcomes, thresholdTally } from './thresholds.js';
import type { RunResults } from './types.js';

/**
 * What a run's verdict counts besides its thresholds, summed over its variants: invariant violations
 * the scenario does not expect and those it does, and failed VM entries. The one count exitStatusOf,
 * the HTML report's verdict and the progress verdict line (src/cli/progress.ts) share.
 */
export function verdictCounts(results: RunResults): { unexpected: number; expected: number; entryFailures: number } {
  let unexpected = 0;
  let expected = 0;
  let entryFailures = 0;
  for (const v of results.variants) {
    const expectedHere = v.totals.violations.filter((x) => x.expected).length;
    expected += expectedHere;
    unexpected += v.totals.violations.length - expectedHere;
    entryFailures += v.totals.entryFailures.length;
  }
  return { unexpected, expected, entryFailures };
}

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
  const { unexpected, entryFailures } = verdictCounts(results);
  if (unexpected > 0 || entryFailures > 0) return 3;
  return thresholdTally(allOutcomes(results)).failed > 0 ? 1 : 0;
}
