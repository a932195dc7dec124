/**
 * The rows of perf kvm stat's VM-EXIT table (src/import/perfKvmStat.ts reads the rest): a row as
 * print_result() in tools/perf/builtin-kvm.c prints it,
 *
 *   %20s %10llu %8.2f%% %8.2f%% %9.2fus %9.2fus %9.2fus ( +-%7.2f%% )
 *
 * (no Min/Max columns before the min/max patch), and the joiner of a row or trailer a mail client
 * wrapped over several lines.
 */
import { quoteFound } from './report.js';

export const TOTAL_RE = /^(\s*)Total Samples:\s*(\S+?),\s*Total events handled time:\s*(\S+?)us\.\s*$/;
export const UNKNOWN_CODE_RE = /^\s*unknown kvm exit code:\s*(\d+) on (VMX|SVM)\s*$/;

export const INT_RE = /^\d+$/;
export const FIXED_RE = /^\d+\.\d+$/;
/** A count with thousands separators, as re-typed from a page: perf prints `%10llu`, digits only. */
export const GROUPED_RE = /^\d{1,3}(?:[,'.]\d{3})+$/;
export const GROUPED_EXPECTED =
  "a sample count in digits only, as perf prints it ('%llu': no thousands separators; copy the report as perf printed it)";

export const TIME_PERCENT_EXPECTED =
  "a Time% value like 18.04%, 0.00% to 100.00% (the reason's share of the events' handled time)";

/**
 * Where a table's Time% add up to more than 100 % by more than their rounding (each printed to
 * 0.01 %, so n rows may exceed it by 0.005 n), the rows read so far: the message's expected, or
 * undefined while they do not. A row's true share is at most what is left of 100 %, so the first
 * row that crosses the bound is where the table is wrong.
 */
export function timePercentOver(rows: readonly RawRow[]): string | undefined {
  const sum = rows.reduce((a, r) => a + r.timePercent, 0);
  if (sum <= 100 + 0.005 * rows.length + 1e-9) return undefined;
  return `Time% that add up to at most 100 % over the rows, within their rounding (each is its reason's share of the handled time): with this row they add up to ${sum.toFixed(2)} %`;
}

/** A 1-based place in the file. */
interface Place {
  readonly line: number;
  readonly column: number;
}

/** A line of the table with the lines a mail client wrapped it onto, joined by one space. */
export interface JoinedLine {
  readonly text: string;
  /** 0-based index of the last line it takes. */
  readonly last: number;
  /** The file's line and column of a 0-based position in `text`. */
  readonly posOf: (pos: number) => Place;
}

/**
 * The line `i` (0-based) and its continuations: a row (or the trailer) wrapped by a mail client
 * continues on the next line, which then starts with a number, the deviation's "(" / "+-" or the
 * trailer's rest; no row starts so (names are words). The joined text keeps where each piece came
 * from, so messages point into the file.
 */
export function joinWrapped(lines: readonly string[], i: number): JoinedLine {
  let l = lines[i];
  const pieces = [{ at: 0, line: i + 1, column: 0 }];
  while (
    i + 1 < lines.length &&
    (/^\s*Total Samples:/.test(l) ? !TOTAL_RE.test(l) : !/\)\s*$/.test(l)) &&
    /^\s*(?:[\d(+)]|Total events|handled time)/.test(lines[i + 1]) &&
    !UNKNOWN_CODE_RE.test(l)
  ) {
    const next = lines[i + 1];
    const column = next.search(/\S/);
    pieces.push({ at: l.length + 1, line: i + 2, column });
    l = `${l} ${next.slice(column)}`;
    i++;
  }
  const posOf = (pos: number): Place => {
    const p = pieces.filter((x) => x.at <= pos).pop()!;
    return { line: p.line, column: pos - p.at + p.column + 1 };
  };
  return { text: l, last: i, posOf };
}

/** A row of the VM-EXIT table as read, times in ns. */
export interface RawRow {
  name: string;
  line: number;
  column: number;
  samples: number;
  samplesPercent: number;
  samplesPercentAt: Place;
  timePercent: number;
  timePercentAt: Place;
  minNs?: number;
  maxNs?: number;
  avgNs: number;
  avgStddevPercent?: number;
  /** perf's "unknown kvm exit code:N on VMX" before an UNKNOWN row: "N on VMX". */
  undecoded?: string;
}

interface Token {
  readonly text: string;
  /** 0-based index in the line. */
  readonly at: number;
}

function tokens(line: string): Token[] {
  const out: Token[] = [];
  for (const m of line.matchAll(/\S+/g)) {
    const text = m[0];
    const at = m.index ?? 0;
    // "( +-100.00% )" prints "+-" glued to a 7-wide number that filled its field.
    if (text.startsWith('+-') && text.length > 2) {
      out.push({ text: '+-', at }, { text: text.slice(2), at: at + 2 });
    } else out.push({ text, at });
  }
  return out;
}

function usToNs(us: number): number {
  return Math.round(us * 1000);
}

/**
 * Read one row, `row` (its first line `line`, 1-based), of a table with or without the Min/Max
 * columns. `failAt` throws at a position in the row's text; what is read with a remark (a
 * deviation cut when posted, a nan deviation) adds a note.
 */
export function readRow(
  row: JoinedLine,
  line: number,
  hasMinMax: boolean,
  failAt: (pos: number, expected: string, found: string) => never,
  notes: string[],
): RawRow {
  const l = row.text;
  const numericCount = hasMinMax ? 6 : 4;
  const toks = tokens(l);
  let k = toks.findIndex((t) => t.text === '(');
  if (k < 0) k = toks.length;
  const firstNumeric = k - numericCount;
  const rowShape = hasMinMax
    ? "a VM-EXIT row '<reason> <samples> <samples%> <time%> <min>us <max>us <avg>us ( +- <stddev>% )' or the 'Total Samples:' line"
    : "a VM-EXIT row '<reason> <samples> <samples%> <time%> <avg>us ( +- <stddev>% )' or the 'Total Samples:' line";
  if (firstNumeric >= 1 && GROUPED_RE.test(toks[firstNumeric].text)) {
    failAt(toks[firstNumeric].at, GROUPED_EXPECTED, quoteFound(toks[firstNumeric].text));
  }
  if (firstNumeric < 1 || !INT_RE.test(toks[firstNumeric].text)) {
    failAt(toks[0]?.at ?? 0, rowShape, quoteFound(l.trim()));
  }
  const nameStart = toks[0].at;
  const lastNameTok = toks[firstNumeric - 1];
  const name = l.slice(nameStart, lastNameTok.at + lastNameTok.text.length);
  const num = (t: Token, re: RegExp, suffix: string, what: string): number => {
    if (!t.text.endsWith(suffix) || !re.test(t.text.slice(0, t.text.length - suffix.length))) {
      failAt(t.at, what, quoteFound(t.text));
    }
    return Number(t.text.slice(0, t.text.length - suffix.length));
  };
  const n = toks.slice(firstNumeric, k);
  const samples = num(n[0], INT_RE, '', 'a sample count (integer)');
  const samplesPercent = num(n[1], FIXED_RE, '%', 'a Samples% value like 31.59%');
  // A reason's share of the handled time: 0.00% to 100.00% as perf prints it (`%8.2f%%`); more, or
  // a sign, is a damaged table, which was fitted as it was (polish41).
  const timePercent = num(n[2], FIXED_RE, '%', TIME_PERCENT_EXPECTED);
  if (timePercent > 100) failAt(n[2].at, TIME_PERCENT_EXPECTED, quoteFound(n[2].text));
  let minNs: number | undefined;
  let maxNs: number | undefined;
  let p = 3;
  if (hasMinMax) {
    minNs = usToNs(num(n[3], FIXED_RE, 'us', 'a Min Time like 0.42us'));
    maxNs = usToNs(num(n[4], FIXED_RE, 'us', 'a Max Time like 1106.38us'));
    p = 5;
  }
  const avgNs = usToNs(num(n[p], FIXED_RE, 'us', 'an Avg time like 1.01us'));
  let avgStddevPercent: number | undefined;
  if (k < toks.length) {
    const b = toks.slice(k);
    // A posted table can lose the closing ")" of its last row where the mail wrapped it.
    const unclosed = b.length === 3 && b[1].text === '+-' && b[2].text.endsWith('%');
    if (unclosed) notes.push(`line ${line}: the deviation's closing ')' is missing (cut when posted): read without it`);
    const ok = unclosed || (b.length === 4 && b[1].text === '+-' && b[2].text.endsWith('%') && b[3].text === ')');
    if (!ok) failAt(b[0].at, "the deviation '( +- x.xx% )' and the end of the row", quoteFound(l.slice(b[0].at)));
    const sd = b[2].text.slice(0, -1);
    if (FIXED_RE.test(sd)) avgStddevPercent = Number(sd);
    else if (/^-?(nan|inf)$/i.test(sd)) notes.push(`line ${line}: deviation ${sd} ignored`);
    else failAt(b[2].at, 'a deviation like 1.58%', quoteFound(b[2].text));
  }
  if (hasMinMax && (minNs! > avgNs + 10 || avgNs > maxNs! + 10)) {
    failAt(n[3].at, 'Min Time <= Avg time <= Max Time', `${n[3].text} / ${n[p].text} / ${n[4].text}`);
  }
  return {
    name,
    line,
    column: nameStart + 1,
    samples,
    samplesPercent,
    samplesPercentAt: row.posOf(n[1].at),
    timePercent,
    timePercentAt: row.posOf(n[2].at),
    avgNs,
    ...(minNs !== undefined ? { minNs } : {}),
    ...(maxNs !== undefined ? { maxNs } : {}),
    ...(avgStddevPercent !== undefined ? { avgStddevPercent } : {}),
  };
}
