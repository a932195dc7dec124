import { setMaxListeners } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import type { RunProgress, StopReason } from '../history/records.js';
import { assembleResults, type ScenarioProgress, type ShardSpec } from '../run/runScenario.js';
import { TotalsAccumulator } from '../run/totals.js';
import type { LivePart, LiveRun } from '../run/liveRun.js';
import { TaskWithdrawn, WorkerStartError, type TaskRunner } from './pool.js';
import { planTasks } from './tasks.js';
import { acceptStop, Control, type FaultKind, type HistoryPoint, type RunTask, type TaskUpdate } from './protocol.js';
import type { TaskState } from './taskState.js';
import { mergeTaskTotals } from './mergeTotals.js';
import { runProgress, scenarioProgress, simulatedAtStop, variantsRunToEnd } from './runProgress.js';
import { CODE_OF, describeStop, describeTask, REASON_OF } from './stopWords.js';

/**
 * runScenario on a worker pool. The scenario's hosts are split into tasks (tasks.ts);
 * each task posts its latest absolute totals while it runs and returns its final totals; the
 * final totals are merged in task order and go through the same assembleResults as a
 * single-thread run, so results.json is identical for any worker count.
 */

/** An abort controller whose signal every task of a run may listen to at once (no leak warning at 11). */
function listenedByEveryTask(c: AbortController): AbortController {
  setMaxListeners(0, c.signal);
  return c;
}

interface PooledRunOptions {
  /** A SimPool, or a lane's fair-share runner (src/pool/fair.ts). */
  readonly pool: TaskRunner;
  readonly shard?: ShardSpec;
  /** Override the scenario's pace (the service runs its start-up scenario in realtime). */
  readonly pace?: 'max' | 'realtime';
  /** Keep per-guest totals in results.json (variants[].perGuest). */
  readonly perGuest?: boolean;
  /** Per-guest totals in live snapshots too (per-guest metrics); costs ~50 us per guest per snapshot. */
  readonly livePerGuest?: boolean;
  /** Aborting cancels the run (cooperatively: as PooledRun.stop). */
  readonly signal?: AbortSignal;
  /** Wall-clock limit; the run is stopped (partial results) when it is reached. */
  readonly timeLimitMs?: number;
  /** Least wall ms between two live snapshots of a task at pace max (default 250). */
  readonly postIntervalMs?: number;
  /** After a stop, tasks still running this long are terminated (a hung worker; default 10 s). */
  readonly stopGraceMs?: number;
  /** Called after every live snapshot and task end (progress, metrics). */
  readonly onUpdate?: (run: PooledRun) => void;
  /** Tests only: inject a fault into task N (needs a pool created with allowFaults). */
  readonly faults?: ReadonlyMap<number, FaultKind>;
  /** Every task returns its totals at each multiple of this many simulated ns (PooledOutcome.histories). */
  readonly historyStepNs?: number;
}

export interface PooledOutcome {
  readonly results: RunResults;
  readonly accumulators: readonly TotalsAccumulator[];
  readonly stopped: boolean;
  readonly stopReason?: StopReason;
  /** The first task failure (a worker that threw or died), with the task it ran. */
  readonly error?: string;
  /** Why the results are partial, in a sentence (also results.json `partialReason`). */
  readonly partialReason?: string;
  readonly tasks: number;
  readonly workers: number;
  /** With historyStepNs: per task, in task order, its variant and its totals at each step it reached. */
  readonly histories?: readonly TaskHistory[];
}

/** One task's history (PooledRunOptions.historyStepNs). */
export interface TaskHistory {
  readonly variantIndex: number;
  readonly points: readonly HistoryPoint[];
  /** The task's final totals (partial when it stopped; its last snapshot when it was terminated). */
  readonly final: TotalsAccumulator | undefined;
}

export class PooledRun implements LiveRun {
  readonly scenario: Scenario;
  readonly pace: 'max' | 'realtime';
  readonly tasks: TaskState[];
  readonly startedAt = new Date();
  readonly startedAtMs = this.startedAt.getTime();
  readonly done: Promise<PooledOutcome>;
  private readonly control = new Int32Array(new SharedArrayBuffer(Control.WORDS * 4));
  /**
   * Aborted at the stop: tasks still waiting for a worker leave the queue (TaskRunner.run's withdraw).
   * Each waiting task listens once, and stops listening when it leaves the queue: as many listeners
   * as tasks (dozens on the default fleet), bounded, so node's leak warning at 11 is lifted for it.
   */
  private readonly withdraw = listenedByEveryTask(new AbortController());
  /** Per task (same index as `tasks`), to terminate it after the stop grace period. */
  private readonly aborters: AbortController[] = [];
  private readonly t0 = performance.now();
  private graceTimer: NodeJS.Timeout | undefined;
  private firstError: string | undefined;
  private anyStopped = false;
  /** Tasks terminated after the stop grace period (they ignored the stop flag for that long). */
  private readonly terminated: TaskState[] = [];
  /** The words the first stop gave for itself (partialReason opens with them). */
  private stopText: string | undefined;

  constructor(
    scenario: Scenario,
    private readonly options: PooledRunOptions,
  ) {
    this.scenario = scenario;
    this.pace = options.pace ?? scenario.pace;
    const plan = planTasks(scenario, { workers: options.pool.workers, shard: options.shard, pace: this.pace });
    this.tasks = plan.map((task) => ({
      task,
      status: 'queued',
      totals: undefined,
      progress: { simNs: 0, hostsDone: 0, hostsTotal: task.hostEnd - task.hostStart },
      lagSeconds: 0,
      seq: 0,
    }));
    this.done = this.execute();
  }

  /**
   * Stop the run: tasks on a worker stop before their next host's simulated second (the stop word,
   * src/pool/worker.ts) and return what they have; tasks waiting for a worker leave the queue at once
   * and count nothing, as a task that finds the word set when it starts. The caller
   * names the stop: `reason` is what the run history keeps, `text` how partialReason says it (default
   * STOP_TEXT[reason]), e.g. the CLI's Ctrl-C is a 'cancelled' stop said as "interrupted (Ctrl-C,
   * SIGINT)". The first stop wins; later ones change nothing. Says whether the run will end stopped:
   * 'stopping' (this stop or an earlier one was accepted), or 'ended' when every task had already
   * run to its end (the stop changes nothing: the run ends completed, its results whole), decided
   * with the tasks on one shared word (protocol.ts acceptStop).
   */
  stop(reason: StopReason, text?: string): 'stopping' | 'ended' {
    const gate = acceptStop(this.control, this.tasks.length);
    if (gate !== 'accepted') return gate === 'again' ? 'stopping' : 'ended';
    Atomics.store(this.control, Control.STOP, CODE_OF[reason]);
    this.stopText = text;
    Atomics.notify(this.control, Control.STOP);
    this.withdraw.abort();
    const grace = this.options.stopGraceMs ?? 10_000;
    this.graceTimer = setTimeout(() => {
      // Only tasks on a worker: a queued task sees the stop flag when it starts and returns at once.
      this.tasks.forEach((t, i) => {
        const a = this.aborters[i] as AbortController | undefined;
        if (t.status === 'running') a?.abort(new Error(`terminated: no response ${grace} ms after the stop`));
      });
    }, grace);
    this.graceTimer.unref();
    return 'stopping';
  }

  get stopReason(): StopReason | undefined {
    return REASON_OF[Atomics.load(this.control, Control.STOP)];
  }

  /** How far the run is (runProgress.ts). */
  progress(): RunProgress {
    return runProgress(this.scenario, this.tasks);
  }

  /** Per variant, whether every one of its tasks ran to its end (runProgress.ts). */
  variantsRunToEnd(): boolean[] {
    return variantsRunToEnd(this.scenario, this.tasks);
  }

  /** Every task's latest absolute totals, and its hosts running now (the live metrics). */
  live(): LivePart[] {
    return this.tasks.map((t) => ({
      variantIndex: t.task.variantIndex,
      totals: t.totals,
      hostsRunning: t.status === 'running' ? Math.max(0, t.progress.hostsTotal - t.progress.hostsDone) : 0,
      ...(this.pace === 'realtime' ? { lagSeconds: this.lagOf(t) } : {}),
    }));
  }

  /**
   * A realtime task's lag now: what it measured on reaching its last simulated second, or, when it has
   * been longer than a second since that second was due, at least the time it is overdue for the next.
   */
  private lagOf(t: TaskState): number {
    if (t.status !== 'running') return t.lagSeconds;
    return Math.max(t.lagSeconds, (performance.now() - this.t0) / 1000 - t.progress.simNs / 1e9 - 1);
  }

  /** The CLI progress line's view (runProgress.ts). */
  scenarioProgress(): ScenarioProgress {
    return scenarioProgress(this.scenario, this.tasks);
  }

  private notify(): void {
    try {
      this.options.onUpdate?.(this);
    } catch {
      /* an observer's bug must not break the run */
    }
  }

  private async runOne(state: TaskState): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    const aborter = new AbortController();
    this.aborters[this.tasks.indexOf(state)] = aborter;
    const perGuest = this.options.perGuest === true || this.options.livePerGuest === true;
    port1.on('message', (u: TaskUpdate) => {
      if (state.status === 'done' || state.status === 'failed') return; // late: the final totals are in
      if (u.kind === 'started') {
        state.status = 'running';
      } else if (u.seq > state.seq) {
        state.status = 'running';
        state.seq = u.seq;
        state.totals = TotalsAccumulator.fromJSON(u.totals);
        state.progress = u.progress;
        state.lagSeconds = u.lagSeconds;
      }
      this.notify();
    });
    const msg: RunTask = {
      kind: 'run',
      scenario: this.scenario,
      task: state.task,
      control: this.control.buffer,
      runStartMs: Date.now() - (performance.now() - this.t0),
      pace: this.pace,
      postIntervalMs: this.options.postIntervalMs ?? 250,
      perGuest,
      livePerGuest: this.options.livePerGuest === true,
      port: port2,
      ...(this.options.faults?.has(state.task.index) ? { fault: this.options.faults.get(state.task.index) } : {}),
      ...(this.options.historyStepNs !== undefined ? { historyStepNs: this.options.historyStepNs } : {}),
    };
    try {
      const r = await this.options.pool.run(msg, aborter.signal, this.withdraw.signal);
      state.totals = TotalsAccumulator.fromJSON(r.totals);
      state.progress = r.progress;
      state.status = 'done';
      state.work = { ...r.work, threadId: r.threadId };
      if (r.history !== undefined) state.history = r.history;
      if (r.stopped) {
        this.anyStopped = true;
        state.stopped = true;
      }
    } catch (e) {
      if (e instanceof TaskWithdrawn) {
        // Left the queue at the stop: what the worker answers a task that starts after it.
        port2.close();
        state.totals = new TotalsAccumulator(perGuest);
        state.status = 'done';
        state.stopped = true;
        this.anyStopped = true;
        return;
      }
      // Keep the latest snapshot: what was already counted stays counted.
      const stoppedOnPurpose = aborter.signal.aborted;
      state.status = 'failed';
      state.error = `${describeTask(this.scenario, state.task)} ${stoppedOnPurpose ? 'was terminated' : 'failed'}: ${(e as Error)?.message ?? String(e)}`;
      if (stoppedOnPurpose) this.terminated.push(state);
      else {
        this.options.pool.noteFailure();
        // No thread could start: the pool's fault, not this task's (the task names no cause).
        this.firstError ??= e instanceof WorkerStartError ? e.message : state.error;
        this.stop('failed');
      }
    } finally {
      port1.close();
      this.notify();
    }
  }

  /** Where each variant stood when the run stopped (runProgress.ts). */
  simulatedAtStop(): ({ readonly least: number; readonly most: number } | undefined)[] {
    return simulatedAtStop(this.scenario, this.tasks);
  }

  private async execute(): Promise<PooledOutcome> {
    const { signal } = this.options;
    const onAbort = (): void => void this.stop('cancelled');
    if (signal?.aborted) this.stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    const limitTimer =
      this.options.timeLimitMs !== undefined
        ? setTimeout(() => this.stop('time_limit'), this.options.timeLimitMs)
        : undefined;
    try {
      await Promise.all(this.tasks.map((t) => this.runOne(t)));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (limitTimer) clearTimeout(limitTimer);
      if (this.graceTimer) clearTimeout(this.graceTimer);
    }
    const accumulators = mergeTaskTotals(this.scenario, this.tasks, this.options.perGuest === true);
    const results = assembleResults(this.scenario, accumulators, {
      startedAt: this.startedAt.toISOString(),
      wallSeconds: (performance.now() - this.t0) / 1000,
      shard: this.options.shard,
    });
    const stopped = this.anyStopped || this.tasks.some((t) => t.status === 'failed');
    const reason = stopped ? (this.stopReason ?? 'failed') : undefined;
    const partialReason = reason
      ? describeStop(
          {
            scenario: this.scenario,
            tasks: this.tasks,
            options: this.options,
            firstError: this.firstError,
            stopText: this.stopText,
            terminated: this.terminated,
          },
          reason,
        )
      : undefined;
    return {
      results: partialReason ? { ...results, partial: true, partialReason } : results,
      ...(partialReason ? { partialReason } : {}),
      accumulators,
      stopped,
      ...(reason ? { stopReason: reason } : {}),
      ...(this.firstError ? { error: this.firstError } : {}),
      tasks: this.tasks.length,
      workers: this.options.pool.workers,
      ...(this.options.historyStepNs !== undefined
        ? {
            histories: this.tasks.map((t) => ({
              variantIndex: t.task.variantIndex,
              points: t.history ?? [],
              final: t.totals,
            })),
          }
        : {}),
    };
  }
}

/** Start a pooled run; `run.done` resolves with the results (partial when stopped or a task failed). */
export function startPooledRun(scenario: Scenario, options: PooledRunOptions): PooledRun {
  return new PooledRun(scenario, options);
}

export function runScenarioPooled(scenario: Scenario, options: PooledRunOptions): Promise<PooledOutcome> {
  return startPooledRun(scenario, options).done;
}
