import type { TaskWork } from './protocol.js';

/**
 * Where a pool worker's wall time went in one run, from its tasks' TaskWork: in tasks, or idle -
 * before its first task, in the gaps between tasks (its answer out, the next task in), and in the
 * tail after its last task while another worker still ran and the main thread merged.
 * `bench/service.ts` prints it for 1 and 2 workers beside each thread's CPU clocks.
 */
export interface WorkerAccount {
  readonly threadId: number;
  /** The worker's OS thread id (Linux; threadClock.ts), when its tasks said it. */
  readonly osThreadId?: number;
  readonly tasks: number;
  /** Wall ms inside tasks (the sum of their spans). */
  readonly inTasksMs: number;
  /** Wall ms from the run's start to the worker's first task (the first task's hand-out). */
  readonly beforeMs: number;
  /** Wall ms between the end of one task and the start of its next. */
  readonly gapsMs: number;
  /** Wall ms from the worker's last task's end to the run's end. */
  readonly tailMs: number;
}

/**
 * Account each worker's time over a run that began at `runStartMs` and ended at `runEndMs` (the same
 * clock as TaskWork: ms since the epoch), from the work of the run's tasks that ran. Workers come
 * in the order of their first task.
 */
export function accountWorkers(
  work: readonly (TaskWork & { readonly threadId: number })[],
  runStartMs: number,
  runEndMs: number,
): WorkerAccount[] {
  const byThread = new Map<number, (TaskWork & { readonly threadId: number })[]>();
  for (const w of [...work].sort((a, b) => a.startMs - b.startMs)) {
    const list = byThread.get(w.threadId);
    if (list) list.push(w);
    else byThread.set(w.threadId, [w]);
  }
  return [...byThread.entries()].map(([threadId, list]) => {
    let inTasksMs = 0;
    let gapsMs = 0;
    list.forEach((w, i) => {
      inTasksMs += w.endMs - w.startMs;
      if (i > 0) gapsMs += Math.max(0, w.startMs - list[i - 1].endMs);
    });
    const tid = list[0].osThreadId;
    return {
      threadId,
      ...(tid === undefined ? {} : { osThreadId: tid }),
      tasks: list.length,
      inTasksMs,
      beforeMs: Math.max(0, list[0].startMs - runStartMs),
      gapsMs,
      tailMs: Math.max(0, runEndMs - list[list.length - 1].endMs),
    };
  });
}
