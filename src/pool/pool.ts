import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Ping, RunTask, TaskDone, WorkerAnswer, WorkerData, WorkerRequest } from './protocol.js';

/**
 * What a pooled run needs of a pool: how many tasks to plan for (`workers`), a way to run one, and
 * where to count a task whose worker threw or died. SimPool is one; the service's lanes hand each
 * run a runner that shares one pool fairly between runs (src/pool/fair.ts).
 */
export interface TaskRunner {
  /** Plan width: a max-pace run gets up to 4 tasks per worker, a realtime run about one per worker. */
  readonly workers: number;
  run(task: RunTask, signal?: AbortSignal): Promise<TaskDone>;
  /** A task failed because its worker threw or died. */
  noteFailure(): void;
}

interface SimPoolOptions {
  /** Worker threads (default: os.availableParallelism()). */
  readonly workers?: number;
  /** Idle workers are kept this long (piscina's default is to end them at once). */
  readonly idleTimeoutMs?: number;
  /** Honour RunTask.fault (tests only). */
  readonly allowFaults?: boolean;
  /**
   * Start every worker at once and keep them (the service). Off: threads start when tasks need
   * them (a CLI run of one small variant starts one thread, not one per core).
   */
  readonly eager?: boolean;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The piscina pool that runs simulation tasks (src/pool/worker.ts, loaded from the compiled
 * dist/ tree: Node 20 cannot load .ts workers). Workers are started eagerly (minThreads =
 * maxThreads) and kept while idle, so a run does not pay thread start-up.
 */
export class SimPool implements TaskRunner {
  readonly workers: number;
  private readonly piscina: Piscina<WorkerRequest, WorkerAnswer>;
  private closed = false;
  /** Tasks that failed because their worker threw or died (for the metrics). */
  failures = 0;

  constructor(options: SimPoolOptions = {}) {
    this.workers = Math.max(1, Math.floor(options.workers ?? defaultWorkers()));
    this.piscina = new Piscina<WorkerRequest, WorkerAnswer>({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: options.eager === false ? 0 : this.workers,
      maxThreads: this.workers,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
      workerData: { allowFaults: options.allowFaults === true } satisfies WorkerData,
      closeTimeout: 5_000,
    });
    // A worker that dies also emits 'error' on the pool; the task's promise carries the error.
    this.piscina.on('error', () => {
      /* reported through the task */
    });
  }

  /** Load the worker module and the model data in every thread (start-up off the clock). */
  async warm(): Promise<void> {
    const ping: Ping = { kind: 'ping' };
    await Promise.all(Array.from({ length: this.workers }, () => this.piscina.run(ping)));
  }

  async run(task: RunTask, signal?: AbortSignal): Promise<TaskDone> {
    if (this.closed) throw new Error('the worker pool is closed');
    const answer = await this.piscina.run(task, { transferList: [task.port], ...(signal ? { signal } : {}) });
    if (answer.kind !== 'done') throw new Error(`the worker answered a task with ${answer.kind}`);
    return answer;
  }

  noteFailure(): void {
    this.failures++;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  get completed(): number {
    return this.piscina.completed;
  }

  get utilization(): number {
    return this.piscina.utilization;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close({ force: true });
  }
}
