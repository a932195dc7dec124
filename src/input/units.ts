/**
 * Units in scenario files.
 *
 * Durations: a number (seconds) or a string `<number><unit>` with unit ns, us, ms, s, m, h or d
 * (e.g. "500ms", "30s", "5m", "1.5h", "2d"); the result is an integer number of nanoseconds.
 * Sizes: a number (bytes) or `<number><unit>` with unit B, kB/KB, MB, GB, TB (powers of 1000) or
 * KiB, MiB, GiB, TiB (powers of 1024); the result is an integer number of bytes.
 * Negative values, NaN, infinities and fractions of the smallest unit are rejected.
 */

type UnitResult =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly expected: string; readonly found: string };

const NS_PER: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
};

const BYTES_PER: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

const DURATION_EXPECTED = 'a duration such as "500ms", "30s", "5m", "1.5h", "2d" or a number of seconds';
const SIZE_EXPECTED = 'a size such as "512MiB", "4GiB", "1GB" or a number of bytes';

const NUMBER_WITH_UNIT = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-zµ]*)\s*$/;

/**
 * How a number that YAML reads as NaN or an infinity is said, the one wording of every field that
 * takes a number: `.nan` "is not a number", `.inf` and `-.inf` "is infinite" (a threshold's
 * `Infinity` too), a literal beyond a
 * double (`1e400`, which YAML reads as an infinity) "is too large to represent". Undefined for a
 * finite number. (Durations and sizes said `found NaN` and `found Infinity`, for 1e400 too, where
 * integers said `found .nan` and "wrong type", or "out of range" for `.inf`.)
 */
export function nonFinite(value: number, source: string | undefined): string | undefined {
  if (Number.isFinite(value)) return undefined;
  if (Number.isNaN(value)) return 'is not a number';
  return source !== undefined && /^[-+]?\.?inf(?:inity)?$/i.test(source.trim())
    ? 'is infinite'
    : 'is too large to represent';
}

/**
 * The error for a number YAML reads as NaN or an infinity, in a field `what` that takes `expected`:
 * `WHAT is not a number` (nonFinite's words), the number as written found. Undefined for a finite
 * number. The one wording of the scenario's Reader and of a CPU profile's reader.
 */
export function nonFiniteProblem(
  what: string,
  value: number,
  source: string | undefined,
  expected: string,
): { message: string; expected: string; found: string } | undefined {
  const words = nonFinite(value, source);
  if (words === undefined) return undefined;
  const written = source?.trim();
  return { message: `${what} ${words}`, expected, found: written ? written : String(value) };
}

/** How a value looks in an error message. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

function scaled(
  v: unknown,
  table: Readonly<Record<string, number>>,
  numberUnit: number,
  expected: string,
  unitName: string,
): UnitResult {
  const bad = (found: string = describeValue(v)): UnitResult => ({ ok: false, expected, found });
  let amount: number;
  let mult: number;
  if (typeof v === 'number') {
    amount = v;
    mult = numberUnit;
  } else if (typeof v === 'string') {
    const m = NUMBER_WITH_UNIT.exec(v);
    if (!m) return bad();
    const unit = m[2];
    if (unit === '') {
      mult = numberUnit;
    } else {
      const u = table[unit];
      if (u === undefined)
        return {
          ok: false,
          expected: `${expected} (units: ${Object.keys(table).join(', ')})`,
          found: describeValue(v),
        };
      mult = u;
    }
    amount = Number(m[1]);
  } else {
    return bad();
  }
  // A string's number is digits, so never NaN; "1e400s" is a number too large, as "1e300s" is.
  if (!Number.isFinite(amount))
    return typeof v === 'string'
      ? {
          ok: false,
          expected: `${expected} below 2^53 ${unitName === 'duration' ? 'ns' : 'bytes'}`,
          found: describeValue(v),
        }
      : bad();
  if (amount < 0) return { ok: false, expected: `a non-negative ${unitName}`, found: describeValue(v) };
  const raw = amount * mult;
  const value = Math.round(raw);
  if (!Number.isSafeInteger(value))
    return {
      ok: false,
      expected: `${expected} below 2^53 ${unitName === 'duration' ? 'ns' : 'bytes'}`,
      found: describeValue(v),
    };
  // Tolerate floating-point noise (0.1 * 1e9), reject real fractions of the base unit.
  if (Math.abs(raw - value) > 1e-6 * Math.max(1, Math.abs(raw))) {
    return {
      ok: false,
      expected: `a whole number of ${unitName === 'duration' ? 'nanoseconds' : 'bytes'}`,
      found: describeValue(v),
    };
  }
  return { ok: true, value };
}

/** Duration to integer nanoseconds (a bare number is seconds). */
export function parseDurationNs(v: unknown): UnitResult {
  return scaled(v, NS_PER, 1e9, DURATION_EXPECTED, 'duration');
}

/** Size to integer bytes (a bare number is bytes). */
export function parseSizeBytes(v: unknown): UnitResult {
  return scaled(v, BYTES_PER, 1, SIZE_EXPECTED, 'size');
}

/** "1.5h", "30s", "250ms": a short human form of a nanosecond duration (for messages). */
export function formatDurationNs(ns: number): string {
  const units: [string, number][] = [
    ['d', 86400e9],
    ['h', 3600e9],
    ['m', 60e9],
    ['s', 1e9],
    ['ms', 1e6],
    ['us', 1e3],
  ];
  for (const [u, n] of units) if (ns >= n && ns % (n / 1000) === 0) return `${+(ns / n).toFixed(3)}${u}`;
  return `${ns}ns`;
}

/**
 * Exact decimal seconds of a time in ns (no float rounding): 1500000001 -> "1.500000001". The engine's
 * event times carry fractions of a ns (exit debt): those are shown to the whole ns below them, the
 * time `replay --at` takes to stop right after the event (it runs up to and including that ns).
 */
export function formatSeconds(time: number): string {
  const ns = Math.floor(time);
  const whole = Math.floor(ns / 1e9);
  const frac = String(ns - whole * 1e9)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

/** Parse decimal seconds into integer ns exactly ("1.500000001" -> 1500000001); undefined if malformed. */
export function parseSecondsNs(text: string): number | undefined {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) return undefined;
  const ns = Number(m[1]) * 1e9 + Number((m[2] ?? '').padEnd(9, '0'));
  return Number.isSafeInteger(ns) ? ns : undefined;
}
