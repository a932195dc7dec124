import type { Scenario } from '../scenario/types.js';
import { shardRange, type ShardSpec } from '../run/runScenario.js';

/**
 * A unit of pool work: hosts [hostStart, hostEnd) of one variant. Tasks of a variant are
 * contiguous, ordered, non-overlapping ranges that cover the variant's (shard's) hosts, so merging
 * their totals in task order gives the single-thread totals bit for bit (src/run/simulate.ts).
 */
export interface PoolTask {
  /** Position in the plan; results are merged in this order. */
  readonly index: number;
  readonly variantIndex: number;
  readonly hostStart: number;
  readonly hostEnd: number;
  /** Run the variant's scripted guests after the hosts (exactly one task per variant does, like runScenario's first shard). */
  readonly scripted: boolean;
}

interface PlanOptions {
  readonly workers: number;
  readonly shard?: ShardSpec;
  /**
   * `realtime` runs sleep to keep simulated time at wall time, so every task must run at once:
   * the plan then has at most `workers` tasks when it can (one per variant at least).
   * `max` runs are split into tasks that shrink towards the end of the plan (guidedRanges): the
   * last ones are single hosts, so the tail, where one worker has finished and another still runs
   * its last task, is about a host long whatever the fleet's size.
   */
  readonly pace: 'max' | 'realtime';
}

/** Split [start, end) into k contiguous, balanced, non-empty ranges (k <= end - start). */
export function splitRange(start: number, end: number, k: number): [number, number][] {
  const n = end - start;
  const parts = Math.max(1, Math.min(k, n));
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++)
    out.push([start + Math.floor((n * i) / parts), start + Math.floor((n * (i + 1)) / parts)]);
  return out;
}

/**
 * A max-pace variant's hosts [start, end) as tasks in the order the pool runs them (guided
 * self-scheduling): each takes at most `cap` hosts and at most a (2 x workers)-th of the run's hosts
 * still unplanned (`left`, this variant's and the later variants'), so tasks are large while much
 * work remains (fewer tasks: each costs ~4 ms of CPU in the main thread, the worker and V8's
 * threads) and shrink to single hosts at the end, where equal hosts leave the workers finishing
 * within about a host of each other. Equal tasks of a 4 x workers-th of a variant (the plan before)
 * left a tail of half a task on average: 182-210 ms per worker on 2 x 24 hosts (docs/PERF.md,
 * "Fifteenth session").
 */
export function guidedRanges(
  start: number,
  end: number,
  left: number,
  workers: number,
  cap: number,
): [number, number][] {
  const out: [number, number][] = [];
  for (let a = start; a < end;) {
    const size = Math.min(end - a, cap, Math.max(1, Math.ceil(left / (2 * workers))));
    out.push([a, a + size]);
    a += size;
    left -= size;
  }
  return out;
}

export function planTasks(scenario: Scenario, options: PlanOptions): PoolTask[] {
  const workers = Math.max(1, Math.floor(options.workers));
  const variants = scenario.variants.length;
  const realtimeParts = (vi: number): number => {
    const base = Math.floor(workers / variants);
    return Math.max(1, base + (vi < workers % variants ? 1 : 0));
  };
  const spans = scenario.variants.map((v) => shardRange(v.host.count, options.shard));
  let left = spans.reduce((n, [a, b]) => n + Math.max(0, b - a), 0);
  const tasks: PoolTask[] = [];
  scenario.variants.forEach((variant, vi) => {
    const [start, end] = spans[vi];
    const hasScripted = variant.guests.some((g) => g.kind === 'scripted');
    let ranges: [number, number][] = [];
    if (end > start) {
      if (workers === 1) ranges = [[start, end]];
      else if (options.pace === 'realtime') ranges = splitRange(start, end, realtimeParts(vi));
      // A task holds at most a (2 x workers)-th of its variant, so a long run still changes hands
      // between runs sharing the pool (fair.ts) and uneven hosts still balance.
      else ranges = guidedRanges(start, end, left, workers, Math.ceil((end - start) / (2 * workers)));
      left -= end - start;
    }
    // Scripted guests belong to the part whose range starts at host 0 (as in runScenario).
    if (ranges.length === 0 && hasScripted && start === 0) ranges.push([start, end]);
    ranges.forEach(([a, b], i) => {
      tasks.push({
        index: tasks.length,
        variantIndex: vi,
        hostStart: a,
        hostEnd: b,
        scripted: hasScripted && start === 0 && i === 0,
      });
    });
  });
  return tasks;
}
