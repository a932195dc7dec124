import { randomUUID } from 'node:crypto';
import { durationLimitNs, totalGuests, type Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import { exitStatusOf } from '../results/exitStatus.js';
import { startPooledRun, type PooledOutcome, type PooledRun } from '../pool/pooledRun.js';
import type { SimPool } from '../pool/pool.js';
import { overBudget } from '../metrics/cardinality.js';
import type { MetricsHub } from '../metrics/hub.js';
import type { HistoryStore, RunEnd } from '../history/store.js';
import { FINAL_STATES, type RunRecord, type RunState, type RunSummary } from '../history/records.js';
import { ApiError } from './errors.js';
import { parseOrThrow, type LoadedScenario, type ScenarioCatalog } from './scenarios.js';

export interface ServiceLimits {
  /** Guests one run may simulate (all variants and hosts). */
  readonly maxGuests: number;
  /** Simulated seconds one run may last (duration, or maxDuration for until-complete). */
  readonly maxDurationSeconds: number;
  /** Runs in progress at once; more get 429. */
  readonly maxConcurrentRuns: number;
  /** Wall-clock limit of a run (a request may ask for less). */
  readonly maxRunSeconds: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  maxGuests: 20_000,
  maxDurationSeconds: 3_600,
  maxConcurrentRuns: 4,
  maxRunSeconds: 3_600,
};

export interface SubmitRequest {
  /** Scenario YAML (inline) ... */
  readonly yaml?: string;
  /** ... or the name of one in scenarios/. */
  readonly name?: string;
  /** How diagnostics name inline YAML (default request.yaml). */
  readonly file?: string;
  readonly pace?: 'max' | 'realtime';
  readonly seed?: number;
  readonly timeLimitSeconds?: number;
}

interface LiveEntry {
  readonly id: string;
  readonly run: PooledRun;
  readonly finished: Promise<void>;
  lastProgressWrite: number;
}

interface RunManagerOptions {
  readonly pool: SimPool;
  readonly history: HistoryStore;
  readonly hub: MetricsHub;
  readonly catalog: ScenarioCatalog;
  readonly limits?: Partial<ServiceLimits>;
  /** Time a stopped task gets before its worker is terminated. */
  readonly stopGraceMs?: number;
  /** Minimum wall ms between two progress writes of a run to the history. */
  readonly progressWriteMs?: number;
}

function summaryOf(results: RunResults): RunSummary {
  return {
    exitStatus: exitStatusOf(results),
    variants: results.variants.map((v) => ({
      name: v.name,
      exitsTotal: v.totals.exitsTotal,
      exitsPerGuestSecond: v.totals.guestSeconds > 0 ? v.totals.exitsTotal / v.totals.guestSeconds : 0,
      thresholdsPassed: v.thresholds.filter((t) => t.passed).length,
      thresholdsFailed: v.thresholds.filter((t) => !t.passed).length,
      violations: v.totals.violations.length,
    })),
    crossVariantThresholdsFailed: results.crossVariantThresholds.filter((t) => !t.passed).length,
  };
}

/** Runs of the service: validation and caps, the pool, history records, metrics. */
export class RunManager {
  readonly limits: ServiceLimits;
  private readonly live = new Map<string, LiveEntry>();
  private draining = false;

  constructor(private readonly o: RunManagerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    o.hub.setRunCounts(() => o.history.countsByState());
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get running(): number {
    return this.live.size;
  }

  /** Resolve the request's scenario: a name of scenarios/, or inline YAML (diagnostics name it request.yaml). */
  resolve(req: SubmitRequest): LoadedScenario {
    if (req.name !== undefined && req.yaml !== undefined)
      throw new ApiError(400, 'bad_request', 'give either a scenario name or scenario YAML, not both');
    if (req.name !== undefined) return this.o.catalog.load(req.name);
    if (req.yaml === undefined || req.yaml.trim() === '')
      throw new ApiError(
        400,
        'bad_request',
        'no scenario: post scenario YAML, or JSON {"scenario": "NAME"} with the name of one in scenarios/',
      );
    // A posted scenario must not make the server read its own files (workload profiles).
    return { scenario: parseOrThrow(req.yaml, req.file ?? 'request.yaml', { workloadBaseDir: null }), yaml: req.yaml };
  }

  submit(req: SubmitRequest): RunRecord {
    if (this.draining)
      throw new ApiError(503, 'shutting_down', 'the service is shutting down', { headers: { 'Retry-After': '5' } });
    const loaded = this.resolve(req);
    let scenario: Scenario = loaded.scenario;
    if (req.seed !== undefined) scenario = { ...scenario, seed: req.seed };
    const pace = req.pace ?? scenario.pace;
    if (pace !== scenario.pace) scenario = { ...scenario, pace };
    const guests = totalGuests(scenario);
    const L = this.limits;
    if (guests > L.maxGuests)
      throw new ApiError(
        422,
        'limit_exceeded',
        `the scenario simulates ${guests} guests; this service allows at most ${L.maxGuests} per run (--max-guests)`,
      );
    const durationS = durationLimitNs(scenario) / 1e9;
    if (durationS > L.maxDurationSeconds) {
      throw new ApiError(
        422,
        'limit_exceeded',
        `the scenario lasts up to ${durationS} simulated seconds; this service allows at most ${L.maxDurationSeconds} (--max-duration)`,
      );
    }
    const over = overBudget(scenario, { perGuest: this.o.hub.perGuest });
    if (over !== undefined) throw new ApiError(422, 'limit_exceeded', over);
    if (req.timeLimitSeconds !== undefined && !(req.timeLimitSeconds > 0))
      throw new ApiError(400, 'bad_request', 'timeLimitSeconds must be a positive number');
    const timeLimitSeconds = Math.min(req.timeLimitSeconds ?? L.maxRunSeconds, L.maxRunSeconds);
    if (this.live.size >= L.maxConcurrentRuns) {
      throw new ApiError(
        429,
        'too_many_runs',
        `${this.live.size} runs are in progress; this service runs at most ${L.maxConcurrentRuns} at once (--max-runs)`,
        { headers: { 'Retry-After': '10' } },
      );
    }
    return this.start(scenario, loaded, { pace, timeLimitSeconds, guests });
  }

  private start(
    scenario: Scenario,
    loaded: LoadedScenario,
    o: { pace: 'max' | 'realtime'; timeLimitSeconds: number; guests: number },
  ): RunRecord {
    const { history, hub, pool } = this.o;
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    history.create({
      id,
      scenario: scenario.name,
      source: loaded.name !== undefined ? { kind: 'name', name: loaded.name } : { kind: 'inline' },
      createdAt,
      options: { pace: o.pace, seed: scenario.seed, workers: pool.workers, timeLimitSeconds: o.timeLimitSeconds },
      guests: o.guests,
      variants: scenario.variants.map((v) => v.name),
      yaml: loaded.yaml,
    });
    const run = startPooledRun(scenario, {
      pool,
      pace: o.pace,
      timeLimitMs: o.timeLimitSeconds * 1000,
      livePerGuest: hub.perGuest,
      stopGraceMs: this.o.stopGraceMs,
      onUpdate: (r) => this.onUpdate(id, r),
    });
    history.started(id, run.startedAt.toISOString());
    hub.addRun(id, scenario, run);
    const entry: LiveEntry = {
      id,
      run,
      lastProgressWrite: Date.now(),
      finished: run.done.then(
        (out) => this.finish(id, run, out),
        (e: unknown) => this.fail(id, run, e),
      ),
    };
    this.live.set(id, entry);
    return this.get(id)!;
  }

  private onUpdate(id: string, run: PooledRun): void {
    const e = this.live.get(id);
    if (!e) return;
    const now = Date.now();
    if (now - e.lastProgressWrite < (this.o.progressWriteMs ?? 2_000)) return;
    e.lastProgressWrite = now;
    this.o.history.progress(id, run.progress());
  }

  private finish(id: string, run: PooledRun, out: PooledOutcome): void {
    const reason = out.stopReason;
    const state: RunState =
      out.error !== undefined ? 'failed' : out.stopped ? (reason === 'failed' ? 'failed' : 'cancelled') : 'completed';
    this.end(
      id,
      state,
      {
        ...(out.stopped && reason ? { stopReason: reason } : {}),
        ...(out.error ? { error: out.error } : {}),
        progress: run.progress(),
        summary: summaryOf(out.results),
        results: out.results,
        partial: out.stopped,
      },
      state === 'completed' ? out.results : undefined,
    );
  }

  private fail(id: string, run: PooledRun, e: unknown): void {
    this.end(id, 'failed', {
      stopReason: 'failed',
      error: `internal error: ${(e as Error)?.message ?? String(e)}`,
      progress: run.progress(),
      partial: true,
    });
  }

  private end(id: string, state: RunState, f: RunEnd, thresholdResults?: RunResults): void {
    try {
      this.o.history.finish(id, { state, at: new Date().toISOString(), ...f });
    } finally {
      this.o.hub.finishRun(id, state, thresholdResults);
      this.live.delete(id);
    }
  }

  get(id: string): RunRecord | undefined {
    const rec = this.o.history.get(id);
    if (!rec) return undefined;
    const e = this.live.get(id);
    if (!e || FINAL_STATES.includes(rec.state)) return rec;
    const stopping = e.run.stopReason;
    return { ...rec, progress: e.run.progress(), ...(stopping ? { stopReason: stopping } : {}) };
  }

  list(filter: { limit?: number; state?: RunState; scenario?: string } = {}): RunRecord[] {
    return this.o.history.list(filter).map((r) => (this.live.has(r.id) ? (this.get(r.id) ?? r) : r));
  }

  /** results.json of a finished run; ApiError when there is none (yet). */
  results(id: string): { json: string; partial: boolean } {
    const rec = this.o.history.get(id);
    if (!rec) throw new ApiError(404, 'not_found', `no run ${id}`);
    if (!FINAL_STATES.includes(rec.state))
      throw new ApiError(409, 'not_finished', `run ${id} is ${rec.state}; results are written when it ends`, {
        headers: { 'Retry-After': '2' },
      });
    const json = this.o.history.resultsJson(id);
    if (json === undefined)
      throw new ApiError(
        404,
        'no_results',
        `run ${id} ended ${rec.state} without results${rec.error ? `: ${rec.error}` : ''}`,
      );
    return { json, partial: rec.partial };
  }

  /** Cancel a run in progress: it stops at its next simulated second and keeps partial results. */
  cancel(id: string): RunRecord {
    const e = this.live.get(id);
    if (!e) {
      const rec = this.o.history.get(id);
      if (!rec) throw new ApiError(404, 'not_found', `no run ${id}`);
      throw new ApiError(409, 'not_running', `run ${id} is already ${rec.state}`);
    }
    e.run.stop('cancelled');
    return this.get(id)!;
  }

  /** Wait for a run to end (tests, start-up scenario). */
  async wait(id: string): Promise<RunRecord | undefined> {
    await this.live.get(id)?.finished;
    return this.get(id);
  }

  /** SIGTERM: refuse new runs, stop the running ones (partial results kept, marked), wait for their records. */
  async drain(): Promise<void> {
    this.draining = true;
    const entries = [...this.live.values()];
    for (const e of entries) e.run.stop('shutdown');
    await Promise.all(entries.map((e) => e.finished.catch(() => undefined)));
  }
}
