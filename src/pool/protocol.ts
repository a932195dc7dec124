import type { MessagePort } from 'node:worker_threads';
import type { Scenario } from '../scenario/types.js';
import type { Progress } from '../run/simulate.js';
import type { PoolTask } from './tasks.js';

/**
 * Messages between the main thread and pool workers (src/pool/worker.ts). A task travels by
 * structured clone; its MessagePort and the run's control SharedArrayBuffer come with it.
 */

/** Control words of a run's SharedArrayBuffer (Int32Array). */
export const Control = {
  /** 0 = go on; any other value = stop at the next simulated second (a StopCode). */
  STOP: 0,
  WORDS: 1,
} as const;

export const StopCode = { NONE: 0, CANCELLED: 1, TIME_LIMIT: 2, SHUTDOWN: 3, FAILED: 4 } as const;
export type StopCodeValue = (typeof StopCode)[keyof typeof StopCode];

/** Test-only faults, honoured only by a pool created with allowFaults (never by the service). */
export type FaultKind = 'throw' | 'exit' | 'hang';

export interface TaskMessage {
  readonly kind: 'run';
  readonly scenario: Scenario;
  readonly task: PoolTask;
  /** Int32Array(Control.WORDS) over a SharedArrayBuffer shared by every task of the run. */
  readonly control: SharedArrayBuffer;
  /** Wall clock (ms since the epoch) when the run started: realtime pace keeps sim time at wall - start. */
  readonly runStartMs: number;
  readonly pace: 'max' | 'realtime';
  /** Least wall ms between two snapshots at pace max (realtime posts once per simulated second). */
  readonly postIntervalMs: number;
  /** Collect per-guest totals (results.json perGuest, per-guest metrics). */
  readonly perGuest: boolean;
  /** Send per-guest totals in live snapshots too (per-guest metrics; costly on large fleets). */
  readonly livePerGuest: boolean;
  readonly port: MessagePort;
  readonly fault?: FaultKind;
}

export interface PingMessage {
  readonly kind: 'ping';
}

/** Posted on the task's port while it runs. Snapshots are absolute totals (TotalsAccumulator JSON). */
export type TaskUpdate =
  | { readonly type: 'started'; readonly threadId: number }
  | {
      readonly type: 'snapshot';
      readonly seq: number;
      readonly progress: Progress;
      readonly totals: Record<string, unknown>;
    };

export interface TaskResult {
  readonly totals: Record<string, unknown>;
  /** True when the task stopped early (cancelled, time limit, shutdown). */
  readonly stopped: boolean;
  readonly progress: Progress;
  readonly threadId: number;
}
