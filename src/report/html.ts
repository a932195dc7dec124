import type {
  LatencyHistogram,
  RunResults,
  ThresholdOutcome,
  VariantResult,
  ViolationRecord,
} from '../results/types.js';
import { chartJsAsset, reportAssets, scriptSafe, type InlineScript } from './assets.js';
import { exitStatusOf } from '../results/exitStatus.js';
import { formatFigure, perGuestSecond, roundSignificant } from '../results/figures.js';

/**
 * The HTML report: one self-contained file (styles, data, Chart.js and the code that draws the
 * charts are all inline; nothing is fetched when it is opened) that a person can read in a minute.
 * The same sections make up the service's run page (`/runs/:id`); `renderRunsIndex` is its `/`.
 *
 * Everything here is a pure function of its arguments apart from reading the chart library from
 * node_modules once (src/report/assets.ts). Every string that comes from a scenario or a run is
 * escaped; data for the charts travels as JSON in a <script type="application/json"> element.
 */

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

interface ReportInput {
  readonly results: RunResults;
  /** The scenario's description (results.json does not carry it). */
  readonly description?: string;
}

interface HtmlReportOptions {
  /** The scenario's description (results.json does not carry it). */
  readonly description?: string;
  /** The page title (default "vmexit-lab report: SCENARIO"). */
  readonly title?: string;
  /** The chart library to inline (default: Chart.js from node_modules). */
  readonly chartLibrary?: InlineScript;
}

/** Progress of a run as the service reports it (a RunRecord's `progress`). */
interface RunProgressLike {
  /** 0..1 */
  readonly fraction: number;
  readonly simSeconds?: number;
  readonly limitSeconds?: number;
  readonly hostsDone?: number;
  readonly hostsTotal?: number;
}

/** One row of the service's index of runs (a RunRecord fits). */
interface RunIndexEntry {
  readonly id: string;
  readonly scenario: string;
  /** queued, running, completed, cancelled, failed, interrupted */
  readonly state: string;
  readonly progress?: RunProgressLike | null;
  readonly startedAt?: string | null;
}

/** A run as its page shows it (a RunRecord fits). */
export interface RunPageEntry extends RunIndexEntry {
  readonly createdAt?: string;
  readonly finishedAt?: string | null;
  readonly error?: string;
  readonly stopReason?: string;
  /** The stored results are partial (the run was stopped or failed). */
  readonly partial?: boolean;
  readonly guests?: number;
  readonly variants?: readonly string[];
}

interface ServicePageOptions {
  /**
   * What the page polls for live state: JSON `{runs: RunRecord[]}` (index) or a RunRecord (run
   * page). Defaults: `/api/runs` and `/api/runs/ID`. null: no live updates.
   */
  readonly pollUrl?: string | null;
  /** Default 2000. */
  readonly pollIntervalMs?: number;
  /** Prefix of a run page's URL; the run's id is appended URI-encoded. Default `/runs/`. */
  readonly runHrefPrefix?: string;
  /** The index's URL (run page's back link). Default `/`. */
  readonly indexHref?: string;
  /** Run page: where the results JSON is. Default `/api/runs/ID/results`. null: no link. */
  readonly resultsHref?: string | null;
  /** Run page: the scenario's description. */
  readonly description?: string;
  readonly chartLibrary?: InlineScript;
}

/** Run states in which a run still changes; the others are final. */
const LIVE_STATES = ['queued', 'running'];

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
const esc = escapeHtml;

/** JSON for a <script type="application/json"> element: no "<" survives, so no "</script". */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function fmtSeconds(s: number): string {
  return `${formatFigure(s)} s`;
}

function fmtNs(ns: number): string {
  if (ns >= 1e9) return `${fmtShort(ns / 1e9)} s`;
  if (ns >= 1e6) return `${fmtShort(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${fmtShort(ns / 1e3)} µs`;
  return `${fmtShort(ns)} ns`;
}

function fmtShort(n: number): string {
  return String(Number(n.toPrecision(4)));
}

function fmtFactor(f: number): string {
  return `${f >= 10 ? f.toFixed(1) : f.toFixed(2)}×`;
}

/** "2026-11-25T06:00:00.000Z" -> "2026-11-25 06:00:00 UTC" (deterministic, no locale). */
function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

// ---------------------------------------------------------------------------------------------
// Colours (Tableau 10): variants and exit reasons keep their colour on every chart of a page.
// ---------------------------------------------------------------------------------------------

const VARIANT_COLORS = [
  '#e15759',
  '#4e79a7',
  '#59a14f',
  '#f28e2b',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
  '#bab0ac',
];
const REASON_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];
const OTHER_COLOR = '#bab0ac';
/** Exit reasons drawn by name; the rest are summed as "other reasons". */
const MAX_REASONS = REASON_COLORS.length;
const OTHER_REASONS = 'other reasons';
/** Points per line of a time-series chart at most (longer series are merged bucket-wise). */
const MAX_POINTS = 1500;

function variantColor(i: number): string {
  return VARIANT_COLORS[i % VARIANT_COLORS.length];
}

// ---------------------------------------------------------------------------------------------
// Chart specifications: plain JSON Chart.js configurations (the page script adds nothing but the
// value-label plugin and the log-scale toggle), so the data behind every chart is testable here.
// ---------------------------------------------------------------------------------------------

type ChartKind = 'phases' | 'exits' | 'timeline' | 'latency';

export interface ChartSpec {
  /** The canvas element's id. */
  readonly canvas: string;
  readonly kind: ChartKind;
  /** Timeline charts: the variant drawn. */
  readonly variant?: string;
  /** Charts that share a log-scale toggle. */
  readonly group?: string;
  /** Chart title (with units), also the canvas's accessible name. */
  readonly title: string;
  /** CSS height of the chart box in px. */
  readonly height: number;
  /** A Chart.js configuration (JSON only). */
  readonly config: Record<string, unknown>;
}

interface Section {
  readonly html: string;
  readonly charts: readonly ChartSpec[];
}

function titleOpts(text: string, subtitle?: string | string[]): Record<string, unknown> {
  return {
    title: { display: true, text, font: { size: 15, weight: 'bold' }, padding: { top: 4, bottom: subtitle ? 2 : 10 } },
    ...(subtitle
      ? { subtitle: { display: true, text: subtitle, font: { size: 13 }, color: '#444', padding: { bottom: 10 } } }
      : {}),
  };
}

function axisTitle(text: string): Record<string, unknown> {
  return { display: true, text, font: { size: 12, weight: 'bold' } };
}

interface SeriesData {
  readonly stepSeconds: number;
  readonly exits: Readonly<Record<string, readonly number[]>>;
}

/** The variant's `series` when it is present and well formed. */
function seriesOf(v: VariantResult): SeriesData | undefined {
  const s = (v as { series?: unknown }).series;
  if (typeof s !== 'object' || s === null) return undefined;
  const { stepSeconds, exits } = s as { stepSeconds?: unknown; exits?: unknown };
  if (typeof stepSeconds !== 'number' || !(stepSeconds > 0) || !Number.isFinite(stepSeconds)) return undefined;
  if (typeof exits !== 'object' || exits === null) return undefined;
  for (const arr of Object.values(exits)) {
    if (!Array.isArray(arr) || arr.some((x) => typeof x !== 'number' || !Number.isFinite(x))) return undefined;
  }
  return { stepSeconds, exits: exits as Record<string, readonly number[]> };
}

/** Exit reasons in order of their largest per-guest-second rate over the variants. */
function rankReasons(variants: readonly VariantResult[]): string[] {
  const peak = new Map<string, number>();
  for (const v of variants) {
    for (const [name, count] of Object.entries(v.totals.exits))
      peak.set(name, Math.max(peak.get(name) ?? 0, perGuestSecond(v, count)));
    const s = seriesOf(v);
    if (s) for (const name of Object.keys(s.exits)) if (!peak.has(name)) peak.set(name, 0);
  }
  return [...peak.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name]) => name);
}

interface ReasonPlan {
  /** Reasons drawn by name, in stacking order. */
  readonly named: readonly string[];
  readonly color: (reason: string) => string;
  /** Name of the bucket a reason is drawn in (itself, or OTHER_REASONS). */
  readonly bucket: (reason: string) => string;
  readonly buckets: readonly string[];
}

function planReasons(variants: readonly VariantResult[]): ReasonPlan {
  const ranked = rankReasons(variants);
  const named = ranked.length > MAX_REASONS ? ranked.slice(0, MAX_REASONS - 1) : ranked;
  const namedSet = new Set(named);
  const hasOther = ranked.length > named.length;
  return {
    named,
    color: (r) => (namedSet.has(r) ? REASON_COLORS[named.indexOf(r)] : OTHER_COLOR),
    bucket: (r) => (namedSet.has(r) ? r : OTHER_REASONS),
    buckets: hasOther ? [...named, OTHER_REASONS] : named,
  };
}

function phaseNames(variants: readonly VariantResult[]): string[] {
  const names: string[] = [];
  for (const v of variants) for (const p of Object.keys(v.totals.phaseSeconds)) if (!names.includes(p)) names.push(p);
  return names;
}

interface PhaseComparison {
  readonly phase: string;
  readonly slow: { readonly variant: string; readonly seconds: number };
  readonly fast: { readonly variant: string; readonly seconds: number };
  /** slow / fast */
  readonly speedup: number;
}

/** For each phase finished by two or more variants: the slowest and the fastest, and their ratio. */
export function phaseComparisons(results: RunResults): PhaseComparison[] {
  const out: PhaseComparison[] = [];
  for (const phase of phaseNames(results.variants)) {
    const done = results.variants
      .map((v) => ({ variant: v.name, seconds: v.totals.phaseSeconds[phase] }))
      .filter((x): x is { variant: string; seconds: number } => typeof x.seconds === 'number' && x.seconds > 0);
    if (done.length < 2) continue;
    let slow = done[0];
    let fast = done[0];
    for (const d of done) {
      if (d.seconds > slow.seconds) slow = d;
      if (d.seconds < fast.seconds) fast = d;
    }
    out.push({ phase, slow, fast, speedup: slow.seconds / fast.seconds });
  }
  return out;
}

function comparisonText(c: PhaseComparison): string {
  return `${c.phase}: ${fmtSeconds(c.slow.seconds)} (${c.slow.variant}) vs ${fmtSeconds(c.fast.seconds)} (${c.fast.variant}), ${fmtFactor(c.speedup)} faster`;
}

function phaseChart(results: RunResults, prefix: string): ChartSpec | undefined {
  const phases = phaseNames(results.variants);
  if (phases.length === 0) return undefined;
  const comparisons = phaseComparisons(results);
  const title = 'Phase completion time (simulated seconds, mean over guests; shorter is better)';
  const rows = phases.length * results.variants.length;
  return {
    canvas: `${prefix}-chart-phases`,
    kind: 'phases',
    title,
    height: Math.max(200, 120 + rows * 44 + comparisons.length * 18),
    config: {
      type: 'bar',
      data: {
        labels: phases,
        datasets: results.variants.map((v, i) => ({
          label: v.name,
          data: phases.map((p) =>
            typeof v.totals.phaseSeconds[p] === 'number' ? roundSignificant(v.totals.phaseSeconds[p]) : null,
          ),
          backgroundColor: variantColor(i),
          borderColor: variantColor(i),
          borderWidth: 1,
        })),
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { right: 80 } },
        scales: {
          x: { beginAtZero: true, title: axisTitle('simulated seconds to complete the phase') },
          y: { title: axisTitle('phase') },
        },
        plugins: {
          ...titleOpts(title, comparisons.length > 0 ? comparisons.map(comparisonText) : undefined),
          legend: { position: 'bottom' },
          vmexitValueLabels: { mode: 'each', suffix: ' s' },
        },
      },
    },
  };
}

function exitsChart(results: RunResults, plan: ReasonPlan, prefix: string): ChartSpec | undefined {
  if (plan.buckets.length === 0) return undefined;
  const title = 'Exits by reason (VM exits per second per guest, simulated time)';
  const rates = (v: VariantResult, bucket: string): number => {
    let sum = 0;
    for (const [name, count] of Object.entries(v.totals.exits)) if (plan.bucket(name) === bucket) sum += count;
    return roundSignificant(perGuestSecond(v, sum));
  };
  return {
    canvas: `${prefix}-chart-exits`,
    kind: 'exits',
    title,
    height: Math.max(200, 130 + results.variants.length * 48),
    config: {
      type: 'bar',
      data: {
        labels: results.variants.map((v) => v.name),
        datasets: plan.buckets.map((b) => ({
          label: b,
          data: results.variants.map((v) => rates(v, b)),
          backgroundColor: plan.color(b),
          borderColor: '#ffffff',
          borderWidth: 1,
        })),
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { right: 90 } },
        scales: {
          x: { stacked: true, beginAtZero: true, title: axisTitle('exits per second per guest') },
          y: { stacked: true, title: axisTitle('variant') },
        },
        plugins: {
          ...titleOpts(title, 'bars stacked by exit reason; the figure at the end is the total'),
          legend: { position: 'bottom' },
          vmexitValueLabels: {
            mode: 'stackTotal',
            suffix: ' /s',
            totals: results.variants.map((v) => roundSignificant(perGuestSecond(v, v.totals.exitsTotal))),
          },
        },
      },
    },
  };
}

/** Per-variant timeline points, per reason bucket: [{x: seconds (bucket middle), y: exits/s per guest}]. */
export function timelinePoints(
  v: VariantResult,
  s: SeriesData,
  bucketOf: (reason: string) => string = (r) => r,
): Map<string, { x: number; y: number }[]> {
  const n = Math.max(0, ...Object.values(s.exits).map((a) => a.length));
  const k = Math.max(1, Math.ceil(n / MAX_POINTS));
  const guests = Math.max(1, v.totals.guests);
  const end = v.totals.simulatedSeconds > 0 ? v.totals.simulatedSeconds : n * s.stepSeconds;
  const sums = new Map<string, number[]>();
  for (const [reason, arr] of Object.entries(s.exits)) {
    const b = bucketOf(reason);
    let acc = sums.get(b);
    if (!acc) {
      acc = new Array<number>(Math.ceil(n / k)).fill(0);
      sums.set(b, acc);
    }
    for (let i = 0; i < arr.length; i++) acc[Math.floor(i / k)] += arr[i];
  }
  const out = new Map<string, { x: number; y: number }[]>();
  for (const [b, acc] of sums) {
    out.set(
      b,
      acc.map((sum, j) => {
        const t0 = j * k * s.stepSeconds;
        const full = Math.min(n, (j + 1) * k) * s.stepSeconds;
        // The last bucket may be cut short by the end of the run.
        let t1 = Math.min(full, end);
        if (!(t1 > t0)) t1 = full;
        return { x: roundSignificant(t0 + (t1 - t0) / 2, 8), y: roundSignificant(sum / (t1 - t0) / guests) };
      }),
    );
  }
  return out;
}

function timelineCharts(
  results: RunResults,
  plan: ReasonPlan,
  prefix: string,
): { charts: ChartSpec[]; missing: string[] } {
  const charts: ChartSpec[] = [];
  const missing: string[] = [];
  const prepared: { v: VariantResult; i: number; points: Map<string, { x: number; y: number }[]> }[] = [];
  let xMax = 0;
  let yMax = 0;
  results.variants.forEach((v, i) => {
    const s = seriesOf(v);
    if (!s) {
      missing.push(v.name);
      return;
    }
    const points = timelinePoints(v, s, plan.bucket);
    const n = Math.max(0, ...Object.values(s.exits).map((a) => a.length));
    xMax = Math.max(
      xMax,
      Math.min(n * s.stepSeconds, v.totals.simulatedSeconds > 0 ? v.totals.simulatedSeconds : Infinity),
    );
    for (const pts of points.values()) for (const p of pts) yMax = Math.max(yMax, p.y);
    prepared.push({ v, i, points });
  });
  for (const { v, i, points } of prepared) {
    const title = `${v.name}: exits per second per guest over simulated time, by reason`;
    charts.push({
      canvas: `${prefix}-chart-timeline-${i}`,
      kind: 'timeline',
      variant: v.name,
      group: `${prefix}-timeline`,
      title,
      height: 320,
      config: {
        type: 'line',
        data: {
          datasets: plan.buckets
            .filter((b) => points.has(b))
            .map((b) => ({
              label: b,
              data: points.get(b),
              borderColor: plan.color(b),
              backgroundColor: plan.color(b),
              borderWidth: 1.5,
              pointRadius: 0,
              pointHoverRadius: 3,
              tension: 0,
            })),
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          scales: {
            x: { type: 'linear', min: 0, max: roundSignificant(xMax), title: axisTitle('simulated time (s)') },
            y: {
              type: 'linear',
              beginAtZero: true,
              suggestedMax: roundSignificant(yMax),
              title: axisTitle('exits per second per guest'),
            },
          },
          plugins: {
            ...titleOpts(title, `${v.policy} on ${v.host.cpu}; same axes on every variant's chart`),
            legend: { position: 'bottom' },
          },
        },
      },
    });
  }
  return { charts, missing };
}

interface LatencyView {
  readonly labels: string[];
  /** Bucket index range [first, last] drawn. */
  readonly first: number;
  readonly last: number;
}

function latencyView(variants: readonly VariantResult[]): LatencyView | undefined {
  const withData = variants.filter((v) => v.totals.interruptLatency.count > 0);
  if (withData.length === 0) return undefined;
  const bounds = withData[0].totals.interruptLatency.boundsNs;
  // Variants with other bucket bounds cannot share the chart's x axis.
  if (withData.some((v) => v.totals.interruptLatency.boundsNs.join() !== bounds.join())) return undefined;
  const labels = [...bounds.map((b) => `≤ ${fmtNs(b)}`), `> ${fmtNs(bounds[bounds.length - 1] ?? 0)}`];
  let first = labels.length;
  let last = -1;
  for (const v of withData) {
    v.totals.interruptLatency.counts.forEach((c, i) => {
      if (c > 0) {
        first = Math.min(first, i);
        last = Math.max(last, i);
      }
    });
  }
  if (last < 0) return undefined;
  return { labels, first, last };
}

function latencyChart(results: RunResults, prefix: string): ChartSpec | undefined {
  const view = latencyView(results.variants);
  if (!view) return undefined;
  const title = 'Interrupt latency, arrival to delivery (% of delivered interrupts per latency bucket)';
  return {
    canvas: `${prefix}-chart-latency`,
    kind: 'latency',
    title,
    height: 340,
    config: {
      type: 'bar',
      data: {
        labels: view.labels.slice(view.first, view.last + 1),
        datasets: results.variants.map((v, i) => {
          const h = v.totals.interruptLatency;
          return {
            label: v.name,
            data: h.counts
              .slice(view.first, view.last + 1)
              .map((c) => (h.count > 0 ? roundSignificant((100 * c) / h.count, 5) : 0)),
            backgroundColor: variantColor(i),
            borderColor: variantColor(i),
            borderWidth: 1,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { title: axisTitle('latency bucket (upper bound)') },
          y: { beginAtZero: true, title: axisTitle('% of delivered interrupts') },
        },
        plugins: {
          ...titleOpts(title),
          legend: { position: 'bottom' },
        },
      },
    },
  };
}

/** Upper bound of the bucket holding quantile q of a histogram, as text ("≤ 2.5 µs", "> 100 ms"). */
export function latencyQuantile(h: LatencyHistogram, q: number): string {
  if (h.count === 0) return '-';
  const target = q * h.count;
  let cum = 0;
  for (let i = 0; i < h.counts.length; i++) {
    cum += h.counts[i];
    if (cum >= target && h.counts[i] > 0)
      return i < h.boundsNs.length ? `≤ ${fmtNs(h.boundsNs[i])}` : `> ${fmtNs(h.boundsNs[h.boundsNs.length - 1] ?? 0)}`;
  }
  return '-';
}

// ---------------------------------------------------------------------------------------------
// HTML sections
// ---------------------------------------------------------------------------------------------

function chartBox(spec: ChartSpec): string {
  return `<figure class="chart" style="height:${spec.height}px"><canvas id="${esc(spec.canvas)}" data-chart="${spec.kind}"${spec.variant !== undefined ? ` data-variant="${esc(spec.variant)}"` : ''} role="img" aria-label="${esc(spec.title)}"></canvas></figure>`;
}

function note(text: string): string {
  return `<p class="note">${esc(text)}</p>`;
}

function badge(ok: boolean, okText = 'PASS', failText = 'FAIL'): string {
  return ok ? `<span class="badge pass">${okText}</span>` : `<span class="badge fail">${failText}</span>`;
}

function verdict(results: RunResults): string {
  const all = [...results.variants.flatMap((v) => v.thresholds), ...results.crossVariantThresholds];
  const failed = all.filter((t) => !t.passed).length;
  const unexpected = results.variants.reduce((n, v) => n + v.totals.violations.filter((x) => !x.expected).length, 0);
  const entries = results.variants.reduce((n, v) => n + v.totals.entryFailures.length, 0);
  const status = exitStatusOf(results);
  const parts: string[] = [];
  parts.push(
    all.length === 0
      ? 'no thresholds'
      : failed === 0
        ? `all ${all.length} thresholds passed`
        : `${failed} of ${all.length} thresholds failed`,
  );
  if (unexpected > 0) parts.push(`${unexpected} unexpected invariant violation${unexpected === 1 ? '' : 's'}`);
  if (entries > 0) parts.push(`${entries} failed VM entr${entries === 1 ? 'y' : 'ies'}`);
  return `<p class="verdict ${status === 0 ? 'pass' : 'fail'}" data-exit-status="${status}">${badge(status === 0)} ${esc(parts.join('; '))} <span class="muted">(exit status ${status})</span></p>`;
}

/** Key figures above the details: phase times with their speed-up, and exit rates, variant against variant. */
function headline(results: RunResults): string {
  const cards: string[] = [];
  const color = (name: string): string =>
    variantColor(
      Math.max(
        0,
        results.variants.findIndex((v) => v.name === name),
      ),
    );
  const figure = (name: string, text: string): string => `<span style="color:${color(name)}">${esc(text)}</span>`;
  for (const c of phaseComparisons(results)) {
    cards.push(
      `<div class="card" data-phase="${esc(c.phase)}"><div class="card-label">${esc(c.phase)} phase: simulated time to complete</div>` +
        `<div class="card-figure">${figure(c.slow.variant, fmtSeconds(c.slow.seconds))} <span class="vs">vs</span> ${figure(c.fast.variant, fmtSeconds(c.fast.seconds))}</div>` +
        `<div class="card-detail">${esc(c.slow.variant)} vs ${esc(c.fast.variant)}: <strong>${esc(fmtFactor(c.speedup))} faster</strong></div></div>`,
    );
  }
  if (results.variants.length >= 2) {
    const rates = results.variants.map((v) => ({ name: v.name, rate: perGuestSecond(v, v.totals.exitsTotal) }));
    const hi = rates.reduce((a, b) => (b.rate > a.rate ? b : a));
    const lo = rates.reduce((a, b) => (b.rate < a.rate ? b : a));
    const factor =
      lo.rate > 0 && hi !== lo ? `: ${hi.name} has ${fmtFactor(hi.rate / lo.rate)} the exits of ${lo.name}` : '';
    cards.push(
      `<div class="card"><div class="card-label">VM exits per second per guest</div>` +
        `<div class="card-figure">${rates.map((r) => figure(r.name, formatFigure(r.rate))).join(' <span class="vs">vs</span> ')}</div>` +
        `<div class="card-detail">${rates.map((r) => esc(r.name)).join(' vs ')}${esc(factor)}</div></div>`,
    );
  }
  return cards.length > 0 ? `<div class="cards">${cards.join('')}</div>` : '';
}

function kv(obj: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(obj);
  if (entries.length === 0) return '-';
  return entries.map(([k, val]) => `${esc(k)}=${esc(typeof val === 'string' ? val : JSON.stringify(val))}`).join(', ');
}

function variantsTable(results: RunResults): string {
  const vs = results.variants;
  const phases = phaseNames(vs);
  const row = (label: string, cells: string[], cls = ''): string =>
    `<tr${cls ? ` class="${cls}"` : ''}><th scope="row">${esc(label)}</th>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const num = (f: (v: VariantResult) => number): string[] => vs.map((v) => esc(formatFigure(f(v))));
  const rows: string[] = [
    row(
      'policy',
      vs.map((v) => esc(v.policy)),
    ),
    row(
      'CPU',
      vs.map((v) => esc(v.host.cpu)),
    ),
    row(
      'hosts × cores',
      vs.map((v) => esc(`${v.host.count} × ${v.host.cores}`)),
    ),
    row(
      'matrix values',
      vs.map((v) => kv(v.params)),
    ),
    row(
      'tunables',
      vs.map((v) => kv(v.tunables)),
    ),
    row(
      'guests / vCPUs',
      vs.map((v) => esc(`${v.totals.guests} / ${v.totals.vcpus}`)),
    ),
    row(
      'simulated seconds (longest host)',
      num((v) => v.totals.simulatedSeconds),
    ),
    ...phases.map((p) =>
      row(
        `${p} phase completed in (s)`,
        vs.map((v) =>
          typeof v.totals.phaseSeconds[p] === 'number' ? esc(formatFigure(v.totals.phaseSeconds[p])) : '-',
        ),
        'hl',
      ),
    ),
    row(
      'VM exits, total',
      num((v) => v.totals.exitsTotal),
    ),
    row(
      'VM exits per second per guest',
      num((v) => perGuestSecond(v, v.totals.exitsTotal)),
      'hl',
    ),
    row(
      '%cr8 accesses per second per guest',
      num((v) => perGuestSecond(v, v.totals.cr8Accesses)),
    ),
    row(
      'interrupts raised / delivered',
      vs.map((v) => esc(`${formatFigure(v.totals.interruptsRaised)} / ${formatFigure(v.totals.interruptsDelivered)}`)),
    ),
    row(
      'interrupt latency, mean',
      vs.map((v) =>
        esc(
          v.totals.interruptLatency.count > 0
            ? fmtNs(v.totals.interruptLatency.sumNs / v.totals.interruptLatency.count)
            : '-',
        ),
      ),
    ),
    row(
      'host seconds handling exits',
      num((v) => Object.values(v.totals.hostSecondsInExits).reduce((a, b) => a + b, 0)),
    ),
    row(
      'guest CPU seconds',
      num((v) => v.totals.guestCpuSeconds),
    ),
    row(
      'thresholds passed / failed',
      vs.map((v) =>
        esc(`${v.thresholds.filter((t) => t.passed).length} / ${v.thresholds.filter((t) => !t.passed).length}`),
      ),
    ),
    row(
      'invariant violations',
      vs.map((v) => esc(String(v.totals.violations.length))),
    ),
  ];
  return `<div class="scroll"><table class="variants"><thead><tr><th scope="col">variant</th>${vs.map((v, i) => `<th scope="col"><span class="swatch" style="background:${variantColor(i)}"></span>${esc(v.name)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function exitsTable(results: RunResults, reasons: readonly string[]): string {
  if (reasons.length === 0) return '';
  const head = `<tr><th scope="col">exit reason</th>${results.variants.map((v) => `<th scope="col">${esc(v.name)}<br><span class="muted">per s per guest</span></th><th scope="col">${esc(v.name)}<br><span class="muted">total</span></th>`).join('')}</tr>`;
  const rows = reasons.map(
    (r) =>
      `<tr><th scope="row"><code>${esc(r)}</code></th>${results.variants
        .map((v) => {
          const c = v.totals.exits[r] ?? 0;
          return `<td>${esc(formatFigure(perGuestSecond(v, c)))}</td><td>${esc(formatFigure(c))}</td>`;
        })
        .join('')}</tr>`,
  );
  return `<details><summary>Exit counts by reason (table)</summary><div class="scroll"><table class="numbers">${head}${rows.join('')}</table></div></details>`;
}

function latencyTable(results: RunResults): string {
  const head =
    '<tr><th scope="col">variant</th><th scope="col">delivered interrupts measured</th><th scope="col">mean</th><th scope="col">median</th><th scope="col">90th percentile</th><th scope="col">99th percentile</th></tr>';
  const rows = results.variants.map((v) => {
    const h = v.totals.interruptLatency;
    return `<tr><th scope="row">${esc(v.name)}</th><td>${esc(formatFigure(h.count))}</td><td>${esc(h.count > 0 ? fmtNs(h.sumNs / h.count) : '-')}</td><td>${esc(latencyQuantile(h, 0.5))}</td><td>${esc(latencyQuantile(h, 0.9))}</td><td>${esc(latencyQuantile(h, 0.99))}</td></tr>`;
  });
  return `<div class="scroll"><table class="numbers">${head}${rows.join('')}</table></div><p class="muted small">Percentiles are the upper bounds of the histogram buckets that hold them.</p>`;
}

function thresholdRows(scope: string, list: readonly ThresholdOutcome[]): string[] {
  return list.map(
    (t) =>
      `<tr class="${t.passed ? 'pass' : 'fail'}"><td>${badge(t.passed)}</td><td>${esc(scope)}</td><td><code>${esc(t.metric)}</code></td><td><code>${esc(t.expr)}</code></td><td>${esc(t.value === null ? 'no data' : formatFigure(t.value))}</td><td class="small">${!t.passed && t.message ? esc(t.message) : ''}</td></tr>`,
  );
}

function thresholdsTable(results: RunResults): string {
  const rows = [
    ...results.variants.flatMap((v) => thresholdRows(v.name, v.thresholds)),
    ...thresholdRows('across variants', results.crossVariantThresholds),
  ];
  if (rows.length === 0) return note('The scenario sets no thresholds.');
  return `<div class="scroll"><table class="thresholds"><thead><tr><th scope="col">result</th><th scope="col">variant</th><th scope="col">metric</th><th scope="col">condition</th><th scope="col">value</th><th scope="col">detail</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function stateHtml(state: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(state);
  if (entries.length === 0) return '-';
  return `<dl class="state">${entries.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${esc(typeof val === 'string' ? val : JSON.stringify(val))}</dd>`).join('')}</dl>`;
}

function violationRow(variant: string, x: ViolationRecord): string {
  return (
    `<tr class="${x.expected ? 'expected' : 'fail'}"><td>${x.expected ? '<span class="badge expected">expected</span>' : '<span class="badge fail">UNEXPECTED</span>'}</td><td>${esc(variant)}</td>` +
    `<td><code>${esc(x.check)}</code><br>${esc(x.message)}</td><td>${esc(x.guest)}</td><td>${esc(String(x.host))}</td><td>${esc(String(x.vcpu))}</td>` +
    `<td>${esc(fmtNs(x.simTimeNs))}</td><td class="step">${esc(String(x.step))}</td><td>${stateHtml(x.state)}</td></tr>`
  );
}

function violationsSection(results: RunResults): string {
  const rows = results.variants.flatMap((v) => v.totals.violations.map((x) => violationRow(v.name, x)));
  const failures = results.variants.flatMap((v) =>
    v.totals.entryFailures.map(
      (f) =>
        `<tr class="fail"><td>${esc(v.name)}</td><td>${esc(f.guest)}</td><td>${esc(f.message)}</td><td><code>${esc(JSON.stringify(f.failedChecks))}</code></td></tr>`,
    ),
  );
  let html =
    rows.length === 0
      ? note('No invariant violations: every consistency check of the hypervisor model held.')
      : `<div class="scroll"><table class="violations"><thead><tr><th scope="col"></th><th scope="col">variant</th><th scope="col">check</th><th scope="col">guest</th><th scope="col">host</th><th scope="col">vCPU</th><th scope="col">simulated time</th><th scope="col">step</th><th scope="col">LAPIC / hypervisor state at the violation</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  if (failures.length > 0) {
    html += `<h3>Failed VM entries</h3><div class="scroll"><table class="violations"><thead><tr><th scope="col">variant</th><th scope="col">guest</th><th scope="col">error</th><th scope="col">failed checks</th></tr></thead><tbody>${failures.join('')}</tbody></table></div>`;
  }
  return html;
}

function reportSection(input: ReportInput, index: number, headingLevel: 1 | 2): Section {
  const r = input.results;
  const prefix = `s${index}`;
  const h = (n: number): string => `h${Math.min(6, n + headingLevel - 1)}`;
  const plan = planReasons(r.variants);
  const charts: ChartSpec[] = [];
  const parts: string[] = [];
  const meta = [
    `file <code>${esc(r.file)}</code>`,
    `seed ${esc(String(r.seed))}`,
    ...(r.shard ? [`shard ${r.shard.index}/${r.shard.count}`] : []),
    `started ${esc(fmtTime(r.startedAt))}`,
    `${esc(r.wallSeconds.toFixed(1))} s wall`,
    `${esc(r.tool.name)} ${esc(r.tool.version)}, model ${esc(r.tool.modelVersion)}`,
  ];
  parts.push(`<section class="report" id="${prefix}" data-scenario="${esc(r.scenario)}">`);
  parts.push(`<${h(1)} class="scenario-name">${esc(r.scenario)}</${h(1)}>`);
  if (input.description) parts.push(`<p class="description">${esc(input.description)}</p>`);
  parts.push(`<p class="meta">${meta.join(' · ')}</p>`);
  parts.push(verdict(r));
  parts.push(headline(r));

  parts.push(`<${h(2)}>Variants</${h(2)}>`);
  parts.push(variantsTable(r));

  parts.push(`<${h(2)}>Phase completion time</${h(2)}>`);
  const phases = phaseChart(r, prefix);
  if (phases) {
    charts.push(phases);
    parts.push(chartBox(phases));
  } else
    parts.push(
      note(
        'No work-bound phases in this scenario (phases with a fixed amount of work, such as install or build, have a completion time).',
      ),
    );

  parts.push(`<${h(2)}>Exits by reason</${h(2)}>`);
  const exits = exitsChart(r, plan, prefix);
  if (exits) {
    charts.push(exits);
    parts.push(chartBox(exits));
    parts.push(exitsTable(r, rankReasons(r.variants)));
  } else parts.push(note('No VM exits in this run.'));

  parts.push(`<${h(2)}>Exits per second over simulated time</${h(2)}>`);
  const timeline = timelineCharts(r, plan, prefix);
  if (timeline.charts.length > 0) {
    parts.push(
      `<p class="controls"><label><input type="checkbox" data-log-toggle="${prefix}-timeline"> logarithmic y axis</label></p>`,
    );
    parts.push(`<div class="grid">${timeline.charts.map(chartBox).join('')}</div>`);
    charts.push(...timeline.charts);
  }
  if (timeline.missing.length > 0) {
    parts.push(
      note(
        `No time series in these results for ${timeline.missing.join(', ')} (results.json without variants[].series, e.g. from an older vmexit-lab): the over-time chart is left out; the totals above are complete.`,
      ),
    );
  }

  parts.push(`<${h(2)}>Interrupt latency</${h(2)}>`);
  const latency = latencyChart(r, prefix);
  if (latency) {
    charts.push(latency);
    parts.push(chartBox(latency));
  } else parts.push(note('No interrupt latency was measured in this run.'));
  parts.push(latencyTable(r));

  parts.push(`<${h(2)}>Thresholds</${h(2)}>`);
  parts.push(thresholdsTable(r));

  parts.push(`<${h(2)}>Invariant violations</${h(2)}>`);
  parts.push(violationsSection(r));
  parts.push('</section>');
  return { html: parts.join('\n'), charts };
}

// ---------------------------------------------------------------------------------------------
// Page shell
// ---------------------------------------------------------------------------------------------

interface PageParts {
  readonly title: string;
  readonly body: string;
  readonly charts: readonly ChartSpec[];
  /** Extra inline script (live updates), run last. */
  readonly script?: string;
  /** JSON config for the extra script. */
  readonly live?: unknown;
  readonly nav?: string;
  readonly chartLibrary?: InlineScript;
}

function page(p: PageParts): string {
  const lib = p.charts.length > 0 ? (p.chartLibrary ?? chartJsAsset()) : undefined;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push('<head>');
  out.push('<meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push('<meta name="generator" content="vmexit-lab">');
  // No favicon request (a server without one would log a 404 in the console).
  out.push('<link rel="icon" href="data:,">');
  out.push(`<title>${esc(p.title)}</title>`);
  out.push(`<style>\n${reportAssets().css}</style>`);
  out.push('</head>');
  out.push('<body>');
  out.push(`<header class="top"><span class="brand">vmexit-lab</span>${p.nav ?? ''}</header>`);
  out.push('<main>');
  out.push(p.body);
  out.push('</main>');
  out.push(
    `<footer>Made by vmexit-lab. Counts are exact and deterministic for the scenario and seed; rates are per guest and simulated second.${lib ? ` Charts drawn with ${esc(lib.name)} ${esc(lib.version)} (${esc(lib.license)} licence), included in this file.` : ''}</footer>`,
  );
  if (lib) {
    out.push(`<script>${lib.source}</script>`);
    out.push(`<script type="application/json" id="vmexit-lab-charts">${jsonForScript(p.charts)}</script>`);
    out.push(`<script>${scriptSafe(reportAssets().charts)}</script>`);
  }
  if (p.script) {
    if (p.live !== undefined)
      out.push(`<script type="application/json" id="vmexit-lab-live">${jsonForScript(p.live)}</script>`);
    out.push(`<script>${scriptSafe(p.script)}</script>`);
  }
  out.push('</body>');
  out.push('</html>');
  return `${out.join('\n')}\n`;
}

function reportBody(inputs: readonly ReportInput[]): { body: string; charts: ChartSpec[] } {
  const sections = inputs.map((input, i) => reportSection(input, i, inputs.length > 1 ? 2 : 1));
  let body = sections.map((s) => s.html).join('\n');
  if (inputs.length > 1) {
    const toc = inputs.map((input, i) => `<li><a href="#s${i}">${esc(input.results.scenario)}</a></li>`).join('');
    body = `<h1>vmexit-lab report: ${inputs.length} scenarios</h1><ul class="toc">${toc}</ul>\n${body}`;
  }
  return { body, charts: sections.flatMap((s) => s.charts) };
}

// ---------------------------------------------------------------------------------------------
// Public renderers
// ---------------------------------------------------------------------------------------------

/** The report of one run as a self-contained HTML document. */
export function renderHtmlReport(results: RunResults, options: HtmlReportOptions = {}): string {
  return renderHtmlReports(
    [{ results, ...(options.description !== undefined ? { description: options.description } : {}) }],
    options,
  );
}

/** Several scenarios' reports in one self-contained HTML document (`vmexit-lab run --html` with several files). */
export function renderHtmlReports(
  inputs: readonly ReportInput[],
  options: Omit<HtmlReportOptions, 'description'> = {},
): string {
  if (inputs.length === 0) throw new Error('renderHtmlReports: no results');
  const { body, charts } = reportBody(inputs);
  const title =
    options.title ??
    (inputs.length === 1
      ? `vmexit-lab report: ${inputs[0].results.scenario}`
      : `vmexit-lab report: ${inputs.map((i) => i.results.scenario).join(', ')}`);
  return page({ title, body, charts, ...(options.chartLibrary ? { chartLibrary: options.chartLibrary } : {}) });
}

function runHref(prefix: string, id: string): string {
  return `${prefix}${encodeURIComponent(id)}`;
}

function stateBadge(state: string, id?: string): string {
  const known = /^[a-z]+$/.test(state) ? ` state-${state}` : '';
  return `<span${id ? ` id="${id}"` : ''} class="badge state${known}" data-state="${esc(state)}">${esc(state)}</span>`;
}

function progressText(p: RunProgressLike | null | undefined): string {
  if (!p) return '-';
  const pct = `${Math.floor(Math.max(0, Math.min(1, p.fraction)) * 100)} %`;
  const sim =
    typeof p.simSeconds === 'number' && typeof p.limitSeconds === 'number'
      ? `, ${simRound(p.simSeconds, p.limitSeconds)} of ${simRound(p.limitSeconds, p.limitSeconds)} simulated s`
      : '';
  return `${pct}${sim}`;
}

/** Simulated seconds of progress: whole seconds, tenths for runs under 100 s. */
function simRound(x: number, limit: number): string {
  return String(limit < 100 ? Math.round(x * 10) / 10 : Math.round(x));
}

function progressCell(p: RunProgressLike | null | undefined): string {
  const value = p ? Math.max(0, Math.min(1, p.fraction)) : 0;
  return `<progress max="1" value="${value}"></progress> <span class="progress-text">${esc(progressText(p))}</span>`;
}

/** The service's `/`: runs with their state and progress, updated live from the runs API. */
export function renderRunsIndex(runs: readonly RunIndexEntry[], options: ServicePageOptions = {}): string {
  const prefix = options.runHrefPrefix ?? '/runs/';
  const pollUrl = options.pollUrl === undefined ? '/api/runs' : options.pollUrl;
  const rows = runs.map(
    (r) =>
      `<tr data-run-id="${esc(r.id)}"><td><a href="${esc(runHref(prefix, r.id))}">${esc(r.id)}</a></td><td>${esc(r.scenario)}</td><td>${stateBadge(r.state)}</td><td class="progress">${progressCell(r.progress)}</td><td>${esc(fmtTime(r.startedAt))}</td></tr>`,
  );
  const body = [
    '<h1>Runs</h1>',
    `<p class="live" id="live-status">${pollUrl ? 'live: waiting for the first update' : 'not updated live'}</p>`,
    `<p class="note" id="runs-empty"${runs.length > 0 ? ' hidden' : ''}>No runs yet. Submit one with <code>POST /api/runs</code> (scenario YAML, or JSON <code>{"scenario": "NAME"}</code>).</p>`,
    `<div class="scroll"><table id="runs-table"${runs.length === 0 ? ' hidden' : ''}><thead><tr><th scope="col">run</th><th scope="col">scenario</th><th scope="col">state</th><th scope="col">progress</th><th scope="col">started</th></tr></thead><tbody id="runs-body">${rows.join('')}</tbody></table></div>`,
  ].join('\n');
  return page({
    title: 'vmexit-lab: runs',
    body,
    charts: [],
    script: reportAssets().runsPage,
    live: { pollUrl, intervalMs: options.pollIntervalMs ?? 2000, runHrefPrefix: prefix },
  });
}

/**
 * The service's `/runs/:id`: the run's state and progress (live while it is queued or running;
 * the page reloads itself when the run ends) and, when there are results, the full report.
 */
export function renderRunPage(
  run: RunPageEntry,
  results?: RunResults | null,
  options: ServicePageOptions = {},
): string {
  const isLive = LIVE_STATES.includes(run.state);
  const pollUrl = options.pollUrl === undefined ? `/api/runs/${encodeURIComponent(run.id)}` : options.pollUrl;
  const resultsHref =
    options.resultsHref === undefined ? `/api/runs/${encodeURIComponent(run.id)}/results` : options.resultsHref;
  const indexHref = options.indexHref ?? '/';
  const facts: string[] = [
    `<tr><th scope="row">state</th><td>${stateBadge(run.state, 'run-state')}${run.stopReason ? ` <span class="muted">(${esc(run.stopReason)})</span>` : ''}${run.partial ? ' <span class="badge expected">partial results</span>' : ''}</td></tr>`,
    `<tr><th scope="row">progress</th><td id="run-progress">${progressCell(run.progress)}</td></tr>`,
    `<tr><th scope="row">started</th><td>${esc(fmtTime(run.startedAt))}</td></tr>`,
  ];
  if (run.finishedAt) facts.push(`<tr><th scope="row">finished</th><td>${esc(fmtTime(run.finishedAt))}</td></tr>`);
  if (run.guests !== undefined) facts.push(`<tr><th scope="row">guests</th><td>${esc(String(run.guests))}</td></tr>`);
  if (run.variants && run.variants.length > 0)
    facts.push(`<tr><th scope="row">variants</th><td>${run.variants.map((v) => esc(v)).join(', ')}</td></tr>`);
  if (run.error) facts.push(`<tr class="fail"><th scope="row">error</th><td>${esc(run.error)}</td></tr>`);
  if (results && resultsHref)
    facts.push(
      `<tr><th scope="row">results.json</th><td><a href="${esc(resultsHref)}">${esc(resultsHref)}</a></td></tr>`,
    );
  const head = [
    `<h1>Run <code>${esc(run.id)}</code>: ${esc(run.scenario)}</h1>`,
    ...(isLive && pollUrl ? ['<p class="live" id="live-status">live: waiting for the first update</p>'] : []),
    `<table class="run-facts">${facts.join('')}</table>`,
  ];
  let body = head.join('\n');
  let charts: ChartSpec[] = [];
  if (results) {
    // The run page has its own h1: the report starts at h2.
    const section = reportSection(
      { results, ...(options.description !== undefined ? { description: options.description } : {}) },
      0,
      2,
    );
    body += `\n${section.html}`;
    charts = [...section.charts];
  } else if (isLive) {
    body += `\n${note('The report appears here when the run ends.')}`;
  } else {
    body += `\n${note(`This run has no results${run.error ? '' : ' stored'}.`)}`;
  }
  return page({
    title: `vmexit-lab run ${run.id}: ${run.scenario}`,
    body,
    charts,
    nav: `<a href="${esc(indexHref)}">all runs</a>`,
    ...(isLive && pollUrl
      ? {
          script: reportAssets().runPage,
          live: { pollUrl, intervalMs: options.pollIntervalMs ?? 2000, liveStates: LIVE_STATES },
        }
      : {}),
    ...(options.chartLibrary ? { chartLibrary: options.chartLibrary } : {}),
  });
}
