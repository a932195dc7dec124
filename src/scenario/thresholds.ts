/**
 * Thresholds: pass/fail conditions on the results of a run.
 *
 * Grammar (whitespace is allowed between tokens):
 *
 *   key         = selector | ratio
 *   selector    = metric [ "{" [ label { "," label } [ "," ] ] "}" ]
 *   label       = name "=" string                     ; each label at most once
 *   ratio       = "ratio" "(" selector "," "variant" "=" string "," "variant" "=" string ")"
 *   metric      = [a-z_][a-z0-9_]*                    ; one of METRICS
 *   name        = [A-Za-z_][A-Za-z0-9_]*
 *   string      = '"' { any character but '"' and '\' | '\"' | '\\' } '"'
 *
 *   expression  = [ aggregation ] comparator number
 *   aggregation = quantile | "mean" | "avg" | "med" | "count"   ; histograms only
 *   quantile    = "p" pct | "p(" pct ")"                        ; 0 <= pct <= 100; p(NN) as k6 writes it
 *   pct         = digits [ "." digits ]
 *                 ; k6's names too: avg = mean, med = p50 (k6 thresholds: "p(95)<200", "avg<100")
 *   comparator  = "<" | "<=" | ">" | ">=" | "==" | "!="
 *   number      = [ "+" | "-" ] ( digits [ "." [ digits ] ] | "." digits ) [ ( "e" | "E" ) [ "+" | "-" ] digits ]
 *
 * A scenario maps each key to a list of expressions: `exits_per_second{reason="CR_ACCESS"}: ["< 1000"]`.
 * The label `variant="..."` restricts a threshold to one variant; without it the threshold applies
 * to every variant. ratio(A, variant="x", variant="y") is A in x divided by A in y, evaluated once
 * over the run. Everything is checked at load time (metric and label names, label values, variant
 * names, aggregations); a metric without data at evaluation time FAILS with "no data". The
 * evaluation on a run's results is src/results/thresholds.ts.
 */
import type { Vendor } from '../core/cpu/profile.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { didYouMean } from '../input/diagnostics.js';
import { unknownVariantMessage } from './matrix.js';
import {
  THRESHOLD_COMPARATORS,
  type MetricSelector,
  type ParsedThreshold,
  type ThresholdAggregation,
  type ThresholdComparator,
  type ThresholdSpec,
} from './types.js';
import type { Reader, Val } from '../input/reader.js';
import { parseDurationNs } from '../input/units.js';
import { VIOLATION_CHECKS } from '../core/vcpu/violations.js';

/** The checks a machine reports (defined in the core, src/core/vcpu/violations.ts). */
export { VIOLATION_CHECKS };

export const INTERRUPT_SOURCES = ['timer', 'device', 'ipi'] as const;
export type InterruptSource = (typeof INTERRUPT_SOURCES)[number];

type LabelKind = 'reason' | 'source' | 'phase' | 'check';

interface MetricDef {
  readonly help: string;
  readonly labels: readonly LabelKind[];
  readonly requiredLabels?: readonly LabelKind[];
  /** A histogram: expressions need an aggregation (pNN, mean, count). */
  readonly histogram?: boolean;
}

const METRICS: Readonly<Record<string, MetricDef>> = {
  exits_total: { help: 'VM exits (label reason = exit name; omitted = all exits)', labels: ['reason'] },
  exits_per_second: { help: 'VM exits per guest per simulated second', labels: ['reason'] },
  cr8_accesses_total: { help: 'guest CR8 reads and writes', labels: [] },
  cr8_accesses_per_second: { help: 'CR8 accesses per guest per simulated second', labels: [] },
  interrupts_delivered_total: {
    help: 'interrupts delivered to guests (label source = timer|device|ipi)',
    labels: ['source'],
  },
  interrupts_delivered_per_second: { help: 'interrupts delivered per guest per simulated second', labels: ['source'] },
  interrupt_latency_seconds: {
    help: 'latency from arrival to the start of the guest ISR (histogram: pNN, mean, count)',
    labels: [],
    histogram: true,
  },
  phase_seconds: {
    help: 'simulated seconds to finish a work-bound phase (label phase required)',
    labels: ['phase'],
    requiredLabels: ['phase'],
  },
  host_seconds_in_exits: { help: 'host seconds spent handling exits (label reason optional)', labels: ['reason'] },
  host_exit_time_ratio: { help: 'host seconds in exits / vCPU seconds (simulated seconds * vCPUs)', labels: [] },
  guest_cpu_seconds: { help: 'guest CPU seconds', labels: [] },
  violations_total: { help: 'invariant violations (label check optional)', labels: ['check'] },
};

export const METRIC_NAMES = Object.keys(METRICS);

const EXIT_NAMES = EXIT_KINDS.map((k) => k.name);

// ---------------------------------------------------------------------------------------------
// Syntax

export class ThresholdSyntaxError extends Error {
  constructor(
    message: string,
    /** Character offset in the text where the problem is. */
    readonly offset: number,
    readonly expected?: string,
    readonly found?: string,
  ) {
    super(message);
  }
}

interface ParsedKey {
  readonly kind: 'metric' | 'ratio';
  readonly metric: MetricSelector;
  /** The variant="..." label of a plain key. */
  readonly variant?: string;
  readonly numerator?: string;
  readonly denominator?: string;
}

class Lexer {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  peek(): string {
    this.ws();
    return this.s[this.i] ?? '';
  }
  found(): string {
    this.ws();
    return this.i >= this.s.length ? 'the end of the key' : JSON.stringify(this.s.slice(this.i, this.i + 12));
  }
  expect(ch: string, what: string): void {
    if (this.peek() !== ch)
      throw new ThresholdSyntaxError(`malformed threshold key: expected ${what}`, this.i, `"${ch}"`, this.found());
    this.i++;
  }
  ident(what: string, re = /^[A-Za-z_][A-Za-z0-9_]*/): string {
    this.ws();
    const m = re.exec(this.s.slice(this.i));
    if (!m) throw new ThresholdSyntaxError(`malformed threshold key: expected ${what}`, this.i, what, this.found());
    this.i += m[0].length;
    return m[0];
  }
  str(): string {
    this.ws();
    if (this.s[this.i] !== '"')
      throw new ThresholdSyntaxError(
        'malformed threshold key: expected a quoted label value',
        this.i,
        'a "quoted" value',
        this.found(),
      );
    const start = this.i;
    this.i++;
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== '"') {
      if (this.s[this.i] === '\\') {
        const next = this.s[this.i + 1];
        if (next !== '"' && next !== '\\')
          throw new ThresholdSyntaxError(
            'malformed threshold key: bad escape in label value',
            this.i,
            '\\" or \\\\',
            JSON.stringify(`\\${next ?? ''}`),
          );
        out += next;
        this.i += 2;
      } else {
        out += this.s[this.i];
        this.i++;
      }
    }
    if (this.i >= this.s.length)
      throw new ThresholdSyntaxError(
        'malformed threshold key: unterminated label value',
        start,
        'a closing "',
        'the end of the key',
      );
    this.i++;
    return out;
  }
  end(): void {
    this.ws();
    if (this.i < this.s.length)
      throw new ThresholdSyntaxError(
        'malformed threshold key: unexpected text after the metric',
        this.i,
        'the end of the key',
        this.found(),
      );
  }
}

function selector(lx: Lexer): { metric: MetricSelector; variant?: string; variantOffset?: number } {
  const name = lx.ident('a metric name', /^[a-z_][a-z0-9_]*/);
  const labels: Record<string, string> = {};
  let variant: string | undefined;
  let variantOffset: number | undefined;
  if (lx.peek() === '{') {
    lx.i++;
    while (lx.peek() !== '}') {
      const at = lx.i;
      const label = lx.ident('a label name');
      lx.expect('=', '"=" after the label name');
      const value = lx.str();
      if (label in labels || (label === 'variant' && variant !== undefined)) {
        throw new ThresholdSyntaxError(`label "${label}" given twice`, at);
      }
      if (label === 'variant') {
        variant = value;
        variantOffset = at;
      } else labels[label] = value;
      const next = lx.peek();
      if (next === ',') lx.i++;
      else if (next !== '}')
        throw new ThresholdSyntaxError(
          'malformed threshold key: expected "," or "}" after a label',
          lx.i,
          '"," or "}"',
          lx.found(),
        );
    }
    lx.i++;
  }
  return { metric: { name, labels }, ...(variant !== undefined ? { variant, variantOffset } : {}) };
}

/** Parse a threshold key (syntax only). */
export function parseThresholdKey(text: string): ParsedKey {
  const lx = new Lexer(text);
  lx.ws();
  if (/^ratio\s*\(/.test(text.slice(lx.i))) {
    lx.ident('ratio');
    lx.expect('(', '"("');
    const inner = selector(lx);
    if (inner.variant !== undefined) {
      throw new ThresholdSyntaxError(
        'the metric inside ratio(...) must not have a variant label; name the variants as the 2nd and 3rd arguments',
        inner.variantOffset ?? 0,
      );
    }
    const variants: string[] = [];
    for (let k = 0; k < 2; k++) {
      lx.expect(',', `"," before the ${k === 0 ? 'numerator' : 'denominator'} variant`);
      const at = lx.i;
      const label = lx.ident('variant="..."');
      if (label !== 'variant')
        throw new ThresholdSyntaxError(
          `malformed threshold key: ratio arguments are variant="..."`,
          at,
          'variant="..."',
          JSON.stringify(label),
        );
      lx.expect('=', '"=" after variant');
      variants.push(lx.str());
    }
    lx.expect(')', '")" closing ratio(...)');
    lx.end();
    return { kind: 'ratio', metric: inner.metric, numerator: variants[0], denominator: variants[1] };
  }
  const sel = selector(lx);
  lx.end();
  return { kind: 'metric', metric: sel.metric, ...(sel.variant !== undefined ? { variant: sel.variant } : {}) };
}

interface ParsedExpr {
  readonly aggregation?: ThresholdAggregation;
  readonly comparator: ThresholdComparator;
  readonly bound: number;
}

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const EXPR_EXPECTED = 'an expression such as "< 1000", ">= 0.5", "p99 < 0.0005", "p(99) < 0.0005" or "== 0"';

/** Aggregations an expression may start with, as the did-you-mean offers them. */
const AGGREGATIONS = ['p50', 'p90', 'p99', 'p(99)', 'mean', 'avg', 'med', 'count'];

/**
 * How to write a bound given with a unit as the bare number the grammar takes: a duration in
 * seconds (the *_seconds metrics' unit), a k/M suffix expanded, a percentage as a ratio between
 * variants (a threshold compares the metric itself, not a change). `key` is the threshold's key as
 * written. Empty when the bound does not look like one of those.
 */
function unitHint(num: string, expr: string, key: string | undefined): string {
  const rewrite = (bound: string): string => `${expr.slice(0, expr.length - num.length).trimEnd()} ${bound}`;
  const dur = /^(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s|m|h)$/.exec(num);
  if (dur) {
    const ns = parseDurationNs(`${dur[1]}${dur[2]}`);
    if (ns.ok) {
      const seconds = String(Number((ns.value / 1e9).toPrecision(12)));
      return `; bounds are bare numbers in the metric's unit, latencies and phase times in seconds: ${dur[1]}${dur[2]} is ${seconds} (${rewrite(seconds)})`;
    }
  }
  const si = /^(\d+(?:\.\d+)?)\s*([kKM])$/.exec(num);
  if (si) {
    const n = String(Number((Number(si[1]) * (si[2] === 'M' ? 1e6 : 1e3)).toPrecision(12)));
    return `; bounds are bare numbers: ${si[1]}${si[2]} is ${n} (${rewrite(n)})`;
  }
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(num);
  if (pct) {
    const ratio = String(Number((1 + Number(pct[1]) / 100).toPrecision(12)));
    const how =
      key !== undefined && key.startsWith('ratio(')
        ? `a ratio is a bare number: at most ${pct[1]} % more is < ${ratio}`
        : `a threshold bounds the metric itself; ${pct[1]} % more in variant A than in B is ratio(${key ?? 'METRIC'}, variant="A", variant="B"): ["< ${ratio}"], and between two runs 'vmexit-lab compare --max-regression ${pct[1]}'`;
    return `; ${how}`;
  }
  return '';
}

/** Parse a threshold expression (syntax only); `key`, the threshold's key as written, for hints. */
export function parseThresholdExpr(text: string, key?: string): ParsedExpr {
  let rest = text.trim();
  let aggregation: ThresholdAggregation | undefined;
  const agg = /^(p(\d+(?:\.\d+)?)|p\(\s*(\d+(?:\.\d+)?)\s*\)|mean|avg|med|count)(?=\s|[<>=!])/.exec(rest);
  if (agg) {
    const a = agg[1];
    const pctText = agg[2] ?? agg[3];
    if (a === 'mean' || a === 'avg') aggregation = { kind: 'mean' };
    else if (a === 'count') aggregation = { kind: 'count' };
    else if (a === 'med') aggregation = { kind: 'quantile', q: 0.5 };
    else {
      const pct = Number(pctText);
      if (!(pct >= 0 && pct <= 100))
        throw new ThresholdSyntaxError(
          `malformed threshold expression: quantile ${a} is outside p0..p100`,
          0,
          'p0..p100 (e.g. p50, p99, p99.9, or p(99) as k6 writes it)',
          JSON.stringify(a),
        );
      aggregation = { kind: 'quantile', q: Number((pct / 100).toFixed(12)) };
    }
    rest = rest.slice(a.length).trimStart();
  } else if (/^[A-Za-z]/.test(rest)) {
    const word = /^[A-Za-z][A-Za-z0-9.()]*/.exec(rest)![0];
    throw new ThresholdSyntaxError(
      `malformed threshold expression: unknown aggregation "${word}"${didYouMean(word, AGGREGATIONS)}`,
      0,
      'pNN or p(NN) (p50, p99, p(99.9)), mean (avg), med or count',
      JSON.stringify(word),
    );
  }
  const comparator = THRESHOLD_COMPARATORS.find((c) => rest.startsWith(c));
  if (comparator === undefined)
    throw new ThresholdSyntaxError(
      'malformed threshold expression: missing comparator',
      0,
      EXPR_EXPECTED,
      JSON.stringify(text),
    );
  const num = rest.slice(comparator.length).trim();
  if (!NUMBER_RE.test(num)) {
    throw new ThresholdSyntaxError(
      `malformed threshold expression: expected a number after the comparator${unitHint(num, text.trim(), key)}`,
      0,
      EXPR_EXPECTED,
      JSON.stringify(text),
    );
  }
  const bound = Number(num);
  if (!Number.isFinite(bound))
    throw new ThresholdSyntaxError(
      'malformed threshold expression: the number is not finite',
      0,
      'a finite number',
      JSON.stringify(num),
    );
  return { ...(aggregation !== undefined ? { aggregation } : {}), comparator, bound };
}

/** Parse key + expression into the stored form (syntax only; throws ThresholdSyntaxError). */
export function parseThreshold(key: string, expr: string): ParsedThreshold {
  const k = parseThresholdKey(key);
  const e = parseThresholdExpr(expr);
  const agg = e.aggregation !== undefined ? { aggregation: e.aggregation } : {};
  if (k.kind === 'ratio') {
    return {
      kind: 'ratio',
      metric: k.metric,
      numerator: k.numerator!,
      denominator: k.denominator!,
      ...agg,
      comparator: e.comparator,
      bound: e.bound,
    };
  }
  return {
    kind: 'metric',
    metric: k.metric,
    ...(k.variant !== undefined ? { variant: k.variant } : {}),
    ...agg,
    comparator: e.comparator,
    bound: e.bound,
  };
}

// ---------------------------------------------------------------------------------------------
// Load-time checks

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
  const def = METRICS[name];
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
      const def = METRICS[key.metric.name];
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
