import type { MessagePort } from 'node:worker_threads';
import type { RawTotals } from '../results/types.js';
import type { Progress } from '../run/simulate.js';
import type { Scenario } from '../scenario/types.js';
import type { PoolTask } from './tasks.js';

/**
 * The pool's wire format: what the main thread (src/pool/pooledRun.ts) and a worker
 * (src/pool/worker.ts) send each other. Every message is a plain object that travels by structured
 * clone, told apart by its `kind`; a task's MessagePort (transferred) and the run's control
 * SharedArrayBuffer (shared) come with it. Totals travel as RawTotals (TotalsAccumulator.toJSON).
 */

/** piscina's workerData of every worker thread. */
export interface WorkerData {
  /** Honour RunTask.fault (a pool created with allowFaults: tests only, never the service). */
  readonly allowFaults: boolean;
}

/** Control words of a run's SharedArrayBuffer (Int32Array). */
export const Control = {
  /** 0 = go on; any other value = stop (a StopCode): before a task's next host's simulated second. */
  STOP: 0,
  /**
   * Who was first, the stop or the run's end (acceptStop, claimEnd): bit 0 set once a stop is
   * accepted, the bits above it the count of tasks that ran to their end before it.
   */
  GATE: 1,
  WORDS: 2,
} as const;

/**
 * The main thread's half of the gate: accept a stop unless every one of the run's `tasks` has
 * already run to its end. 'accepted': this call set the gate, so no task can claim its end any
 * more and the run ends stopped; 'again': an earlier stop was accepted; 'too late': every task
 * claimed its end first, the run ends completed and the stop changes nothing. One word, one
 * compare-and-swap each side: a stop and a task's last simulated second cannot both win (a DELETE
 * answered 202 met a run that still ended completed, when the stop was set after the task's last read
 * of it: docs/SERVICE.md, HTTP API).
 */
export function acceptStop(control: Int32Array, tasks: number): 'accepted' | 'again' | 'too late' {
  for (;;) {
    const g = Atomics.load(control, Control.GATE);
    if ((g & 1) !== 0) return 'again';
    if (g >>> 1 >= tasks) return 'too late';
    if (Atomics.compareExchange(control, Control.GATE, g, g | 1) === g) return 'accepted';
  }
}

/**
 * A task's half (src/pool/worker.ts): once its hosts have run to the end, claim it. False when a
 * stop was accepted first: the task then answers as stopped (its totals whole, its run cancelled).
 */
export function claimEnd(control: Int32Array): boolean {
  for (;;) {
    const g = Atomics.load(control, Control.GATE);
    if ((g & 1) !== 0) return false;
    if (Atomics.compareExchange(control, Control.GATE, g, g + 2) === g) return true;
  }
}

export const StopCode = { NONE: 0, CANCELLED: 1, TIME_LIMIT: 2, SHUTDOWN: 3, FAILED: 4 } as const;
export type StopCodeValue = (typeof StopCode)[keyof typeof StopCode];

/** Test-only faults, honoured only by a pool created with allowFaults (never by the service). */
export type FaultKind = 'throw' | 'exit' | 'hang';

// ---- main thread -> worker: piscina.run(request) ----

/** Run one task: hosts [hostStart, hostEnd) of one variant. */
export interface RunTask {
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
  /** Where the worker posts TaskUpdates while the task runs (transferred; the worker closes it). */
  readonly port: MessagePort;
  readonly fault?: FaultKind;
  /**
   * Keep the task's totals at every multiple of this many simulated ns (the results' time-series
   * step) and return them with its final totals: the history `run --openmetrics` writes.
   */
  readonly historyStepNs?: number;
}

/** Load the worker module and the model data (pool warm-up). */
export interface Ping {
  readonly kind: 'ping';
}

export type WorkerRequest = RunTask | Ping;

// ---- worker -> main thread: the task's result (piscina's answer) ----

export interface TaskDone {
  readonly kind: 'done';
  /** The task's final totals (partial when stopped). */
  readonly totals: RawTotals;
  /** True when the task stopped early (cancelled, time limit, shutdown). */
  readonly stopped: boolean;
  readonly progress: Progress;
  readonly threadId: number;
  /** When and how the worker ran the task (the bench's accounting of a run's wall time). */
  readonly work: TaskWork;
  /** With RunTask.historyStepNs: the task's absolute totals at each step it reached, in order. */
  readonly history?: readonly HistoryPoint[];
}

/**
 * When a worker ran a task, and which thread it was: the bench adds these up per worker to tell its
 * idle time (before its first task, between tasks, the tail) from its time in tasks
 * (workAccount.ts), and reads the thread's CPU clocks by its OS id (threadClock.ts).
 */
export interface TaskWork {
  /** Wall clock (ms since the epoch, sub-ms: performance.timeOrigin + now) when the worker began the task. */
  readonly startMs: number;
  /** The same when it had the answer ready (before the answer's structured clone). */
  readonly endMs: number;
  /** The worker's OS thread id (Linux): whose clocks to read (threadClock.ts). */
  readonly osThreadId?: number;
}

/** A task's totals at one step of simulated time (no time series, no per-guest list). */
export interface HistoryPoint {
  readonly simNs: number;
  /** Hosts of the task still running at that instant. */
  readonly hostsRunning: number;
  readonly totals: RawTotals;
}

export interface Pong {
  readonly kind: 'pong';
  readonly threadId: number;
}

/** A worker's answer: TaskDone to a RunTask, Pong to a Ping. */
export type WorkerAnswer = TaskDone | Pong;

// ---- worker -> main thread, on the task's port while it runs ----

/** Snapshots are the task's latest absolute totals (never deltas: the reader keeps only the latest). */
export type TaskUpdate =
  | { readonly kind: 'started'; readonly threadId: number }
  | {
      readonly kind: 'snapshot';
      readonly seq: number;
      readonly progress: Progress;
      readonly totals: RawTotals;
      /** Realtime pace: simulated seconds behind the wall clock on reaching progress.simNs (0 at pace max). */
      readonly lagSeconds: number;
    };
