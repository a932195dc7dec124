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
import { leadingTerminalLines, quoteFound, reportText } from './report.js';
import type { ExitReport, ExitReportRow, ReportFail, ReportVendor } from './report.js';

const TITLE_RE = /^\s*kvm statistics(?:\s*-\s*(.*?))?\s*$/;
const HEADER_RE = /^(\s*)(Event|Guest Name)\s+Total(\s+%Total)?\s+(Current|CurAvg\/s)\s*$/;
const REGEX_FILTER_RE = /^\s*regex filter:/;
const STAMP = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}';
const STAMP_RE = new RegExp(`^${STAMP}`);
const CHILD_RE = /^([a-z_0-9]+)\((.+)\)$/;
/** A 4.x-6.x screen row '<event> <total> <%Total> [<CurAvg/s>]', for screens copied without title and header. */
const SCREEN_ROW_RE = /^\s*\S+\s+\d+\s+\d+\.\d(\s+\d+)?\s*$/;
const INT_RE = /^\d+$/;

type Layout = 'screen' | 'once' | 'log' | 'csv';

/** One event as read: a name with its count and, when the layout has one, its rate. */
interface Event {
  readonly name: string;
  readonly line: number;
  readonly column: number;
  readonly total: number;
  readonly perSecond?: number;
  /** 1-based column of the count, for messages. */
  readonly totalColumn: number;
  readonly rateColumn?: number;
}

interface Parsed {
  readonly layout: Layout;
  readonly events: Event[];
  /** The span the counts cover (logs only: a screen's and -1's Total count since kvm_stat started). */
  readonly durationSeconds?: number;
  /** Whether counts and rates cover the same span (log) or not (screen, -1: totals since start). */
  readonly sameSpan: boolean;
  readonly notes: string[];
}

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

/** Comma-separated cells with their 0-based positions (kvm_stat's CSV has no quoting). */
function cells(line: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  let at = 0;
  for (const c of line.split(',')) {
    out.push({ text: c.trim(), at: at + (c.length - c.trimStart().length) });
    at += c.length + 1;
  }
  return out;
}

/** Whitespace-separated tokens with their 0-based positions. */
function tokens(line: string): { text: string; at: number }[] {
  return [...line.matchAll(/\S+/g)].map((m) => ({ text: m[0], at: m.index ?? 0 }));
}

function parseScreen(lines: string[], start: number, fail: ReportFail): Parsed {
  const notes: string[] = [];
  let i = start;
  const title = TITLE_RE.exec(lines[i]);
  if (title) {
    const scope = title[1];
    if (scope !== undefined && scope !== 'summary') notes.push(`the screen covers ${scope} only`);
    i++;
  }
  while (i < lines.length && (lines[i].trim() === '' || REGEX_FILTER_RE.test(lines[i]))) {
    if (REGEX_FILTER_RE.test(lines[i])) notes.push(`kvm_stat showed a field filter (${lines[i].trim()})`);
    i++;
  }
  let hasPercent = false;
  let rateName = 'Current';
  const header = i < lines.length ? HEADER_RE.exec(lines[i]) : null;
  if (header) {
    if (header[2] === 'Guest Name')
      fail(
        i + 1,
        header[1].length + 1,
        "the per-event view (column 'Event'; key 'b' toggles it)",
        "the per-guest view ('Guest Name')",
      );
    hasPercent = header[3] !== undefined;
    rateName = header[4];
    i++;
  } else if (!title) {
    // Rows copied without the title and header: only the 4.x-6.x layout says what its columns are.
    if (!SCREEN_ROW_RE.test(lines[i] ?? ''))
      fail(i + 1, 1, "the column header 'Event  Total  %Total  CurAvg/s'", quoteFound(lines[i] ?? ''));
    hasPercent = true;
    rateName = 'CurAvg/s';
    notes.push("the screen's rows without its title and header: read as 'Event  Total  %Total  CurAvg/s'");
  }
  const events: Event[] = [];
  let totalRow: { total: number; line: number; column: number; rate?: number } | undefined;
  const shape = hasPercent
    ? `a row '<event> <total> <%Total> [<${rateName}>]' or the 'Total' row`
    : `a row '<event> <total> [<${rateName}>]'`;
  const pct: { event: Event; value: number; column: number }[] = [];
  for (; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    if (/^\s*(Collecting data\.\.\.|No matching events reported yet|Guest removed, updating\.\.\.)\s*$/.test(l))
      continue;
    const t = tokens(l);
    const nums = t.slice(1);
    if (t[0].text === 'Total' && totalRow === undefined && nums.length >= 1 && nums.length <= 2) {
      if (!nums.every((n) => INT_RE.test(n.text)))
        fail(i + 1, nums[0].at + 1, "the 'Total' row's count and rate", quoteFound(l.trim()));
      totalRow = {
        total: Number(nums[0].text),
        line: i + 1,
        column: nums[0].at + 1,
        ...(nums[1] ? { rate: Number(nums[1].text) } : {}),
      };
      continue;
    }
    if (totalRow !== undefined)
      fail(i + 1, t[0].at + 1, "end of the screen after the 'Total' row", quoteFound(l.trim()));
    const want = hasPercent ? [2, 3] : [1, 2];
    if (nums.length < want[0] || nums.length > want[1] || !INT_RE.test(nums[0]?.text ?? ''))
      fail(i + 1, (nums[0] ?? t[0]).at + 1, shape, quoteFound(l.trim()));
    let k = 1;
    let percent: number | undefined;
    if (hasPercent) {
      if (!/^\d+\.\d$/.test(nums[1].text)) fail(i + 1, nums[1].at + 1, 'a %Total like 12.3', quoteFound(nums[1].text));
      percent = Number(nums[1].text);
      k = 2;
    }
    const rate = nums[k];
    if (rate !== undefined && !INT_RE.test(rate.text))
      fail(i + 1, rate.at + 1, `a ${rateName} (integer per second)`, quoteFound(rate.text));
    const ev: Event = {
      name: t[0].text,
      line: i + 1,
      column: t[0].at + 1,
      total: Number(nums[0].text),
      totalColumn: nums[0].at + 1,
      // A blank rate is a zero delta (4.x prints '' for it).
      perSecond: rate === undefined ? 0 : Number(rate.text),
      ...(rate !== undefined ? { rateColumn: rate.at + 1 } : {}),
    };
    events.push(ev);
    if (percent !== undefined) pct.push({ event: ev, value: percent, column: nums[1].at + 1 });
  }
  if (events.length === 0) fail(lines.length + 1, 1, 'at least one event row', 'end of input');
  // Redundancy: %Total is count / sum of the parent events (4.x), or for a child of a shown parent
  // count / parent (6.x); the Total row is that sum (rows beyond the screen's height are cut).
  const parents = events.filter((e) => !CHILD_RE.test(e.name));
  const shownSum = parents.reduce((a, e) => a + e.total, 0);
  if (totalRow && totalRow.total < shownSum)
    fail(
      totalRow.line,
      totalRow.column,
      `a Total >= the sum of the events shown (${shownSum})`,
      String(totalRow.total),
    );
  const sum = totalRow?.total ?? shownSum;
  for (const p of pct) {
    const child = CHILD_RE.exec(p.event.name);
    const parent = child ? events.find((e) => e.name === child[1]) : undefined;
    const ok = (den: number): boolean => den > 0 && Math.abs((100 * p.event.total) / den - p.value) <= 0.05 + 1e-9;
    if (!ok(sum) && !(parent && ok(parent.total)) && !(sum === 0 && p.value === 0))
      fail(
        p.event.line,
        p.column,
        `%Total = ${p.event.total}/${sum} = ${sum > 0 ? ((100 * p.event.total) / sum).toFixed(1) : '0.0'}${parent ? ` (or of its parent ${parent.name}: ${((100 * p.event.total) / Math.max(parent.total, 1)).toFixed(1)})` : ''}`,
        p.value.toFixed(1),
      );
  }
  notes.push(
    `rates are the screen's ${rateName} column (the last refresh interval, -s, default 3 s); Total counts since kvm_stat started or was reset, over an unknown span`,
  );
  return { layout: 'screen', events, sameSpan: false, notes };
}

function parseOnce(lines: string[], start: number, fail: ReportFail): Parsed {
  const events: Event[] = [];
  for (let i = start; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    const t = tokens(l);
    if (t.length !== 3 || !INT_RE.test(t[1].text) || !INT_RE.test(t[2].text))
      fail(i + 1, (t[1] ?? t[0]).at + 1, "a 'kvm_stat -1' row '<event> <total> <per second>'", quoteFound(l.trim()));
    events.push({
      name: t[0].text,
      line: i + 1,
      column: t[0].at + 1,
      total: Number(t[1].text),
      totalColumn: t[1].at + 1,
      perSecond: Number(t[2].text),
      rateColumn: t[2].at + 1,
    });
  }
  return {
    layout: 'once',
    events,
    sameSpan: false,
    notes: [
      "'kvm_stat -1': rates are the deltas of one time.sleep(1); Total counts since kvm_stat started (about as long)",
    ],
  };
}

function parseLog(lines: string[], start: number, fail: ReportFail, csv: boolean): Parsed {
  const notes: string[] = [];
  const bannerLine = lines[start];
  const split = (l: string): { text: string; at: number }[] => (csv ? cells(l) : tokens(l));
  const names = split(bannerLine).filter((t, k) => !(csv && k === 0));
  if (names.length === 0) fail(start + 1, 1, 'a banner of event names', quoteFound(bannerLine));
  // qemu-kvm's kvm/kvm_stat (to ~2013) printed the banner as '%10s' % k[0:9]: every child event is
  // then 'kvm_exit(' and the reasons cannot be told apart.
  for (let k = 1; k < names.length; k++) {
    const dup = names.slice(0, k).find((n) => n.text === names[k].text);
    if (dup)
      fail(
        start + 1,
        names[k].at + 1,
        `each event once in the banner (names cut to 9 characters, as qemu-kvm's old kvm_stat printed them, cannot be told apart: use 'kvm_stat -1' or a newer kvm_stat)`,
        `${quoteFound(names[k].text)} again (column ${dup.at + 1})`,
      );
  }
  const sums = names.map(() => 0);
  const stamps: number[] = [];
  let stampLine = 0;
  let stampText = '';
  let rows = 0;
  let stamped: boolean | undefined;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    if (l.trim() === bannerLine.trim()) continue; // repeated every 20 rows (and after SIGHUP with -L)
    let body = l;
    let offset = 0;
    const stamp = STAMP_RE.exec(l.trimStart());
    if (stamped === undefined) stamped = stamp !== null;
    if ((stamp !== null) !== stamped)
      fail(
        i + 1,
        l.search(/\S/) + 1,
        stamped ? 'a row starting with its time stamp YYYY-MM-DD HH:MM:SS' : 'a row of counts without a time stamp',
        quoteFound(l.trim()),
      );
    if (stamp) {
      offset = l.indexOf(stamp[0]) + stamp[0].length;
      body = l.slice(offset);
      // kvm_stat stamps each row with datetime.now() as it logs it: a real time, later than the row
      // above. Date.parse rolls '02-30' over to March and takes '24:00', so the stamp must read back.
      const iso = `${stamp[0].replace(' ', 'T')}Z`;
      const ms = Date.parse(iso);
      const at = l.indexOf(stamp[0]) + 1;
      if (!Number.isFinite(ms) || new Date(ms).toISOString() !== iso.replace('Z', '.000Z'))
        fail(i + 1, at, 'a time stamp YYYY-MM-DD HH:MM:SS of a real date and time', quoteFound(stamp[0]));
      if (stamps.length > 0 && ms / 1000 < stamps[stamps.length - 1])
        fail(
          i + 1,
          at,
          `rows in the order kvm_stat logged them (line ${stampLine} is stamped ${stampText})`,
          quoteFound(stamp[0]),
        );
      stamps.push(ms / 1000);
      stampLine = i + 1;
      stampText = stamp[0];
      if (csv) {
        if (!body.startsWith(',')) fail(i + 1, offset + 1, "',' after the time stamp", quoteFound(body));
        body = body.slice(1);
        offset++;
      }
    } else if (csv) fail(i + 1, 1, 'a time stamp YYYY-MM-DD HH:MM:SS (csv rows have one)', quoteFound(l.trim()));
    const vals = split(body).map((v) => ({ text: v.text, at: v.at + offset }));
    for (let k = 0; k < Math.max(vals.length, names.length); k++) {
      const v = vals[k];
      if (v === undefined)
        fail(
          i + 1,
          l.length + 1,
          `${names.length} counts, one per banner name (the ${k + 1}th, ${names[k].text}, is missing)`,
          'end of line',
        );
      if (k >= names.length)
        fail(i + 1, v.at + 1, `${names.length} counts, one per banner name`, `an extra value ${quoteFound(v.text)}`);
      if (!INT_RE.test(v.text)) fail(i + 1, v.at + 1, `a count (integer) for ${names[k].text}`, quoteFound(v.text));
      sums[k] += Number(v.text);
    }
    rows++;
  }
  if (rows === 0) fail(lines.length + 1, 1, 'at least one row of counts under the banner', 'end of input');
  let durationSeconds: number | undefined;
  if (stamped) {
    let gap = Infinity;
    for (let k = 1; k < stamps.length; k++)
      if (stamps[k] > stamps[k - 1]) gap = Math.min(gap, stamps[k] - stamps[k - 1]);
    if (Number.isFinite(gap)) {
      // The first row's deltas cover one interval before its stamp. Stamps have 1 s resolution and
      // `-z` drops all-zero rows, so the span comes from the stamps, not the row count.
      durationSeconds = stamps[stamps.length - 1] - stamps[0] + gap;
      notes.push(`log span ${durationSeconds} s from the time stamps (${rows} rows, interval ${gap} s)`);
    } else notes.push('one time stamp only: the log interval (-s) and so the span are unknown');
  } else {
    durationSeconds = rows;
    notes.push(
      `log without time stamps: ${rows} rows taken as time.sleep(1) each = ${rows} s (kvm_stat before the 2020 logging series; a copy with -s but no stamps logged every 3 s: give --duration then)`,
    );
  }
  const events: Event[] = names.map((n, k) => ({
    name: n.text,
    line: start + 1,
    column: n.at + 1,
    total: sums[k],
    totalColumn: n.at + 1,
    ...(durationSeconds !== undefined ? { perSecond: sums[k] / durationSeconds } : {}),
  }));
  return {
    layout: csv ? 'csv' : 'log',
    events,
    sameSpan: true,
    notes,
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
  };
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
