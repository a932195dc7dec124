/**
 * The `compare:` list of a validation case (src/validation/load.ts reads the rest): each row's metric,
 * reasons, variant and phase checked against the case's scenario, its real value, tolerance and
 * provenance notes (derivation, notComparable, fittedBy), with file:line:col diagnostics.
 */
import type { Node as YamlNode, YAMLMap } from 'yaml';
import { exitKindByName } from '../core/vcpu/exits.js';
import {
  kvmStatExitCode,
  kvmStatNameVendor,
  linuxExitCode,
  linuxNameVendor,
  modelExitName,
} from '../import/exitNames.js';
import type { Reader, Field, Val } from '../input/reader.js';
import { unknownVariantMessage } from '../scenario/matrix.js';
import { DEFAULT_TOLERANCE, METRIC_KINDS, type Comparison, type MetricKind } from './types.js';

export const COMPARE_KEYS = [
  'key',
  'metric',
  'reasons',
  'per',
  'variant',
  'relativeTo',
  'phase',
  'real',
  'label',
  'derivation',
  'tolerance',
  'notComparable',
  'fittedBy',
] as const;

export function opt<T>(
  fields: { get(name: string): Field | undefined } | undefined,
  name: string,
  read: (v: Field) => T | undefined,
): T | undefined {
  const f = fields?.get(name);
  return f === undefined ? undefined : read(f);
}

export function nonEmpty(r: Reader, v: Val, what: string): string | undefined {
  const s = r.str(v, what);
  if (s === undefined) return undefined;
  if (s.trim() === '') return r.error(v, `${what} is empty`, 'a non-empty string', 'an empty string');
  return s;
}

function positiveNumber(r: Reader, v: Val, what: string): number | undefined {
  const s = r.scalar(v);
  if (s === undefined || typeof s.value !== 'number' || !Number.isFinite(s.value))
    return r.error(v, `wrong type for ${what}`, 'a positive number', r.describe(v.node));
  if (s.value <= 0) return r.error(v, `${what} must be greater than 0`, 'a positive number', r.describe(v.node));
  return s.value;
}

/** What the case's scenario can measure, for the checks of its comparisons (undefined: no scenario). */
export interface CompareContext {
  /** Variant names, the first the default. */
  readonly variants: readonly string[];
  /** The CPU vendors of the variants' hosts: an exit of another vendor never happens. */
  readonly vendors: readonly string[];
  /** The phases the scenario's guests run (phase_seconds). */
  readonly phases: readonly string[];
}

export function readCompare(r: Reader, v: Field, ctx: CompareContext | undefined): Comparison[] | undefined {
  const items = r.seq(v, 'compare', 'a list of comparisons');
  if (items === undefined) return undefined;
  if (items.length === 0) return r.error(v, 'compare is empty', 'at least one comparison');
  const out: Comparison[] = [];
  const keys = new Map<string, Val>();
  let ok = true;
  for (const item of items) {
    const m = r.map(item, 'a comparison');
    if (m === undefined) {
      ok = false;
      continue;
    }
    const c = readComparison(r, m, ctx);
    if (c === undefined) {
      ok = false;
      continue;
    }
    const first = keys.get(c.key);
    if (first !== undefined) {
      r.error(
        { node: m as YamlNode },
        `duplicate comparison "${c.key}" (first at line ${r.where(first).line})`,
        'a unique key: give one with key: ...',
      );
      ok = false;
      continue;
    }
    keys.set(c.key, { node: m });
    out.push(c);
  }
  return ok ? out : undefined;
}

function readComparison(r: Reader, m: YAMLMap, ctx: CompareContext | undefined): Comparison | undefined {
  const variants = ctx?.variants;
  const f = r.fields(m, 'a comparison', COMPARE_KEYS, ['metric', 'real', 'label']);
  const metric = opt(f, 'metric', (x) => r.oneOf(x, 'metric', METRIC_KINDS));
  const reasons: string[] = [];
  const rf = f.get('reasons');
  if (rf !== undefined) {
    for (const item of r.seq(rf, 'reasons', 'a list of exit names') ?? []) {
      const s = r.str(item, 'an exit name');
      if (s === undefined) continue;
      if (exitKindByName(s) === undefined) {
        const model = modelNameOfReportName(s);
        r.error(
          item,
          model === undefined
            ? `unknown exit "${s}"`
            : `unknown exit "${s}" (a perf / kvm_stat name: the model calls it ${model})`,
          model ?? 'an exit name of the model (src/core/vcpu/exits.ts), e.g. MSR_WRITE',
        );
      } else {
        // An exit of the other vendor's table (VMEXIT_MSR on an Intel host) counts 0 for ever: a
        // share of 0, "outside", for a case that only named the wrong table.
        const vendor = exitKindByName(s)!.vendor;
        if (ctx !== undefined && !ctx.vendors.includes(vendor))
          r.error(
            item,
            `${s} is an ${vendor === 'amd' ? 'AMD' : 'Intel'} exit; the scenario's hosts are ${ctx.vendors.join(', ')}`,
            `the ${ctx.vendors.join(' / ')} name of that exit (src/core/vcpu/exits.ts)`,
          );
        reasons.push(s);
      }
    }
  }
  if (
    metric !== undefined &&
    (metric === 'exit_share' || metric === 'time_per_exit_us') &&
    reasons.length === 0 &&
    (rf === undefined || r.sink.size === 0)
  ) {
    r.error(rf ?? { node: m as YamlNode }, `${metric} needs the exits it is about`, 'reasons: [EXIT_NAME, ...]');
  }
  // Keys a metric does not read would be silently ignored (compare.ts metricValue): a `phase` on a
  // rate does not restrict the rate to that phase, `per` divides only rates and CPU fractions,
  // `reasons` select exits only for exit metrics. Refused where written.
  if (metric !== undefined) {
    const pf = f.get('phase');
    if (pf !== undefined && metric !== 'phase_seconds')
      r.error(pf, `phase applies to phase_seconds only, not ${metric}`, `no phase (${metric} is over the whole run)`);
    const perf = f.get('per');
    if (perf !== undefined && metric !== 'exits_per_second' && metric !== 'host_cpu_fraction')
      r.error(perf, `per applies to exits_per_second and host_cpu_fraction only, not ${metric}`, 'no per');
    if (rf !== undefined && !EXIT_METRICS.includes(metric))
      r.error(rf, `reasons do not apply to ${metric}`, `no reasons (they select exits for ${EXIT_METRICS.join(', ')})`);
  }
  const per = opt(f, 'per', (x) => r.oneOf(x, 'per', ['vm', 'vcpu'] as const)) ?? 'vm';
  const variantName = (x: Field, what: string): string | undefined => {
    const s = r.str(x, what);
    if (s !== undefined && variants !== undefined && !variants.includes(s))
      return r.error(x, unknownVariantMessage(s, variants, what), `one of ${variants.join(', ')}`);
    return s;
  };
  const variant = opt(f, 'variant', (x) => variantName(x, 'variant'));
  const relativeTo = opt(f, 'relativeTo', (x) => variantName(x, 'relativeTo'));
  const phase = opt(f, 'phase', (x) => {
    const p = nonEmpty(r, x, 'phase');
    if (p !== undefined && metric === 'phase_seconds' && ctx !== undefined && !ctx.phases.includes(p))
      return r.error(x, `the scenario runs no phase "${p}"`, `one of ${ctx.phases.join(', ') || '(none)'}`);
    return p;
  });
  if (metric === 'phase_seconds' && phase === undefined && !f.mentions('phase'))
    r.error(m, 'phase_seconds needs the phase', 'phase: install');
  const real = opt(f, 'real', (x) => {
    const v = positiveNumber(r, x, 'real');
    // Samples% copied as printed (89.96) is the commonest slip when a report is turned into a case.
    if (v !== undefined && metric === 'exit_share' && v > 1)
      return r.error(
        x,
        'an exit_share is a fraction of the exits, not a percentage',
        `${Number((v / 100).toPrecision(6))} for ${v} %`,
        String(v),
      );
    return v;
  });
  if (relativeTo !== undefined && relativeTo === (variant ?? variants?.[0])) {
    r.error(
      f.get('relativeTo')!,
      'relativeTo is the measured variant itself (the ratio would always be 1)',
      `another variant than ${relativeTo}`,
    );
  }
  const label = opt(f, 'label', (x) => nonEmpty(r, x, 'label'));
  const derivation = opt(f, 'derivation', (x) => nonEmpty(r, x, 'derivation'));
  const notComparable = opt(f, 'notComparable', (x) => nonEmpty(r, x, 'notComparable'));
  const fittedBy = opt(f, 'fittedBy', (x) => nonEmpty(r, x, 'fittedBy'));
  let tolerance: readonly [number, number] | undefined;
  const tf = f.get('tolerance');
  if (tf !== undefined) {
    const t = r.seq(tf, 'tolerance', 'a list [low, high] of model/real bounds');
    if (t !== undefined) {
      const lo = t[0] === undefined ? undefined : positiveNumber(r, t[0], 'tolerance low');
      const hi = t[1] === undefined ? undefined : positiveNumber(r, t[1], 'tolerance high');
      if (t.length !== 2) r.error(tf, 'wrong tolerance', 'two bounds [low, high] on model/real', `${t.length} values`);
      else if (lo !== undefined && hi !== undefined) {
        if (!(lo < 1 && hi > 1)) r.error(tf, 'a tolerance must contain 1', 'low < 1 < high', `[${lo}, ${hi}]`);
        else tolerance = [lo, hi];
      }
    }
  }
  if (metric === undefined || real === undefined || label === undefined) return undefined;
  const key =
    opt(f, 'key', (x) => r.str(x, 'key', /^[A-Za-z0-9_.:{}=,"/@+-]+$/, 'a key without spaces')) ??
    defaultKey(metric, reasons, per, variant, relativeTo, phase);
  return {
    key,
    metric,
    reasons,
    per,
    real,
    label,
    tolerance: tolerance ?? DEFAULT_TOLERANCE[metric],
    ...(variant !== undefined ? { variant } : {}),
    ...(relativeTo !== undefined ? { relativeTo } : {}),
    ...(phase !== undefined ? { phase } : {}),
    ...(derivation !== undefined ? { derivation } : {}),
    ...(notComparable !== undefined ? { notComparable } : {}),
    ...(fittedBy !== undefined ? { fittedBy } : {}),
  };
}

/** The metrics `reasons` selects exits for. */
const EXIT_METRICS: readonly MetricKind[] = ['exits_per_second', 'exit_share', 'time_per_exit_us'];

/**
 * The model's name for an exit as a report prints it (perf kvm stat / kvm_exit tracepoint names such
 * as EOI_INDUCED, PREEMPTION_TIMER, PAUSE_INSTRUCTION or SVM's lower-case msr; kvm_stat's SVM names
 * such as IOIO), for the diagnostic of a case that uses the report's spelling; undefined when the
 * name is no tool's or the model has no such exit.
 */
function modelNameOfReportName(name: string): string | undefined {
  const v = linuxNameVendor(name);
  const viaPerf = v === 'unknown' ? undefined : modelExitName({ vendor: v, code: linuxExitCode(v, name) });
  if (viaPerf !== undefined) return viaPerf;
  const k = kvmStatNameVendor(name);
  return k === 'unknown' ? undefined : modelExitName({ vendor: k, code: kvmStatExitCode(k, name) });
}

/** metric{reasons,per,phase}[@variant[/relativeTo]]: stable and readable. */
export function defaultKey(
  metric: MetricKind,
  reasons: readonly string[],
  per: 'vm' | 'vcpu',
  variant?: string,
  relativeTo?: string,
  phase?: string,
): string {
  const labels = [
    ...(reasons.length > 0 ? [reasons.join('+')] : []),
    ...((metric === 'exits_per_second' || metric === 'host_cpu_fraction') && per === 'vcpu' ? ['per-vcpu'] : []),
    ...(phase !== undefined ? [phase] : []),
  ];
  const at = variant === undefined ? '' : `@${variant}${relativeTo === undefined ? '' : `/${relativeTo}`}`;
  const rel = variant === undefined && relativeTo !== undefined ? `@/${relativeTo}` : '';
  return `${metric}${labels.length > 0 ? `{${labels.join(',')}}` : ''}${at}${rel}`;
}
