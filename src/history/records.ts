/** Run records as the service keeps them (src/history/store.ts) and serves them (docs/SERVICE.md). */

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

export interface RunOptionsRecord {
  readonly pace: 'max' | 'realtime';
  readonly seed: number;
  readonly workers: number;
  readonly timeLimitSeconds?: number;
}

/** A run's progress (src/pool/pooledRun.ts computes it; stored every few seconds, served in the record). */
export interface RunProgress {
  /** 0..1 over all tasks (hosts weighted; simulated time within a running task). */
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
  /** The CLI's exit status for these results: 0 pass, 1 threshold failed, 3 violation / failed entry. */
  readonly exitStatus: number;
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
}
