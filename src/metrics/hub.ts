import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { Counter } from '../core/vcpu/machine.js';
import { GuestCounter, LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import type { LatencyExemplars } from '../core/engine/exemplars.js';
import { VIOLATION_CHECKS } from '../scenario/thresholds.js';
import { guestsPerHostByOs, type Scenario } from '../scenario/types.js';
import { formatSeconds } from '../input/units.js';
import type { RunResults } from '../results/types.js';
import { TotalsAccumulator, type LivePart, type LiveRun } from '../run/totals.js';
import { RUN_STATES, type RunState } from '../history/records.js';
import { MODEL_VERSION, TOOL_VERSION } from '../version.js';
import { expectedSeries } from './cardinality.js';

/**
 * The metrics' numbers, kept outside prom-client. Workers never touch metric objects: each
 * running task posts its latest absolute totals, a live run publishes them (LiveRun.live(),
 * src/run/totals.ts), and at scrape time the hub adds
 *   totals of finished runs (per series)  +  for each live run, each part's latest totals
 * (the last snapshot while it runs, its final totals once done). A finished run's task totals
 * move into the first term in the same turn of the event loop that removes the run from the
 * second, so nothing is counted twice or lost, and counters never go down.
 */

export type Labels = Record<string, string>;
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** OpenMetrics exemplar (prom-client prints it only in an OpenMetrics registry). */
  readonly exemplar?: { readonly labelSet: Labels; readonly value: number; readonly timestamp: number };
  /** For histogram samples: name_bucket / name_sum / name_count. */
  readonly metricName?: string;
}

/**
 * One variant series' numbers: the exact counts of every run added, in one TotalsAccumulator (its
 * per-host records are not kept: they grow with the fleet), and what only the metrics need: the
 * seed of each latency exemplar's run, simulated time summed over runs, and violations counted by
 * check.
 */
class SeriesTotals {
  readonly counts = new TotalsAccumulator();
  /** The seed of the run each latency exemplar (counts.latencyExemplars) came from. */
  readonly exemplarSeed = new Float64Array(LATENCY_BOUNDS_NS.length + 1);
  /** Simulated ns: the longest host of each run, summed over runs. */
  simNs = 0;
  entryFailures = 0;
  readonly violations = new Map<string, number>();

  private takeExemplars(from: LatencyExemplars, seed: (bucket: number) => number): void {
    const into = this.counts.latencyExemplars;
    for (let b = 0; b < from.buckets; b++) {
      if (from.ns(b) >= 0 && into.offer(b, from.ns(b), from.timeNs(b), from.guest(b))) this.exemplarSeed[b] = seed(b);
    }
  }

  /** A task's or run's totals (of one seed). */
  add(a: TotalsAccumulator, seed: number): void {
    this.takeExemplars(a.latencyExemplars, () => seed);
    this.counts.mergeCounts(a);
    this.entryFailures += a.entryFailures.length;
    for (const v of a.violations) this.violations.set(v.check, (this.violations.get(v.check) ?? 0) + 1);
  }

  addSeries(o: SeriesTotals): void {
    this.takeExemplars(o.counts.latencyExemplars, (b) => o.exemplarSeed[b]);
    this.counts.mergeCounts(o.counts);
    this.simNs += o.simNs;
    this.entryFailures += o.entryFailures;
    for (const [k, n] of o.violations) this.violations.set(k, (this.violations.get(k) ?? 0) + n);
  }
}

interface VariantSeries {
  readonly key: string;
  readonly labels: Labels;
  readonly vendor: string;
  /** scenario_info labels of the latest run (seed, pace, hosts may change between runs). */
  info: Labels;
  /** Guest OSes ever run in this series (their running gauges exist, at 0 when idle). */
  readonly oses: Set<string>;
  /** The variant has workload-profile guests: series for opaque exit reasons too. */
  opaque: boolean;
  readonly base: SeriesTotals;
}

interface GuestSeries {
  readonly labels: Labels;
  readonly exits: Map<string, number>;
  cr8: number;
  delivered: number;
  cpuSeconds: number;
}

interface LiveEntry {
  readonly id: string;
  readonly scenario: Scenario;
  readonly run: LiveRun;
  /** Variant series of each variant index. */
  readonly series: readonly VariantSeries[];
  /** Guests per host by OS, of each variant index. */
  readonly guestsByOs: readonly ReadonlyMap<string, number>[];
}

/** What one scrape sees: computed once per scrape, read by every metric's collect. */
interface MetricsView {
  readonly variants: readonly {
    readonly s: VariantSeries;
    readonly t: SeriesTotals;
    readonly runningByOs: Map<string, number>;
  }[];
  readonly guests: readonly GuestSeries[];
}

interface HubOptions {
  /** Per-guest series (labels host, guest, os). Off by default: cardinality grows with the fleet. */
  readonly perGuest?: boolean;
}

/** Labels every per-variant series carries: bounded by the scenarios run, never per guest. */
function variantLabels(scenario: Scenario, vi: number): Labels {
  const v = scenario.variants[vi];
  return { scenario: scenario.name, variant: v.name, cpu: v.host.cpu.id, policy: v.hypervisor.policy };
}

export class MetricsHub {
  readonly perGuest: boolean;
  private readonly variants = new Map<string, VariantSeries>();
  private readonly guestBase = new Map<string, GuestSeries>();
  private readonly live = new Map<string, LiveEntry>();
  /** Latest run state per scenario; threshold outcomes, finish time and wall seconds of the latest finished run. */
  private readonly scenarioState = new Map<string, RunState>();
  private readonly thresholds = new Map<string, Sample[]>();
  private readonly lastFinish = new Map<string, { at: number; wall: number }>();
  private runCounts: () => Readonly<Record<string, number>> = () => ({});
  private poolStats: () => { workers: number; queued: number; failures: number } | undefined = () => undefined;
  private view: MetricsView | undefined;
  /** Exemplar identity and first exposure time, per variant series and latency bucket. */
  private readonly exemplarSeen = new Map<string, { id: string; at: number }>();
  /** Cardinality budget and expected series of each registered scenario (src/metrics/cardinality.ts). */
  private readonly cardinality = new Map<string, { budget: number; expected: number }>();

  constructor(options: HubOptions = {}) {
    this.perGuest = options.perGuest === true;
  }

  /** Where run counts by state come from (the service's history). */
  setRunCounts(f: () => Readonly<Record<string, number>>): void {
    this.runCounts = f;
  }

  setPoolStats(f: () => { workers: number; queued: number; failures: number } | undefined): void {
    this.poolStats = f;
  }

  /** Create (zero) the series of a scenario's variants, so every known series exists from the first scrape. */
  register(scenario: Scenario, pace: 'max' | 'realtime' = scenario.pace): VariantSeries[] {
    this.cardinality.set(scenario.name, {
      budget: scenario.cardinalityBudget,
      expected: expectedSeries(scenario, { perGuest: this.perGuest }).total,
    });
    return scenario.variants.map((v, vi) => {
      const labels = variantLabels(scenario, vi);
      const key = `${labels.scenario}\u0000${labels.variant}\u0000${labels.cpu}\u0000${labels.policy}`;
      const info = {
        ...labels,
        hosts: String(v.host.count),
        cores: String(v.host.cores),
        seed: String(scenario.seed),
        pace,
      };
      let s = this.variants.get(key);
      if (!s) {
        s = { key, labels, vendor: v.host.cpu.vendor, opaque: false, oses: new Set(), base: new SeriesTotals(), info };
        this.variants.set(key, s);
      }
      s.info = info;
      if (v.guests.some((g) => g.kind === 'modelled' && g.workload !== undefined)) s.opaque = true;
      for (const os of guestsPerHostByOs(scenario, vi).keys()) s.oses.add(os);
      return s;
    });
  }

  setRunState(scenario: string, state: RunState): void {
    this.scenarioState.set(scenario, state);
  }

  /** A run started: its tasks' latest totals count from now on. */
  addRun(id: string, scenario: Scenario, run: LiveRun): void {
    const series = this.register(scenario, run.pace);
    this.live.set(id, {
      id,
      scenario,
      run,
      series,
      guestsByOs: scenario.variants.map((_, vi) => guestsPerHostByOs(scenario, vi)),
    });
    this.setRunState(scenario.name, 'running');
  }

  /**
   * A run ended (completed, cancelled or failed): fold its tasks' totals into the finished
   * totals and drop it from the live set, in one step. `results` carries threshold outcomes.
   */
  finishRun(id: string, state: RunState, results?: RunResults): void {
    const l = this.live.get(id);
    if (l) {
      const parts = l.run.live();
      const per = this.runTotals(l, parts);
      per.forEach((t, vi) => l.series[vi].base.addSeries(t));
      if (this.perGuest) for (const g of this.runGuests(l, parts)) this.addGuest(this.guestBase, g);
      this.live.delete(id);
      this.setRunState(l.scenario.name, state);
    }
    if (results) {
      const samples: Sample[] = [];
      for (const v of results.variants) {
        for (const t of v.thresholds)
          samples.push({
            labels: { scenario: results.scenario, variant: v.name, threshold: `${t.metric}: ${t.expr}` },
            value: t.passed ? 1 : 0,
          });
      }
      for (const t of results.crossVariantThresholds)
        samples.push({
          labels: { scenario: results.scenario, variant: '*', threshold: `${t.metric}: ${t.expr}` },
          value: t.passed ? 1 : 0,
        });
      this.thresholds.set(results.scenario, samples);
      this.lastFinish.set(results.scenario, { at: Date.now() / 1000, wall: results.wallSeconds });
    }
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
      t.add(a, scenario.seed);
      t.simNs = a.maxSimNs;
      series[vi].base.addSeries(t);
      if (this.perGuest && a.perGuest)
        for (const g of a.perGuest) this.addGuest(this.guestBase, this.guestOf(series[vi].labels, g));
    });
    this.setRunState(scenario.name, state);
    this.finishRun('', state, results);
  }

  private runTotals(l: LiveEntry, parts: readonly LivePart[]): SeriesTotals[] {
    const per = l.series.map(() => new SeriesTotals());
    const sim = l.series.map(() => 0);
    for (const p of parts) {
      if (!p.totals) continue;
      const vi = p.variantIndex;
      per[vi].add(p.totals, l.scenario.seed);
      sim[vi] = Math.max(sim[vi], p.totals.maxSimNs);
    }
    per.forEach((p, vi) => {
      p.simNs = sim[vi];
    });
    return per;
  }

  private guestOf(labels: Labels, g: NonNullable<TotalsAccumulator['perGuest']>[number]): GuestSeries {
    return {
      labels: { ...labels, host: String(g.host), guest: g.guest, os: g.os },
      exits: new Map(Object.entries(g.exits)),
      cr8: g.cr8Accesses,
      delivered: g.interruptsDelivered,
      cpuSeconds: g.guestCpuSeconds,
    };
  }

  private *runGuests(l: LiveEntry, parts: readonly LivePart[]): Generator<GuestSeries> {
    for (const p of parts) {
      for (const g of p.totals?.perGuest ?? []) yield this.guestOf(l.series[p.variantIndex].labels, g);
    }
  }

  private addGuest(into: Map<string, GuestSeries>, g: GuestSeries): void {
    const l = g.labels;
    const key = `${l.scenario}\u0000${l.variant}\u0000${l.cpu}\u0000${l.policy}\u0000${l.host}\u0000${l.guest}`;
    const s = into.get(key);
    if (!s) {
      into.set(key, {
        labels: g.labels,
        exits: new Map(g.exits),
        cr8: g.cr8,
        delivered: g.delivered,
        cpuSeconds: g.cpuSeconds,
      });
      return;
    }
    for (const [r, n] of g.exits) s.exits.set(r, (s.exits.get(r) ?? 0) + n);
    s.cr8 += g.cr8;
    s.delivered += g.delivered;
    s.cpuSeconds += g.cpuSeconds;
  }

  /** The numbers of this scrape (cached until the current turn of the event loop ends). */
  current(): MetricsView {
    if (this.view) return this.view;
    const totals = new Map<string, { s: VariantSeries; t: SeriesTotals; runningByOs: Map<string, number> }>();
    for (const s of this.variants.values()) {
      const t = new SeriesTotals();
      t.addSeries(s.base);
      const runningByOs = new Map<string, number>();
      for (const os of s.oses) runningByOs.set(os, 0);
      totals.set(s.key, { s, t, runningByOs });
    }
    const guests = this.perGuest ? new Map<string, GuestSeries>() : undefined;
    if (guests) for (const g of this.guestBase.values()) this.addGuest(guests, g);
    for (const l of this.live.values()) {
      const parts = l.run.live();
      const per = this.runTotals(l, parts);
      per.forEach((p, vi) => totals.get(l.series[vi].key)!.t.addSeries(p));
      for (const p of parts) {
        if (p.hostsRunning === 0) continue;
        const e = totals.get(l.series[p.variantIndex].key)!;
        for (const [os, n] of l.guestsByOs[p.variantIndex])
          e.runningByOs.set(os, (e.runningByOs.get(os) ?? 0) + p.hostsRunning * n);
      }
      if (guests) for (const g of this.runGuests(l, parts)) this.addGuest(guests, g);
    }
    this.view = { variants: [...totals.values()], guests: guests ? [...guests.values()] : [] };
    setImmediate(() => {
      this.view = undefined;
    });
    return this.view;
  }

  // ---- samples per metric (src/metrics/registry.ts names them) ----

  buildInfo(): Sample[] {
    return [
      { labels: { version: TOOL_VERSION, model_version: MODEL_VERSION, node_version: process.version }, value: 1 },
    ];
  }

  scenarioInfo(): Sample[] {
    return this.current().variants.map(({ s }) => ({ labels: s.info, value: 1 }));
  }

  exits(which: 'count' | 'seconds'): Sample[] {
    const out: Sample[] = [];
    for (const { s, t } of this.current().variants) {
      if (which === 'count') {
        // By guest OS too: every OS the variant ran exists from the first scrape (at 0).
        const oses = new Set([...s.oses, ...t.counts.exitsByOs.keys()]);
        for (const os of [...oses].sort()) {
          const e = t.counts.exitsByOs.get(os);
          for (const k of EXIT_KINDS) {
            const value = e ? e[k.slot] : 0;
            if (k.vendor !== s.vendor || (!k.modelled && !s.opaque && value === 0)) continue;
            out.push({ labels: { ...s.labels, os, reason: k.name }, value });
          }
        }
        continue;
      }
      for (const k of EXIT_KINDS) {
        if (k.vendor !== s.vendor || (!k.modelled && !s.opaque && t.counts.exitHostNs[k.slot] === 0)) continue;
        out.push({ labels: { ...s.labels, reason: k.name }, value: t.counts.exitHostNs[k.slot] / 1e9 });
      }
    }
    return out;
  }

  interrupts(): Sample[] {
    const out: Sample[] = [];
    const cols: [string, string, number][] = [
      ['timer', 'raised', GuestCounter.RAISED_TIMER],
      ['timer', 'delivered', GuestCounter.DELIVERED_TIMER],
      ['device', 'raised', GuestCounter.RAISED_DEVICE],
      ['device', 'delivered', GuestCounter.DELIVERED_DEVICE],
      ['ipi', 'raised', GuestCounter.RAISED_IPI],
      ['ipi', 'delivered', GuestCounter.DELIVERED_IPI],
    ];
    for (const { s, t } of this.current().variants) {
      for (const [source, outcome, c] of cols)
        out.push({ labels: { ...s.labels, source, outcome }, value: t.counts.guestCounters[c] });
    }
    return out;
  }

  deliveryPaths(): Sample[] {
    return this.machineCounters('path', [
      ['injected', Counter.INJECTED],
      ['virtual', Counter.VIRTUAL_DELIVERED],
      ['posted', Counter.POSTED],
    ]);
  }

  tprAccesses(): Sample[] {
    return this.machineCounters('kind', [
      ['cr8_read', Counter.CR8_READS],
      ['cr8_write', Counter.CR8_WRITES],
      ['mmio_write', Counter.TPR_MMIO_WRITES],
      ['msr_write', Counter.TPR_MSR_WRITES],
    ]);
  }

  /** One series per variant and machine counter, the counter named by the label `label`. */
  private machineCounters(label: string, cols: readonly (readonly [string, number])[]): Sample[] {
    const out: Sample[] = [];
    for (const { s, t } of this.current().variants)
      for (const [name, c] of cols)
        out.push({ labels: { ...s.labels, [label]: name }, value: t.counts.machineCounters[c] });
    return out;
  }

  latency(name: string): Sample[] {
    const out: Sample[] = [];
    for (const { s, t } of this.current().variants) {
      let cum = 0;
      LATENCY_BOUNDS_NS.forEach((b, i) => {
        cum += t.counts.latency[i];
        out.push({
          metricName: `${name}_bucket`,
          labels: { ...s.labels, le: String(b / 1e9) },
          value: cum,
          ...this.exemplarOf(s, t, i),
        });
      });
      cum += t.counts.latency[LATENCY_BOUNDS_NS.length];
      out.push({
        metricName: `${name}_bucket`,
        labels: { ...s.labels, le: '+Inf' },
        value: cum,
        ...this.exemplarOf(s, t, LATENCY_BOUNDS_NS.length),
      });
      out.push({ metricName: `${name}_sum`, labels: s.labels, value: t.counts.latencySumNs / 1e9 });
      out.push({ metricName: `${name}_count`, labels: s.labels, value: t.counts.latencyCount });
    }
    return out;
  }

  /**
   * The bucket's replay handle as an OpenMetrics exemplar {seed, guest, sim_time} (docs/REPLAY.md).
   * Its timestamp is when this process first exposed that exemplar, so repeated scrapes carry the
   * same one (a scraper stores it once) and a new representative gets a newer time.
   */
  private exemplarOf(
    s: VariantSeries,
    t: SeriesTotals,
    bucket: number,
  ): { exemplar?: NonNullable<Sample['exemplar']> } {
    const ex = t.counts.latencyExemplars;
    if (ex.ns(bucket) < 0) return {};
    const labelSet = {
      seed: String(t.exemplarSeed[bucket]),
      guest: String(ex.guest(bucket)),
      sim_time: formatSeconds(ex.timeNs(bucket)),
    };
    const id = `${labelSet.seed} ${labelSet.guest} ${ex.timeNs(bucket)} ${ex.ns(bucket)}`;
    const key = `${s.key}\u0000${bucket}`;
    let seen = this.exemplarSeen.get(key);
    if (!seen || seen.id !== id) {
      seen = { id, at: Date.now() / 1000 };
      this.exemplarSeen.set(key, seen);
    }
    return { exemplar: { labelSet, value: ex.ns(bucket) / 1e9, timestamp: seen.at } };
  }

  perVariant(f: (t: SeriesTotals) => number): Sample[] {
    return this.current().variants.map(({ s, t }) => ({ labels: s.labels, value: f(t) }));
  }

  /** Work-bound phases: guests that completed them, and their completion times summed (mean = ratio). */
  phases(which: 'count' | 'seconds'): Sample[] {
    const out: Sample[] = [];
    for (const { s, t } of this.current().variants) {
      PHASE_ORDER.forEach((phase, i) => {
        out.push({
          labels: { ...s.labels, phase },
          value: which === 'count' ? t.counts.phaseCount[i] : t.counts.phaseSumNs[i] / 1e9,
        });
      });
    }
    return out;
  }

  guestCpuSeconds(): Sample[] {
    return this.perVariant((t) => t.counts.guestCounters[GuestCounter.GUEST_CPU_NS] / 1e9);
  }

  guestSimulatedSeconds(): Sample[] {
    return this.perVariant((t) => t.counts.guestNs / 1e9);
  }

  simulatedSeconds(): Sample[] {
    return this.perVariant((t) => t.simNs / 1e9);
  }

  events(): Sample[] {
    return this.perVariant((t) => t.counts.events);
  }

  entryFailures(): Sample[] {
    return this.perVariant((t) => t.entryFailures);
  }

  violations(): Sample[] {
    const out: Sample[] = [];
    for (const { s, t } of this.current().variants) {
      const checks = new Set<string>([...VIOLATION_CHECKS, ...t.violations.keys()]);
      for (const check of checks) out.push({ labels: { ...s.labels, check }, value: t.violations.get(check) ?? 0 });
    }
    return out;
  }

  runningGuests(): Sample[] {
    const out: Sample[] = [];
    for (const { s, runningByOs } of this.current().variants)
      for (const [os, n] of runningByOs) out.push({ labels: { ...s.labels, os }, value: n });
    return out;
  }

  runs(): Sample[] {
    const counts = this.runCounts();
    return RUN_STATES.map((state) => ({ labels: { state }, value: counts[state] ?? 0 }));
  }

  runState(): Sample[] {
    const out: Sample[] = [];
    for (const [scenario, cur] of this.scenarioState)
      for (const state of RUN_STATES) out.push({ labels: { scenario, state }, value: state === cur ? 1 : 0 });
    return out;
  }

  thresholdPassed(): Sample[] {
    return [...this.thresholds.values()].flat();
  }

  lastFinishTimestamp(): Sample[] {
    return [...this.lastFinish].map(([scenario, f]) => ({ labels: { scenario }, value: f.at }));
  }

  /** The cardinality budget / expected series of each scenario registered. */
  seriesBudget(which: 'budget' | 'expected'): Sample[] {
    return [...this.cardinality].map(([scenario, c]) => ({ labels: { scenario }, value: c[which] }));
  }

  lastWallSeconds(): Sample[] {
    return [...this.lastFinish].map(([scenario, f]) => ({ labels: { scenario }, value: f.wall }));
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

  guestExits(): Sample[] {
    const out: Sample[] = [];
    for (const g of this.current().guests)
      for (const [reason, n] of g.exits) out.push({ labels: { ...g.labels, reason }, value: n });
    return out;
  }

  guestValue(f: (g: GuestSeries) => number): Sample[] {
    return this.current().guests.map((g) => ({ labels: g.labels, value: f(g) }));
  }
}
