/** kvm_stat's three layouts (screen, `-1`, log) read into events; kvmStat.ts tells them apart and makes the report. */
import { quoteFound, type ReportFail } from './report.js';

export const TITLE_RE = /^\s*kvm statistics(?:\s*-\s*(.*?))?\s*$/;
export const HEADER_RE = /^(\s*)(Event|Guest Name)\s+Total(\s+%Total)?\s+(Current|CurAvg\/s)\s*$/;
const REGEX_FILTER_RE = /^\s*regex filter:/;
const STAMP = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}';
const STAMP_RE = new RegExp(`^${STAMP}`);
export const CHILD_RE = /^([a-z_0-9]+)\((.+)\)$/;
/** A 4.x-6.x screen row '<event> <total> <%Total> [<CurAvg/s>]', for screens copied without title and header. */
export const SCREEN_ROW_RE = /^\s*\S+\s+\d+\s+\d+\.\d(\s+\d+)?\s*$/;
const INT_RE = /^\d+$/;

type Layout = 'screen' | 'once' | 'log' | 'csv';

/** One event as read: a name with its count and, when the layout has one, its rate. */
export interface Event {
  readonly name: string;
  readonly line: number;
  readonly column: number;
  readonly total: number;
  readonly perSecond?: number;
  /** 1-based column of the count, for messages. */
  readonly totalColumn: number;
  readonly rateColumn?: number;
}

export interface Parsed {
  readonly layout: Layout;
  readonly events: Event[];
  /** The span the counts cover (logs only: a screen's and -1's Total count since kvm_stat started). */
  readonly durationSeconds?: number;
  /** Whether counts and rates cover the same span (log) or not (screen, -1: totals since start). */
  readonly sameSpan: boolean;
  readonly notes: string[];
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

export function parseScreen(lines: string[], start: number, fail: ReportFail): Parsed {
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

export function parseOnce(lines: string[], start: number, fail: ReportFail): Parsed {
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

export function parseLog(lines: string[], start: number, fail: ReportFail, csv: boolean): Parsed {
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
