/** One task of a pooled run as the main thread sees it: its status, latest totals and progress. */
import type { Progress } from '../run/simulate.js';
import type { TotalsAccumulator } from '../run/totals.js';
import type { PoolTask } from './tasks.js';
import type { HistoryPoint, TaskWork } from './protocol.js';

export type TaskStatus = 'queued' | 'running' | 'done' | 'failed';

export interface TaskState {
  readonly task: PoolTask;
  status: TaskStatus;
  /** Latest absolute totals: the last snapshot while running, the final totals when done. */
  totals: TotalsAccumulator | undefined;
  progress: Progress;
  /** Realtime pace: the lag of the latest snapshot (TaskUpdate). */
  lagSeconds: number;
  seq: number;
  /** Done, but stopped early (cancel, time limit, shutdown): its totals are partial. */
  stopped?: boolean;
  error?: string;
  /** With historyStepNs: the task's totals at each step (empty for a task that failed or never ran). */
  history?: readonly HistoryPoint[];
  /** Done: when its worker ran it, and which worker (TaskWork). */
  work?: TaskWork & { readonly threadId: number };
}
