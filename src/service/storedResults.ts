/**
 * A finished run's stored results.json as GET /api/runs/{id}/results and the run page serve it:
 * 404 for no run, 409 while it has not ended, 404 when it ended without results, 500 when the
 * stored text is not JSON (cut short or damaged after it was written), each said as what it is.
 */
import type { HistoryStore } from '../history/store.js';
import { FINAL_STATES } from '../history/records.js';
import { ApiError, shown } from './errors.js';

/** Runs whose results.json were read as JSON at most this many at once (then forgotten). */
const CHECKED_RUNS = 10_000;

export class StoredResults {
  /** Runs whose stored results.json was read as JSON once (a stored text does not change). */
  private readonly checked = new Set<string>();

  constructor(private readonly history: HistoryStore) {}

  /** results.json of a finished run; ApiError when there is none (yet). */
  read(id: string): { json: string; partial: boolean } {
    const rec = this.history.get(id);
    if (!rec) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
    if (!FINAL_STATES.includes(rec.state))
      throw new ApiError(409, 'not_finished', `run ${id} is ${rec.state}; results are written when it ends`, {
        headers: { 'Retry-After': '2' },
      });
    const json = this.history.resultsJson(id);
    if (json === undefined)
      throw new ApiError(
        404,
        'no_results',
        `run ${id} ended ${rec.state} without results${rec.error ? `: ${rec.error}` : ''}`,
      );
    // A results.json cut short after it was written (a full disk, a copied history) was served 200
    // application/json: said as what it is, as the run page says it. Parsed once per run and process.
    if (!this.checked.has(id)) {
      try {
        JSON.parse(json);
      } catch (e) {
        throw new ApiError(
          500,
          'damaged_results',
          `run ${id}: its stored results.json is not valid JSON (${(e as Error).message}): cut short or damaged after it was written (a full disk, an interrupted copy of the data directory); its record is GET /api/runs/${id}`,
        );
      }
      if (this.checked.size >= CHECKED_RUNS) this.checked.clear();
      this.checked.add(id);
    }
    return { json, partial: rec.partial };
  }
}
