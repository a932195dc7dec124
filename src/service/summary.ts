import type { Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import { exitStatusOf } from '../results/exitStatus.js';
import type { RunSummary } from '../history/records.js';
import type { HistoryStore } from '../history/store.js';
import type { RestoredRun } from '../metrics/hub.js';

/** What the service derives from a run's results: its record's summary, and the metrics of finished runs at start-up. */

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

/**
 * The latest finished run of each series label that ended at or after `since` (ISO time), as the
 * metrics restore them at start-up: state, threshold outcomes (complete results), times, exit status.
 */
export function restoredRuns(
  history: HistoryStore,
  since: string,
  unreadable: (id: string, why: string) => void = () => undefined,
): (RestoredRun & { readonly id: string })[] {
  const ms = (t: string | undefined): number | undefined => (t === undefined ? undefined : Date.parse(t));
  return history.latestFinishedPerLabel(since).map((r) => {
    const json = r.state === 'completed' && r.hasResults ? history.resultsJson(r.id) : undefined;
    // A results.json cut short (a full disk, a copied file) is restored without it, not a service
    // that cannot start.
    let results: RunResults | undefined;
    try {
      results = json === undefined ? undefined : (JSON.parse(json) as RunResults);
    } catch (e) {
      unreadable(r.id, `it is not valid JSON: ${(e as Error).message}`);
    }
    const started = ms(r.startedAt);
    const finished = ms(r.finishedAt) ?? Date.now();
    return {
      id: r.id,
      label: r.seriesLabel,
      state: r.state,
      ...(started !== undefined ? { startedAtMs: started } : {}),
      finishedAtMs: finished,
      exitStatus: r.summary?.exitStatus ?? 3,
      wallSeconds: results?.wallSeconds ?? (started !== undefined ? (finished - started) / 1000 : 0),
      ...(results ? { results } : {}),
      ...(r.summary?.expectedViolations ? { expectViolations: r.summary.expectedViolations } : {}),
    };
  });
}
