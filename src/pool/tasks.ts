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
   * `max` runs are split finer (up to 4 tasks per worker per variant) so uneven hosts still balance
   * and the last tasks are short (the tail, where a worker may wait for the other, stays small).
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

export function planTasks(scenario: Scenario, options: PlanOptions): PoolTask[] {
  const workers = Math.max(1, Math.floor(options.workers));
  const variants = scenario.variants.length;
  const perVariant = (vi: number): number => {
    if (workers === 1) return 1;
    if (options.pace === 'realtime') {
      const base = Math.floor(workers / variants);
      return Math.max(1, base + (vi < workers % variants ? 1 : 0));
    }
    return workers * 4;
  };
  const tasks: PoolTask[] = [];
  scenario.variants.forEach((variant, vi) => {
    const [start, end] = shardRange(variant.host.count, options.shard);
    const hasScripted = variant.guests.some((g) => g.kind === 'scripted');
    const ranges = end > start ? splitRange(start, end, perVariant(vi)) : [];
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
