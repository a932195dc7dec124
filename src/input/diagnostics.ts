/**
 * Diagnostics of input files (scenarios, workload profiles): every problem is reported with its
 * position (`file:line:col`), what was expected and what was found. A loader collects up to
 * MAX_DIAGNOSTICS problems per file before giving up, so one run shows (nearly) all of them.
 * Also the did-you-mean suggestions every name lookup makes (editDistance, closest).
 */

export interface Diagnostic {
  readonly file: string;
  /** 1-based; 0 when the problem has no position (e.g. the file cannot be read). */
  readonly line: number;
  /** 1-based; 0 when the problem has no position. */
  readonly column: number;
  readonly message: string;
  readonly expected?: string;
  readonly found?: string;
}

/** Diagnostics kept per file; further problems are counted but not kept. */
export const MAX_DIAGNOSTICS = 20;

/**
 * Characters a terminal would not show as themselves - format characters such as the bidi
 * overrides (U+202E turns the rest of the line around: "Trojan Source", CVE-2021-42574), control
 * characters but tab and newline, and the line and paragraph separators U+2028 and U+2029 (a log
 * viewer breaks a line at them) - written as JSON writes an escaped character, `\u` and four hex
 * digits (`\u202e`, `\u0007`; a character past U+FFFF as its surrogate pair, `\udb40\udc01`), so a
 * message quoting the input shows what the input holds. The one escape style of the product: the
 * CLI's diagnostics and usage errors, the service's error messages and pages; it is the form
 * JSON.stringify gives the C0 controls, so a text quoted with it (`quoted`) is a JSON string that
 * parses back to the text.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\p{Cf}\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/gu;
export function showInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

/**
 * A text the user gave, as a message repeats it: a JSON string (a `"` in it cannot close the quote)
 * with its invisible characters escaped (showInvisible), so that JSON.parse of it gives the text back.
 */
export function quoted(text: string): string {
  return showInvisible(JSON.stringify(text));
}

/**
 * `file:line:col: error: message (expected X, found Y)`; the position is left out when unknown.
 * Invisible characters of the input show as escapes (showInvisible).
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return showInvisible(`${where}: error: ${problemText(d.message, d.expected, d.found)}`);
}

/**
 * `message (expected X, found Y)`, the sentence after a diagnostic's position: also what a reader
 * that throws its own error (a CPU profile's, src/profiles/serialize.ts) says after its position.
 */
export function problemText(message: string, expected?: string, found?: string): string {
  if (expected !== undefined && found !== undefined) return `${message} (expected ${expected}, found ${found})`;
  if (expected !== undefined) return `${message} (expected ${expected})`;
  if (found !== undefined) return `${message} (found ${found})`;
  return message;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly diagnostics: readonly Diagnostic[];
  /** Problems found in total (may exceed diagnostics.length when the cap was reached). */
  readonly total: number;

  constructor(diagnostics: readonly Diagnostic[], total: number = diagnostics.length) {
    const shown = diagnostics.map(formatDiagnostic).join('\n');
    const more = total > diagnostics.length ? `\n(${total - diagnostics.length} more errors not shown)` : '';
    super(`${shown}${more}`);
    this.diagnostics = diagnostics;
    this.total = total;
  }
}

/** Collects diagnostics, de-duplicated, sorted by position, capped at MAX_DIAGNOSTICS. */
export class DiagnosticSink {
  private readonly list: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private count = 0;

  constructor(readonly file: string) {}

  add(line: number, column: number, message: string, expected?: string, found?: string): void {
    const key = `${line}:${column}:${message}:${expected ?? ''}:${found ?? ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.count++;
    if (this.list.length >= MAX_DIAGNOSTICS) return;
    const d: Diagnostic = {
      file: this.file,
      line,
      column,
      message,
      ...(expected !== undefined ? { expected } : {}),
      ...(found !== undefined ? { found } : {}),
    };
    this.list.push(d);
  }

  get size(): number {
    return this.count;
  }

  /** True when nothing more should be checked (the cap is reached). */
  get full(): boolean {
    return this.list.length >= MAX_DIAGNOSTICS;
  }

  /** Throw a ScenarioError when anything was reported. */
  throwIfAny(): void {
    if (this.count === 0) return;
    const sorted = [...this.list].sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ScenarioError(sorted, this.count);
  }
}

/** Levenshtein edit distance. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(up + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** Lower case, letters and digits only: "Windows-10_1909" -> "windows101909". */
function bare(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** At most this many candidates that the word begins are offered together. */
const MAX_PREFIXED = 3;

/**
 * What `word` may have meant, best first: a candidate that differs from it only in case or
 * punctuation ("Windows-10-1909"); else the candidates it begins, when there are a few
 * (at least 3 letters or digits: "ubuntu" -> ubuntu-18.04, "windows10" -> both Windows 10
 * builds; edit distance alone offered windows-7 for "windows10" and nothing for "ubuntu");
 * else the one closest by Levenshtein distance (case-insensitive), when at most max(2, 40% of
 * the word's letters and digits) edits away; else none. (Counting the punctuation let "--history"
 * reach "--host", 4 edits: an option's two dashes raised the limit by one.)
 */
export function suggestions(word: string, candidates: Iterable<string>): string[] {
  const list = [...candidates];
  const b = bare(word);
  if (b !== '') {
    const same = list.find((c) => bare(c) === b);
    if (same !== undefined) return [same];
  }
  if (b.length >= 3) {
    const begun = list.filter((c) => bare(c).startsWith(b));
    if (begun.length > 0 && begun.length <= MAX_PREFIXED) return begun;
  }
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.ceil(b.length * 0.4));
  let best: { c: string; d: number } | undefined;
  for (const c of list) {
    const d = editDistance(w, c.toLowerCase());
    if (d <= limit && (best === undefined || d < best.d)) best = { c, d };
  }
  return best === undefined ? [] : [best.c];
}

/** The best of `suggestions`, or undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  return suggestions(word, candidates)[0];
}

/** ` (did you mean "x"?)` or the empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const q = suggestions(word, candidates).map((c) => `"${c}"`);
  if (q.length === 0) return '';
  const last = q.pop();
  return ` (did you mean ${q.length > 0 ? `${q.join(', ')} or ` : ''}${last}?)`;
}
