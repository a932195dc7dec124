/** Run records as the service keeps them (src/history/store.ts) and serves them (docs/SERVICE.md). */
import { createHash } from 'node:crypto';

/**
 * queued -> running -> completed | cancelled | failed; `interrupted` is set at start-up on runs
 * that a previous process left queued or running (it was killed).
 */
export const RUN_STATES = ['queued', 'running', 'completed', 'cancelled', 'failed', 'interrupted'] as const;
export type RunState = (typeof RUN_STATES)[number];

export const FINAL_STATES: readonly RunState[] = ['completed', 'cancelled', 'failed', 'interrupted'];

/** Why a run stopped before its end: DELETE, its wall-clock limit, SIGTERM, or a failed task. */
export type StopReason = 'cancelled' | 'time_limit' | 'shutdown' | 'failed';

export interface RunSource {
  /** A scenario of scenarios/ by name, or YAML posted inline. */
  readonly kind: 'name' | 'inline';
  readonly name?: string;
}

/**
 * Where a run runs (docs/SERVICE.md, "Queue"): `max` (pace max, sharing the simulation workers
 * fairly), `realtime` (pace realtime, threads of its own), `continuous` (the embedded default that
 * `vmexit-lab start` runs back to back, threads of its own).
 */
export type Lane = 'max' | 'realtime' | 'continuous';

export interface RunOptionsRecord {
  readonly pace: 'max' | 'realtime';
  readonly seed: number;
  readonly workers: number;
  readonly timeLimitSeconds?: number;
  readonly lane?: Lane;
  /** The predicted cost checked at submission (src/service/cost.ts): host CPU core-seconds. */
  readonly predictedCoreSeconds?: number;
}

/**
 * The `scenario` label of a run's metric series, which the service controls: a scenario of
 * scenarios/ keeps its `name:` (shipped text), posted YAML gets `inline-` and 12 hex digits of the
 * SHA-256 of its text (the same YAML, the same series; never the client's words in a label).
 */
export function seriesLabel(source: RunSource, scenarioName: string, yaml: string): string {
  if (source.kind === 'name') return scenarioName;
  return `inline-${createHash('sha256').update(yaml).digest('hex').slice(0, 12)}`;
}

/** A run's progress (src/pool/runProgress.ts computes it for PooledRun.progress(), src/pool/pooledRun.ts; stored every few seconds, served in the record). */
export interface RunProgress {
  /**
   * 0..1 over all tasks (hosts weighted; within a running task its simulated time over the duration,
   * or for an until-complete run its work done).
   */
  readonly fraction: number;
  /** Simulated seconds reached by the slowest running task (the limit when all are done). */
  readonly simSeconds: number;
  readonly limitSeconds: number;
  readonly hostsDone: number;
  readonly hostsTotal: number;
  readonly tasksDone: number;
  readonly tasksTotal: number;
}

interface VariantSummary {
  readonly name: string;
  readonly exitsTotal: number;
  /** Exits per guest-second of simulated time. */
  readonly exitsPerGuestSecond: number;
  readonly thresholdsPassed: number;
  readonly thresholdsFailed: number;
  readonly violations: number;
}

export interface RunSummary {
  /**
   * The CLI's exit status for these results: 0 pass, 1 threshold failed, 3 violation / failed
   * entry, or a run that did not reach its end (failed, stopped: partial results).
   */
  readonly exitStatus: number;
  /** The results are partial, and why (results.json `partialReason`). */
  readonly partialReason?: string;
  /** Checks listed in the scenario's `expect.violations` (the expected-violation gauge after a restart). */
  readonly expectedViolations?: readonly string[];
  readonly variants: readonly VariantSummary[];
  readonly crossVariantThresholdsFailed: number;
}

export interface RunRecord {
  readonly id: string;
  readonly scenario: string;
  readonly source: RunSource;
  readonly state: RunState;
  readonly stopReason?: StopReason;
  readonly error?: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly options: RunOptionsRecord;
  readonly guests: number;
  readonly variants: readonly string[];
  readonly progress?: RunProgress;
  readonly summary?: RunSummary;
  /** results.json is stored (complete, or partial when the run was stopped or failed). */
  readonly hasResults: boolean;
  readonly partial: boolean;
  /** The `scenario` label of the run's metric series (seriesLabel). */
  readonly seriesLabel: string;
  /** An iteration of the continuous default (`vmexit-lab start`), not a run a user submitted. */
  readonly continuous?: true;
  /** A queued run's place: 1 = next to start in its lane (only while queued). */
  readonly queue?: { readonly lane: Lane; readonly position: number };
  /** A running run's figures so far, per variant (GET /api/runs/{id} only; never stored). */
  readonly live?: readonly LiveVariantFigures[];
}

/** One variant of a running run, so far (src/service/liveFigures.ts). */
export interface LiveVariantFigures {
  readonly name: string;
  readonly simSeconds: number;
  readonly exitsTotal: number;
  /** Exits over simulated guest-seconds, as the finished run's summary gives it. */
  readonly exitsPerGuestSecond: number;
  /** The leading exit reasons, most first, with their share of the variant's exits. */
  readonly topExits: readonly { readonly reason: string; readonly exits: number; readonly share: number }[];
}
