/**
 * Thresholds: pass/fail conditions on the results of a run.
 *
 * Grammar (whitespace is allowed between tokens):
 *
 *   key         = selector | ratio
 *   selector    = metric [ "{" [ label { "," label } [ "," ] ] "}" ]
 *   label       = name "=" string                     ; each label at most once
 *   ratio       = "ratio" "(" selector "," "variant" "=" string "," "variant" "=" string ")"
 *   metric      = [a-z_][a-z0-9_]*                    ; one of THRESHOLD_METRICS
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
 * over the run.
 *
 * This file is the language: the metrics and labels a threshold may name and the grammar, strings
 * in and out, nothing of a scenario. A scenario's `thresholds:` are checked against it and against
 * the scenario (label values, variant names, the variants' vendors, work-bound phases, aggregations)
 * at load time by src/scenario/thresholdChecks.ts; a metric without data at evaluation time FAILS
 * with "no data". The evaluation on a run's results is src/results/thresholds.ts.
 */
import { didYouMean } from '../input/diagnostics.js';
import {
  THRESHOLD_COMPARATORS,
  type MetricSelector,
  type ParsedThreshold,
  type ThresholdAggregation,
  type ThresholdComparator,
} from './types.js';
import { nonFinite, parseDurationNs } from '../input/units.js';
import { VIOLATION_CHECKS } from '../core/vcpu/violations.js';

/** The checks a machine reports (defined in the core, src/core/vcpu/violations.ts). */
export { VIOLATION_CHECKS };

export const INTERRUPT_SOURCES = ['timer', 'device', 'ipi'] as const;
export type InterruptSource = (typeof INTERRUPT_SOURCES)[number];

export type LabelKind = 'reason' | 'source' | 'phase' | 'check';

export interface ThresholdMetricDef {
  readonly help: string;
  readonly labels: readonly LabelKind[];
  readonly requiredLabels?: readonly LabelKind[];
  /** A histogram: expressions need an aggregation (pNN, mean, count). */
  readonly histogram?: boolean;
}

/** The metrics a threshold may name, with their labels (checked at load time: thresholdChecks.ts). */
export const THRESHOLD_METRICS: Readonly<Record<string, ThresholdMetricDef>> = {
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

export const METRIC_NAMES = Object.keys(THRESHOLD_METRICS);

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

export interface ParsedKey {
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

export interface ParsedExpr {
  readonly aggregation?: ThresholdAggregation;
  readonly comparator: ThresholdComparator;
  readonly bound: number;
}

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
export const EXPR_EXPECTED = 'an expression such as "< 1000", ">= 0.5", "p99 < 0.0005", "p(99) < 0.0005" or "== 0"';

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
  // `< .inf`, `< NaN`, `< 1e400`: said as a scenario's numbers say them (units.ts nonFinite).
  const named = /^[-+]?\.?(?:inf(?:inity)?|nan)$/i.test(num);
  const words =
    named || NUMBER_RE.test(num)
      ? nonFinite(named ? (/nan/i.test(num) ? NaN : Infinity) : Number(num), num)
      : undefined;
  if (words !== undefined)
    throw new ThresholdSyntaxError(
      `malformed threshold expression: the bound ${words}`,
      0,
      'a finite number',
      JSON.stringify(num),
    );
  if (!NUMBER_RE.test(num)) {
    throw new ThresholdSyntaxError(
      `malformed threshold expression: expected a number after the comparator${unitHint(num, text.trim(), key)}`,
      0,
      EXPR_EXPECTED,
      JSON.stringify(text),
    );
  }
  const bound = Number(num);
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
