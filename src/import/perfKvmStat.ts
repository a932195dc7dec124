/**
 * Linux `perf kvm stat report` (the VM-EXIT table): parse and render.
 *
 * The layout, as printed by print_result() in tools/perf/builtin-kvm.c (torvalds/linux; read at a
 * 4.x-5.x version and at the first version of the file from 2012, and checked against published
 * outputs up to the 6.x `--stdio` mode, see test/fixtures/reports/README.md):
 *
 *   [HH:MM:SS.uuuuuu]                                (live mode only: show_timeofday())
 *   Analyze events for <scope>:                      (scope: "all VMs, " | "pid(s) P, " | nothing in
 *                                                     the first version; then "all VCPUs" | "VCPU n")
 *   %20s %10s %9s %9s %11s %11s %16s                 ("VM-EXIT", "Samples", "Samples%", "Time%",
 *                                                     "Min Time", "Max Time", "Avg time"; the event
 *                                                     column is "IO Port Access" / "MMIO Access" /
 *                                                     "MSR Access" for --event=ioport|mmio|msr)
 *   %20s %10llu %8.2f%% %8.2f%% %9.2fus %9.2fus %9.2fus ( +-%7.2f%% )   per reason, sorted by the
 *                                                     sort key (default: samples, descending)
 *   Total Samples:%lu, Total events handled time:%.2fus.
 *   [Lost events: %lu]                               (live mode, when events were lost)
 *
 * The event name is printed with %20s, so longer names (e.g. SVM "avic_unaccelerated_access")
 * push the row right; SVM names can contain a space ("PF excp"). The first version (2012) had no
 * Min/Max columns; the 20-char width is DECODE_STR_LEN / decode_str_len for x86 (40 on s390).
 * "( +- x% )" is the relative standard deviation of the mean (rel_stddev_stats()).
 * Samples% is count / total count; Time% is the event's summed time / total time; Avg time is
 * summed time / count. Times are measured from kvm_exit to the next kvm_entry of the vCPU.
 * When perf cannot decode an exit code it prints "unknown kvm exit code:N on VMX" (stderr, often
 * interleaved in pasted output) and the row's name is "UNKNOWN".
 */
import { linuxExitCode, linuxNameVendor } from './exitNames.js';
import { LIVE_NOTE, NOT_SHOWN, sumLiveRefreshes } from './perfLive.js';
import type { LiveTable } from './perfLive.js';
import {
  FIXED_RE,
  GROUPED_EXPECTED,
  GROUPED_RE,
  INT_RE,
  joinWrapped,
  readRow,
  timePercentOver,
  TOTAL_RE,
  UNKNOWN_CODE_RE,
  type RawRow,
} from './perfKvmStatRows.js';
import { isTerminalLine, quoteFound, reportText } from './report.js';
import type { ExitReport, ExitReportRow, ReportFail, ReportText, ReportVendor } from './report.js';

const ANALYZE_RE = /^\s*Analyze events for (.*?):\s*$/;
const HEADER_RE = /^(\s*)(\S.*?)\s+Samples\s+Samples%\s+Time%\s+(?:(Min [Tt]ime)\s+(Max [Tt]ime)\s+)?Avg [Tt]ime\s*$/;
/**
 * A different layout, "Event name  Samples  Sample%  Time (ns) ...", shown in the RISC-V kvm-stat
 * patch's commit message; upstream print_result() (used whenever the TUI browser is not) does not
 * print it. Recognised only to reject it with a clear message.
 */
const HISTS_HEADER_RE = /^\s*Event name\s+Samples\s+Sample%/;
const LOST_RE = /^\s*Lost events:\s*(\d+)\s*$/;
/** A line that stands for rows left out of a posted table: `[..]`, `[...]`, `...`. */
const ELISION_RE = /^\s*(?:\[\s*\.{2,}\s*\]|\.{3,}|\u2026)\s*$/;
const TIMESTAMP_RE = /^\s*\d{2}:\d{2}:\d{2}\.\d{6}\s*$/;

/**
 * Parse the VM-EXIT table of `perf kvm stat report` / `perf kvm stat live` output.
 * Throws ReportFormatError (file:line:col, expected, found) on malformed input.
 */
export function parsePerfKvmStat(text: string, file: string): ExitReport {
  const input = reportText(text, file);
  // perf kvm stat live prints one table per refresh; each after the first starts at the line parseTable
  // hands back (its time of day).
  const tables: LiveTable[] = [];
  for (let from: number | undefined = 0; from !== undefined;) {
    const t = parseTable(input, file, from);
    tables.push(t);
    from = t.next;
  }
  const one = tables.length === 1 ? tables[0].report : sumLiveRefreshes(tables, input.fail);
  return input.inFile({ ...one, notes: [...one.notes, ...input.trailingNotes] });
}

/** One table of a file from its line `from` (0-based); `next`: where the next refresh starts. */
function parseTable(input: ReportText, file: string, from: number): LiveTable {
  const lines = input.lines;
  const fail: ReportFail = input.fail;
  const notes: string[] = [];
  let stamp: { line: number; time: string } | undefined;
  let next: number | undefined;

  // 1. Find the "Analyze events" line and/or the column header. Lines before them (a shell prompt,
  //    "[ perf record: ... ]", a live-mode timestamp) are not part of the report.
  let i = from;
  let scope: string | undefined;
  let skipped = 0;
  let live = false;
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (ANALYZE_RE.test(l) || HEADER_RE.test(l) || HISTS_HEADER_RE.test(l)) break;
    if (TIMESTAMP_RE.test(l)) {
      live = true;
      stamp = { line: i + 1, time: l.trim() };
    } else if (l.trim() !== '') skipped++;
  }
  if (i === lines.length) {
    // The first line of output, not the prompt that printed it.
    // A time of day and nothing after it: the last refresh of a live file, cut off.
    if (stamp)
      fail(
        lines.length + 1,
        1,
        `the table of the refresh whose time of day is line ${stamp.line} ('Analyze events for ...:', the column header, the rows, 'Total Samples:')`,
        'end of input',
      );
    const first = lines.findIndex((l, k) => k >= from && l.trim() !== '' && !isTerminalLine(l));
    fail(
      first < 0 ? 1 : first + 1,
      1,
      "the 'Analyze events for ...:' line or the 'VM-EXIT  Samples  Samples%  Time% ...' column header of perf kvm stat report",
      first < 0 ? input.emptyFound : quoteFound(lines[first]),
    );
  }
  if (skipped > 0) notes.push(`${skipped} line(s) before the report were ignored`);
  if (live) notes.push(LIVE_NOTE);
  let vcpus: number | undefined;
  const analyze = ANALYZE_RE.exec(lines[i]);
  if (analyze) {
    scope = analyze[1]!;
    const vcpu = /VCPU (\d+)$/.exec(scope);
    if (vcpu) {
      vcpus = 1;
      notes.push(`the report covers VCPU ${vcpu[1]} only`);
    } else if (!/all VCPUs$/.test(scope)) {
      fail(i + 1, lines[i].indexOf('Analyze') + 1, "a scope ending in 'all VCPUs' or 'VCPU n'", quoteFound(scope));
    }
    if (/pid\(s\) /.test(scope)) notes.push(`the report covers ${scope.replace(/, (all VCPUs|VCPU \d+)$/, '')} only`);
    i++;
    while (i < lines.length && lines[i].trim() === '') i++;
    if (i === lines.length) fail(i, 1, "the 'VM-EXIT  Samples  Samples%  Time% ...' column header", 'end of input');
  }
  let headerLine = lines[i];
  // A mail client wraps a report at ~72 columns: the header's "Max" and "Time" land on two lines.
  if (!HEADER_RE.test(headerLine) && i + 1 < lines.length && HEADER_RE.test(`${headerLine} ${lines[i + 1].trim()}`)) {
    notes.push(`the column header is wrapped over lines ${i + 1}-${i + 2} (as a mail client wraps it): joined`);
    headerLine = `${headerLine} ${lines[i + 1].trim()}`;
    i++;
  }
  if (HISTS_HEADER_RE.test(headerLine)) {
    fail(
      i + 1,
      headerLine.search(/\S/) + 1,
      "the print_result() layout ('VM-EXIT  Samples  Samples%  Time%  Min Time  Max Time  Avg time'; run perf kvm stat report --stdio)",
      "the 'Event name  Samples  Sample%  Time (ns) ...' layout",
    );
  }
  const header = HEADER_RE.exec(headerLine);
  if (!header) {
    fail(
      i + 1,
      Math.max(1, headerLine.search(/\S/) + 1),
      "the column header 'VM-EXIT  Samples  Samples%  Time%  [Min Time  Max Time]  Avg time'",
      quoteFound(headerLine),
    );
  }
  const eventName = header[2];
  if (eventName !== 'VM-EXIT') {
    fail(
      i + 1,
      header[1].length + 1,
      'the VM-EXIT table (perf kvm stat report --event=vmexit); only the vmexit table is supported',
      `the ${quoteFound(eventName)} table`,
    );
  }
  const hasMinMax = header[3] !== undefined;
  if (!hasMinMax) notes.push('no Min/Max Time columns (perf before the min/max patch)');
  if (header[3] === 'Min time') notes.push("header spells 'Min time'/'Max time'");
  i++;

  // 2. Rows until the "Total Samples" trailer.
  const raw: RawRow[] = [];
  let pendingUnknown: string | undefined;
  let totalLine = -1;
  let totalSamples = 0;
  let totalTimeNs = 0;
  let totalColumn = 1;
  let wrapped = 0;
  let elided = 0;
  for (; i < lines.length; i++) {
    const first = i;
    if (lines[i].trim() === '') continue;
    // With the lines a mail client wrapped it onto (perfKvmStatRows.ts); messages point into the file.
    const joined = joinWrapped(lines, i);
    const l = joined.text;
    i = joined.last;
    if (i > first) wrapped++;
    const failAt = (pos: number, expected: string, found: string): never => {
      const { line, column } = joined.posOf(pos);
      return fail(line, column, expected, found);
    };
    const total = TOTAL_RE.exec(l);
    if (total) {
      totalLine = first + 1;
      totalColumn = l.indexOf('Total Samples:') + 'Total Samples:'.length + 1;
      if (!INT_RE.test(total[2]))
        failAt(
          totalColumn - 1,
          GROUPED_RE.test(total[2]) ? GROUPED_EXPECTED : 'an integer sample count',
          quoteFound(total[2]),
        );
      if (!FIXED_RE.test(total[3]))
        failAt(
          l.indexOf('handled time:') + 'handled time:'.length,
          'a time like 1234.56us',
          quoteFound(`${total[3]}us`),
        );
      totalSamples = Number(total[2]);
      totalTimeNs = Math.round(Number(total[3]) * 1000);
      i++;
      break;
    }
    if (ELISION_RE.test(l)) {
      elided = first + 1;
      continue;
    }
    const unknown = UNKNOWN_CODE_RE.exec(l);
    if (unknown) {
      pendingUnknown = `${unknown[1]} on ${unknown[2]}`;
      continue;
    }
    const row = readRow(joined, first + 1, hasMinMax, failAt, notes);
    // perf prints one row per exit reason (one per undecoded code, each "UNKNOWN"): a reason twice
    // is a table edited or pasted over itself, whose rows were summed into the fit without a word.
    const twice = row.name === 'UNKNOWN' ? undefined : raw.find((r) => r.name === row.name);
    if (twice !== undefined)
      fail(
        row.line,
        row.column,
        `each exit reason once (perf kvm stat prints one row per reason; line ${twice.line} has ${quoteFound(row.name)})`,
        `${quoteFound(row.name)} again`,
      );
    if (pendingUnknown !== undefined) {
      if (row.name === 'UNKNOWN') row.undecoded = pendingUnknown;
      pendingUnknown = undefined;
    }
    raw.push(row);
    const over = timePercentOver(raw);
    if (over !== undefined)
      fail(row.timePercentAt.line, row.timePercentAt.column, over, quoteFound(`${row.timePercent.toFixed(2)}%`));
  }
  if (wrapped > 0) notes.push(`${wrapped} row(s) wrapped over two or more lines (as a mail client wraps them): joined`);
  if (totalLine < 0) {
    // A cut table (dots, or rows whose Samples% fall short of 100 % by more than rounding) is read
    // once it has the trailer; its total is the source's to give, not ours to guess from Samples%.
    const shown = raw.reduce((a, r) => a + r.samplesPercent, 0);
    const short = raw.length > 0 && shown < 100 - 0.005 * (raw.length + 1) - 1e-9;
    const last = raw.length > 0 ? Math.max(raw[raw.length - 1].line, elided) : elided;
    const why =
      elided > 0
        ? `line ${elided} marks rows left out`
        : `its ${raw.length} row(s) add up to ${shown.toFixed(2)} % of the exits: the table was cut`;
    fail(
      lines.length + 1,
      1,
      `the trailer 'Total Samples:N, Total events handled time:X.XXus.'${elided > 0 || short ? ` (${why}${elided > 0 ? ':' : ';'} without the trailer's total, the exits of those rows are unknown; if the source states the total, add it by hand after line ${last} - 'Total Samples:<N>, Total events handled time:<T>us.' (N and T as the source gives them; T 0.00 if it gives none) - and import again: the rows left out are then read as one row '${NOT_SHOWN}')` : ''}`,
      'end of input',
    );
  }
  // 3. After the trailer: blank lines and live mode's "Lost events: N" only (and the shell prompts
  //    of a pasted terminal session, before a second table if there is one).
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '' || isTerminalLine(l)) continue;
    const lost = LOST_RE.exec(l);
    if (lost) {
      notes.push(`perf lost ${lost[1]} events; the counts are a lower bound`);
      continue;
    }
    // The next refresh of perf kvm stat live: print_result() prints the time of day first.
    if (live && TIMESTAMP_RE.test(l)) {
      next = i;
      break;
    }
    if (ANALYZE_RE.test(l) || TIMESTAMP_RE.test(l) || HEADER_RE.test(l)) {
      fail(
        i + 1,
        l.search(/\S/) + 1,
        `one report table per file (the refreshes of perf kvm stat live are read when each has its time of day above it${live ? '' : ', as this table has not'}; the --event=ioport|mmio|msr tables are not read: keep the VM-EXIT table)`,
        'a second table',
      );
    }
    fail(i + 1, l.search(/\S/) + 1, "end of input after the 'Total Samples:' line", quoteFound(l.trim()));
  }

  // 4. Consistency: the rows add up to the trailer, each Samples% matches its count.
  //    Except a table cut when it was posted (the top rows of a mail, a slide): its rows' Samples% are
  //    those of the whole table and add up to less than 100 % by more than their rounding. Such a
  //    table is read with the rest as one row; a Total that disagrees otherwise is an error.
  const sum = raw.reduce((a, r) => a + r.samples, 0);
  const shownPercent = raw.reduce((a, r) => a + r.samplesPercent, 0);
  const cut = sum < totalSamples && raw.length > 0 && shownPercent < 100 - 0.005 * (raw.length + 1) - 1e-9;
  if (sum !== totalSamples && !cut) {
    fail(
      totalLine,
      totalColumn,
      `Total Samples equal to the sum of the rows (${sum})${sum < totalSamples ? `, or rows whose Samples% add up to less than 100 % (a table cut when posted; these add up to ${shownPercent.toFixed(2)} %)` : ''}`,
      String(totalSamples),
    );
  }
  for (const r of raw) {
    const expect = (100 * r.samples) / totalSamples;
    if (Math.abs(expect - r.samplesPercent) > 0.005 + 1e-9) {
      fail(
        r.samplesPercentAt.line,
        r.samplesPercentAt.column,
        `Samples% = ${r.samples}/${totalSamples} = ${expect.toFixed(2)}% (within rounding)`,
        `${r.samplesPercent.toFixed(2)}%`,
      );
    }
  }
  if (totalTimeNs > 0 && !cut) {
    // Avg time is rounded to 0.01us, so count x avg is the event's time within count x 5 ns.
    const approx = raw.reduce((a, r) => a + r.samples * r.avgNs, 0);
    const slack = raw.reduce((a, r) => a + r.samples * 5, 0) + 5;
    if (Math.abs(approx - totalTimeNs) > slack) {
      notes.push(
        `Total events handled time ${totalTimeNs / 1000}us differs from the sum of samples x Avg time (${(approx / 1000).toFixed(2)}us) by more than rounding`,
      );
    }
  }

  // 5. Vendor from the names; codes from the vendor's table.
  let vendor: ReportVendor = 'unknown';
  let vendorRow: RawRow | undefined;
  for (const r of raw) {
    const v = linuxNameVendor(r.name);
    if (v === 'unknown') continue;
    if (vendor === 'unknown') {
      vendor = v;
      vendorRow = r;
    } else if (v !== vendor) {
      fail(
        r.line,
        r.column,
        `exit reasons of one vendor (line ${vendorRow!.line} has the ${vendor} reason ${quoteFound(vendorRow!.name)})`,
        `the ${v} reason ${quoteFound(r.name)}`,
      );
    }
  }
  const unknownNames: string[] = [];
  const rows: ExitReportRow[] = raw.map((r) => {
    const code = linuxExitCode(vendor, r.name);
    if (code === undefined)
      unknownNames.push(
        `${r.name} (line ${r.line}${r.undecoded ? `, perf could not decode exit code ${r.undecoded}` : ''})`,
      );
    if (r.name === 'PENDING_INTERRUPT')
      notes.push(`line ${r.line}: PENDING_INTERRUPT is the older kernels' name of INTERRUPT_WINDOW (7)`);
    return {
      name: r.name,
      vendor,
      code,
      reason: r.name,
      samples: r.samples,
      samplesPercent: r.samplesPercent,
      timePercent: r.timePercent,
      ...(r.minNs !== undefined ? { minNs: r.minNs } : {}),
      ...(r.maxNs !== undefined ? { maxNs: r.maxNs } : {}),
      avgNs: r.avgNs,
      ...(r.avgStddevPercent !== undefined ? { avgStddevPercent: r.avgStddevPercent } : {}),
      source: { line: r.line, column: r.column },
    };
  });
  if (cut) {
    const rest = totalSamples - sum;
    rows.push({
      name: NOT_SHOWN,
      vendor,
      code: undefined,
      samples: rest,
      samplesPercent: (100 * rest) / totalSamples,
      source: { line: totalLine, column: totalColumn },
    });
    notes.push(
      `the table was cut when posted${elided > 0 ? ` (line ${elided} marks rows left out)` : ''}: its ${raw.length} row(s) add up to ${sum} of Total Samples ${totalSamples} (Samples% ${shownPercent.toFixed(2)} %); the other ${rest} exit(s) are kept as one row '${NOT_SHOWN}', with no reason the fit can reproduce`,
    );
  }
  if (unknownNames.length > 0) {
    notes.push(
      `not in Linux's ${vendor === 'amd' ? 'SVM_EXIT_REASONS' : vendor === 'intel' ? 'VMX_EXIT_REASONS' : 'VMX_EXIT_REASONS or SVM_EXIT_REASONS'} table, kept with no code: ${unknownNames.join(', ')}`,
    );
  }
  if (raw.length === 0) notes.push('the table has no rows');
  const report: ExitReport = {
    format: 'perf-kvm-stat',
    file,
    vendor,
    rows,
    totalSamples,
    totalTimeNs,
    ...(vcpus !== undefined ? { vcpus } : {}),
    ...(live ? { live } : {}),
    notes,
  };
  return { report, ...(stamp ? { stamp } : {}), ...(next !== undefined ? { next } : {}) };
}

/**
 * C printf("%.<digits>f") for finite non-negative values: the exact binary value rounded to the
 * nearest, ties to even (glibc, default rounding mode). Number#toFixed breaks exact ties upward.
 */
export function cFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  const scale = 10 ** digits;
  const scaled = x * scale;
  const floor = Math.floor(scaled);
  // An exact tie: x * 10^digits is k + 0.5 exactly (representable), and the product is exact.
  if (scaled - floor === 0.5 && (floor + 0.5) / scale === x && floor % 2 === 0) {
    return (floor / scale).toFixed(digits);
  }
  return s;
}

export interface RenderOptions {
  /** The scope after "Analyze events for ": default "all VMs, all VCPUs". */
  readonly scope?: string;
}

/**
 * Render rows (count and average handling time per reason; min/max/deviation when known) as
 * perf's print_result() would. Rows are sorted by samples, descending (perf's default sort key),
 * keeping input order on ties. Summed time per reason is samples x avgNs.
 */
export function renderPerfKvmStat(report: Pick<ExitReport, 'rows'>, options: RenderOptions = {}): string {
  const rows = report.rows.map((r, idx) => ({ r, idx }));
  rows.sort((a, b) => b.r.samples - a.r.samples || a.idx - b.idx);
  let totalCount = 0;
  let totalTime = 0;
  for (const { r } of rows) {
    if (r.avgNs === undefined) throw new Error(`renderPerfKvmStat: row ${r.name} has no avgNs`);
    if (!Number.isSafeInteger(r.samples) || r.samples <= 0)
      throw new Error(
        `renderPerfKvmStat: row ${r.name} has samples ${r.samples}; perf prints only events with a positive count`,
      );
    totalCount += r.samples;
    totalTime += r.samples * r.avgNs;
  }
  const f2 = (x: number): string => cFixed(x, 2);
  let out = '\n\n';
  out += `Analyze events for ${options.scope ?? 'all VMs, all VCPUs'}:\n\n`;
  out += `${'VM-EXIT'.padStart(20)} ${'Samples'.padStart(10)} ${'Samples%'.padStart(9)} ${'Time%'.padStart(9)} ${'Min Time'.padStart(11)} ${'Max Time'.padStart(11)} ${'Avg time'.padStart(16)} \n\n`;
  for (const { r } of rows) {
    const etime = r.samples * r.avgNs!;
    const min = r.minNs ?? r.avgNs!;
    const max = r.maxNs ?? r.avgNs!;
    const timePct = totalTime > 0 ? (etime / totalTime) * 100 : 0;
    out +=
      `${r.name.padStart(20)} ${String(r.samples).padStart(10)} ${f2((r.samples / totalCount) * 100).padStart(8)}% ` +
      `${f2(timePct).padStart(8)}% ${f2(min / 1000).padStart(9)}us ${f2(max / 1000).padStart(9)}us ` +
      `${f2(etime / r.samples / 1000).padStart(9)}us ( +-${f2(r.avgStddevPercent ?? 0).padStart(7)}% )\n`;
  }
  out += `\nTotal Samples:${totalCount}, Total events handled time:${f2(totalTime / 1000)}us.\n\n`;
  return out;
}
