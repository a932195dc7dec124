/**
 * The comparisons of a validation case against a run's results: pure (results in, rows out).
 *
 * Model values, from results.json totals of the variant (docs/RESULTS.md):
 * - exits_per_second: exits (of `reasons`, or all) / simulated seconds, per VM (divided by the
 *   number of guests) or per vCPU;
 * - exit_share: exits of `reasons` / all exits;
 * - time_per_exit_us: host seconds in exits of `reasons` / their count (the model's host time per
 *   exit: transition + handler, data/cost-model.yaml);
 * - host_cpu_fraction: (guest CPU seconds + host seconds in exits + the device model's host seconds
 *   outside exits) / simulated seconds per VM, in host cores (what `top` shows for a VM's process,
 *   its vCPU threads and its main loop, 1.0 = one core);
 * - interrupt_latency_mean_us: mean raise-to-delivery latency of the guest's interrupts;
 * - phase_seconds: the completion time of a work-bound phase.
 * With `relativeTo`, the value is metric(variant) / metric(relativeTo).
 */
import type { RunResults, VariantTotals } from '../results/types.js';
import { phaseUnfinishedOf, unfinishedPhaseSentence } from '../results/phases.js';
import type { BeforeValues } from './load.js';
import type { Comparison, ValidationCase } from './types.js';

export type RowStatus = 'within' | 'outside' | 'n/a';

export interface ComparisonRow {
  readonly caseId: string;
  readonly key: string;
  readonly label: string;
  readonly real: number;
  /** null: the model produces no such value here (see note). */
  readonly model: number | null;
  readonly ratio: number | null;
  readonly tolerance: readonly [number, number];
  readonly status: RowStatus;
  readonly note?: string;
  /** Constants fitted to this row (the row is not held out). */
  readonly fittedBy?: string;
  /** Recorded before any model fix (data/validation/before.json); undefined when not recorded. */
  readonly before?: number | null;
  readonly beforeRatio?: number | null;
}

export type CaseStatus = 'within' | 'outside' | 'known gap' | 'n/a';

export interface CaseResult {
  readonly id: string;
  readonly title: string;
  readonly fitted: boolean;
  readonly knownGap?: string;
  readonly sourceId: string;
  readonly status: CaseStatus;
  readonly rows: readonly ComparisonRow[];
  /** Simulated seconds of the run (all variants), for the runtime report. */
  readonly simulatedSeconds: number;
}

function sum(rec: Readonly<Record<string, number>>, names: readonly string[]): number {
  if (names.length === 0) return Object.values(rec).reduce((a, b) => a + b, 0);
  return names.reduce((a, n) => a + (rec[n] ?? 0), 0);
}

/** One metric on one variant's totals; null when undefined here (no such exits, no such phase). */
export function metricValue(c: Comparison, t: VariantTotals): number | null {
  const seconds = t.simulatedSeconds;
  if (!(seconds > 0)) return null;
  switch (c.metric) {
    case 'exits_per_second': {
      const n = c.reasons.length === 0 ? t.exitsTotal : sum(t.exits, c.reasons);
      return n / seconds / (c.per === 'vcpu' ? t.vcpus : t.guests);
    }
    case 'exit_share':
      return t.exitsTotal > 0 ? sum(t.exits, c.reasons) / t.exitsTotal : null;
    case 'time_per_exit_us': {
      const n = sum(t.exits, c.reasons);
      return n > 0 ? (sum(t.hostSecondsInExits, c.reasons) / n) * 1e6 : null;
    }
    case 'host_cpu_fraction': {
      const host = t.guestCpuSeconds + sum(t.hostSecondsInExits, []) + (t.deviceModelSeconds ?? 0);
      return host / seconds / (c.per === 'vcpu' ? t.vcpus : t.guests);
    }
    case 'interrupt_latency_mean_us':
      return t.interruptLatency.count > 0 ? t.interruptLatency.sumNs / t.interruptLatency.count / 1000 : null;
    case 'phase_seconds': {
      const x = c.phase === undefined ? undefined : t.phaseSeconds[c.phase];
      // As a threshold on it (src/results/thresholds.ts): not the mean of the guests that got through.
      if (phaseUnfinishedOf(t, c.phase) > 0) return null;
      return x === undefined ? null : x;
    }
  }
}

/**
 * Why a comparison has no model value on a variant's totals (`t` undefined: no such variant): the row's
 * note, so a case writer sees that the run made none of the exits, not only "n/a".
 */
export function noModelValueNote(c: Comparison, t: VariantTotals | undefined): string {
  if (t === undefined) return `the run has no such variant (${c.variant ?? 'first'})`;
  if (!(t.simulatedSeconds > 0)) return 'the run simulated no time';
  switch (c.metric) {
    case 'exit_share':
      return 'the run made no exit at all';
    case 'time_per_exit_us':
      return `the run made no ${c.reasons.join(' or ')} exit to time (the model produces none for this setup and duration)`;
    case 'interrupt_latency_mean_us':
      return 'the run delivered no interrupt to measure';
    case 'phase_seconds': {
      const missing = phaseUnfinishedOf(t, c.phase);
      // The threshold's sentence (src/results/phases.ts), so the two never word the fact apart.
      return c.phase !== undefined && missing > 0
        ? unfinishedPhaseSentence(c.phase, missing, t.phaseSeconds[c.phase] !== undefined)
        : `phase "${c.phase ?? ''}" did not complete in the run`;
    }
    default:
      return 'the model produces no such value for this setup';
  }
}

/** The model's value for a comparison on a run (ratio between variants with relativeTo). */
export function modelValue(c: Comparison, results: RunResults): number | null {
  const byName = (name: string | undefined): VariantTotals | undefined =>
    name === undefined ? results.variants[0]?.totals : results.variants.find((v) => v.name === name)?.totals;
  const t = byName(c.variant);
  if (t === undefined) return null;
  const x = metricValue(c, t);
  if (c.relativeTo === undefined || x === null) return x;
  const base = byName(c.relativeTo);
  const y = base === undefined ? null : metricValue(c, base);
  return y === null || y === 0 ? null : x / y;
}

export function statusOf(ratio: number | null, tolerance: readonly [number, number]): RowStatus {
  if (ratio === null) return 'n/a';
  return ratio >= tolerance[0] && ratio <= tolerance[1] ? 'within' : 'outside';
}

/** Compare a case with its run; `before` adds the recorded before-values. */
export function compareCase(vc: ValidationCase, results: RunResults, before?: BeforeValues): CaseResult {
  const rows = vc.compare.map((c): ComparisonRow => {
    const recorded = before?.[vc.id];
    const b = recorded === undefined || !(c.key in recorded) ? undefined : recorded[c.key]!;
    const beforePart = {
      ...(b === undefined ? {} : { before: b, beforeRatio: b === null ? null : b / c.real }),
      ...(c.fittedBy !== undefined ? { fittedBy: c.fittedBy } : {}),
    };
    if (c.notComparable !== undefined) {
      return {
        caseId: vc.id,
        key: c.key,
        label: c.label,
        real: c.real,
        model: null,
        ratio: null,
        tolerance: c.tolerance,
        status: 'n/a',
        note: c.notComparable,
        ...beforePart,
      };
    }
    const model = modelValue(c, results);
    const ratio = model === null ? null : model / c.real;
    const totalsOf = (name: string | undefined): VariantTotals | undefined =>
      name === undefined ? results.variants[0]?.totals : results.variants.find((v) => v.name === name)?.totals;
    // The relativeTo side is null only when its value is 0 or absent: name the side that has none.
    const why = (): string => {
      const own = totalsOf(c.variant);
      if (own === undefined || metricValue(c, own) === null) return noModelValueNote(c, own);
      const base = totalsOf(c.relativeTo);
      return base === undefined || metricValue(c, base) === null
        ? `${noModelValueNote({ ...c, variant: c.relativeTo }, base)} (relativeTo ${c.relativeTo ?? ''})`
        : `the relativeTo variant's value is 0`;
    };
    return {
      caseId: vc.id,
      key: c.key,
      label: c.label,
      real: c.real,
      model,
      ratio,
      tolerance: c.tolerance,
      status: statusOf(ratio, c.tolerance),
      ...(model === null ? { note: why() } : {}),
      ...beforePart,
    };
  });
  const compared = rows.filter((r) => r.status !== 'n/a');
  const outside = compared.some((r) => r.status === 'outside');
  const status: CaseStatus =
    compared.length === 0 ? 'n/a' : !outside ? 'within' : vc.knownGap !== undefined ? 'known gap' : 'outside';
  return {
    id: vc.id,
    title: vc.title,
    fitted: vc.fitted,
    sourceId: vc.source.id,
    status,
    rows,
    ...(vc.knownGap !== undefined ? { knownGap: vc.knownGap } : {}),
    simulatedSeconds: results.variants.reduce((a, v) => a + v.totals.simulatedSeconds, 0),
  };
}

/** Ratios of 0 count as this in the geometric mean (a reason the model never produces). */
export const ZERO_RATIO_FLOOR = 1e-3;

export interface Summary {
  /** Compared rows (n/a excluded). */
  readonly rows: number;
  readonly within: number;
  readonly outside: number;
  readonly notComparable: number;
  /** Geometric mean of model/real over compared rows (zero ratios floored at ZERO_RATIO_FLOOR). */
  readonly geometricMean: number | null;
  /** Geometric mean of the error factor max(r, 1/r): how far off a typical row is, either way. */
  readonly geometricMeanError: number | null;
  /** The row farthest from 1 (in log). */
  readonly worst: { readonly caseId: string; readonly key: string; readonly ratio: number } | null;
  readonly cases: number;
  readonly casesWithin: number;
  readonly casesKnownGap: number;
  readonly casesOutside: number;
}

/** Held out: a row of a case not fitted as a whole (the seed's) and no constant was fitted to. */
export function isHeldOut(c: CaseResult, r: ComparisonRow): boolean {
  return !c.fitted && r.fittedBy === undefined;
}

export function summarize(
  results: readonly CaseResult[],
  pick: (r: ComparisonRow) => number | null | undefined = (r) => r.ratio,
  keep: (c: CaseResult, r: ComparisonRow) => boolean = () => true,
): Summary {
  const all = results.flatMap((c) => c.rows.filter((r) => keep(c, r)));
  const ratios = all
    .map((r) => ({ r, x: r.status === 'n/a' ? undefined : pick(r) }))
    .filter((e): e is { r: ComparisonRow; x: number } => e.x !== undefined && e.x !== null);
  const logs = ratios.map((e) => Math.log(Math.max(e.x, ZERO_RATIO_FLOOR)));
  const gm = logs.length === 0 ? null : Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length);
  const gme = logs.length === 0 ? null : Math.exp(logs.reduce((a, b) => a + Math.abs(b), 0) / logs.length);
  let worst: Summary['worst'] = null;
  for (let i = 0; i < ratios.length; i++) {
    if (worst === null || Math.abs(logs[i]) > Math.abs(Math.log(Math.max(worst.ratio, ZERO_RATIO_FLOOR))))
      worst = { caseId: ratios[i].r.caseId, key: ratios[i].r.key, ratio: ratios[i].x };
  }
  const within = ratios.filter((e) => e.x >= e.r.tolerance[0] && e.x <= e.r.tolerance[1]).length;
  return {
    rows: ratios.length,
    within,
    outside: ratios.length - within,
    notComparable: all.length - ratios.length,
    geometricMean: gm,
    geometricMeanError: gme,
    worst,
    cases: results.length,
    casesWithin: results.filter((c) => c.status === 'within').length,
    casesKnownGap: results.filter((c) => c.status === 'known gap').length,
    casesOutside: results.filter((c) => c.status === 'outside').length,
  };
}

/** 0 when every case is within or a known gap (n/a cases count as neither), 1 otherwise. */
export function validationExitStatus(results: readonly CaseResult[]): 0 | 1 {
  return results.some((c) => c.status === 'outside') ? 1 : 0;
}
