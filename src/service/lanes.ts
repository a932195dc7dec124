/**
 * The queue's two lanes together (their rules: src/service/queue.ts, docs/SERVICE.md "Queue"):
 * which runner each lane's runs get (the max lane's workers shared fairly between its runs,
 * src/pool/fair.ts; the realtime lane's threads of its own), the order in which waiting runs start
 * (`pump`: a lane's head starts when the lane and the series ceiling have room for it), a waiting
 * run's place, a queued run leaving the queue (`dequeue`: cancelled, nothing ran), and what
 * GET /api/runs and the queue gauges show of them. The continuous default is not queued
 * (src/service/continuous.ts).
 */
import type { SimPool, TaskRunner } from '../pool/pool.js';
import { FairShare } from '../pool/fair.js';
import type { HistoryStore } from '../history/store.js';
import type { RunRecord } from '../history/records.js';
import type { MetricsHub } from '../metrics/hub.js';
import type { ServiceLimits } from './caps.js';
import { LaneQueue, type QueueState, type QueuedRun } from './queue.js';

export interface LanesOptions {
  /** The max lane's workers (shared fairly between max-pace runs). */
  readonly pool: SimPool;
  /** Threads of realtime runs; without them realtime runs share `pool`. */
  readonly realtimePool?: SimPool;
  readonly limits: ServiceLimits;
  readonly history: HistoryStore;
  readonly hub: MetricsHub;
}

export class Lanes {
  private readonly lanes: Record<'max' | 'realtime', LaneQueue>;
  private readonly fair: FairShare;
  private readonly realtime: TaskRunner;

  /** `start`: launch a run the lanes let start, on the runner its lane gives it. */
  constructor(
    private readonly o: LanesOptions,
    private readonly start: (q: QueuedRun, runner: TaskRunner) => void,
  ) {
    this.fair = new FairShare(o.pool);
    const rt = o.realtimePool;
    this.realtime = rt
      ? { workers: o.pool.workers, run: (t, s, w) => rt.run(t, s, w), noteFailure: () => rt.noteFailure() }
      : o.pool;
    this.lanes = {
      max: new LaneQueue('max', { maxRuns: o.limits.maxConcurrentRuns }),
      realtime: new LaneQueue('realtime', {
        maxRuns: o.limits.maxRealtimeRuns,
        ...(rt ? { threads: rt.workers } : {}),
      }),
    };
  }

  /** Runs waiting (every lane). */
  get queued(): number {
    return this.lanes.max.waiting.length + this.lanes.realtime.waiting.length;
  }

  /** Queue an admitted run at the end of its pace's lane (pump starts it when there is room). */
  enqueue(lane: 'max' | 'realtime', q: QueuedRun): void {
    this.lanes[lane].waiting.push(q);
  }

  /** Start every queued run whose lane has room and whose series fit under the ceiling. */
  pump(): void {
    for (const lane of [this.lanes.realtime, this.lanes.max]) {
      while (lane.waiting.length > 0) {
        const head = lane.waiting[0];
        if (!lane.hasRoomFor(head) || !this.o.hub.groups.makeRoom(head.label, head.series)) break;
        lane.waiting.shift();
        lane.running.set(head.id, head.tasks);
        this.start(head, lane.lane === 'max' ? this.fair.runner(head.id) : this.realtime);
      }
    }
  }

  /** A run that ended gives its lane's room back (a continuous run held none). */
  ended(q: QueuedRun): void {
    if (q.lane === 'max' || q.lane === 'realtime') this.lanes[q.lane].running.delete(q.id);
  }

  /** A waiting run's lane and 1-based place, or undefined. */
  place(id: string): RunRecord['queue'] {
    for (const lane of Object.values(this.lanes)) {
      const position = lane.position(id);
      if (position !== undefined) return { lane: lane.lane, position };
    }
    return undefined;
  }

  /** A queued run leaves the queue: cancelled, with no results (nothing ran). */
  dequeue(id: string, stopReason: 'cancelled' | 'shutdown'): boolean {
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

  /** Shutdown: every waiting run leaves the queue. */
  dequeueAll(stopReason: 'shutdown'): void {
    for (const lane of Object.values(this.lanes)) for (const q of [...lane.waiting]) this.dequeue(q.id, stopReason);
  }

  /** Each lane's waiting and running runs, for the queue gauges. */
  counts(): { lane: string; queued: number; running: number }[] {
    return Object.values(this.lanes).map((l) => ({ lane: l.lane, queued: l.waiting.length, running: l.running.size }));
  }

  /** Each lane's running and waiting runs (GET /api/runs `queue`). */
  state(): QueueState['lanes'][number][] {
    return Object.values(this.lanes).map((l) => ({
      lane: l.lane,
      maxRuns: l.limits.maxRuns,
      ...(l.limits.threads !== undefined ? { threads: l.limits.threads } : {}),
      running: [...l.running.keys()],
      queued: l.waiting.map((r) => r.id),
    }));
  }
}
