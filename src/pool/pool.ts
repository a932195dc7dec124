import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { bundleState } from './bundleFresh.js';
import type { Ping, RunTask, TaskDone, WorkerAnswer, WorkerData, WorkerRequest } from './protocol.js';

/**
 * What a pooled run needs of a pool: how many tasks to plan for (`workers`), a way to run one, and
 * where to count a task whose worker threw or died. SimPool is one; the service's lanes hand each
 * run a runner that shares one pool fairly between runs (src/pool/fair.ts).
 */
export interface TaskRunner {
  /** Plan width: a max-pace run's tasks shrink to single hosts at its end (tasks.ts), a realtime run has about one per worker. */
  readonly workers: number;
  /**
   * Run `task` on a worker. `signal` terminates it, on a worker too (the grace period's last resort).
   * `withdraw` is its run's stop: while the task still waits for a worker it leaves the queue at once
   * and the promise rejects with TaskWithdrawn (it ran nothing); on a worker it is not read (the task
   * reads its run's stop word there). Without it a stopped run's waiting tasks waited for a worker,
   * behind other runs' tasks on shared workers, only to return at once.
   */
  run(task: RunTask, signal?: AbortSignal, withdraw?: AbortSignal): Promise<TaskDone>;
  /** A task failed because its worker threw or died. */
  noteFailure(): void;
}

/** A task that left a runner's queue before it had a worker, because its run stopped (TaskRunner.run). */
export class TaskWithdrawn extends Error {
  constructor() {
    super('the run stopped while the task waited for a worker');
    this.name = 'TaskWithdrawn';
  }
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
  /** Which worker file to load (workerFile); tests compare the two. */
  readonly worker?: WorkerBuild;
}

/** 'bundle': rollup's one-scope bundle when the build made one and it is current; 'compiled': tsc's file. */
export type WorkerBuild = 'bundle' | 'compiled';

const COMPILED_WORKER = new URL('./worker.js', import.meta.url);
/** `npm run build`'s rollup bundle of worker.js and everything it imports (package.json build:bundle). */
const BUNDLED_WORKER = new URL('../bundle/worker.js', import.meta.url);
/** dist/src: tsc's output, the bundle's input. */
const COMPILED_TREE = fileURLToPath(new URL('..', import.meta.url));

/**
 * The worker file piscina loads. The bundle puts the engine's modules in one scope, so their
 * imported bindings are plain constants to V8 instead of module cells with a hole check each:
 * 6.8-9.8 % fewer instructions per engine event (docs/perf/bundle.md). A bundle older than a file tsc
 * wrote (`tsc` alone after an edit) would run stale code: then, or without a bundle, tsc's worker.js.
 */
export function workerFile(build: WorkerBuild = 'bundle'): URL {
  if (build === 'compiled') return COMPILED_WORKER;
  return bundleState(fileURLToPath(BUNDLED_WORKER), [COMPILED_TREE]) === 'current' ? BUNDLED_WORKER : COMPILED_WORKER;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The piscina pool that runs simulation tasks (src/pool/worker.ts, loaded from the compiled
 * dist/ tree, bundled when the build made a current bundle (workerFile): Node 20 cannot load .ts workers). Workers are started eagerly (minThreads =
 * maxThreads) and kept while idle, so a run does not pay thread start-up.
 */
export class SimPool implements TaskRunner {
  readonly workers: number;
  /** The worker file its threads load (workerFile). */
  readonly workerFile: URL;
  private readonly piscina: Piscina<WorkerRequest, WorkerAnswer>;
  private closed = false;
  /** Tasks handed to piscina and not yet answered (at most `workers`). */
  private active = 0;
  /** Tasks waiting for a worker, first come first served. */
  private readonly waiting: { readonly go: () => void }[] = [];
  /** Tasks that failed because their worker threw or died (for the metrics). */
  failures = 0;

  constructor(options: SimPoolOptions = {}) {
    this.workers = Math.max(1, Math.floor(options.workers ?? defaultWorkers()));
    this.workerFile = workerFile(options.worker);
    this.piscina = new Piscina<WorkerRequest, WorkerAnswer>({
      filename: this.workerFile.href,
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

  /**
   * Run a task on the next free worker, tasks in the order they came. piscina is handed at most one
   * task per worker: its own queue does not keep that order (a task with an AbortSignal that finds
   * every worker busy goes to the back of the queue, or with `stricterFIFO` to the front, which
   * reverses a batch), and a max-pace plan must run its smallest tasks last (tasks.ts).
   */
  async run(task: RunTask, signal?: AbortSignal, withdraw?: AbortSignal): Promise<TaskDone> {
    if (this.closed) throw new Error('the worker pool is closed');
    await this.slot(signal, withdraw);
    try {
      const answer = await this.piscina.run(task, { transferList: [task.port], ...(signal ? { signal } : {}) });
      if (answer.kind !== 'done') throw new Error(`the worker answered a task with ${answer.kind}`);
      return answer;
    } finally {
      // The worker's slot passes to the task that waited longest.
      const next = this.waiting.shift();
      if (next) next.go();
      else this.active--;
    }
  }

  /**
   * Wait for a worker of our own (the queue's order); an abort while waiting rejects with its reason,
   * a withdrawal (the run stopped) with TaskWithdrawn, at once: a withdrawn task takes no worker.
   */
  private slot(signal?: AbortSignal, withdraw?: AbortSignal): Promise<void> {
    if (withdraw?.aborted) return Promise.reject(new TaskWithdrawn());
    if (this.active < this.workers && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const leave = (why: Error): void => {
        signal?.removeEventListener('abort', onAbort);
        withdraw?.removeEventListener('abort', onWithdraw);
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(why);
      };
      const onAbort = (): void =>
        leave(signal?.reason instanceof Error ? signal.reason : new Error('the task was aborted while queued'));
      const onWithdraw = (): void => leave(new TaskWithdrawn());
      const entry = {
        go: (): void => {
          signal?.removeEventListener('abort', onAbort);
          withdraw?.removeEventListener('abort', onWithdraw);
          resolve();
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      withdraw?.addEventListener('abort', onWithdraw, { once: true });
      this.waiting.push(entry);
    });
  }

  noteFailure(): void {
    this.failures++;
  }

  /** Tasks waiting for a worker. */
  get queueSize(): number {
    return this.waiting.length + this.piscina.queueSize;
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
