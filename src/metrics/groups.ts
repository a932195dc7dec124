import { RUN_STATES, type RunState } from '../history/records.js';
import type { Sample } from './series.js';

/**
 * The per-scenario state of the metrics, one group per `scenario` label: the latest run's state,
 * thresholds, start and finish times and exit status, the scenario's series budget and expected
 * series, the checks it expects to be violated; and what bounds the series: every group's expected
 * series count against a ceiling, and when it was last active.
 *
 * Series are bounded by construction (docs/SERVICE.md, "Series"): a run starts only when its
 * group's series fit under the ceiling with every other group's; groups with no live run are
 * retired (their series dropped from /metrics, the history keeps their numbers) `retireAfterMs`
 * after their last run ended, or sooner, least recently active first, when a new run needs room.
 */

export interface ScenarioGroup {
  readonly label: string;
  /** Series the group's scenario creates (src/metrics/cardinality.ts), and its cardinalityBudget. */
  expected: number;
  budget: number;
  /** Live runs of the group. */
  live: number;
  /** Wall ms of the group's last activity (a run's start or end; a restored run's end). */
  lastActive: number;
  state?: RunState;
  thresholds: Sample[];
  /** Unix seconds. */
  startedAt?: number;
  /** `judged`: false for a shard's run (`run --shard I/N`, N > 1), whose thresholds `merge` judges. */
  finish?: { readonly at: number; readonly wall: number; readonly exitStatus: number; readonly judged: boolean };
  expectViolations: readonly string[];
}

export interface GroupLimits {
  /** Most scenario series at once (the whole of every group's expected series). */
  readonly maxSeries: number;
  /** A group without a live run is retired this long after its last activity. */
  readonly retireAfterMs: number;
}

export const NO_GROUP_LIMITS: GroupLimits = { maxSeries: Infinity, retireAfterMs: Infinity };

export class ScenarioGroups {
  private readonly groups = new Map<string, ScenarioGroup>();
  /** Groups retired so far (vmexit_lab_series_retirements_total). */
  retired = 0;

  constructor(
    readonly limits: GroupLimits,
    /** Drop a group's series from the hub (variant and guest series, exemplar times). */
    private readonly drop: (label: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get(label: string): ScenarioGroup | undefined {
    return this.groups.get(label);
  }

  /** The group of a label, created empty. */
  ensure(label: string): ScenarioGroup {
    let g = this.groups.get(label);
    if (!g) {
      g = { label, expected: 0, budget: 0, live: 0, lastActive: this.now(), thresholds: [], expectViolations: [] };
      this.groups.set(label, g);
    }
    return g;
  }

  values(): IterableIterator<ScenarioGroup> {
    return this.groups.values();
  }

  /** Series every group expects, summed (what the ceiling bounds). */
  seriesInUse(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.expected;
    return n;
  }

  private remove(g: ScenarioGroup): void {
    this.groups.delete(g.label);
    this.drop(g.label);
    this.retired++;
  }

  /** Retire idle groups past their schedule. */
  retireDue(): void {
    const cut = this.now() - this.limits.retireAfterMs;
    for (const g of [...this.groups.values()]) if (g.live === 0 && g.lastActive < cut) this.remove(g);
  }

  /**
   * Can a run of `label` with `expected` series start under the ceiling? Idle groups are retired,
   * least recently active first, until it fits; false (nothing retired) when live groups alone
   * leave no room.
   */
  makeRoom(label: string, expected: number): boolean {
    this.retireDue();
    const others = (): number => this.seriesInUse() - (this.groups.get(label)?.expected ?? 0);
    const need = (): number => others() + Math.max(expected, this.groups.get(label)?.expected ?? 0);
    if (need() <= this.limits.maxSeries) return true;
    let idleSeries = 0;
    for (const g of this.groups.values()) if (g.live === 0 && g.label !== label) idleSeries += g.expected;
    if (need() - idleSeries > this.limits.maxSeries) return false;
    const idle = [...this.groups.values()]
      .filter((g) => g.live === 0 && g.label !== label)
      .sort((a, b) => a.lastActive - b.lastActive);
    for (const g of idle) {
      if (need() <= this.limits.maxSeries) break;
      this.remove(g);
    }
    return need() <= this.limits.maxSeries;
  }

  // ---- samples ----

  runState(): Sample[] {
    const out: Sample[] = [];
    for (const g of this.groups.values()) {
      if (g.state === undefined) continue;
      for (const state of RUN_STATES)
        out.push({ labels: { scenario: g.label, state }, value: state === g.state ? 1 : 0 });
    }
    return out;
  }

  thresholdPassed(): Sample[] {
    return [...this.groups.values()].flatMap((g) => g.thresholds);
  }

  finish(which: 'at' | 'wall' | 'exitStatus'): Sample[] {
    const out: Sample[] = [];
    for (const g of this.groups.values())
      if (g.finish) out.push({ labels: { scenario: g.label }, value: g.finish[which] });
    return out;
  }

  /** A marker (value 1) per group whose latest finished run judged no threshold: a shard's. */
  notJudged(): Sample[] {
    const out: Sample[] = [];
    for (const g of this.groups.values())
      if (g.finish?.judged === false) out.push({ labels: { scenario: g.label }, value: 1 });
    return out;
  }

  started(): Sample[] {
    const out: Sample[] = [];
    for (const g of this.groups.values())
      if (g.startedAt !== undefined) out.push({ labels: { scenario: g.label }, value: g.startedAt });
    return out;
  }

  seriesBudget(which: 'budget' | 'expected'): Sample[] {
    const out: Sample[] = [];
    for (const g of this.groups.values())
      if (g.expected > 0) out.push({ labels: { scenario: g.label }, value: g[which] });
    return out;
  }

  expectedViolations(): Sample[] {
    return [...this.groups.values()].flatMap((g) =>
      g.expectViolations.map((check) => ({ labels: { scenario: g.label, check }, value: 1 })),
    );
  }
}
