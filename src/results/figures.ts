import type { VariantResult } from './types.js';

/**
 * Figures of results as people read them: the summary table, the Markdown summary, JUnit messages,
 * `compare`, `what-if`, the HTML report and its charts (the page's script builds the same
 * Intl.NumberFormat from FIGURE_FORMAT, which the chart specs carry). One rule each, so the same
 * count reads the same everywhere; integers never get decimals ("95", not "95.00"). A threshold's
 * value has a form of its own, thresholdFigure, more precise than a table's: it is compared with a
 * bound.
 */

/** A count per guest and simulated second (results.json rates: divide by guestSeconds); 0 without simulated time. */
export function perGuestSecond(v: VariantResult, count: number): number {
  return v.totals.guestSeconds > 0 ? count / v.totals.guestSeconds : 0;
}

/** A count and its noun, the noun in the plural unless the count is 1: "1 guest", "4 guests", "0 vCPUs". */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `x` to `digits` significant digits (0 and non-finite values as they are). */
export function roundSignificant(x: number, digits = 6): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits));
}

/**
 * How a figure is written, by its size (Intl.NumberFormat options, locale en-US): from 100 up a
 * grouped whole number (12,345); from 1 up at most two decimals (4.07, 2.5, 95); from 0.0001 up
 * three significant digits (0.0123, 0.000339); below that scientific (3.7E-6). Shared with the
 * HTML report's script, which formats the figures it draws on charts from these same options
 * (the chart specs carry them).
 */
export const FIGURE_FORMAT = {
  locale: 'en-US',
  /** From the smallest magnitude each band starts at, largest first; below the last: `tiny`. */
  bands: [
    { from: 100, options: { maximumFractionDigits: 0 } },
    { from: 1, options: { maximumFractionDigits: 2 } },
    { from: 0.0001, options: { maximumSignificantDigits: 3 } },
  ],
  tiny: { maximumSignificantDigits: 3, notation: 'scientific' },
} as const;

const BANDS = FIGURE_FORMAT.bands.map((b) => ({
  from: b.from,
  format: new Intl.NumberFormat(FIGURE_FORMAT.locale, b.options),
}));
const TINY = new Intl.NumberFormat(FIGURE_FORMAT.locale, FIGURE_FORMAT.tiny);
const SIGNIFICANT4 = new Intl.NumberFormat(FIGURE_FORMAT.locale, { maximumSignificantDigits: 4 });

/** A figure for a table or a sentence (FIGURE_FORMAT): "12,345", "4.07", "95", "0.0123", "3.7E-6". */
export function formatFigure(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const a = Math.abs(n);
  return (BANDS.find((b) => a >= b.from)?.format ?? TINY).format(n);
}

const WHOLE = new Intl.NumberFormat(FIGURE_FORMAT.locale, { maximumFractionDigits: 0 });

/**
 * A threshold's value or bound, in every place its outcome is printed (results.json's message, run's
 * summary, JUnit, the Markdown summary, the HTML report): grouped, integers exact ("20,000,000,123"),
 * others to six significant digits ("12,345.6", "0.0981235", "0.00000233333") but never fewer than
 * their whole part ("1,721,384", not "1,721,380"). One form, so that two lines never show one value
 * two ways; a bound reads as written unless it has more than six significant digits. Beside its
 * bound a value takes thresholdFigures instead, which never prints a value that differs from its
 * bound the same as the bound.
 */
export function thresholdFigure(n: number): string {
  return figureTo(n, 6);
}

/** thresholdFigure to `digits` significant digits (integers exact, the whole part kept). */
function figureTo(n: number, digits: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return WHOLE.format(n);
  const whole = Math.abs(n) >= 1 ? Math.floor(Math.log10(Math.abs(n))) + 1 : 0;
  return significant(Math.min(21, Math.max(digits, whole))).format(n);
}

const SIGNIFICANT = new Map<number, Intl.NumberFormat>();
function significant(digits: number): Intl.NumberFormat {
  let f = SIGNIFICANT.get(digits);
  if (f === undefined) {
    f = new Intl.NumberFormat(FIGURE_FORMAT.locale, { maximumSignificantDigits: digits });
    SIGNIFICANT.set(digits, f);
  }
  return f;
}

/**
 * A threshold's value and its bound, as its line prints them ("= 999.9999999 ...; fails: < 1,000"):
 * thresholdFigure each, unless a value that differs from its bound would print the same as it (six
 * significant digits of 999.9999999 are "1,000"); then both to the fewest significant digits that
 * tell them apart, up to 17, which tell any two doubles apart. Equal numbers print alike.
 */
export function thresholdFigures(value: number, bound: number): [value: string, bound: string] {
  let digits = 6;
  let pair: [string, string] = [figureTo(value, digits), figureTo(bound, digits)];
  while (value !== bound && pair[0] === pair[1] && digits < 17) {
    digits++;
    pair = [figureTo(value, digits), figureTo(bound, digits)];
  }
  return pair;
}

/** Simulated seconds as a figure: "2,278 s". */
export function secondsText(s: number): string {
  return `${formatFigure(s)} s`;
}

/** A time in ns with the unit that reads best, four significant digits: "2.5 µs", "1.2 ms", "2,278 s". */
export function nsText(ns: number): string {
  const short = (n: number): string => SIGNIFICANT4.format(n);
  if (ns >= 1e9) return `${short(ns / 1e9)} s`;
  if (ns >= 1e6) return `${short(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${short(ns / 1e3)} µs`;
  return `${short(ns)} ns`;
}

/** A time in seconds with the unit that reads best ("3.7 µs", "1,383 s"). */
export function secondsUnitText(s: number): string {
  return s === 0 ? '0 s' : nsText(s * 1e9);
}

/** A speed-up or slow-down factor: "6.16×", "12.3×", "541×". */
export function factorText(f: number): string {
  return `${formatFigure(roundSignificant(f, 3))}×`;
}

/** A share as a percentage: 0.0419 -> "4.19 %" (figure rules: "100 %", "0.0123 %"). */
export function percentText(fraction: number): string {
  return `${formatFigure(roundSignificant(fraction * 100, 3))} %`;
}

/** A relative change in percent, signed: "+21.8 %", "-100 %", "+0 %". */
export function changeText(percent: number): string {
  const p = roundSignificant(percent, 3);
  return `${p >= 0 ? '+' : ''}${formatFigure(p)} %`;
}

/**
 * A relative change judged against a limit in percent (compare's --max-regression, what-if's
 * --max-increase), signed: changeText, unless that would print a change that is not the limit as
 * the limit ("+5 %, over --max-regression 5 %" for +5.0007 %); then the digits that tell them
 * apart (thresholdFigures): "+5.0007 %".
 */
export function changeAgainstText(percent: number, limit: number): string {
  if (percent === limit || roundSignificant(percent, 3) !== roundSignificant(limit, 3)) return changeText(percent);
  return `${percent >= 0 ? '+' : ''}${thresholdFigures(percent, limit)[0]} %`;
}
