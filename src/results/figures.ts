import type { VariantResult } from './types.js';

/**
 * Figures of results as people read them: in the summary table, the Markdown summary, the HTML
 * report and the threshold messages of results.json. One rule each, so the same count reads the
 * same everywhere.
 */

/** A count per guest and simulated second (results.json rates: divide by guestSeconds); 0 without simulated time. */
export function perGuestSecond(v: VariantResult, count: number): number {
  return v.totals.guestSeconds > 0 ? count / v.totals.guestSeconds : 0;
}

/** `x` to `digits` significant digits (0 and non-finite values as they are). */
export function roundSignificant(x: number, digits = 6): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits));
}

/** A figure for a table: grouped whole numbers from 100 up (12,345), two decimals from 1, three significant digits below. */
export function formatFigure(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** Simulated seconds as a figure: "2,278 s". */
export function secondsText(s: number): string {
  return `${formatFigure(s)} s`;
}

/** A time in ns with the unit that reads best, four significant digits: "2.5 µs", "1.2 ms". */
export function nsText(ns: number): string {
  const short = (n: number): string => String(roundSignificant(n, 4));
  if (ns >= 1e9) return `${short(ns / 1e9)} s`;
  if (ns >= 1e6) return `${short(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${short(ns / 1e3)} µs`;
  return `${short(ns)} ns`;
}

/** A speed-up or slow-down factor: "6.16×", "12.3×". */
export function factorText(f: number): string {
  return `${f >= 10 ? f.toFixed(1) : f.toFixed(2)}×`;
}
