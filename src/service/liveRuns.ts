/**
 * The runs in progress, of every lane: a run's start on the runner its lane gave it (a pooled run,
 * src/pool/pooledRun.ts, its record `running`, its live totals in the metrics hub), its progress
 * written to the history at most every `progressWriteMs`, its end (completed, failed or cancelled
 * with partial results: the record, the metrics, the service's own counters), and what a running
 * run's record shows besides the stored one (progress, figures so far: src/service/liveFigures.ts,
 * the reason it is stopping).
 */
import type { RunResults } from '../results/types.js';
import { startPooledRun, type PooledOutcome, type PooledRun } from '../pool/pooledRun.js';
import type { TaskRunner } from '../pool/pool.js';
import type { MetricsHub } from '../metrics/hub.js';
import type { HistoryStore, RunEnd } from '../history/store.js';
import { FINAL_STATES, type Lane, type RunRecord, type RunState } from '../history/records.js';
import { liveFigures } from './liveFigures.js';
import type { QueuedRun } from './queue.js';
import { summaryOf } from './summary.js';

/** A run the service started and has not yet recorded the end of (the metrics hub's view of it: src/metrics/hubView.ts HubRun). */
export interface RunInProgress {
  readonly id: string;
  readonly lane: Lane;
  readonly run: PooledRun;
  readonly finished: Promise<void>;
  lastProgressWrite: number;
}

export interface LiveRunsOptions {
  readonly history: HistoryStore;
  readonly hub: MetricsHub;
  /** Time a stopped task gets before its worker is terminated. */
  readonly stopGraceMs?: number;
  /** Minimum wall ms between two progress writes of a run to the history. */
  readonly progressWriteMs?: number;
}

export class LiveRuns {
  private readonly live = new Map<string, RunInProgress>();

  /** `ended`: called once a run's end is recorded (its lane's room back, the next runs started). */
  constructor(
    private readonly o: LiveRunsOptions,
    private readonly ended: (q: QueuedRun) => void,
  ) {}

  /** Runs in progress (every lane). */
  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  entry(id: string): RunInProgress | undefined {
    return this.live.get(id);
  }

  entries(): RunInProgress[] {
    return [...this.live.values()];
  }

  /** The runs in progress in `lane`. */
  inLane(lane: Lane): string[] {
    return this.entries()
      .filter((e) => e.lane === lane)
      .map((e) => e.id);
  }

  launch(q: QueuedRun, runner: TaskRunner): PooledRun {
    const { history, hub } = this.o;
    const run = startPooledRun(q.scenario, {
      pool: runner,
      pace: q.pace,
      timeLimitMs: q.timeLimitSeconds * 1000,
      livePerGuest: hub.perGuest,
      stopGraceMs: this.o.stopGraceMs,
      onUpdate: (r) => this.onUpdate(q.id, r),
    });
    history.started(q.id, run.startedAt.toISOString());
    hub.addRun(q.id, q.scenario, run, q.label);
    hub.stats.runStarted(q.lane);
    const entry: RunInProgress = {
      id: q.id,
      lane: q.lane,
      run,
      lastProgressWrite: Date.now(),
      finished: run.done.then(
        (out) => this.finish(q, run, out),
        (e: unknown) => this.fail(q, run, e),
      ),
    };
    this.live.set(q.id, entry);
    return run;
  }

  /** `rec` (the stored record of run `id`) with what its run in progress adds to it. */
  view(rec: RunRecord): RunRecord {
    const e = this.live.get(rec.id);
    if (!e || FINAL_STATES.includes(rec.state)) return rec;
    const stopping = e.run.stopReason;
    const live = liveFigures(rec.variants, e.run.live());
    return { ...rec, progress: e.run.progress(), live, ...(stopping ? { stopReason: stopping } : {}) };
  }

  private onUpdate(id: string, run: PooledRun): void {
    const e = this.live.get(id);
    if (!e) return;
    const now = Date.now();
    if (now - e.lastProgressWrite < (this.o.progressWriteMs ?? 2_000)) return;
    e.lastProgressWrite = now;
    this.o.history.progress(id, run.progress());
  }

  private finish(q: QueuedRun, run: PooledRun, out: PooledOutcome): void {
    const reason = out.stopReason;
    const state: RunState =
      out.error !== undefined ? 'failed' : out.stopped ? (reason === 'failed' ? 'failed' : 'cancelled') : 'completed';
    const summary = summaryOf(out.results, q.scenario);
    this.end(
      q,
      state,
      {
        ...(out.stopped && reason ? { stopReason: reason } : {}),
        ...(out.error ? { error: out.error } : {}),
        progress: run.progress(),
        summary,
        results: out.results,
        partial: out.stopped,
      },
      state === 'completed' ? out.results : undefined,
    );
  }

  private fail(q: QueuedRun, run: PooledRun, e: unknown): void {
    const error = `internal error: ${(e as Error)?.message ?? String(e)}`;
    this.end(q, 'failed', {
      stopReason: 'failed',
      error,
      progress: run.progress(),
      summary: { exitStatus: 3, partialReason: error, variants: [], crossVariantThresholdsFailed: 0 },
      partial: true,
    });
  }

  private end(q: QueuedRun, state: RunState, f: RunEnd, completeResults?: RunResults): void {
    try {
      this.o.history.finish(q.id, { state, at: new Date().toISOString(), ...f });
    } finally {
      this.o.hub.finishRun(q.id, state, completeResults, f.summary?.exitStatus ?? 3);
      this.o.hub.stats.runFinished(q.lane, state);
      this.live.delete(q.id);
      this.ended(q);
    }
  }
}
