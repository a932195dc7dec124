import { MetricsHub, variantLabels } from './hub.js';
import type { Labels, Sample } from './series.js';
import { METRICS, type MetricDef } from './catalogue.js';
import { runScenario, shardRange, type RunScenarioOptions, type ScenarioRun } from '../run/runScenario.js';
import { seriesStepNs } from '../run/simulate.js';
import { TotalsAccumulator } from '../run/totals.js';
import { durationLimitNs, guestsPerHostByOs, type Scenario } from '../scenario/types.js';
import type { RawTotals, RunResults } from '../results/types.js';

/**
 * Exact history for Prometheus: a run's metrics as a timestamped OpenMetrics text file that
 * `promtool tsdb create-blocks-from openmetrics` turns into TSDB blocks (docs/BEYOND.md).
 *
 * Every sample is what /metrics would have exported at that simulated instant: the values come
 * from the same MetricsHub and the same metric catalogue (catalogue.ts METRICS), so names, types,
 * HELP texts and label sets are those of the live service and the shipped dashboards work on the
 * backfilled data. A sample's timestamp is the run's start (wall time) plus the simulated time,
 * so rates per simulated second read exactly as during a realtime run, with no scrape racing the
 * run: the counters are read at each point of the results' time series (every `stepSeconds` of
 * simulated time) and once more at the end of the run.
 */

/** One variant's absolute totals at a simulated instant. */
interface TimelinePoint {
  readonly simNs: number;
  /** Hosts of the variant still running at that instant (the guests_running gauge). */
  readonly hostsRunning: number;
  readonly totals: TotalsAccumulator;
}

/** Per variant (scenario order), its points in increasing simulated time; the last one is the run's final totals. */
type Timeline = readonly (readonly TimelinePoint[])[];

/**
 * Run a scenario in this thread (like runScenario; the totals are the same as on the pool) and
 * keep every variant's absolute totals at each step of its time series, plus its final totals.
 */
export function runWithTimeline(
  scenario: Scenario,
  options: Omit<RunScenarioOptions, 'onSnapshot'> = {},
): { run: ScenarioRun; timeline: Timeline } {
  const step = seriesStepNs(scenario);
  const limit = durationLimitNs(scenario);
  const points: TimelinePoint[][] = scenario.variants.map(() => [
    { simNs: 0, hostsRunning: 0, totals: new TotalsAccumulator() },
  ]);
  const run = runScenario(scenario, {
    ...options,
    onSnapshot: (vi, p, snapshot) => {
      if (p.simNs % step !== 0 && p.simNs !== limit) return;
      const totals = snapshot();
      totals.series = undefined; // the history needs the counters, not the per-bucket exits
      totals.perGuest = undefined;
      points[vi].push({ simNs: p.simNs, hostsRunning: p.hostsTotal - p.hostsDone, totals });
    },
  });
  return { run, timeline: closeTimeline(scenario, points, run.accumulators, options.shard) };
}

/**
 * The end of a timeline, as every path writes it: the first point has every host (of the shard)
 * running, points at or past the run's end give way to the final totals (scripted guests included).
 */
function closeTimeline(
  scenario: Scenario,
  points: TimelinePoint[][],
  accumulators: readonly TotalsAccumulator[],
  shard: RunScenarioOptions['shard'],
): Timeline {
  accumulators.forEach((acc, vi) => {
    const list = points[vi];
    const [start, end0] = shardRange(scenario.variants[vi].host.count, shard);
    list[0] = { ...list[0], hostsRunning: end0 - start };
    const end = acc.maxSimNs;
    while (list.length > 1 && list[list.length - 1].simNs >= end) list.pop();
    list.push({ simNs: end, hostsRunning: 0, totals: acc });
    if (list.length > 1 && list[0].simNs === end) list.shift(); // a run that did not advance: only its final point
  });
  return points;
}

/** A task's history as the pool returns it (src/pool/pooledRun.ts PooledOutcome.histories). */
interface TaskHistoryLike {
  readonly variantIndex: number;
  readonly points: readonly { readonly simNs: number; readonly hostsRunning: number; readonly totals: RawTotals }[];
  readonly final: TotalsAccumulator | undefined;
}

/**
 * The timeline of a pooled run, from its tasks' histories: the same points runWithTimeline keeps in
 * one thread (a test compares the two). At each instant some task reached, a variant's totals are the
 * sum over its tasks of each one's totals at that instant; a task already past its end (its hosts done,
 * or stopped) adds its final totals and no running host. `accumulators` are the run's merged totals.
 */
export function timelineFromTasks(
  scenario: Scenario,
  histories: readonly TaskHistoryLike[],
  accumulators: readonly TotalsAccumulator[],
  shard?: RunScenarioOptions['shard'],
): Timeline {
  const points: TimelinePoint[][] = scenario.variants.map((_, vi) => {
    const tasks = histories
      .filter((h) => h.variantIndex === vi)
      .map((h) => ({
        points: h.points.map((p) => ({ ...p, totals: TotalsAccumulator.fromJSON(p.totals) })),
        final: stripped(h.final),
      }));
    const times = [...new Set(tasks.flatMap((t) => t.points.map((p) => p.simNs)))].sort((a, b) => a - b);
    const list: TimelinePoint[] = [{ simNs: 0, hostsRunning: 0, totals: new TotalsAccumulator() }];
    const at = tasks.map(() => -1); // per task, its last point at or before the instant
    for (const simNs of times) {
      const totals = new TotalsAccumulator();
      let hostsRunning = 0;
      tasks.forEach((t, i) => {
        while (at[i] + 1 < t.points.length && t.points[at[i] + 1].simNs <= simNs) at[i]++;
        if (at[i] < 0) return; // not reached yet (a task that never ran)
        const p = t.points[at[i]];
        if (p.simNs === simNs || t.final === undefined) {
          totals.merge(p.totals);
          if (p.simNs === simNs) hostsRunning += p.hostsRunning;
        } else totals.merge(t.final);
      });
      list.push({ simNs, hostsRunning, totals });
    }
    return list;
  });
  return closeTimeline(scenario, points, accumulators, shard);
}

/** A copy without the per-bucket time series and the per-guest list (a history point's content). */
function stripped(acc: TotalsAccumulator | undefined): TotalsAccumulator | undefined {
  if (acc === undefined) return undefined;
  const c = new TotalsAccumulator();
  const { series, perGuest } = acc;
  acc.series = undefined;
  acc.perGuest = undefined;
  try {
    c.merge(acc);
  } finally {
    acc.series = series;
    acc.perGuest = perGuest;
  }
  return c;
}

interface OpenMetricsOptions {
  /** Wall-clock time of simulated time 0, in ms since the epoch. */
  readonly startMs: number;
  /**
   * The `job` label Prometheus would add when scraping (the dashboards filter on it); default
   * "vmexit-lab", the job name of grafana/provisioning/prometheus/prometheus.yml. "" leaves it out.
   */
  readonly job?: string;
}

interface SeriesPoints {
  readonly metricName: string;
  readonly labels: Labels;
  readonly points: [number, number][];
}

function familyName(def: MetricDef): string {
  // OpenMetrics: a counter's MetricFamily name has no _total; its samples do.
  return def.type === 'counter' ? def.name.replace(/_total$/, '') : def.name;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k])}"`).join(',')}}`;
}

/** A float as OpenMetrics writes it (Go's ParseFloat reads every JS number text but Infinity/NaN). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Seconds since the epoch with millisecond precision (Prometheus keeps ms). */
function formatTimestamp(ms: number): string {
  const s = Math.round(ms) / 1000;
  return s.toFixed(3);
}

/** The samples /metrics would have exported at each instant of one run. */
function addRun(
  { scenario, results, timeline }: RunHistory,
  defs: readonly MetricDef[],
  add: (def: MetricDef, samples: readonly Sample[], ts: number) => void,
  startMs: number,
): void {
  // The instants of the run: the union of every variant's points.
  const instants = [...new Set(timeline.flatMap((ps) => ps.map((p) => p.simNs)))].sort((a, b) => a - b);
  const endNs = instants[instants.length - 1] ?? 0;
  const byVariant = timeline.map((ps) => ps);
  const cursor = timeline.map(() => 0);
  for (const simNs of instants) {
    const accs: TotalsAccumulator[] = [];
    const running: number[] = [];
    byVariant.forEach((ps, vi) => {
      // The variant's latest point at or before this instant (its final totals once it ended).
      while (cursor[vi] + 1 < ps.length && ps[cursor[vi] + 1].simNs <= simNs) cursor[vi]++;
      const p = ps[cursor[vi]];
      accs.push(p.simNs <= simNs ? p.totals : new TotalsAccumulator());
      running.push(p.simNs <= simNs ? p.hostsRunning : ps[0].hostsRunning);
    });
    const final = simNs === endNs;
    const hub = new MetricsHub();
    hub.addFinished(scenario, accs, results, 'completed');
    hub.register(scenario, 'max'); // the CLI runs at pace max
    const ts = startMs + simNs / 1e6;
    for (const def of defs) {
      let samples: Sample[];
      switch (def.name) {
        case 'vmexit_lab_guests_running':
          samples = scenario.variants.flatMap((_, vi) =>
            [...guestsPerHostByOs(scenario, vi)].map(([os, n]) => ({
              labels: { ...variantLabels(scenario, vi, scenario.name), os },
              value: running[vi] * n,
            })),
          );
          break;
        case 'vmexit_lab_run_state':
          samples = def
            .collect(hub, def.name)
            .map((s) => ({ labels: s.labels, value: s.labels.state === (final ? 'completed' : 'running') ? 1 : 0 }));
          break;
        case 'vmexit_lab_threshold_passed':
          samples = final ? def.collect(hub, def.name) : [];
          break;
        case 'vmexit_lab_run_last_finish_timestamp_seconds':
          samples = final ? [{ labels: { scenario: scenario.name }, value: Math.round(ts) / 1000 }] : [];
          break;
        case 'vmexit_lab_run_last_wall_seconds':
          samples = final ? [{ labels: { scenario: scenario.name }, value: results.wallSeconds }] : [];
          break;
        case 'vmexit_lab_run_last_exit_status':
        case 'vmexit_lab_run_last_not_judged':
          samples = final ? def.collect(hub, def.name) : [];
          break;
        case 'vmexit_lab_run_started_timestamp_seconds':
          // When the run started: simulated time 0 (the same at every instant, as /metrics shows it).
          samples = [{ labels: { scenario: scenario.name }, value: Math.round(startMs) / 1000 }];
          break;
        default:
          samples = def.collect(hub, def.name);
      }
      add(def, samples, ts);
    }
  }
}

export interface RunHistory {
  readonly scenario: Scenario;
  readonly results: RunResults;
  readonly timeline: Timeline;
}

/**
 * The OpenMetrics text of a run's history: for every exported metric a `# TYPE` and `# HELP`,
 * then each series' samples in increasing time, and `# EOF`. Pure: the same inputs give the same
 * bytes (build_info's node_version aside, which names the Node.js that rendered the file).
 */
export function renderOpenMetrics(runs: readonly RunHistory[], options: OpenMetricsOptions): string {
  const defs = METRICS.filter((d) => !d.perGuest && d.serviceOnly !== true);
  const families = new Map<string, Map<string, SeriesPoints>>(defs.map((d) => [d.name, new Map()]));
  const job = options.job ?? 'vmexit-lab';
  const add = (def: MetricDef, samples: readonly Sample[], ts: number): void => {
    const fam = families.get(def.name)!;
    for (const s0 of samples) {
      const s = job === '' ? s0 : { ...s0, labels: { job, ...s0.labels } };
      const metricName = s.metricName ?? def.name;
      // Histogram samples of one label set stay together (bucket.., count, sum per instant).
      const groupLabels = { ...s.labels };
      delete groupLabels.le;
      const key = `${labelText(groupLabels)}\u0000${metricName}\u0000${labelText(s.labels)}`;
      let sp = fam.get(key);
      if (!sp) {
        sp = { metricName, labels: s.labels, points: [] };
        fam.set(key, sp);
      }
      sp.points.push([ts, s.value]);
    }
  };
  for (const r of runs) addRun(r, defs, add, options.startMs);
  // Series shared by several runs (build_info): increasing time, one sample per instant.
  for (const fam of families.values()) {
    for (const sp of fam.values()) {
      sp.points.sort((a, b) => a[0] - b[0]);
      for (let i = sp.points.length - 1; i > 0; i--)
        if (Math.round(sp.points[i][0]) === Math.round(sp.points[i - 1][0])) sp.points.splice(i, 1);
    }
  }
  const lines: string[] = [];
  for (const def of defs) {
    const fam = families.get(def.name)!;
    if (fam.size === 0) continue;
    const name = familyName(def);
    lines.push(`# TYPE ${name} ${def.type}`);
    lines.push(`# HELP ${name} ${escapeHelp(def.help)}`);
    if (def.type === 'histogram') {
      // One MetricPoint per label set and instant: its buckets, count and sum together.
      const groups = new Map<string, SeriesPoints[]>();
      for (const [key, sp] of fam) {
        const g = key.slice(0, key.indexOf('\u0000'));
        const list = groups.get(g) ?? [];
        list.push(sp);
        groups.set(g, list);
      }
      const order = (n: string): number => (n.endsWith('_bucket') ? 0 : n.endsWith('_count') ? 1 : 2);
      for (const list of groups.values()) {
        list.sort((a, b) => order(a.metricName) - order(b.metricName));
        const n = list[0].points.length;
        for (let i = 0; i < n; i++) {
          for (const sp of list)
            lines.push(
              `${sp.metricName}${labelText(sp.labels)} ${formatValue(sp.points[i][1])} ${formatTimestamp(sp.points[i][0])}`,
            );
        }
      }
      continue;
    }
    const sampleName = def.type === 'counter' ? `${name}_total` : name;
    for (const sp of fam.values()) {
      for (const [ts, v] of sp.points)
        lines.push(`${sampleName}${labelText(sp.labels)} ${formatValue(v)} ${formatTimestamp(ts)}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}
