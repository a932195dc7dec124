/**
 * A scenario's `thresholds:` mapping, read and checked at load time: each key and expression parsed
 * by the threshold language (src/scenario/thresholds.ts), then checked against it and against this
 * scenario - label values, the variants named and their CPU vendor (an exit reason is VT-x or SVM),
 * the phases some guest runs work-bound, an aggregation only on a histogram. Each problem is a
 * diagnostic at its key or expression; the loader (load.ts) throws them together.
 */
import type { Vendor } from '../core/cpu/profile.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { didYouMean } from '../input/diagnostics.js';
import type { Reader, Val } from '../input/reader.js';
import { unknownVariantMessage } from './matrix.js';
import {
  EXPR_EXPECTED,
  INTERRUPT_SOURCES,
  METRIC_NAMES,
  THRESHOLD_METRICS,
  ThresholdSyntaxError,
  VIOLATION_CHECKS,
  parseThreshold,
  parseThresholdExpr,
  parseThresholdKey,
  type LabelKind,
  type ParsedExpr,
  type ParsedKey,
} from './thresholds.js';
import type { ThresholdSpec } from './types.js';

const EXIT_NAMES = EXIT_KINDS.map((k) => k.name);

interface ThresholdContext {
  /** Every variant of the scenario, with its CPU vendor (undefined: the variants were invalid; skip variant checks). */
  readonly variants: readonly { readonly name: string; readonly vendor: Vendor }[] | undefined;
  /** Phases that some guest runs as work-bound (given `work`): phase_seconds has data for them. */
  readonly workPhases: ReadonlySet<string> | undefined;
}

const LABEL_VALUES: Readonly<Record<Exclude<LabelKind, 'phase'>, readonly string[]>> = {
  reason: EXIT_NAMES,
  source: INTERRUPT_SOURCES,
  check: VIOLATION_CHECKS,
};

/** Semantic problems of a parsed key, or undefined when it is fine. */
function checkKey(
  key: ParsedKey,
  ctx: ThresholdContext,
): { message: string; expected?: string; found?: string } | undefined {
  const name = key.metric.name;
  const def = THRESHOLD_METRICS[name];
  if (def === undefined) {
    return {
      message: `unknown threshold metric "${name}"${didYouMean(name, METRIC_NAMES)}`,
      expected: `one of ${METRIC_NAMES.join(', ')}`,
    };
  }
  for (const [label, value] of Object.entries(key.metric.labels)) {
    if (!(def.labels as readonly string[]).includes(label)) {
      const allowed = ['variant', ...def.labels];
      return {
        message: `metric ${name} has no label "${label}"${didYouMean(label, allowed)}`,
        expected: `labels ${allowed.join(', ')}`,
      };
    }
    const kind = label as LabelKind;
    if (kind === 'phase') {
      if (ctx.workPhases !== undefined && !ctx.workPhases.has(value)) {
        const known = [...ctx.workPhases];
        return {
          message: `${name}{phase="${value}"}: no guest runs a work-bound "${value}" phase${didYouMean(value, known)}`,
          expected:
            known.length > 0
              ? `one of ${known.join(', ')} (phases given \`work\`)`
              : 'a phase given `work` in some guest',
        };
      }
      continue;
    }
    const values = LABEL_VALUES[kind];
    if (!values.includes(value)) {
      return {
        message: `unknown ${kind} "${value}" in ${name}${didYouMean(value, values)}`,
        expected: `one of ${values.join(', ')}`,
      };
    }
  }
  for (const req of def.requiredLabels ?? []) {
    if (key.metric.labels[req] === undefined)
      return { message: `metric ${name} needs a ${req} label, e.g. ${name}{${req}="install"}` };
  }
  if (ctx.variants === undefined) return undefined;
  const variants = ctx.variants;
  const names = variants.map((v) => v.name);
  const known = (v: string): boolean => names.includes(v);
  const unknownVariant = (v: string) => ({
    // An old-style name (before bare values were named KEY=VALUE, src/scenario/matrix.ts) gets the new name.
    message: unknownVariantMessage(v, names),
    expected: `one of ${names.join(', ')}`,
  });
  const targets: string[] = [];
  if (key.kind === 'ratio') {
    for (const v of [key.numerator!, key.denominator!]) if (!known(v)) return unknownVariant(v);
    if (key.numerator === key.denominator)
      return { message: `ratio(...) compares variant "${key.numerator}" with itself` };
    targets.push(key.numerator!, key.denominator!);
  } else if (key.variant !== undefined) {
    if (!known(key.variant)) return unknownVariant(key.variant);
    targets.push(key.variant);
  } else targets.push(...names);
  const reason = key.metric.labels['reason'];
  if (reason !== undefined) {
    const vendor = EXIT_KINDS.find((k) => k.name === reason)!.vendor;
    for (const t of targets) {
      const tv = variants.find((v) => v.name === t)!;
      if (tv.vendor !== vendor) {
        return {
          message: `exit reason ${reason} is ${vendor === 'intel' ? 'a VT-x' : 'an SVM'} exit, but variant "${t}" runs on ${tv.vendor === 'intel' ? 'an Intel' : 'an AMD'} CPU; restrict the threshold with variant="..."`,
        };
      }
    }
  }
  return undefined;
}

/**
 * Read the `thresholds:` mapping. Problems are reported to the reader; returns the specs (possibly
 * incomplete when something was reported — the loader then throws).
 */
export function parseThresholds(r: Reader, v: Val, file: string, ctx: ThresholdContext): ThresholdSpec[] {
  const m = r.map(v, 'thresholds');
  if (m === undefined) return [];
  const f = r.fields(m, 'thresholds', () => true);
  const out: ThresholdSpec[] = [];
  for (const field of f) {
    let key: ParsedKey | undefined;
    const keyPos = r.positionOf(field.key);
    try {
      key = parseThresholdKey(field.name);
    } catch (e) {
      if (!(e instanceof ThresholdSyntaxError)) throw e;
      r.errorAt(keyPos, `${e.message} in "${field.name}"`, e.expected, e.found);
    }
    if (key !== undefined) {
      const problem = checkKey(key, ctx);
      if (problem) {
        r.errorAt(keyPos, problem.message, problem.expected, problem.found);
        key = undefined;
      }
    }
    const exprs = r.seq(field, `thresholds.${field.name}`, 'a list of expressions such as ["< 1000"]');
    if (exprs === undefined) continue;
    if (exprs.length === 0) {
      r.error(
        field,
        `thresholds.${field.name} has no expressions`,
        'a list of expressions such as ["< 1000"]',
        'an empty list',
      );
      continue;
    }
    for (const ev of exprs) {
      const text = r.str(ev, `threshold expression of ${field.name}`, undefined, EXPR_EXPECTED);
      if (text === undefined) continue;
      let expr: ParsedExpr;
      try {
        expr = parseThresholdExpr(text, field.name);
      } catch (e) {
        if (!(e instanceof ThresholdSyntaxError)) throw e;
        r.error(ev, e.message, e.expected, e.found);
        continue;
      }
      if (key === undefined) continue;
      const def = THRESHOLD_METRICS[key.metric.name];
      if (def.histogram && expr.aggregation === undefined) {
        r.error(
          ev,
          `${key.metric.name} is a histogram: the expression needs an aggregation`,
          'e.g. "p99 < 0.0005", "mean < 0.0001" or "count > 0"',
          JSON.stringify(text),
        );
        continue;
      }
      if (!def.histogram && expr.aggregation !== undefined) {
        r.error(
          ev,
          `${key.metric.name} is not a histogram: aggregations (pNN, mean, count) do not apply`,
          'e.g. "< 1000"',
          JSON.stringify(text),
        );
        continue;
      }
      const pos = r.positionOf(r.resolve(ev.node));
      out.push({
        metric: field.name,
        expr: text,
        source: { file, line: pos.line, column: pos.column },
        parsed: parseThreshold(field.name, text),
      });
    }
  }
  return out;
}
