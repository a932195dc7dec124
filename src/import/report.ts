/**
 * The common shape of an imported exit report (Linux `perf kvm stat report` and `kvm_stat`, FreeBSD
 * `bhyvectl --get-stats`): one row per exit reason with its count and, when the tool measured it,
 * the time spent handling it. Parsers in this folder are pure: text in, an `ExitReport` or a
 * `ReportFormatError` out. docs/IMPORT.md describes both formats and the name mapping.
 */

export type ReportVendor = 'intel' | 'amd' | 'unknown';

export interface ExitReportRow {
  /** The reason as printed: 'EXTERNAL_INTERRUPT', 'msr', 'hlt', or a bhyve stat description. */
  readonly name: string;
  readonly vendor: ReportVendor;
  /**
   * Architectural basic exit reason (VT-x, SDM vol. 3 appendix C) or SVM exit code (APM vol. 2
   * appendix C) when the name is known for the vendor; undefined otherwise.
   */
  readonly code: number | undefined;
  /**
   * Vendor-neutral reason key for bhyve counters that do not name an instruction of one vendor
   * (e.g. 'EXTERNAL_INTERRUPT' for "vm exits due to external interrupt"); for perf rows the
   * printed name.
   */
  readonly reason?: string;
  /** Exit count. */
  readonly samples: number;
  /**
   * Exits per second when the tool measured a rate (kvm_stat's `CurAvg/s` / `Current` column, the
   * `-1` delta over its one-second sleep, a `-l` log's column over the logged span); the fit uses it
   * instead of samples / duration. For the whole host or guest kvm_stat watched, not per vCPU.
   */
  readonly perSecond?: number;
  readonly samplesPercent?: number;
  readonly timePercent?: number;
  readonly minNs?: number;
  readonly maxNs?: number;
  readonly avgNs?: number;
  /** perf's "( +- x% )": relative standard deviation of the mean, in percent. */
  readonly avgStddevPercent?: number;
  /** 1-based position of the row's name in the input. */
  readonly source: { readonly line: number; readonly column: number };
}

export interface ExitReport {
  readonly format: 'perf-kvm-stat' | 'bhyvectl' | 'kvm-stat' | 'kvmexit';
  readonly file: string;
  readonly vendor: ReportVendor;
  readonly rows: readonly ExitReportRow[];
  /** perf: "Total Samples:N"; bhyvectl: sum of "total number of vm exits" over the vCPU sections. */
  readonly totalSamples?: number;
  /** perf: "Total events handled time:Xus" in ns. */
  readonly totalTimeNs?: number;
  /** bhyvectl: number of "vcpuN stats:" sections; perf: 1 when the header names one VCPU. */
  readonly vcpus?: number;
  /**
   * The span the rows' `samples` cover, if the report itself carries it: a kvm_stat log (from its
   * time stamps, or one second a row without them); perf and bhyvectl do not.
   */
  readonly durationSeconds?: number;
  /**
   * Counters that are not exits per reason: bhyvectl's (runtime, migrations, IPIs, memory), summed
   * over vCPUs; kvm_stat's other tracepoints and its debugfs counters (`exits`, `halt_exits`, ...).
   */
  readonly stats?: Readonly<Record<string, number>>;
  /**
   * perf: the table is one refresh of `perf kvm stat live` (its time-of-day line precedes it). live
   * resets its counts after every display (perf_kvm__handle_timerfd(), tools/perf/builtin-kvm.c), so
   * the table covers one display interval (`-d`, default 1 s: kvm_events_live() sets display_time = 1),
   * not the time perf ran.
   */
  readonly live?: boolean;
  /**
   * perf: how many refreshes of `perf kvm stat live` the file holds (2 or more; absent for one table).
   * The rows are their sum: each refresh counts its own display interval, so the file covers that many.
   */
  readonly refreshes?: number;
  /** Things the reader should know: names not recognised, merged or ignored fields. */
  readonly notes: readonly string[];
}

/** Bad input: `file:line:col: expected X, found Y`. Line and column are 1-based. */
export class ReportFormatError extends Error {
  override readonly name = 'ReportFormatError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${file}:${line}:${column}: expected ${expected}, found ${found}`);
  }
}

/** Where a reader of a report stops: `file:line:col: expected X, found Y`. */
export type ReportFail = (line: number, column: number, expected: string, found: string) => never;

/**
 * A line that a terminal adds around a tool's output when the output is copied from the screen, not
 * redirected to a file: a shell prompt, alone or with the command typed after it (`$`, `# kvm_stat -1`,
 * `root@host:~# bhyvectl ...`, FreeBSD's `root@host:~ # ...`, `[root@host ~]# ...`), or the echo of Ctrl-C (`^C`), with which
 * `kvm_stat -l` and `perf kvm stat live` are stopped. None of the three tools prints such a line: the
 * first word of a perf row is an exit name, of a kvm_stat row an event name, of a bhyvectl line a
 * statistic's description or `vcpuN`, and none of those ends in `$` or `#`.
 */
export function isTerminalLine(line: string): boolean {
  return /^\s*(?:\^C\s*)?(?:\S*[#$]|\S+@\S+\s+[#$]|\[[^\]]*\][#$])(?:\s.*)?$/.test(line) || /^\s*\^C\s*$/.test(line);
}

/**
 * Where a report's output starts: the first line that is neither blank nor a terminal line
 * (isTerminalLine), and how many terminal lines (prompts, commands) came before it.
 */
export function leadingTerminalLines(lines: readonly string[]): { readonly first: number; readonly prompts: number } {
  let i = 0;
  let prompts = 0;
  for (; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    if (isTerminalLine(lines[i])) prompts++;
    else break;
  }
  return { first: i, prompts };
}

/** The text of a report as its parsers read it. */
export interface ReportText {
  /** The lines up to the last one that is not blank or a terminal line (isTerminalLine). */
  readonly lines: string[];
  /** How many terminal lines (prompts, `^C`) followed the output; blank lines are not counted. */
  readonly trailingTerminalLines: number;
  readonly fail: ReportFail;
  /** The `found` of a message about an input without output: an empty file, or shell prompts only. */
  readonly emptyFound: string;
  /** Notes on what was set aside: the quote marks of a mail, the terminal lines after the output. */
  readonly trailingNotes: readonly string[];
  /** The note on a mail's quote marks alone (for a reader that counts terminal lines itself). */
  readonly quoteNotes: readonly string[];
  /** The report with its rows' `source` columns counted in the file's lines (quote marks included). */
  readonly inFile: (report: ExitReport) => ExitReport;
}

/**
 * The common start of every report parser: the lines (CRLF / CR accepted), a `fail` that throws
 * ReportFormatError for `file`, binary input refused at its first NUL byte (tools print text; the
 * usual mistake is perf's own recording, perf.data, given instead of the text of `perf kvm stat
 * report`), and the prompts and `^C` echoes a terminal adds after the output set aside, so that a
 * report pasted with the shell session around it reads as the output alone.
 */
export function reportText(text: string, file: string): ReportText {
  const fail: ReportFail = (line, column, expected, found) => {
    throw new ReportFormatError(file, line, column, expected, found);
  };
  const all = splitLines(text);
  const nulLine = all.findIndex((l) => l.includes('\0'));
  if (nulLine >= 0) {
    // perf.data starts with the magic "PERFILE2" (tools/perf/util/header.c, perf_header__read_magic()).
    const perfData = text.replace(/^\uFEFF/, '').startsWith('PERFILE2');
    fail(
      nulLine + 1,
      all[nulLine].indexOf('\0') + 1,
      "the report as the tool prints it (text: 'perf kvm stat report > report.txt', 'kvm_stat -1', 'bhyvectl --get-stats')",
      perfData
        ? "perf's binary recording (perf.data): give the text 'perf kvm stat report' prints from it"
        : 'binary data (a NUL byte)',
    );
  }
  // `perf kvm stat live` clears the screen before each refresh with puts(CONSOLE_CLEAR) (ESC [H ESC [2J
  // and a newline, tools/perf/builtin-kvm.c print_result()); redirected with the tables (2>&1) those
  // lines land among them where stdout's buffer was flushed. A line of terminal controls alone holds
  // nothing of the report: it reads as blank.
  let controls = 0;
  const CSI = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;?]*[A-Za-z]`, 'g');
  for (let k = 0; k < all.length; k++)
    if (all[k].includes('\x1b') && all[k].replace(CSI, '').trim() === '') {
      all[k] = '';
      controls++;
    }
  const quoted = unquote(all);
  const lines = quoted?.lines ?? all;
  let end = lines.length;
  let trailing = 0;
  while (end > 0 && (lines[end - 1].trim() === '' || isTerminalLine(lines[end - 1]))) {
    if (lines[end - 1].trim() !== '') trailing++;
    end--;
  }
  // Positions in messages stay those of the file: a quoted line's column counts its quote marks.
  const failQuoted: ReportFail = quoted
    ? (line, column, expected, found) => fail(line, column + (quoted.offsets[line - 1] ?? 0), expected, found)
    : fail;
  const controlNotes =
    controls > 0
      ? [`${controls} line(s) of terminal controls alone (perf kvm stat live's screen clear) read as blank`]
      : [];
  const quoteNotes = quoted
    ? [`the report is quoted as in a mail ('${quoted.marker}' before every line): the quote marks were set aside`]
    : [];
  const inFile = (report: ExitReport): ExitReport =>
    quoted
      ? {
          ...report,
          rows: report.rows.map((r) => ({
            ...r,
            source: { line: r.source.line, column: r.source.column + (quoted.offsets[r.source.line - 1] ?? 0) },
          })),
        }
      : report;
  return {
    inFile,
    lines: lines.slice(0, end),
    trailingTerminalLines: trailing,
    fail: failQuoted,
    emptyFound: trailing > 0 ? 'shell prompts only, no output' : 'an empty file',
    quoteNotes,
    trailingNotes: [
      ...controlNotes,
      ...quoteNotes,
      ...(trailing > 0 ? [`${trailing} line(s) after the output (shell prompt, ^C) were ignored`] : []),
    ],
  };
}

/**
 * A report copied from a mail or a mail archive (kvm@vger.kernel.org threads, lore.kernel.org) carries
 * the reply's quote marks before every line: `> `, or `> > ` and `>> ` one reply deeper. When every
 * line that is not blank or a shell prompt (isTerminalLine) starts with a quote mark, the marks of the shallowest depth all lines share
 * are set aside (and the one space after them); `offsets` holds how many characters each line lost.
 * None of the tools prints a line starting with `>`. Undefined when the text is not quoted.
 */
function unquote(all: readonly string[]): { lines: string[]; offsets: number[]; marker: string } | undefined {
  const QUOTE = /^(?:[ \t]*>)+/;
  let depth = Infinity;
  let any = false;
  for (const l of all) {
    // A shell prompt or a '# source' line typed above the pasted mail is not part of it.
    if (l.trim() === '' || isTerminalLine(l)) continue;
    const m = QUOTE.exec(l);
    if (!m) return undefined;
    any = true;
    depth = Math.min(depth, (m[0].match(/>/g) ?? []).length);
  }
  if (!any) return undefined;
  const lines: string[] = [];
  const offsets: number[] = [];
  let marker = '';
  for (const l of all) {
    let cut = 0;
    if (!QUOTE.test(l)) {
      lines.push(l);
      offsets.push(0);
      continue;
    }
    for (let d = 0; d < depth; d++) {
      const gt = l.indexOf('>', cut);
      if (gt < 0 || l.slice(cut, gt).trim() !== '') break;
      cut = gt + 1;
    }
    if (l[cut] === ' ') cut++;
    if (marker === '' && cut > 0) marker = l.slice(0, cut).trim();
    lines.push(l.slice(cut));
    offsets.push(cut);
  }
  return { lines, offsets, marker };
}

/** Lines of a text with CRLF / CR line ends accepted; a final newline does not add an empty line. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A line shortened for an error message, quoted. */
export function quoteFound(s: string, max = 60): string {
  const t = s.length > max ? `${s.slice(0, max)}...` : s;
  return JSON.stringify(t);
}
