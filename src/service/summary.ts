import type { Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import { exitStatusOf } from '../results/exitStatus.js';
import type { RunSummary } from '../history/records.js';

/**
 * What the service derives from a run's results for its record: the summary (exit status, partial
 * or not, per variant figures). The metrics of finished runs at start-up: src/service/restore.ts.
 */

/** The record's summary: the exit status the CLI would give, partial or not, per variant figures. */
export function summaryOf(results: RunResults, scenario: Scenario): RunSummary {
  return {
    exitStatus: exitStatusOf(results),
    ...(results.partialReason !== undefined ? { partialReason: results.partialReason } : {}),
    ...(scenario.expectViolations.length > 0 ? { expectedViolations: [...scenario.expectViolations] } : {}),
    variants: results.variants.map((v) => ({
      name: v.name,
      exitsTotal: v.totals.exitsTotal,
      exitsPerGuestSecond: v.totals.guestSeconds > 0 ? v.totals.exitsTotal / v.totals.guestSeconds : 0,
      thresholdsPassed: v.thresholds.filter((t) => t.passed).length,
      thresholdsFailed: v.thresholds.filter((t) => !t.passed).length,
      violations: v.totals.violations.length,
    })),
    crossVariantThresholdsFailed: results.crossVariantThresholds.filter((t) => !t.passed).length,
  };
}
