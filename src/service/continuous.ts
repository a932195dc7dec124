/**
 * The continuous default (`vmexit-lab start`, issue #17 item 1): one scenario run back to back
 * until the service stops. Each iteration is an ordinary run (a history record, results,
 * thresholds, exit status) with the next seed, on threads of its own (lane `continuous`, not
 * queued: src/service/queue.ts), under the scenario's own metric label, so the counters go on
 * across iterations. A failed iteration waits before the next; a stop or a shutdown ends the loop.
 */
import type { Scenario } from '../scenario/types.js';
import type { SimPool, TaskRunner } from '../pool/pool.js';
import type { HistoryStore } from '../history/store.js';
import type { MetricsHub } from '../metrics/hub.js';
import { createRun, type CapsFigures } from './admission.js';
import type { LiveRuns } from './liveRuns.js';
import type { LoadedScenario } from './scenarios.js';

/** A failed iteration waits this long before the next (a bug must not spin). */
const FAILED_ITERATION_WAIT_MS = 5_000;

export interface ContinuousContext {
  readonly history: HistoryStore;
  readonly hub: MetricsHub;
  readonly live: LiveRuns;
  /** Workers a run's plan is made for (the service's pool). */
  readonly workers: number;
  /** Each iteration's wall-clock limit (--max-run-time). */
  readonly maxRunSeconds: number;
  /** Is the service shutting down? */
  readonly draining: () => boolean;
}

/** The scenario the continuous default runs: the loaded one, at the pace asked (default realtime). */
export function continuousScenario(loaded: LoadedScenario, pace: 'max' | 'realtime' | undefined): Scenario {
  return { ...loaded.scenario, pace: pace ?? 'realtime' };
}

/** The loop of iterations; its first iteration has started when the constructor returns. */
export class ContinuousRuns {
  /** The first iteration's run. */
  readonly firstId: string;
  /** Resolves when the loop has ended (after a stop, once the running iteration has ended). */
  readonly done: Promise<void>;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly runner: TaskRunner;

  /** `base`: admitted (within the caps, `figures`); `background`: its threads. */
  constructor(
    private readonly c: ContinuousContext,
    private readonly loaded: LoadedScenario,
    private readonly base: Scenario,
    private readonly figures: CapsFigures,
    background: SimPool,
  ) {
    this.runner = {
      workers: c.workers,
      run: (t, s, w) => background.run(t, s, w),
      noteFailure: () => background.noteFailure(),
    };
    this.firstId = this.iteration(0);
    this.done = this.loop(this.firstId);
  }

  /** No next iteration (the running one is stopped by the caller, as every running run). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Iteration i: seed + i; returns its run's id. */
  private iteration(i: number): string {
    const scenario = { ...this.base, seed: (this.base.seed + i) >>> 0 };
    const q = createRun(this.c.history, this.c.workers, scenario, this.loaded, {
      pace: scenario.pace,
      lane: 'continuous',
      timeLimitSeconds: this.c.maxRunSeconds,
      ...this.figures,
      continuous: true,
    });
    this.c.hub.groups.makeRoom(q.label, q.series);
    this.c.live.launch(q, this.runner);
    return q.id;
  }

  private async loop(first: string): Promise<void> {
    let current = first;
    for (let i = 1; ; i++) {
      await this.c.live.entry(current)?.finished;
      if (this.stopped || this.c.draining()) return;
      const rec = this.c.history.get(current);
      // A failed iteration: wait a little before the next (a bug must not spin).
      if (rec?.state !== 'completed')
        await new Promise<void>((ok) => {
          this.wake = ok;
          setTimeout(ok, FAILED_ITERATION_WAIT_MS).unref();
        });
      if (this.stopped || this.c.draining()) return;
      current = this.iteration(i);
    }
  }
}
