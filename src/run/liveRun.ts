/** What a run in progress publishes for live metrics: each part's latest absolute totals. */
import type { TotalsAccumulator } from './totals.js';

/**
 * What a run in progress publishes for live metrics (src/metrics/hub.ts reads only this): for each
 * part of the run (a pool task), its latest absolute totals. Absolute, never deltas, so a reader
 * that keeps the latest never counts anything twice.
 */
export interface LivePart {
  readonly variantIndex: number;
  /** The last snapshot while the part runs, its final totals once done; undefined before the first. */
  readonly totals: TotalsAccumulator | undefined;
  /** Hosts of the part running now (0 before it starts and once it ended). */
  readonly hostsRunning: number;
  /**
   * Realtime pace: simulated seconds the part is behind the wall clock — as it measured on reaching
   * its last simulated second, or more when the next one is overdue (0 on time; absent at pace max).
   */
  readonly lagSeconds?: number;
}

export interface LiveRun {
  /** The pace the run runs at (the scenario_info label). */
  readonly pace: 'max' | 'realtime';
  /** Wall clock of the run's start (ms since the epoch): at pace realtime, simulated time 0. */
  readonly startedAtMs: number;
  /** Every part's latest totals, in plan order. */
  live(): readonly LivePart[];
}
