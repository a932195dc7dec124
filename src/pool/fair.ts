import type { SimPool, TaskRunner } from './pool.js';
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
      run: (task, signal) => this.enqueue(key, task, signal),
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

  private enqueue(key: string, task: RunTask, signal: AbortSignal | undefined): Promise<TaskDone> {
    return new Promise<TaskDone>((resolve, reject) => {
      let q = this.waiting.get(key);
      if (!q) {
        q = [];
        this.waiting.set(key, q);
      }
      q.push({ task, signal, resolve, reject });
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
      if (w.signal?.aborted) {
        w.reject(w.signal.reason);
        continue;
      }
      this.active++;
      this.pool
        .run(w.task, w.signal)
        .then(w.resolve, w.reject)
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }
}
