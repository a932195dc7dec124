/**
 * Start-up restore: the latest finished run of each series label the history holds (within the
 * retirement schedule) back into the metrics, so `VmexitLabThresholdFailed` does not resolve
 * because the process restarted. A results.json the metrics cannot read costs that run its
 * threshold outcomes, not the service its start.
 */
import type { RunResults } from '../results/types.js';
import type { HistoryStore } from '../history/store.js';
import type { MetricsHub, RestoredRun } from '../metrics/hub.js';

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

/**
 * The latest finished run of each series label the history holds (within the retirement
 * schedule, `retireAfterSeconds`) back into the metrics: run state, threshold outcomes, times, exit
 * status. Returns a note for each run whose results.json could not be read back.
 */
export function restoreMetrics(history: HistoryStore, hub: MetricsHub, retireAfterSeconds: number): string[] {
  const since = new Date(Date.now() - retireAfterSeconds * 1000).toISOString();
  const unread = new Map<string, string>();
  const runs = restoredRuns(history, since, (id, why) => unread.set(id, why));
  // Run by run: one results.json the metrics cannot read (cut short, or of another shape: the
  // service would not start, "results.crossVariantThresholds is not iterable") costs its own
  // threshold outcomes, not the service. The record's state, times and exit status still come back.
  for (const run of runs) {
    try {
      hub.restore([run]);
    } catch (e) {
      unread.set(run.id, (e as Error).message);
      hub.restore([{ ...run, results: undefined }]);
    }
  }
  return [...unread].map(
    ([id, why]) =>
      `run ${id}: its results.json could not be read back into the metrics (${why}); its run state, times and exit status are restored, its threshold outcomes are not`,
  );
}
