import { availableParallelism } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { bundleState } from './bundleFresh.js';
import type { Ping, Pong, RunTask, TaskDone, WorkerAnswer, WorkerData, WorkerRequest } from './protocol.js';

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
  /** Which worker file to load (workerFile); tests compare the two, or name a file of their own (a URL). */
  readonly worker?: WorkerSource;
}

/** 'bundle': rollup's one-scope bundle when the build made one and it is current; 'compiled': tsc's file. */
export type WorkerBuild = 'bundle' | 'compiled';
/** A build, or a worker file of a test's own (test/fixtures/workers/: one that throws or exits while loading). */
export type WorkerSource = WorkerBuild | URL;

/** A worker file as messages name it: relative to the working directory when it is below it. */
export function shownWorkerFile(file: URL): string {
  const abs = fileURLToPath(file);
  const rel = relative(process.cwd(), abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * No thread of the pool could start to run a task: the worker file threw while loading (a damaged or
 * half-written install, a syntax error from the wrong Node), or its thread ended before it was ready
 * (killed at start: out of memory, --max-old-space-size). Every task waiting for a thread fails with it.
 */
export class WorkerStartError extends Error {
  constructor(file: URL, why: unknown) {
    const cause =
      why === undefined
        ? 'its thread ended while loading, with no error (killed, out of memory, or process.exit)'
        : why instanceof Error
          ? `${why.name}: ${why.message}`
          : typeof why === 'string'
            ? why
            : `it threw ${JSON.stringify(why) ?? typeof why}`;
    super(`a simulation worker could not start (${shownWorkerFile(file)}): ${cause}`);
    this.name = 'WorkerStartError';
  }
}

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
export function workerFile(build: WorkerSource = 'bundle'): URL {
  if (build instanceof URL) return build;
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
  /**
   * Per task handed to piscina and not yet answered, what fails it when no thread is left to run it
   * (checkLoss). A task leaves the set when it settles.
   */
  private readonly handed = new Set<AbortController>();
  /** The error of the last thread that failed with no task of its own (piscina's 'error'). */
  private lastWorkerError: unknown;
  private lossCheck: NodeJS.Immediate | undefined;

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
    // A thread that dies running a task fails that task (piscina rejects it). One that dies with no
    // task of its own, i.e. while loading the worker file, emits 'error' (a throw) or nothing (an
    // exit); piscina does not start another for the tasks waiting in its queue (it stops replacing
    // threads that fail before they are ready: piscina/dist/index.js `_onError`,
    // workerFailsDuringBootstrap), so they waited for ever: `run` hung with no output.
    this.piscina.on('error', (e: unknown) => {
      this.lastWorkerError = e;
      this.checkLoss();
    });
    this.piscina.on('workerDestroy', () => this.checkLoss());
    // A thread that became ready loaded the file: an older error no longer says why threads end.
    this.piscina.on('workerCreate', () => {
      this.lastWorkerError = undefined;
    });
  }

  /**
   * After piscina has dealt with a thread's end (its own tasks rejected, a replacement started when
   * it starts one): no thread left and tasks still handed to it means nothing will ever run them.
   * They fail with WorkerStartError: a task waits in piscina's queue only while the thread started
   * for it is loading (SimPool hands piscina one task per free worker), so that thread ended while loading.
   */
  private checkLoss(): void {
    this.lossCheck ??= setImmediate(() => {
      this.lossCheck = undefined;
      if (this.closed || this.piscina.threads.length > 0 || this.handed.size === 0) return;
      const lost = new WorkerStartError(this.workerFile, this.lastWorkerError);
      this.lastWorkerError = undefined;
      for (const c of [...this.handed]) c.abort(lost);
    });
  }

  /**
   * Hand `req` to piscina. `signal` aborts it (a task on a thread: the thread is terminated); a
   * WorkerStartError (checkLoss) fails it when no thread is left to run it.
   */
  private async handOver<T extends WorkerAnswer>(
    req: WorkerRequest,
    options: { transferList?: MessagePort[]; signal?: AbortSignal },
  ): Promise<T> {
    const c = new AbortController();
    const { signal } = options;
    const forward = (): void => c.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener('abort', forward, { once: true });
    this.handed.add(c);
    try {
      return (await this.piscina.run(req, {
        ...(options.transferList ? { transferList: options.transferList } : {}),
        signal: c.signal,
      })) as T;
    } catch (e) {
      if (c.signal.reason instanceof WorkerStartError) throw c.signal.reason;
      throw e;
    } finally {
      this.handed.delete(c);
      signal?.removeEventListener('abort', forward);
    }
  }

  /**
   * Load the worker module and the model data in every thread (start-up off the clock). Any ping that
   * fails is a thread that could not start: WorkerStartError, once every ping has settled (a close
   * that began while a ping was still on a dying thread waited for its closeTimeout: piscina's close
   * counts a thread done only when it answers a task, and a thread that dies answers none).
   */
  async warm(): Promise<void> {
    const ping: Ping = { kind: 'ping' };
    const pings = await Promise.allSettled(Array.from({ length: this.workers }, () => this.handOver<Pong>(ping, {})));
    const failed = pings.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failed === undefined) return;
    const why: unknown = failed.reason;
    throw why instanceof WorkerStartError ? why : new WorkerStartError(this.workerFile, why);
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
      // The run stopped in the turn this task got its worker (a failed task's slot passes on before
      // its run hears of the failure): it takes no thread, as a task withdrawn while it waited.
      if (withdraw?.aborted) throw new TaskWithdrawn();
      const answer = await this.handOver<WorkerAnswer>(task, { transferList: [task.port], signal });
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
    if (this.lossCheck) clearImmediate(this.lossCheck);
    // piscina's close waits for each thread's tasks, and for a thread that dies under a task (one
    // that cannot load) for ever, on nothing but an unref'd closeTimeout: the process then ran out of
    // work and exited 0 with its close unsettled (`serve` with a broken worker printed nothing). This
    // timer holds the process until that closeTimeout ends the wait.
    const hold = setInterval(() => undefined, 1_000);
    try {
      await this.piscina.close({ force: true });
    } finally {
      clearInterval(hold);
    }
  }
}
