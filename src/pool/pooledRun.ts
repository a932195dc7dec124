import { setMaxListeners } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import type { RunProgress, StopReason } from '../history/records.js';
import { assembleResults, type ScenarioProgress, type ShardSpec } from '../run/runScenario.js';
import type { Progress } from '../run/simulate.js';
import { TotalsAccumulator, type LivePart, type LiveRun } from '../run/totals.js';
import { TaskWithdrawn, WorkerStartError, type TaskRunner } from './pool.js';
import { planTasks, type PoolTask } from './tasks.js';
import {
  acceptStop,
  Control,
  StopCode,
  type FaultKind,
  type HistoryPoint,
  type RunTask,
  type StopCodeValue,
  type TaskUpdate,
  type TaskWork,
} from './protocol.js';

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

type TaskStatus = 'queued' | 'running' | 'done' | 'failed';

interface TaskState {
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

const REASON_OF: Readonly<Record<number, StopReason>> = {
  [StopCode.CANCELLED]: 'cancelled',
  [StopCode.TIME_LIMIT]: 'time_limit',
  [StopCode.SHUTDOWN]: 'shutdown',
  [StopCode.FAILED]: 'failed',
};
const CODE_OF: Readonly<Record<StopReason, StopCodeValue>> = {
  cancelled: StopCode.CANCELLED,
  time_limit: StopCode.TIME_LIMIT,
  shutdown: StopCode.SHUTDOWN,
  failed: StopCode.FAILED,
};

/**
 * How partialReason opens, by who stopped the run: `cancelled` and `shutdown` are the words of a stop
 * whose caller gave none (PooledRun.stop; an AbortSignal is a bare cancel), the others the callers'
 * own, kept here so that one place words every stop: `api` the service's DELETE /api/runs/{id}
 * (src/service/runs.ts), `interrupted` the CLI's Ctrl-C (src/cli/commands/run.ts).
 */
export const STOP_TEXT = {
  cancelled: 'cancelled',
  api: 'cancelled through the API (DELETE /api/runs/{id})',
  interrupted: 'interrupted (Ctrl-C, SIGINT)',
  shutdown: 'stopped by a service shutdown (SIGTERM)',
} as const;

function describe(scenario: Scenario, t: PoolTask): string {
  return `task ${t.index} (variant ${scenario.variants[t.variantIndex].name}, hosts ${t.hostStart}..${t.hostEnd - 1})`;
}

/** Stable sort by host: per-host records in host order whatever the split (finish order differs by split). */
function byHost<T extends { readonly host: unknown }>(list: T[]): void {
  const keyed = list.map((x, i) => ({ x, i, h: typeof x.host === 'number' ? x.host : 0 }));
  keyed.sort((a, b) => a.h - b.h || a.i - b.i);
  keyed.forEach((k, i) => {
    list[i] = k.x;
  });
}

/** Merge task totals per variant in task order, with per-host records in host order. */
export function mergeTaskTotals(
  scenario: Scenario,
  tasks: readonly { readonly task: PoolTask; readonly totals: TotalsAccumulator | undefined }[],
  perGuest: boolean,
): TotalsAccumulator[] {
  const accs = scenario.variants.map(() => new TotalsAccumulator(perGuest));
  for (const t of tasks) if (t.totals) accs[t.task.variantIndex].merge(t.totals);
  for (const a of accs) {
    byHost(a.violations);
    byHost(a.entryFailures as { host: unknown }[]);
    if (!perGuest) a.perGuest = undefined;
    else if (a.perGuest) byHost(a.perGuest);
  }
  return accs;
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

  progress(): RunProgress {
    const limit = durationLimitNs(this.scenario);
    let weight = 0;
    let done = 0;
    let hostsDone = 0;
    let hostsTotal = 0;
    let tasksDone = 0;
    let slowest = Infinity;
    let furthest = 0;
    for (const t of this.tasks) {
      const hosts = Math.max(1, t.task.hostEnd - t.task.hostStart);
      const p = t.progress;
      weight += hosts;
      hostsTotal += t.task.hostEnd - t.task.hostStart;
      furthest = Math.max(furthest, p.simNs);
      if (t.status === 'done' || t.status === 'failed') tasksDone++;
      if (t.status === 'done' && !t.stopped) {
        done += hosts;
        hostsDone += t.task.hostEnd - t.task.hostStart;
        continue;
      }
      // Where the run stands in simulated time: the least of every task that has not run to its
      // end (a task stopped early counts with where it stopped, not with the limit).
      slowest = Math.min(slowest, p.simNs);
      hostsDone += p.hostsDone;
      // An until-complete task's share is its work done (src/run/workShare.ts, hosts done counted
      // whole), as `run`'s progress line reads it (src/cli/progressView.ts variantFraction): its simulated
      // time over the cap (maxDuration) said 51 % of an install barely begun, and >0 through a boot.
      const hostsFraction = p.hostsTotal === 0 ? 0 : p.hostsDone / p.hostsTotal;
      const f =
        p.workDone !== undefined
          ? Math.min(1, Math.max(hostsFraction, p.hostsTotal === 0 ? 0 : p.workDone / p.hostsTotal))
          : Math.max(hostsFraction, Math.min(1, p.simNs / limit));
      done += hosts * f;
    }
    return {
      fraction: weight === 0 ? 1 : Math.min(1, done / weight),
      simSeconds: (slowest === Infinity ? furthest : slowest) / 1e9,
      limitSeconds: limit / 1e9,
      hostsDone,
      hostsTotal,
      tasksDone,
      tasksTotal: this.tasks.length,
    };
  }

  /**
   * Per variant, whether every one of its tasks ran to its end (a stop, a failure or a task not yet
   * run leaves it false): what a stopped run can still show whole, as what-if's configurations.
   */
  variantsRunToEnd(): boolean[] {
    return this.scenario.variants.map((_, vi) =>
      this.tasks.every((t) => t.task.variantIndex !== vi || (t.status === 'done' && !t.stopped)),
    );
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

  /** The CLI progress line's view: the first variant with unfinished tasks. */
  scenarioProgress(): ScenarioProgress {
    const variants = this.scenario.variants.length;
    const limit = durationLimitNs(this.scenario);
    for (let vi = 0; vi < variants; vi++) {
      const mine = this.tasks.filter((t) => t.task.variantIndex === vi);
      if (mine.every((t) => t.status === 'done' || t.status === 'failed')) continue;
      let sim = Infinity;
      let hostsDone = 0;
      let hostsTotal = 0;
      for (const t of mine) {
        hostsTotal += t.progress.hostsTotal;
        if (t.status === 'done' || t.status === 'failed') {
          hostsDone += t.progress.hostsTotal;
          continue;
        }
        hostsDone += t.progress.hostsDone;
        sim = Math.min(sim, t.status === 'running' ? t.progress.simNs : 0);
      }
      return {
        variant: this.scenario.variants[vi].name,
        variantIndex: vi,
        variants,
        simNs: sim === Infinity ? limit : sim,
        limitNs: limit,
        hostsDone,
        hostsTotal,
      };
    }
    const last = this.scenario.variants[variants - 1];
    return {
      variant: last?.name ?? '',
      variantIndex: Math.max(0, variants - 1),
      variants,
      simNs: limit,
      limitNs: limit,
      hostsDone: 0,
      hostsTotal: 0,
    };
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
      state.error = `${describe(this.scenario, state.task)} ${stoppedOnPurpose ? 'was terminated' : 'failed'}: ${(e as Error)?.message ?? String(e)}`;
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

  /**
   * Where each variant stood when the run stopped, in simulated seconds: the least and the most of its
   * tasks that did not run to their end (a task not started counts 0; a terminated one, its last
   * snapshot), or undefined for a variant whose tasks all ran to their end. A task stopped inside a
   * second (runHosts' stopRequested) is at its progress (the second all its hosts reached) for the
   * least and at its totals' maxSimNs (its hosts that ran the next one) for the most.
   */
  simulatedAtStop(): ({ readonly least: number; readonly most: number } | undefined)[] {
    return this.scenario.variants.map((_, vi) => {
      let least = Infinity;
      let most = -Infinity;
      for (const t of this.tasks) {
        if (t.task.variantIndex !== vi || (t.status === 'done' && !t.stopped)) continue;
        least = Math.min(least, t.progress.simNs / 1e9);
        most = Math.max(most, Math.max(t.progress.simNs, t.totals?.maxSimNs ?? 0) / 1e9);
      }
      return least === Infinity ? undefined : { least, most };
    });
  }

  /**
   * "at 570 of 7200 simulated seconds in bhyve-12.1, 0 in bhyve-tpr-v1": one figure when every variant
   * stopped at the same second, else each variant's (least to most when its tasks differ; the stopped
   * ones first, then "done in" those that ran to their end), or over 6
   * variants the least and the most with the variants they were in. The least of all tasks alone read
   * "at 0 of 7200" when one variant had simulated 570 s and the other had not started.
   */
  private simulatedWords(): string {
    const limit = durationLimitNs(this.scenario) / 1e9;
    const names = this.scenario.variants.map((v) => v.name);
    const at = this.simulatedAtStop();
    const span = (x: { least: number; most: number }): string =>
      x.least === x.most ? `${x.least}` : `${x.least} to ${x.most}`;
    const stopped = at.flatMap((x, i) => (x ? [{ ...x, name: names[i] }] : []));
    const same = stopped.every((x) => x.least === stopped[0].least && x.most === stopped[0].most);
    if (stopped.length === 0) return `at the end of ${limit} simulated seconds`;
    if (same && stopped.length === at.length) return `at ${span(stopped[0])} of ${limit} simulated seconds`;
    if (at.length > 6) {
      const lo = stopped.reduce((a, b) => (b.least < a.least ? b : a));
      const hi = stopped.reduce((a, b) => (b.most > a.most ? b : a));
      return `at ${lo.least} (${lo.name}) to ${hi.most} (${hi.name}) of ${limit} simulated seconds, ${at.length - stopped.length} of ${at.length} variants done`;
    }
    // The stopped variants first, so the figure the sentence's "of T simulated seconds" follows is one
    // (a done first variant made it "at done of 30 simulated seconds in bhyve-12.1, 0 to 2 in ...").
    const each = [
      ...stopped.map((x) => `${span(x)} in ${x.name}`),
      ...names.filter((_, i) => at[i] === undefined).map((n) => `done in ${n}`),
    ];
    const [first, ...rest] = each;
    return `at ${first.replace(/ in /, ` of ${limit} simulated seconds in `)}${rest.map((e) => `, ${e}`).join('')}`;
  }

  /** Why the run stopped early and what its results hold, in a sentence (results.json `partialReason`). */
  private describeStop(reason: StopReason): string {
    const p = this.progress();
    const limit = this.options.timeLimitMs;
    const why: Record<StopReason, string> = {
      cancelled: STOP_TEXT.cancelled,
      time_limit: `stopped at its wall-clock limit of ${limit === undefined ? '?' : limit / 1000} s`,
      shutdown: STOP_TEXT.shutdown,
      failed: `stopped because a task failed (${this.firstError ?? 'a worker was lost'})`,
    };
    const parts = [
      `${this.stopText ?? why[reason]} ${this.simulatedWords()}, ${p.hostsDone} of ${p.hostsTotal} hosts done`,
    ];
    if (this.terminated.length > 0) {
      const ts = this.terminated;
      const grace = (this.options.stopGraceMs ?? 10_000) / 1000;
      const empty = ts.filter((t) => t.totals === undefined).length;
      parts.push(
        `${ts.length} task${ts.length === 1 ? '' : 's'} (${ts.map((t) => describe(this.scenario, t.task)).join('; ')}) did not reach their next host's simulated second within ${grace} s of the stop (a task reads the stop before each host's second: src/run/simulate.ts RunControl.stopRequested) and were terminated` +
          (empty > 0
            ? `; ${empty} of them had not finished a single simulated second, so their hosts count nothing`
            : '; their hosts count as of their last snapshot'),
      );
    }
    return `${parts.join('; ')}.`;
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
    const partialReason = reason ? this.describeStop(reason) : undefined;
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
