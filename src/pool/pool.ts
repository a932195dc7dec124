import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { PingMessage, TaskMessage, TaskResult } from './protocol.js';

export interface SimPoolOptions {
  /** Worker threads (default: os.availableParallelism()). */
  readonly workers?: number;
  /** Idle workers are kept this long (piscina's default is to end them at once). */
  readonly idleTimeoutMs?: number;
  /** Honour TaskMessage.fault (tests only). */
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
export class SimPool {
  readonly workers: number;
  private readonly piscina: Piscina;
  private closed = false;
  /** Tasks that failed because their worker threw or died (for the metrics). */
  failures = 0;

  constructor(options: SimPoolOptions = {}) {
    this.workers = Math.max(1, Math.floor(options.workers ?? defaultWorkers()));
    this.piscina = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: options.eager === false ? 0 : this.workers,
      maxThreads: this.workers,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
      workerData: { allowFaults: options.allowFaults === true },
      closeTimeout: 5_000,
    });
    // A worker that dies also emits 'error' on the pool; the task's promise carries the error.
    this.piscina.on('error', () => {
      /* reported through the task */
    });
  }

  /** Load the worker module and the model data in every thread (start-up off the clock). */
  async warm(): Promise<void> {
    const ping: PingMessage = { kind: 'ping' };
    await Promise.all(Array.from({ length: this.workers }, () => this.piscina.run(ping)));
  }

  run(task: TaskMessage, signal?: AbortSignal): Promise<TaskResult> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return this.piscina.run(task, { transferList: [task.port], ...(signal ? { signal } : {}) }) as Promise<TaskResult>;
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
