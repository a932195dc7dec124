/** History retention: how many finished runs and days `serve` keeps, and the bounds a retention may take. */

/** Iterations of the continuous default kept (their numbers are in Prometheus; results of the latest). */
export const KEEP_CONTINUOUS_RUNS = 50;

/** History retention (serve --keep-runs / --keep-days). */
export interface Retention {
  /** Finished runs users submitted that are kept, newest first. */
  readonly keepRuns: number;
  /** Finished runs older than this many days are deleted. */
  readonly keepDays: number;
}

export const DEFAULT_RETENTION: Retention = { keepRuns: 1000, keepDays: 30 };

/**
 * The values a retention may take. At least 1 of each: 0 deleted every finished run, results
 * too, at the first prune after it ended (a user polling for results.json got 404). keepDays at
 * most 100 years: further back than about 10^8 days is no date (the service did not start,
 * "Invalid time value").
 */
export const RETENTION_BOUNDS: { readonly [K in keyof Retention]: { readonly min: number; readonly max: number } } = {
  keepRuns: { min: 1, max: Infinity },
  keepDays: { min: 1, max: 36_500 },
};

/** Why a retention cannot be used, or undefined. */
export function retentionProblem(r: Retention): string | undefined {
  for (const k of ['keepRuns', 'keepDays'] as const) {
    const { min, max } = RETENTION_BOUNDS[k];
    if (!Number.isInteger(r[k]) || r[k] < min || r[k] > max)
      return `retention ${k} must be an integer ${max === Infinity ? `>= ${min}` : `${min}..${max}`}, not ${r[k]}`;
  }
  return undefined;
}
