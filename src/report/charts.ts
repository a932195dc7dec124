/**
 * The report's charts as plain JSON Chart.js configurations (charts.js in src/report/assets draws
 * them and adds nothing but the value labels and the log-scale toggle): phase times, exits by
 * reason, exits over time, interrupt latency. Variants and exit reasons keep their colour on every
 * chart of a page.
 */
import type { LatencyHistogram, RunResults, VariantResult } from '../results/types.js';
import {
  FIGURE_FORMAT,
  factorText,
  nsText,
  perGuestSecond,
  roundSignificant,
  secondsText,
} from '../results/figures.js';

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

export function variantColor(i: number): string {
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
export function rankReasons(variants: readonly VariantResult[]): string[] {
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

export function planReasons(variants: readonly VariantResult[]): ReasonPlan {
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

export function phaseNames(variants: readonly VariantResult[]): string[] {
  const names: string[] = [];
  for (const v of variants)
    for (const p of [...Object.keys(v.totals.phaseSeconds), ...Object.keys(v.totals.phaseUnfinished ?? {})])
      if (!names.includes(p)) names.push(p);
  return names;
}

interface PhaseComparison {
  readonly phase: string;
  readonly slow: { readonly variant: string; readonly seconds: number };
  readonly fast: { readonly variant: string; readonly seconds: number };
  /** slow / fast */
  readonly speedup: number;
}

/**
 * For each phase finished by two or more variants: the slowest and the fastest, and their ratio. A
 * variant some of whose guests had not finished the phase is left out: its mean covers only the
 * guests that got through, so it would read faster than it was.
 */
export function phaseComparisons(results: RunResults): PhaseComparison[] {
  const out: PhaseComparison[] = [];
  for (const phase of phaseNames(results.variants)) {
    const done = results.variants
      .filter((v) => (v.totals.phaseUnfinished?.[phase] ?? 0) === 0)
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
  return `${c.phase}: ${secondsText(c.slow.seconds)} (${c.slow.variant}) vs ${secondsText(c.fast.seconds)} (${c.fast.variant}), ${factorText(c.speedup)} faster`;
}

export function phaseChart(results: RunResults, prefix: string): ChartSpec | undefined {
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
          vmexitValueLabels: { mode: 'each', suffix: ' s', format: FIGURE_FORMAT },
        },
      },
    },
  };
}

export function exitsChart(results: RunResults, plan: ReasonPlan, prefix: string): ChartSpec | undefined {
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
            format: FIGURE_FORMAT,
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

export function timelineCharts(
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
  const labels = [...bounds.map((b) => `≤ ${nsText(b)}`), `> ${nsText(bounds[bounds.length - 1] ?? 0)}`];
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

export function latencyChart(results: RunResults, prefix: string): ChartSpec | undefined {
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
      return i < h.boundsNs.length
        ? `≤ ${nsText(h.boundsNs[i])}`
        : `> ${nsText(h.boundsNs[h.boundsNs.length - 1] ?? 0)}`;
  }
  return '-';
}
