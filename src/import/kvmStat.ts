/**
 * Linux `kvm_stat` output (tools/kvm/kvm_stat/kvm_stat in torvalds/linux; before 4.7 in qemu's
 * scripts/kvm/kvm_stat): parse into an ExitReport. Layouts, read in the script's versions (qemu
 * copy of 2015, the 4.x copies in tools/kvm/kvm_stat, a 6.x copy with `--csv`):
 *
 *  - the interactive screen (`kvm_stat`, curses). Title "kvm statistics" (qemu-kvm's kvm/kvm_stat:
 *    no header, '%10d' total and '%8d' delta of its one-second refresh, later delta / interval) or
 *    "kvm statistics - summary" / "kvm statistics - pid N (name)"; a header row that was absent
 *    (2012), then "Event  Total  Current" (qemu 2015, LABEL_WIDTH 40, NUMBER_WIDTH 10), then
 *    '%-40s %10s%7s %8s' % ('Event', 'Total', '%Total', 'CurAvg/s') (4.x on); rows
 *    '%-40s %10d%7.1f %8s' % (key, total, total * 100 / sum, cur), cur = round(delta / interval) or
 *    blank when the delta is 0, and a 'Total' row '%-40s %10d        %8s'. `Total` counts since the
 *    start or the last reset; `CurAvg/s` is the last refresh interval's rate (-s, default 3 s).
 *    Child events `kvm_exit(REASON)` (key 'x') are rows of their own; 6.x indents them by two spaces
 *    under `kvm_exit` with %Total relative to that parent.
 *  - `kvm_stat -1` (batch()): two reads one `time.sleep(1)` apart, then per event, sorted by name,
 *    '%-42s%10d%10d' % (name, total, delta) ('%-22s' in qemu-kvm's copy): the delta is the exits of
 *    that one second.
 *  - `kvm_stat -l` / `-L FILE` (log()): a banner of the event names separated by spaces (qemu-kvm's
 *    copy cut them to 9 characters, '%10s' % k[0:9]: refused, the reasons are lost), repeated
 *    every 20 rows, and one row per interval of ' %9d' deltas. Until Stefan Raspl's 2020 series
 *    (kvm@vger.kernel.org, "[PATCH 3/7] tools/kvm_stat: add command line switch '-s' to set update
 *    interval", 2020-03-06) the interval is `time.sleep(1)` and rows have no time stamp; from then it
 *    is `-s` (default 3 s), and by Raspl's `-z` patch (2020-04-02, Message-Id
 *    <20200402085705.61155-2-raspl@linux.ibm.com>) rows start with "YYYY-MM-DD HH:MM:SS"; `-c` (`--csv`) writes "timestamp,name,..." and "time,delta,...". `-z`
 *    omits all-zero rows, so the span is taken from the time stamps.
 *
 * Event names: tracepoints of the `kvm` trace system (`kvm_exit`, `kvm_entry`, `kvm_page_fault`,
 * ...), the kvm_exit tracepoint filtered per exit reason as `kvm_exit(NAME)` with kvm_stat's own
 * VMX / SVM tables (src/import/exitNames.ts), and with `-d` the debugfs counters of
 * /sys/kernel/debug/kvm (`exits`, `halt_exits`, `irq_exits`, `io_exits`, `mmio_exits`, ...), which
 * have no per-reason breakdown. Exit rows are the `kvm_exit(NAME)` ones; everything else goes to
 * `stats`. kvm_exit counts exits whose code is not in kvm_stat's table (older copies lack
 * EOI_INDUCED, PREEMPTION_TIMER, ...); the remainder is one UNCATEGORIZED row, as bhyvectl's.
 */
import { kvmStatExitCode, kvmStatNameVendor } from './exitNames.js';
import {
  CHILD_RE,
  HEADER_RE,
  parseLog,
  parseOnce,
  parseScreen,
  SCREEN_ROW_RE,
  TITLE_RE,
  type Event,
  type Parsed,
} from './kvmStatRows.js';
import { leadingTerminalLines, quoteFound, reportText } from './report.js';
import type { ExitReport, ExitReportRow, ReportFail, ReportVendor } from './report.js';

/** Parse kvm_stat output (screen, `-1`, `-l`/`-L`, `-l -c`). Throws ReportFormatError on malformed input. */
export function parseKvmStat(text: string, file: string): ExitReport {
  const input = reportText(text, file);
  const lines = input.lines;
  const fail: ReportFail = input.fail;
  const lead = leadingTerminalLines(lines);
  const i = lead.first;
  const prompts = lead.prompts;
  if (i === lines.length) fail(Math.max(1, i), 1, 'kvm_stat output', input.emptyFound);
  const first = lines[i];
  let parsed: Parsed;
  if (TITLE_RE.test(first) || HEADER_RE.test(first) || SCREEN_ROW_RE.test(first)) parsed = parseScreen(lines, i, fail);
  else if (/^timestamp,/.test(first.trim())) parsed = parseLog(lines, i, fail, true);
  else if (/^\s*\S+\s+\d+\s+\d+\s*$/.test(first)) parsed = parseOnce(lines, i, fail);
  else if (/^\s*[a-z_]\S*(\s+\S+)*\s*$/.test(first) && !/\d\s*$/.test(first)) parsed = parseLog(lines, i, fail, false);
  else
    fail(
      i + 1,
      first.search(/\S/) + 1,
      "kvm_stat output: the screen ('kvm statistics' or 'Event  Total  %Total  CurAvg/s'), 'kvm_stat -1' rows '<event> <total> <per second>', or a 'kvm_stat -l' banner of event names",
      quoteFound(first.trim()),
    );
  if (prompts > 0) parsed.notes.unshift(`${prompts} command line(s) before the output were ignored`);
  parsed.notes.push(...input.trailingNotes);
  return input.inFile(toReport(parsed, file, fail));
}

function toReport(p: Parsed, file: string, fail: ReportFail): ExitReport {
  const notes = [...p.notes];
  const seen = new Map<string, Event>();
  for (const e of p.events) {
    const prev = seen.get(e.name);
    if (prev && p.layout !== 'log' && p.layout !== 'csv')
      fail(e.line, e.column, `each event once (${e.name} already at line ${prev.line})`, quoteFound(e.name));
    seen.set(e.name, e);
  }
  // Vendor from the unambiguous kvm_exit(NAME) filter names.
  let vendor: ReportVendor = 'unknown';
  let vendorAt: Event | undefined;
  const exits: { e: Event; reason: string }[] = [];
  const stats: Record<string, number> = {};
  let parent: Event | undefined;
  for (const e of p.events) {
    const child = CHILD_RE.exec(e.name);
    if (e.name === 'kvm_exit') parent = e;
    if (child?.[1] !== 'kvm_exit') {
      stats[e.name] = e.total;
      continue;
    }
    exits.push({ e, reason: child[2] });
    const v = kvmStatNameVendor(child[2]);
    if (v === 'unknown') continue;
    if (vendor === 'unknown') {
      vendor = v;
      vendorAt = e;
    } else if (v !== vendor)
      fail(
        e.line,
        e.column,
        `exit reasons of one vendor (line ${vendorAt!.line} ${quoteFound(vendorAt!.name)} is ${vendor === 'intel' ? 'VMX' : 'SVM'})`,
        `the ${v === 'intel' ? 'VMX' : 'SVM'} reason ${quoteFound(e.name)}`,
      );
  }
  if (exits.length === 0) {
    notes.push(
      stats.exits !== undefined
        ? "debugfs counters only (kvm_stat -d, or no tracefs access): 'exits', 'halt_exits', 'irq_exits', ... have no per-reason breakdown; run kvm_stat as root with tracepoints (-t) and child events (key 'x' on the screen)"
        : "no kvm_exit(REASON) events: kvm_stat's child events are shown with key 'x' on the screen, or with -f 'kvm_exit.*'",
    );
  }
  const inNeither = exits.filter(
    (x) => kvmStatExitCode('intel', x.reason) === undefined && kvmStatExitCode('amd', x.reason) === undefined,
  );
  if (vendor === 'unknown' && inNeither.length > 0)
    notes.push(
      `not x86: ${inNeither.map((x) => x.reason).join(', ')} ${inNeither.length === 1 ? 'is' : 'are'} in neither of kvm_stat's VMX and SVM tables (arm64's exception classes are WFx, DABT_LOW, ...); kept with no code`,
    );
  else if (vendor === 'unknown' && exits.length > 0)
    notes.push(
      "vendor unknown: every reason is in both of kvm_stat's tables (VMX and SVM), so rows carry no code; the CPU chosen at import decides",
    );
  const rows: ExitReportRow[] = [];
  const unknown: string[] = [];
  for (const { e, reason } of exits) {
    if (e.total === 0 && (e.perSecond ?? 0) === 0) continue;
    const code = kvmStatExitCode(vendor, reason);
    if (code === undefined && vendor !== 'unknown') unknown.push(e.name);
    if (reason === 'PENDING_INTERRUPT')
      notes.push(`line ${e.line}: PENDING_INTERRUPT is the older kernels' name of INTERRUPT_WINDOW (7)`);
    rows.push({
      name: e.name,
      vendor,
      code,
      reason,
      samples: e.total,
      ...(e.perSecond !== undefined ? { perSecond: e.perSecond } : {}),
      source: { line: e.line, column: e.column },
    });
  }
  if (unknown.length > 0)
    notes.push(`not in kvm_stat's ${vendor === 'amd' ? 'SVM' : 'VMX'} table, kept with no code: ${unknown.join(', ')}`);
  // kvm_exit against its children: over one span (log, or the rates of one interval) the children
  // cannot add up to more than their parent; what they leave is exits kvm_stat's table does not name.
  if (parent && exits.length > 0) {
    const useRate = !p.sameSpan && parent.perSecond !== undefined;
    const of = (e: Event): number => (useRate ? (e.perSecond ?? 0) : e.total);
    const childSum = exits.reduce((a, x) => a + of(x.e), 0);
    // Screen rates are rounded per row; -1 deltas and log sums are exact.
    const slack = useRate && p.layout === 'screen' ? 0.5 * (exits.length + 1) : 0;
    const residual = of(parent) - childSum;
    if (residual < -slack) {
      if (useRate || p.sameSpan)
        fail(
          parent.line,
          (useRate ? parent.rateColumn : parent.totalColumn) ?? parent.column,
          `kvm_exit >= the sum of its kvm_exit(REASON) children (${childSum})`,
          String(of(parent)),
        );
    } else if (residual > slack) {
      const samples = p.sameSpan ? residual : Math.max(0, parent.total - exits.reduce((a, x) => a + x.e.total, 0));
      rows.push({
        name: 'kvm_exit not in any kvm_exit(REASON)',
        vendor,
        code: undefined,
        reason: 'UNCATEGORIZED',
        samples,
        ...(parent.perSecond !== undefined
          ? {
              perSecond: p.sameSpan ? parent.perSecond - exits.reduce((a, x) => a + (x.e.perSecond ?? 0), 0) : residual,
            }
          : {}),
        source: { line: parent.line, column: parent.column },
      });
      notes.push(
        `kvm_exit counts ${useRate ? `${residual} exits/s` : `${residual} exits`} more than its children: reasons kvm_stat's table does not name (or children not shown); one UNCATEGORIZED row`,
      );
    }
    if (!p.sameSpan && parent.total < exits.reduce((a, x) => a + x.e.total, 0))
      notes.push(
        "the children's Total exceeds kvm_exit's: they were counted over different spans (the rates are used)",
      );
  }
  return {
    format: 'kvm-stat',
    file,
    vendor,
    rows,
    ...(parent ? { totalSamples: parent.total } : {}),
    ...(p.durationSeconds !== undefined ? { durationSeconds: p.durationSeconds } : {}),
    stats,
    notes: [...notes, 'kvm_stat counts every vCPU of every guest (or of the -p/-g guest): give --vcpus'],
  };
}
