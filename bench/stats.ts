/**
 * The order statistics the benches print, in one file. Two medians, as the benches printed them
 * before they shared it (the figures unchanged): `median` of a few measurements (bench/run.ts's runs,
 * ab.ts's rounds, runCost.ts's three) takes the mean of the two middle ones for an even count; a
 * sample's p50 (`medianP95Max`: service.ts, also for its "median of the rounds'", and realtime.ts;
 * `atFraction`: hostile.ts, metricsCeiling.ts) is one of its values, the upper middle one. They
 * differ for an even count only.
 */

/** `xs` sorted ascending, a copy (the caller's order kept). */
export function ascending(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** The median of a few measurements: the middle one, the mean of the two middle ones for an even count; NaN for none. */
export function median(xs: readonly number[]): number {
  const s = ascending(xs);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** The value at fraction `q` of a sorted sample: sorted[floor(q n)], the last one at most (p50 the upper middle one). */
export function atFraction(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The median (atFraction 0.5), the nearest-rank p95 and the max of a sample of timings; NaN for none. */
export function medianP95Max(xs: readonly number[]): { median: number; p95: number; max: number } {
  if (xs.length === 0) return { median: NaN, p95: NaN, max: NaN };
  const s = ascending(xs);
  return {
    median: atFraction(s, 0.5),
    p95: s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)],
    max: s[s.length - 1],
  };
}
