import { LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { guestsPerHostByOs, type Scenario } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import { exitStatusOf } from '../results/exitStatus.js';
import { judgesThresholds } from '../results/thresholds.js';
import type { TotalsAccumulator } from '../run/totals.js';
import type { LiveRun } from '../run/liveRun.js';
import { RUN_STATES, type RunState } from '../history/records.js';
import { MODEL_VERSION, TOOL_VERSION } from '../version.js';
import { expectedSeries, reasonSetOf, workPhasesOf } from './cardinality.js';
import { NO_GROUP_LIMITS, ScenarioGroups, type GroupLimits } from './groups.js';
import { SeriesTotals, type Labels, type Sample, type VariantSeries } from './series.js';
import { ServiceStats } from './serviceStats.js';
import {
  addGuest,
  guestOf,
  runGuests,
  runScoped,
  runTotals,
  type GuestSeries,
  type HubRun,
  type MetricsView,
  type VariantView,
} from './hubView.js';
import { thresholdSamples } from './thresholdSamples.js';

/**
 * The metrics' numbers, kept outside prom-client. Workers never touch metric objects: each
 * running task posts its latest absolute totals, a live run publishes them (LiveRun.live(),
 * src/run/liveRun.ts), and at scrape time the hub adds
 *   totals of finished runs (per series)  +  for each live run, each part's latest totals
 * (the last snapshot while it runs, its final totals once done). A finished run's task totals
 * move into the first term in the same turn of the event loop that removes the run from the
 * second, so nothing is counted twice or lost, and counters never go down.
 *
 * Series are grouped by their `scenario` label (src/metrics/groups.ts): the label is whatever the
 * caller registers the run under (the service: a label it controls, src/history/records.ts
 * seriesLabel; the CLI: the scenario's name), and groups are retired on a schedule under a ceiling.
 */

interface HubOptions {
  /** Per-guest series (labels host, guest, os). Off by default: cardinality grows with the fleet. */
  readonly perGuest?: boolean;
  /** Series ceiling and retirement (the service); none by default (a CLI run). */
  readonly limits?: GroupLimits;
}

/** A finished run the history holds, restored at start-up (state, thresholds, times: no counts). */
export interface RestoredRun {
  readonly label: string;
  readonly state: RunState;
  readonly startedAtMs?: number;
  readonly finishedAtMs: number;
  readonly exitStatus?: number;
  readonly wallSeconds?: number;
  /** Complete results carry the threshold outcomes. */
  readonly results?: RunResults;
  readonly expectViolations?: readonly string[];
}

/** Labels every per-variant series carries: bounded by the scenarios run, never per guest. */
export function variantLabels(scenario: Scenario, vi: number, label: string): Labels {
  const v = scenario.variants[vi];
  return { scenario: label, variant: v.name, cpu: v.host.cpu.id, policy: v.hypervisor.policy };
}

export class MetricsHub {
  readonly perGuest: boolean;
  readonly stats = new ServiceStats();
  readonly groups: ScenarioGroups;
  private readonly variants = new Map<string, VariantSeries>();
  private readonly guestBase = new Map<string, GuestSeries>();
  private readonly live = new Map<string, HubRun>();
  private runCounts: () => Readonly<Record<string, number>> = () => ({});
  private poolStats: () => { workers: number; queued: number; failures: number } | undefined = () => undefined;
  private view: MetricsView | undefined;
  /** Exemplar identity and first exposure time, per variant series and latency bucket. */
  private readonly exemplarSeen = new Map<string, { id: string; at: number }>();

  constructor(options: HubOptions = {}) {
    this.perGuest = options.perGuest === true;
    this.groups = new ScenarioGroups(options.limits ?? NO_GROUP_LIMITS, (label) => this.dropSeries(label));
  }

  /** Where run counts by state come from (the service's history). */
  setRunCounts(f: () => Readonly<Record<string, number>>): void {
    this.runCounts = f;
  }

  setPoolStats(f: () => { workers: number; queued: number; failures: number } | undefined): void {
    this.poolStats = f;
  }

  /** Series a scenario creates under this hub's options (the ceiling counts these). */
  expectedSeries(scenario: Scenario): number {
    return expectedSeries(scenario, { perGuest: this.perGuest }).total;
  }

  /** Create (zero) the series of a scenario's variants, so every known series exists from the first scrape. */
  register(scenario: Scenario, pace: 'max' | 'realtime' = scenario.pace, label = scenario.name): VariantSeries[] {
    const g = this.groups.ensure(label);
    g.expected = this.expectedSeries(scenario);
    g.budget = scenario.cardinalityBudget;
    g.expectViolations = [...new Set(scenario.expectViolations)].sort();
    const expected = new Set(scenario.expectViolations);
    return scenario.variants.map((v, vi) => {
      const labels = variantLabels(scenario, vi, label);
      const key = `${labels.scenario}\u0000${labels.variant}\u0000${labels.cpu}\u0000${labels.policy}`;
      const info = {
        ...labels,
        hosts: String(v.host.count),
        cores: String(v.host.cores),
        seed: String(scenario.seed),
        pace,
      };
      // Frozen: prom-client caches a label set's text by object (src/metrics/samples.ts labelsOf).
      Object.freeze(labels);
      Object.freeze(info);
      const reasons = reasonSetOf(v);
      const workPhases = workPhasesOf(v);
      let s = this.variants.get(key);
      if (!s) {
        s = {
          key,
          labels,
          vendor: v.host.cpu.vendor,
          reasons,
          workPhases,
          oses: new Set(),
          base: new SeriesTotals(),
          info,
          expected,
          latest: undefined,
        };
        this.variants.set(key, s);
      }
      s.info = info;
      s.expected = expected;
      // A label's later runs may add workload guests or spinning ones: their reasons stay once exported.
      if ((reasons.opaque && !s.reasons.opaque) || (reasons.spins && !s.reasons.spins))
        s.reasons = {
          vendor: s.reasons.vendor,
          opaque: s.reasons.opaque || reasons.opaque,
          spins: s.reasons.spins || reasons.spins,
        };
      // So do its work-bound phases' unfinished-guest series (as the ceiling counts them, at most once each).
      if (workPhases.some((p) => !s.workPhases.includes(p)))
        s.workPhases = PHASE_ORDER.filter((p) => s.workPhases.includes(p) || workPhases.includes(p));
      for (const os of guestsPerHostByOs(scenario, vi).keys()) s.oses.add(os);
      return s;
    });
  }

  setRunState(label: string, state: RunState): void {
    this.groups.ensure(label).state = state;
  }

  /** A run started: its tasks' latest totals count from now on. */
  addRun(id: string, scenario: Scenario, run: LiveRun, label = scenario.name): void {
    const series = this.register(scenario, run.pace, label);
    this.live.set(id, {
      id,
      label,
      scenario,
      run,
      series,
      guestsByOs: scenario.variants.map((_, vi) => guestsPerHostByOs(scenario, vi)),
    });
    const g = this.groups.ensure(label);
    g.state = 'running';
    g.live++;
    g.startedAt = run.startedAtMs / 1000;
    g.lastActive = Date.now();
  }

  /**
   * A run ended (completed, cancelled or failed): fold its tasks' totals into the finished
   * totals and drop it from the live set, in one step. `results` (complete results only) carry
   * threshold outcomes; `exitStatus` is the run's (3 for a failed or partial run).
   */
  finishRun(id: string, state: RunState, results?: RunResults, exitStatus?: number): void {
    const l = this.live.get(id);
    const now = Date.now();
    let label = results?.scenario;
    let wall = results?.wallSeconds;
    if (l) {
      label = l.label;
      const parts = l.run.live();
      const per = runTotals(l, parts);
      per.forEach((t, vi) => {
        l.series[vi].base.addSeries(t);
        l.series[vi].latest = runScoped(l, t);
      });
      if (this.perGuest) for (const g of runGuests(l, parts)) addGuest(this.guestBase, g);
      this.live.delete(id);
      wall ??= (now - l.run.startedAtMs) / 1000;
      const g = this.groups.ensure(l.label);
      g.live = Math.max(0, g.live - 1);
    }
    if (label === undefined) return;
    const g = this.groups.ensure(label);
    g.state = state;
    g.lastActive = now;
    g.finish = {
      at: now / 1000,
      wall: wall ?? 0,
      exitStatus: exitStatus ?? (results ? exitStatusOf(results) : 3),
      judged: judgesThresholds(results?.shard),
    };
    if (results && state === 'completed') g.thresholds = thresholdSamples(label, results);
  }

  /** Record a finished run that did not go through addRun (the CLI: `run --push`). */
  addFinished(
    scenario: Scenario,
    accumulators: readonly TotalsAccumulator[],
    results: RunResults,
    state: RunState = 'completed',
  ): void {
    const series = this.register(scenario);
    accumulators.forEach((a, vi) => {
      const t = new SeriesTotals();
      t.add(a);
      t.simNs = a.maxSimNs;
      series[vi].base.addSeries(t);
      series[vi].latest = {
        simNs: t.simNs,
        violations: t.violations,
        phaseUnfinished: t.counts.phaseUnfinished,
        exemplars: t.counts.latencyExemplars,
        seed: scenario.seed,
        pace: 'max',
        startedAtMs: Date.parse(results.startedAt) || Date.now(),
      };
      if (this.perGuest && a.perGuest)
        for (const g of a.perGuest) addGuest(this.guestBase, guestOf(series[vi].labels, g));
    });
    this.groups.ensure(scenario.name).startedAt = (Date.parse(results.startedAt) || Date.now()) / 1000;
    this.finishRun('', state, results);
  }

  /**
   * Runs the history holds (the latest finished run of each label, src/history/store.ts): their
   * state, threshold outcomes and times, so alerts on them do not resolve because the process
   * restarted. Their counts are not restored (the counters start again at 0, as after any restart).
   */
  restore(runs: readonly RestoredRun[]): void {
    for (const r of runs) {
      const g = this.groups.ensure(r.label);
      g.state = r.state;
      g.lastActive = r.finishedAtMs;
      if (r.startedAtMs !== undefined) g.startedAt = r.startedAtMs / 1000;
      g.finish = {
        at: r.finishedAtMs / 1000,
        wall: r.wallSeconds ?? 0,
        exitStatus: r.exitStatus ?? (r.results ? exitStatusOf(r.results) : 3),
        judged: judgesThresholds(r.results?.shard),
      };
      if (r.results && r.state === 'completed') g.thresholds = thresholdSamples(r.label, r.results);
      g.expectViolations = [...new Set(r.expectViolations ?? [])].sort();
      // Its series: run state, thresholds, times, exit status, expected violations.
      g.expected = 6 + g.thresholds.length + 4 + g.expectViolations.length;
    }
  }

  /** A retired group: its series leave /metrics (the history keeps the numbers). */
  private dropSeries(label: string): void {
    for (const [key, s] of this.variants) {
      if (s.labels.scenario !== label) continue;
      this.variants.delete(key);
      for (let b = 0; b <= LATENCY_BOUNDS_NS.length; b++) this.exemplarSeen.delete(`${key}\u0000${b}`);
    }
    for (const [key, g] of this.guestBase) if (g.labels.scenario === label) this.guestBase.delete(key);
  }

  /**
   * When this process first exposed the exemplar `id` of series bucket `key` (Unix seconds): the
   * timestamp of a pace-max exemplar, the same for every scrape until the representative changes.
   */
  exemplarFirstSeen(key: string, id: string): number {
    let seen = this.exemplarSeen.get(key);
    if (!seen || seen.id !== id) {
      seen = { id, at: Date.now() / 1000 };
      this.exemplarSeen.set(key, seen);
    }
    return seen.at;
  }

  /**
   * Compute the numbers once and let every metric's collect inside `f` read them: prom-client calls
   * every collect synchronously inside registry.metrics() (MetricsEndpoint.render), so one view is one
   * consistent moment. The view lives exactly as long as `f`'s synchronous part. Kept instead until the
   * event loop's turn ended (setImmediate), it was read by the next scrape when a run's final totals
   * had come in within that turn, and showed the previous snapshot (test/metrics/liveView.test.ts).
   */
  withView<T>(f: () => T): T {
    if (this.view) return f();
    this.view = this.computeView();
    try {
      return f();
    } finally {
      this.view = undefined;
    }
  }

  /** The numbers of this scrape: the view of the enclosing withView, else computed now. */
  current(): MetricsView {
    return this.view ?? this.computeView();
  }

  private computeView(): MetricsView {
    this.groups.retireDue();
    const totals = new Map<string, VariantView>();
    for (const s of this.variants.values()) {
      const t = new SeriesTotals();
      t.addSeries(s.base);
      const runningByOs = new Map<string, number>();
      for (const os of s.oses) runningByOs.set(os, 0);
      totals.set(s.key, { s, t, runningByOs, run: s.latest });
    }
    const guests = this.perGuest ? new Map<string, GuestSeries>() : undefined;
    if (guests) for (const g of this.guestBase.values()) addGuest(guests, g);
    const livePicked = new Set<string>();
    // Newest first: the run-scoped series show the latest live run of a variant.
    const live = [...this.live.values()].sort((a, b) => b.run.startedAtMs - a.run.startedAtMs);
    for (const l of live) {
      const parts = l.run.live();
      const per = runTotals(l, parts);
      per.forEach((p, vi) => {
        const e = totals.get(l.series[vi].key);
        if (!e) return;
        e.t.addSeries(p);
        if (!livePicked.has(e.s.key)) {
          livePicked.add(e.s.key);
          e.run = runScoped(l, p);
        }
      });
      for (const p of parts) {
        if (p.hostsRunning === 0) continue;
        const e = totals.get(l.series[p.variantIndex].key);
        if (!e) continue;
        for (const [os, n] of l.guestsByOs[p.variantIndex])
          e.runningByOs.set(os, (e.runningByOs.get(os) ?? 0) + p.hostsRunning * n);
      }
      if (guests) for (const g of runGuests(l, parts)) addGuest(guests, g);
    }
    return { variants: [...totals.values()], guests: guests ? [...guests.values()] : [] };
  }

  // ---- samples per metric (src/metrics/catalogue.ts names them) ----

  buildInfo(): Sample[] {
    return [
      { labels: { version: TOOL_VERSION, model_version: MODEL_VERSION, node_version: process.version }, value: 1 },
    ];
  }

  runs(): Sample[] {
    const counts = this.runCounts();
    return RUN_STATES.map((state) => ({ labels: { state }, value: counts[state] ?? 0 }));
  }

  runState(): Sample[] {
    return this.groups.runState();
  }

  thresholdPassed(): Sample[] {
    return this.groups.thresholdPassed();
  }

  lastFinishTimestamp(): Sample[] {
    return this.groups.finish('at');
  }

  lastWallSeconds(): Sample[] {
    return this.groups.finish('wall');
  }

  lastExitStatus(): Sample[] {
    return this.groups.finish('exitStatus');
  }

  lastNotJudged(): Sample[] {
    return this.groups.notJudged();
  }

  startedTimestamp(): Sample[] {
    return this.groups.started();
  }

  /** The cardinality budget / expected series of each scenario registered. */
  seriesBudget(which: 'budget' | 'expected'): Sample[] {
    return this.groups.seriesBudget(which);
  }

  expectedViolations(): Sample[] {
    return this.groups.expectedViolations();
  }

  /** The series ceiling and the series the groups use under it (docs/SERVICE.md "Series"). */
  seriesCeiling(which: 'ceiling' | 'in_use' | 'retired'): Sample[] {
    const v =
      which === 'ceiling'
        ? this.groups.limits.maxSeries
        : which === 'in_use'
          ? this.groups.seriesInUse()
          : this.groups.retired;
    return Number.isFinite(v) ? [{ labels: {}, value: v }] : [];
  }

  /** The largest lag of the running parts of realtime runs (LivePart.lagSeconds; 0 when none runs). */
  realtimeLag(): Sample[] {
    let lag = 0;
    for (const l of this.live.values()) {
      if (l.run.pace !== 'realtime') continue;
      for (const p of l.run.live()) if (p.hostsRunning > 0) lag = Math.max(lag, p.lagSeconds ?? 0);
    }
    return [{ labels: {}, value: lag }];
  }

  pool(which: 'workers' | 'queued' | 'failures'): Sample[] {
    const p = this.poolStats();
    return p ? [{ labels: {}, value: p[which] }] : [];
  }
}
