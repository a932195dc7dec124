import type { LatencyExemplars } from '../core/engine/exemplars.js';
import { TotalsAccumulator } from '../run/totals.js';
import type { ReasonSet } from './cardinality.js';

/** The numbers of the metric series, kept outside prom-client (src/metrics/hub.ts reads them at scrape). */

export type Labels = Record<string, string>;
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** OpenMetrics exemplar (prom-client prints it only in an OpenMetrics registry). */
  readonly exemplar?: { readonly labelSet: Labels; readonly value: number; readonly timestamp: number };
  /**
   * The same object as `labels` for a variant's series (src/metrics/samples.ts): prom-client then
   * formats the set once and reuses the text on every scrape.
   */
  readonly sharedLabels?: Labels;
  /** For histogram samples: name_bucket / name_sum / name_count. */
  readonly metricName?: string;
}

/**
 * One variant series' numbers: the exact counts of every run added, in one TotalsAccumulator (its
 * per-host records are not kept: they grow with the fleet), and what only the metrics need:
 * simulated time summed over runs, and violations counted by check.
 */
export class SeriesTotals {
  readonly counts = new TotalsAccumulator();
  /** Simulated ns: the longest host of each run, summed over runs. */
  simNs = 0;
  entryFailures = 0;
  readonly violations = new Map<string, number>();

  /** A task's or run's totals. */
  add(a: TotalsAccumulator): void {
    this.counts.mergeCounts(a);
    this.counts.latencyExemplars.merge(a.latencyExemplars);
    this.entryFailures += a.entryFailures.length;
    for (const v of a.violations) this.violations.set(v.check, (this.violations.get(v.check) ?? 0) + 1);
  }

  /** Another series' sums (its exemplars are not needed: they come from the latest run, RunScoped). */
  addSeries(o: SeriesTotals): void {
    this.counts.mergeCounts(o.counts);
    this.simNs += o.simNs;
    this.entryFailures += o.entryFailures;
    for (const [k, n] of o.violations) this.violations.set(k, (this.violations.get(k) ?? 0) + n);
  }
}

/**
 * The latest run of a variant, as the run-scoped series show it (vmexit_lab_run_simulated_seconds,
 * vmexit_lab_run_invariant_violations) and as its latency exemplars come from: a live run while one
 * is live, else the latest finished one.
 */
export interface RunScoped {
  readonly simNs: number;
  readonly violations: ReadonlyMap<string, number>;
  /**
   * Per phase (PHASE_ORDER), guests whose plan has it bound by work and that had not finished it: the
   * run's totals.phaseUnfinished once it ended; while it runs, its latest snapshot's, in which every
   * guest still short of the phase counts (src/run/simulate.ts addHost on the running hosts).
   */
  readonly phaseUnfinished: Float64Array;
  /** The run's exemplar per latency bucket (the largest latency of the bucket in the run). */
  readonly exemplars: LatencyExemplars;
  readonly seed: number;
  readonly pace: 'max' | 'realtime';
  /** Wall clock of the run's simulated time 0 (ms since the epoch). */
  readonly startedAtMs: number;
}

export interface VariantSeries {
  readonly key: string;
  readonly labels: Labels;
  readonly vendor: string;
  /** scenario_info labels of the latest run (seed, pace, hosts may change between runs). */
  info: Labels;
  /** Guest OSes ever run in this series (their running gauges exist, at 0 when idle). */
  readonly oses: Set<string>;
  /** Which exit reasons have series from the first scrape (metrics/cardinality.ts carriesReason). */
  reasons: ReasonSet;
  /**
   * Phases some guest's plan has bound by work (PHASE_ORDER order; cardinality.ts workPhasesOf): the
   * run-scoped unfinished-phase gauge has a series for each, from the first scrape.
   */
  workPhases: readonly string[];
  /** Checks the scenario expects (`expect.violations`): the run-scoped violations' `expected` label. */
  expected: ReadonlySet<string>;
  readonly base: SeriesTotals;
  /** The latest finished run of the variant. */
  latest: RunScoped | undefined;
}
