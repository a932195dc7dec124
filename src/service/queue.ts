import type { Lane } from '../history/records.js';
import type { Scenario } from '../scenario/types.js';

/**
 * The run queue (docs/SERVICE.md, "Queue"): runs wait `queued`, in order, in the lane of their
 * pace, and start when their lane has room.
 *
 *   max       pace max. Up to `maxRuns` at once; they share the simulation workers fairly (a free
 *             worker goes to the next run in turn, src/pool/fair.ts), so a small run started
 *             while a big one runs is not stuck behind all of the big one's tasks.
 *   realtime  pace realtime. Threads of its own: a realtime task sleeps until wall time catches up
 *             with simulated time and holds its thread for the run's whole wall duration, so on the
 *             max lane's workers it would block max-pace runs for that long (a 0.1 s run waited
 *             29 s behind the default, issue #18). The operating system shares the cores: realtime
 *             threads use only the CPU their pace needs, max-pace workers the rest. Up to `maxRuns`
 *             at once, and a run starts when its lane has a thread for each of its tasks (else
 *             only when it would run alone), so every guest of a realtime run runs at once.
 *
 * A lane is first in, first out: the head waits for room (a lane's run slots, its threads, the
 * series ceiling) and the runs behind it wait for the head. The continuous default (`vmexit-lab
 * start`) is not queued: it has threads of its own (lane `continuous`).
 */

export interface QueuedRun {
  readonly id: string;
  readonly scenario: Scenario;
  /** The run's metric label (src/history/records.ts seriesLabel). */
  readonly label: string;
  readonly lane: Lane;
  readonly pace: 'max' | 'realtime';
  readonly timeLimitSeconds: number;
  /** Tasks of the run's plan (threads it needs at once at pace realtime). */
  readonly tasks: number;
  /** Series the run's scenario creates (src/metrics/cardinality.ts). */
  readonly series: number;
}

export interface LaneLimits {
  readonly maxRuns: number;
  /** Threads of the lane (realtime), or undefined (max: the fair share decides). */
  readonly threads?: number;
}

export class LaneQueue {
  readonly waiting: QueuedRun[] = [];
  /** Running runs and the tasks each holds. */
  readonly running = new Map<string, number>();

  constructor(
    readonly lane: Lane,
    readonly limits: LaneLimits,
  ) {}

  /** Could `r` start now, as far as this lane goes? */
  hasRoomFor(r: QueuedRun): boolean {
    if (this.running.size >= this.limits.maxRuns) return false;
    if (this.limits.threads === undefined || this.running.size === 0) return true;
    let used = 0;
    for (const t of this.running.values()) used += t;
    return used + r.tasks <= this.limits.threads;
  }

  /** 1-based place of a waiting run, or undefined. */
  position(id: string): number | undefined {
    const i = this.waiting.findIndex((r) => r.id === id);
    return i < 0 ? undefined : i + 1;
  }

  remove(id: string): QueuedRun | undefined {
    const i = this.waiting.findIndex((r) => r.id === id);
    return i < 0 ? undefined : this.waiting.splice(i, 1)[0];
  }
}

/** GET /api/runs `queue`: each lane's running and waiting runs, in order. */
export interface QueueState {
  readonly lanes: readonly {
    readonly lane: Lane;
    readonly maxRuns: number;
    readonly threads?: number;
    readonly running: readonly string[];
    readonly queued: readonly string[];
  }[];
}
