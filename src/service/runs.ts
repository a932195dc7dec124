/**
 * The run manager: the one object the service's routes (src/service/app.ts) and start-up
 * (src/service/server.ts) hold for runs. It owns the service's state as a whole (shutting down or
 * not, history retention) and what spans the parts: a submission from request to queue, a run's
 * record whichever part holds it, cancel and drain. The parts, each in its own file:
 *   admission.ts      a request's scenario, the refusals, the options a run takes, a new run's record
 *   lanes.ts          the max and realtime lanes: runners, start order, places, leaving the queue
 *   liveRuns.ts       runs in progress: start, progress writes, end, what a running record adds
 *   continuous.ts     the continuous default of `vmexit-lab start`
 *   storedResults.ts  a finished run's results.json as served
 *   restore.ts        the metrics of finished runs, back at start-up
 */
import type { Scenario } from '../scenario/types.js';
import type { SimPool } from '../pool/pool.js';
import { STOP_TEXT } from '../pool/stopWords.js';
import type { MetricsHub } from '../metrics/hub.js';
import type { HistoryStore } from '../history/store.js';
import { DEFAULT_RETENTION, type Retention } from '../history/retention.js';
import type { RunRecord, RunState } from '../history/records.js';
import { checkCaps, serviceLimits, type CapsContext, type ServiceLimits } from './caps.js';
import { ApiError, shown } from './errors.js';
import type { LoadedScenario, ScenarioCatalog } from './scenarios.js';
import type { ScenarioValidator } from './scenarioValidator.js';
import type { QueueState } from './queue.js';
import type { ScenarioDefaults, SubmitRequest } from './runRequest.js';
import { admittedRun, createRun, refuseWhenQueueFull, refuseWhileDraining, resolveScenario } from './admission.js';
import { Lanes } from './lanes.js';
import { LiveRuns } from './liveRuns.js';
import { ContinuousRuns, continuousScenario } from './continuous.js';
import { StoredResults } from './storedResults.js';
import { restoreMetrics } from './restore.js';

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
  private readonly live: LiveRuns;
  private readonly lanes: Lanes;
  private readonly stored: StoredResults;
  private draining = false;
  private lastPrune = 0;
  private continuous: ContinuousRuns | undefined;

  constructor(private readonly o: RunManagerOptions) {
    this.limits = serviceLimits(o.limits, o.pool.workers);
    const { history, hub } = o;
    this.lanes = new Lanes({ pool: o.pool, realtimePool: o.realtimePool, limits: this.limits, history, hub }, (q, r) =>
      this.live.launch(q, r),
    );
    this.live = new LiveRuns({ history, hub, stopGraceMs: o.stopGraceMs, progressWriteMs: o.progressWriteMs }, (q) => {
      this.lanes.ended(q);
      this.prune();
      this.pump();
    });
    this.stored = new StoredResults(history);
    hub.setRunCounts(() => history.countsByState());
    hub.stats.lanes = () => [
      ...this.lanes.counts(),
      { lane: 'continuous', queued: 0, running: this.live.inLane('continuous').length },
    ];
    this.prune();
  }

  /** What this service's runs are checked against (checkCaps). */
  get caps(): CapsContext {
    return { limits: this.limits, workers: this.o.pool.workers, perGuest: this.o.hub.perGuest };
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Runs in progress (every lane). */
  get running(): number {
    return this.live.size;
  }

  /** Resolve the request's scenario: a name of scenarios/, or inline YAML (diagnostics name it request.yaml). */
  resolve(req: SubmitRequest): Promise<LoadedScenario> {
    return resolveScenario(req, this.o.catalog, this.o.validator);
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
    refuseWhileDraining(this.draining);
    refuseWhenQueueFull(this.lanes.queued, this.limits.maxQueued);
    const loaded = await this.resolve(req);
    refuseWhileDraining(this.draining);
    const { scenario, defaults, options, figures } = admittedRun(req, loaded, this.limits.maxRunSeconds, this.caps);
    refuseWhenQueueFull(this.lanes.queued, this.limits.maxQueued);
    const { pace, timeLimitSeconds } = options;
    const q = createRun(this.o.history, this.o.pool.workers, scenario, loaded, {
      pace,
      lane: pace,
      timeLimitSeconds,
      ...figures,
    });
    this.lanes.enqueue(pace, q);
    this.pump();
    return { record: this.get(q.id)!, defaults };
  }

  /** Start the queued runs there is room for, unless the service is shutting down. */
  private pump(): void {
    if (this.draining) return;
    this.lanes.pump();
  }

  /**
   * The latest finished run of each series label the history holds (within the retirement
   * schedule) back into the metrics (src/service/restore.ts). Called at start-up, so
   * `VmexitLabThresholdFailed` does not resolve because the process restarted.
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

  get(id: string): RunRecord | undefined {
    const rec = this.o.history.get(id);
    if (!rec) return undefined;
    if (rec.state === 'queued') {
      const queue = this.lanes.place(id);
      return queue ? { ...rec, queue } : rec;
    }
    return this.live.view(rec);
  }

  list(filter: { limit?: number; state?: RunState; scenario?: string } = {}): RunRecord[] {
    return this.o.history
      .list(filter)
      .map((r) => (r.state === 'queued' || this.live.has(r.id) ? (this.get(r.id) ?? r) : r));
  }

  /** Each lane's running and waiting runs (GET /api/runs `queue`). */
  queueState(): QueueState {
    const continuous = this.live.inLane('continuous');
    return {
      lanes: [
        ...this.lanes.state(),
        ...(continuous.length > 0
          ? [{ lane: 'continuous' as const, maxRuns: 1, running: continuous, queued: [] }]
          : []),
      ],
    };
  }

  /** results.json of a finished run; ApiError when there is none (yet). */
  results(id: string): { json: string; partial: boolean } {
    return this.stored.read(id);
  }

  /**
   * Cancel a run: a queued one leaves the queue; a running one stops before its next host's simulated second (each
   * task reads the stop before each host's second, src/run/simulate.ts RunControl.stopRequested), keeping partial results.
   * A record returned (202) means the run ends cancelled; one that can no longer be stopped is a 409.
   */
  cancel(id: string): RunRecord {
    if (this.lanes.dequeue(id, 'cancelled')) {
      this.pump();
      return this.get(id)!;
    }
    const e = this.live.entry(id);
    if (!e) {
      const rec = this.o.history.get(id);
      if (!rec) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
      throw new ApiError(409, 'not_running', `run ${id} is already ${rec.state}`);
    }
    // Too late when every task has run its last simulated second (its answer on the way): the run
    // ends completed, so the answer is the 409 of a run that ended, not a 202 it would belie.
    if (e.run.stop('cancelled', STOP_TEXT.api) === 'ended')
      throw new ApiError(
        409,
        'not_running',
        `run ${id} has already run to its end (every task finished its last simulated second before this cancel): it ends completed, with whole results, as soon as they are stored`,
      );
    return this.get(id)!;
  }

  /** Wait for a run to end (tests, start-up scenario). */
  async wait(id: string): Promise<RunRecord | undefined> {
    for (let i = 0; i < 100_000 && this.lanes.place(id) !== undefined; i++)
      await new Promise((ok) => setTimeout(ok, 50));
    await this.live.entry(id)?.finished;
    return this.get(id);
  }

  /**
   * Run a scenario back to back until the service stops (src/service/continuous.ts), on threads
   * `backgroundFor` makes once the scenario is resolved and within the caps. Resolves with the
   * first iteration's record.
   */
  async runContinuously(
    req: SubmitRequest,
    backgroundFor: (scenario: Scenario) => Promise<SimPool>,
  ): Promise<RunRecord> {
    refuseWhileDraining(this.draining);
    if (req.loaded !== undefined && (req.name !== undefined || req.yaml !== undefined))
      throw new Error('runContinuously: give a loaded scenario, a name or YAML, one of them');
    const loaded = req.loaded ?? (await this.resolve(req));
    const base = continuousScenario(loaded, req.pace);
    // The caps of a posted run (start checks them before the service starts; this holds any caller).
    const figures = checkCaps(base, this.caps);
    // Its threads only once the scenario is admitted: a refused one leaves no pool behind.
    const background = await backgroundFor(base);
    // A drain that began during the awaits above found no loop to stop: refuse rather than start an
    // iteration it will not wait for (its threads are the service's to close).
    refuseWhileDraining(this.draining);
    const { history, hub } = this.o;
    this.continuous = new ContinuousRuns(
      {
        history,
        hub,
        live: this.live,
        workers: this.o.pool.workers,
        maxRunSeconds: this.limits.maxRunSeconds,
        draining: () => this.draining,
      },
      loaded,
      base,
      figures,
      background,
    );
    return this.get(this.continuous.firstId)!;
  }

  /** SIGTERM: refuse new runs, drop the queued ones, stop the running ones (partial results kept, marked). */
  async drain(): Promise<void> {
    this.draining = true;
    this.continuous?.stop();
    this.lanes.dequeueAll('shutdown');
    const entries = this.live.entries();
    for (const e of entries) e.run.stop('shutdown');
    await Promise.all(entries.map((e) => e.finished.catch(() => undefined)));
    await this.continuous?.done;
  }
}
