import { randomUUID } from 'node:crypto';
import type { Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import { startPooledRun, STOP_TEXT, type PooledOutcome, type PooledRun } from '../pool/pooledRun.js';
import type { SimPool, TaskRunner } from '../pool/pool.js';
import { FairShare } from '../pool/fair.js';
import { planTasks } from '../pool/tasks.js';
import type { MetricsHub } from '../metrics/hub.js';
import { liveFigures } from './liveFigures.js';
import { DEFAULT_RETENTION, type HistoryStore, type Retention, type RunEnd } from '../history/store.js';
import { checkCaps, serviceLimits, type CapsContext, type ServiceLimits } from './caps.js';
import {
  FINAL_STATES,
  seriesLabel,
  type Lane,
  type RunRecord,
  type RunSource,
  type RunState,
} from '../history/records.js';
import { ApiError, shown } from './errors.js';
import { parseOrThrow, type LoadedScenario, type ScenarioCatalog } from './scenarios.js';
import type { ScenarioValidator } from './validation.js';
import { LaneQueue, type QueueState, type QueuedRun } from './queue.js';
import { summaryOf } from './summary.js';
import { restoreMetrics } from './restore.js';
import { takenOptions, type ScenarioDefaults, type SubmitRequest } from './runRequest.js';

interface LiveEntry {
  readonly id: string;
  readonly lane: Lane;
  readonly run: PooledRun;
  readonly finished: Promise<void>;
  lastProgressWrite: number;
}

interface RunManagerOptions {
  /** The max lane's workers (shared fairly between max-pace runs). */
  readonly pool: SimPool;
  /** Threads of realtime runs: maxRealtimeRuns x the plan width; default: none (realtime runs share `pool`). */
  readonly realtimePool?: SimPool;
  readonly history: HistoryStore;
  readonly hub: MetricsHub;
  readonly catalog: ScenarioCatalog;
  /** Where posted YAML is validated (off the main thread); without one, on this thread (tests). */
  readonly validator?: ScenarioValidator;
  readonly limits?: Partial<ServiceLimits>;
  readonly retention?: Retention;
  /** Time a stopped task gets before its worker is terminated. */
  readonly stopGraceMs?: number;
  /** Minimum wall ms between two progress writes of a run to the history. */
  readonly progressWriteMs?: number;
}

/** Runs of the service: validation and caps, the queue and its lanes, the pool, history records, metrics. */
export class RunManager {
  readonly limits: ServiceLimits & { readonly maxRunCost: number };
  private readonly live = new Map<string, LiveEntry>();
  private readonly lanes: Record<'max' | 'realtime', LaneQueue>;
  private readonly fair: FairShare;
  private readonly realtime: TaskRunner;
  private draining = false;
  private lastPrune = 0;
  /** Runs whose stored results.json was read as JSON once (a stored text does not change). */
  private readonly resultsChecked = new Set<string>();
  private continuousStop: (() => void) | undefined;
  private continuousDone: Promise<void> | undefined;

  constructor(private readonly o: RunManagerOptions) {
    this.limits = serviceLimits(o.limits, o.pool.workers);
    this.fair = new FairShare(o.pool);
    const rt = o.realtimePool;
    this.realtime = rt
      ? { workers: o.pool.workers, run: (t, s) => rt.run(t, s), noteFailure: () => rt.noteFailure() }
      : o.pool;
    this.lanes = {
      max: new LaneQueue('max', { maxRuns: this.limits.maxConcurrentRuns }),
      realtime: new LaneQueue('realtime', {
        maxRuns: this.limits.maxRealtimeRuns,
        ...(rt ? { threads: rt.workers } : {}),
      }),
    };
    o.hub.setRunCounts(() => o.history.countsByState());
    o.hub.stats.lanes = () => [
      ...Object.values(this.lanes).map((l) => ({ lane: l.lane, queued: l.waiting.length, running: l.running.size })),
      {
        lane: 'continuous',
        queued: 0,
        running: [...this.live.values()].filter((e) => e.lane === 'continuous').length,
      },
    ];
    this.prune();
  }

  /** What this service's runs are checked against (checkCaps). */
  private get caps(): CapsContext {
    return { limits: this.limits, workers: this.o.pool.workers, perGuest: this.o.hub.perGuest };
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Runs in progress (every lane). */
  get running(): number {
    return this.live.size;
  }

  private get queued(): number {
    return this.lanes.max.waiting.length + this.lanes.realtime.waiting.length;
  }

  /** Resolve the request's scenario: a name of scenarios/, or inline YAML (diagnostics name it request.yaml). */
  async resolve(req: SubmitRequest): Promise<LoadedScenario> {
    if (req.name !== undefined && req.yaml !== undefined)
      throw new ApiError(400, 'bad_request', 'give either a scenario name or scenario YAML, not both');
    if (req.name !== undefined) return this.o.catalog.load(req.name);
    if (req.yaml === undefined || req.yaml.trim() === '')
      throw new ApiError(
        400,
        'bad_request',
        'no scenario: post scenario YAML, or JSON {"scenario": "NAME"} with the name of one in scenarios/',
      );
    const file = req.file ?? 'request.yaml';
    const scenario = this.o.validator
      ? await this.o.validator.validate(req.yaml, file)
      : parseOrThrow(req.yaml, file, { workloadBaseDir: null });
    return { scenario, yaml: req.yaml };
  }

  private refuseWhileDraining(): void {
    if (this.draining)
      throw new ApiError(503, 'shutting_down', 'the service is shutting down', { headers: { 'Retry-After': '5' } });
  }

  private refuseWhenQueueFull(): void {
    if (this.queued >= this.limits.maxQueued)
      throw new ApiError(
        429,
        'too_many_runs',
        `${this.queued} runs are waiting in the queue; this service queues at most ${this.limits.maxQueued} (--max-queued)`,
        { headers: { 'Retry-After': '10' } },
      );
  }

  /** Validate, check the caps, and queue a run; the record says `queued` (with its place) or `running`. */
  async submit(req: SubmitRequest): Promise<RunRecord> {
    return (await this.submitWithDefaults(req)).record;
  }

  /** As `submit`, with the defaults the run's scenario gave the options (takenOptions). */
  async submitWithDefaults(req: SubmitRequest): Promise<{ record: RunRecord; defaults: ScenarioDefaults }> {
    try {
      const admitted = await this.admit(req);
      this.o.hub.stats.submission('accepted');
      return admitted;
    } catch (e) {
      this.o.hub.stats.submission(e instanceof ApiError ? e.code : 'internal');
      throw e;
    }
  }

  private async admit(req: SubmitRequest): Promise<{ record: RunRecord; defaults: ScenarioDefaults }> {
    this.refuseWhileDraining();
    this.refuseWhenQueueFull();
    const loaded = await this.resolve(req);
    this.refuseWhileDraining();
    const defaults: ScenarioDefaults = { seed: loaded.scenario.seed, pace: loaded.scenario.pace };
    const { pace, seed, timeLimitSeconds } = takenOptions(req, defaults, this.limits.maxRunSeconds);
    let scenario: Scenario = loaded.scenario;
    if (seed !== scenario.seed || pace !== scenario.pace) scenario = { ...scenario, seed, pace };
    const { guests, cost, series } = checkCaps(scenario, this.caps);
    if (req.timeLimitSeconds !== undefined && !(req.timeLimitSeconds > 0))
      throw new ApiError(400, 'bad_request', 'timeLimitSeconds must be a positive number');
    this.refuseWhenQueueFull();
    const lane: 'max' | 'realtime' = pace;
    const q = this.create(scenario, loaded, { pace, lane, timeLimitSeconds, guests, cost, series });
    this.lanes[lane].waiting.push(q);
    this.pump();
    return { record: this.get(q.id)!, defaults };
  }

  /** A history record (state queued) and the queue entry of a run. */
  private create(
    scenario: Scenario,
    loaded: LoadedScenario,
    o: {
      pace: 'max' | 'realtime';
      lane: Lane;
      timeLimitSeconds: number;
      guests: number;
      cost: number;
      series: number;
      continuous?: boolean;
    },
  ): QueuedRun {
    const id = randomUUID();
    const source: RunSource = loaded.name !== undefined ? { kind: 'name', name: loaded.name } : { kind: 'inline' };
    const label = seriesLabel(source, scenario.name, loaded.yaml);
    this.o.history.create({
      id,
      scenario: scenario.name,
      source,
      createdAt: new Date().toISOString(),
      options: {
        pace: o.pace,
        seed: scenario.seed,
        workers: this.o.pool.workers,
        timeLimitSeconds: o.timeLimitSeconds,
        lane: o.lane,
        predictedCoreSeconds: Math.round(o.cost * 1000) / 1000,
      },
      guests: o.guests,
      variants: scenario.variants.map((v) => v.name),
      yaml: loaded.yaml,
      seriesLabel: label,
      continuous: o.continuous,
    });
    const tasks = planTasks(scenario, { workers: this.o.pool.workers, pace: o.pace }).length;
    return {
      id,
      scenario,
      label,
      lane: o.lane,
      pace: o.pace,
      timeLimitSeconds: o.timeLimitSeconds,
      tasks,
      series: o.series,
    };
  }

  /** Start every queued run whose lane has room and whose series fit under the ceiling. */
  private pump(): void {
    if (this.draining) return;
    for (const lane of [this.lanes.realtime, this.lanes.max]) {
      while (lane.waiting.length > 0) {
        const head = lane.waiting[0];
        if (!lane.hasRoomFor(head) || !this.o.hub.groups.makeRoom(head.label, head.series)) break;
        lane.waiting.shift();
        lane.running.set(head.id, head.tasks);
        this.launch(head, lane.lane === 'max' ? this.fair.runner(head.id) : this.realtime);
      }
    }
  }

  private launch(q: QueuedRun, runner: TaskRunner): PooledRun {
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
    const entry: LiveEntry = {
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
      if (q.lane === 'max' || q.lane === 'realtime') this.lanes[q.lane].running.delete(q.id);
      this.prune();
      this.pump();
    }
  }

  /**
   * The latest finished run of each series label the history holds (within the retirement
   * schedule) back into the metrics (src/service/restore.ts). Called at
   * start-up, so `VmexitLabThresholdFailed` does not resolve because the process restarted.
   */
  restoreMetrics(): string[] {
    return restoreMetrics(this.o.history, this.o.hub, this.limits.retireAfterSeconds);
  }

  /** History retention, at most once a minute (and at start). */
  private prune(): void {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    this.o.history.prune(this.o.retention ?? DEFAULT_RETENTION, now);
  }

  private queuePlace(id: string): RunRecord['queue'] {
    for (const lane of Object.values(this.lanes)) {
      const position = lane.position(id);
      if (position !== undefined) return { lane: lane.lane, position };
    }
    return undefined;
  }

  get(id: string): RunRecord | undefined {
    const rec = this.o.history.get(id);
    if (!rec) return undefined;
    if (rec.state === 'queued') {
      const queue = this.queuePlace(id);
      return queue ? { ...rec, queue } : rec;
    }
    const e = this.live.get(id);
    if (!e || FINAL_STATES.includes(rec.state)) return rec;
    const stopping = e.run.stopReason;
    const live = liveFigures(rec.variants, e.run.live());
    return { ...rec, progress: e.run.progress(), live, ...(stopping ? { stopReason: stopping } : {}) };
  }

  list(filter: { limit?: number; state?: RunState; scenario?: string } = {}): RunRecord[] {
    return this.o.history
      .list(filter)
      .map((r) => (r.state === 'queued' || this.live.has(r.id) ? (this.get(r.id) ?? r) : r));
  }

  /** Each lane's running and waiting runs (GET /api/runs `queue`). */
  queueState(): QueueState {
    const continuous = [...this.live.values()].filter((e) => e.lane === 'continuous').map((e) => e.id);
    return {
      lanes: [
        ...Object.values(this.lanes).map((l) => ({
          lane: l.lane,
          maxRuns: l.limits.maxRuns,
          ...(l.limits.threads !== undefined ? { threads: l.limits.threads } : {}),
          running: [...l.running.keys()],
          queued: l.waiting.map((r) => r.id),
        })),
        ...(continuous.length > 0
          ? [{ lane: 'continuous' as const, maxRuns: 1, running: continuous, queued: [] }]
          : []),
      ],
    };
  }

  /** results.json of a finished run; ApiError when there is none (yet). */
  results(id: string): { json: string; partial: boolean } {
    const rec = this.o.history.get(id);
    if (!rec) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
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
    // A results.json cut short after it was written (a full disk, a copied history) was served 200
    // application/json: said as what it is, as the run page says it. Parsed once per run and process.
    if (!this.resultsChecked.has(id)) {
      try {
        JSON.parse(json);
      } catch (e) {
        throw new ApiError(
          500,
          'damaged_results',
          `run ${id}: its stored results.json is not valid JSON (${(e as Error).message}): cut short or damaged after it was written (a full disk, an interrupted copy of the data directory); its record is GET /api/runs/${id}`,
        );
      }
      if (this.resultsChecked.size >= 10_000) this.resultsChecked.clear();
      this.resultsChecked.add(id);
    }
    return { json, partial: rec.partial };
  }

  /** A queued run leaves the queue: cancelled, with no results (nothing ran). */
  private dequeue(id: string, stopReason: 'cancelled' | 'shutdown'): boolean {
    for (const lane of Object.values(this.lanes)) {
      const q = lane.remove(id);
      if (!q) continue;
      this.o.history.finish(id, {
        state: 'cancelled',
        at: new Date().toISOString(),
        stopReason,
        partial: false,
      });
      this.o.hub.stats.runFinished(q.lane, 'cancelled');
      return true;
    }
    return false;
  }

  /** Cancel a run: a queued one leaves the queue; a running one stops at its next simulated second, keeping partial results. */
  cancel(id: string): RunRecord {
    if (this.dequeue(id, 'cancelled')) {
      this.pump();
      return this.get(id)!;
    }
    const e = this.live.get(id);
    if (!e) {
      const rec = this.o.history.get(id);
      if (!rec) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
      throw new ApiError(409, 'not_running', `run ${id} is already ${rec.state}`);
    }
    e.run.stop('cancelled', STOP_TEXT.api);
    return this.get(id)!;
  }

  /** Wait for a run to end (tests, start-up scenario). */
  async wait(id: string): Promise<RunRecord | undefined> {
    for (let i = 0; i < 100_000 && this.queuePlace(id) !== undefined; i++)
      await new Promise((ok) => setTimeout(ok, 50));
    await this.live.get(id)?.finished;
    return this.get(id);
  }

  /**
   * Run a scenario back to back until the service stops (`vmexit-lab start`, issue #17 item 1): each
   * iteration is an ordinary run (a history record, results, thresholds, exit status) with the next
   * seed, on threads of its own (lane `continuous`; `backgroundFor` makes them once the scenario is
   * resolved and within the caps), under the scenario's own metric label, so the counters go on
   * across iterations. Resolves with the first iteration's record.
   */
  async runContinuously(
    req: SubmitRequest,
    backgroundFor: (scenario: Scenario) => Promise<SimPool>,
  ): Promise<RunRecord> {
    this.refuseWhileDraining();
    if (req.loaded !== undefined && (req.name !== undefined || req.yaml !== undefined))
      throw new Error('runContinuously: give a loaded scenario, a name or YAML, one of them');
    const loaded = req.loaded ?? (await this.resolve(req));
    const base = { ...loaded.scenario, pace: req.pace ?? 'realtime' } satisfies Scenario;
    // The caps of a posted run (start checks them before the service starts; this holds any caller).
    const figures = checkCaps(base, this.caps);
    // Its threads only once the scenario is admitted: a refused one leaves no pool behind.
    const background = await backgroundFor(base);
    const runner: TaskRunner = {
      workers: this.o.pool.workers,
      run: (t, s) => background.run(t, s),
      noteFailure: () => background.noteFailure(),
    };
    let stopped = false;
    let wake: (() => void) | undefined;
    const iteration = (i: number): { q: QueuedRun; run: PooledRun } => {
      const scenario = { ...base, seed: (base.seed + i) >>> 0 };
      const q = this.create(scenario, loaded, {
        pace: scenario.pace,
        lane: 'continuous',
        timeLimitSeconds: this.limits.maxRunSeconds,
        ...figures,
        continuous: true,
      });
      this.o.hub.groups.makeRoom(q.label, q.series);
      return { q, run: this.launch(q, runner) };
    };
    const first = iteration(0);
    this.continuousStop = () => {
      stopped = true;
      wake?.();
    };
    this.continuousDone = (async () => {
      let current = first;
      for (let i = 1; ; i++) {
        await this.live.get(current.q.id)?.finished;
        if (stopped || this.draining) return;
        const rec = this.o.history.get(current.q.id);
        // A failed iteration: wait a little before the next (a bug must not spin).
        if (rec?.state !== 'completed')
          await new Promise<void>((ok) => {
            wake = ok;
            setTimeout(ok, 5_000).unref();
          });
        if (stopped || this.draining) return;
        current = iteration(i);
      }
    })();
    return this.get(first.q.id)!;
  }

  /** SIGTERM: refuse new runs, drop the queued ones, stop the running ones (partial results kept, marked). */
  async drain(): Promise<void> {
    this.draining = true;
    this.continuousStop?.();
    for (const lane of Object.values(this.lanes)) for (const q of [...lane.waiting]) this.dequeue(q.id, 'shutdown');
    const entries = [...this.live.values()];
    for (const e of entries) e.run.stop('shutdown');
    await Promise.all(entries.map((e) => e.finished.catch(() => undefined)));
    await this.continuousDone;
  }
}
