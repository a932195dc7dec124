import { TaskWithdrawn, type SimPool, type TaskRunner } from './pool.js';
import type { RunTask, TaskDone } from './protocol.js';

/**
 * Fair sharing of one pool between runs: at most `slots` tasks run at once (one per worker, so the
 * pool's own queue stays empty), and a free worker goes to the next run in turn (round robin over
 * the runs that have tasks waiting), not to the run that queued first. A small run started while a
 * big one runs gets every other free worker instead of waiting behind all of the big run's tasks.
 *
 * The unit shared is a task (a host range of one variant): a max-pace run's tasks hold at most a
 * (2 x workers)-th of a variant's hosts and shrink to single hosts at its end (src/pool/tasks.ts), so
 * a worker changes hands several times in a long run.
 */

interface Waiting {
  readonly task: RunTask;
  readonly signal: AbortSignal | undefined;
  /** Its run's stop (TaskRunner.run): the task leaves the queue at once. */
  readonly withdraw: AbortSignal | undefined;
  readonly onWithdraw: () => void;
  readonly resolve: (d: TaskDone) => void;
  readonly reject: (e: unknown) => void;
}

export class FairShare {
  /** Tasks waiting per run; the map's order is the round robin's order. */
  private readonly waiting = new Map<string, Waiting[]>();
  /** The run that got the last worker (the next turn starts after it). */
  private last: string | undefined;
  private active = 0;

  constructor(
    private readonly pool: SimPool,
    readonly slots: number = pool.workers,
  ) {}

  /** The runner one run uses: its tasks wait their turn under `key`. */
  runner(key: string): TaskRunner {
    return {
      workers: this.pool.workers,
      run: (task, signal, withdraw) => this.enqueue(key, task, signal, withdraw),
      noteFailure: () => this.pool.noteFailure(),
    };
  }

  /** Tasks waiting for a worker (all runs). */
  get queued(): number {
    let n = 0;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  get running(): number {
    return this.active;
  }

  private enqueue(
    key: string,
    task: RunTask,
    signal: AbortSignal | undefined,
    withdraw: AbortSignal | undefined,
  ): Promise<TaskDone> {
    return new Promise<TaskDone>((resolve, reject) => {
      if (withdraw?.aborted) return reject(new TaskWithdrawn());
      let q = this.waiting.get(key);
      if (!q) {
        q = [];
        this.waiting.set(key, q);
      }
      // A stopped run's tasks leave at once: waiting for a worker held by another run's task, only to
      // return at once when they got it, kept a run with a 1 s limit 46 s (docs/SERVICE.md).
      const onWithdraw = (): void => {
        const mine = this.waiting.get(key);
        const i = mine === undefined ? -1 : mine.indexOf(w);
        if (mine === undefined || i < 0) return;
        mine.splice(i, 1);
        if (mine.length === 0) this.waiting.delete(key);
        reject(new TaskWithdrawn());
      };
      const w: Waiting = { task, signal, withdraw, onWithdraw, resolve, reject };
      withdraw?.addEventListener('abort', onWithdraw, { once: true });
      q.push(w);
      this.pump();
    });
  }

  /** The next run in turn after `last` that has a task waiting, and that task. */
  private next(): Waiting | undefined {
    const keys = [...this.waiting.keys()];
    if (keys.length === 0) return undefined;
    const start = this.last === undefined ? 0 : keys.indexOf(this.last) + 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(start + i) % keys.length];
      const q = this.waiting.get(key)!;
      const w = q.shift();
      if (q.length === 0) this.waiting.delete(key);
      if (w === undefined) continue;
      this.last = key;
      return w;
    }
    return undefined;
  }

  private pump(): void {
    while (this.active < this.slots) {
      const w = this.next();
      if (w === undefined) return;
      w.withdraw?.removeEventListener('abort', w.onWithdraw);
      if (w.signal?.aborted) {
        w.reject(w.signal.reason);
        continue;
      }
      this.active++;
      this.pool
        .run(w.task, w.signal, w.withdraw)
        .then(w.resolve, w.reject)
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }
}
