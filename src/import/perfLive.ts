/**
 * Several refreshes of `perf kvm stat live` in one file (`perf kvm stat live 2>&1 | tee f.txt`, or a
 * terminal's scrollback pasted): summed into one report.
 *
 * Why a sum: live prints a table every display interval (`-d`, default 1 s: kvm_events_live() sets
 * display_time = 1) and then resets every event's count, time and min/max/mean statistics, the totals
 * and the lost-event count (perf_kvm__handle_timerfd() calls clear_events_cache_stats();
 * tools/perf/builtin-kvm.c, torvalds/linux). Each table therefore counts its own interval, none
 * repeats another's exits, and the file's exits are the sum of its tables. When live stops (q, ^C)
 * it prints once more what it counted since the last refresh (kvm_events_live_report()), an interval
 * that can be shorter than -d.
 */
import { linuxExitCode } from './exitNames.js';
import { quoteFound } from './report.js';
import type { ExitReport, ExitReportRow, ReportFail, ReportVendor } from './report.js';

/** The row that stands for the exits of a cut table's rows not shown (step 4 of perfKvmStat.ts' parser); here, not there, so the two files import one way. */
export const NOT_SHOWN = 'rows not shown';
/** The single-refresh note of a live table (replaced by sumLiveRefreshes' note for several). */
export const LIVE_NOTE =
  "a 'perf kvm stat live' table (time of day above it): it counts one display interval (perf's -d, default 1 s; live restarts its counts at every refresh), not the time perf ran: that interval is the --duration";

/** One table of a perf file as parseTable reads it. */
export interface LiveTable {
  readonly report: ExitReport;
  /** The time-of-day line above it (live mode), 1-based. */
  readonly stamp?: { readonly line: number; readonly time: string };
  /** 0-based line where the next refresh starts, if there is one. */
  readonly next?: number;
}

interface Sum {
  name: string;
  samples: number;
  timeNs: number;
  timed: boolean;
  minNs?: number;
  maxNs?: number;
  minMax: boolean;
  source: ExitReportRow['source'];
  order: number;
}

/** The refreshes' rows summed per reason: counts and times add, Min is the least, Max the most. */
export function sumLiveRefreshes(tables: readonly LiveTable[], fail: ReportFail): ExitReport {
  const first = tables[0].report;
  let vendor: ReportVendor = 'unknown';
  let vendorAt: { line: number; name: string } | undefined;
  const sums = new Map<string, Sum>();
  let totalSamples = 0;
  let totalTimeNs = 0;
  const notes = new Set<string>();
  for (const { report } of tables) {
    if (report.vendor !== 'unknown') {
      const r = report.rows[0];
      if (vendor === 'unknown') {
        vendor = report.vendor;
        vendorAt = { line: r.source.line, name: r.name };
      } else if (report.vendor !== vendor) {
        fail(
          r.source.line,
          r.source.column,
          `refreshes of one host (line ${vendorAt!.line}'s refresh is ${vendor}: ${quoteFound(vendorAt!.name)})`,
          `a ${report.vendor} refresh`,
        );
      }
    }
    if (report.vcpus !== first.vcpus) {
      const r = report.rows[0] ?? { source: { line: 1, column: 1 } };
      fail(
        r.source.line,
        1,
        `refreshes of one scope (the first covers ${first.vcpus === 1 ? 'one VCPU' : 'all VCPUs'})`,
        `a refresh of ${report.vcpus === 1 ? 'one VCPU' : 'all VCPUs'}`,
      );
    }
    totalSamples += report.totalSamples ?? 0;
    totalTimeNs += report.totalTimeNs ?? 0;
    for (const n of report.notes) if (n !== LIVE_NOTE) notes.add(n);
    for (const r of report.rows) {
      let s = sums.get(r.name);
      if (!s) {
        s = { name: r.name, samples: 0, timeNs: 0, timed: true, minMax: true, source: r.source, order: sums.size };
        sums.set(r.name, s);
      }
      s.samples += r.samples;
      if (r.avgNs === undefined) s.timed = false;
      else s.timeNs += r.samples * r.avgNs;
      if (r.minNs === undefined || r.maxNs === undefined) s.minMax = false;
      else {
        s.minNs = Math.min(s.minNs ?? Infinity, r.minNs);
        s.maxNs = Math.max(s.maxNs ?? 0, r.maxNs);
      }
    }
  }
  const list = [...sums.values()].sort((a, b) => b.samples - a.samples || a.order - b.order);
  const rowTime = list.reduce((a, s) => a + (s.timed ? s.timeNs : 0), 0);
  const rows: ExitReportRow[] = list.map((s) => ({
    name: s.name,
    vendor,
    code: s.name === NOT_SHOWN ? undefined : linuxExitCode(vendor, s.name),
    ...(s.name === NOT_SHOWN ? {} : { reason: s.name }),
    samples: s.samples,
    samplesPercent: totalSamples > 0 ? (100 * s.samples) / totalSamples : 0,
    ...(s.timed && rowTime > 0 ? { timePercent: (100 * s.timeNs) / rowTime } : {}),
    ...(s.minMax && s.minNs !== undefined ? { minNs: s.minNs, maxNs: s.maxNs } : {}),
    ...(s.timed && s.samples > 0 ? { avgNs: Math.round(s.timeNs / s.samples) } : {}),
    source: s.source,
  }));
  const stamps = tables.map((t) => t.stamp).filter((x) => x !== undefined);
  const n = tables.length;
  const summary = `${n} refreshes of 'perf kvm stat live' (time of day ${stamps[0]?.time ?? '?'} at line ${stamps[0]?.line ?? '?'} to ${stamps[n - 1]?.time ?? '?'} at line ${stamps[n - 1]?.line ?? '?'}), summed: live restarts its counts after every refresh, so each counts one display interval (perf's -d, default 1 s) and the file covers ${n} of them (the last, printed when live stops, can be shorter): the --duration is ${n} x the interval, ${n} s at the default; the deviation '( +- x% )' of one refresh is not summed, and Samples% and Time% are the sum's own: a refresh's are not kept`;
  return {
    format: 'perf-kvm-stat',
    file: first.file,
    vendor,
    rows,
    totalSamples,
    totalTimeNs,
    ...(first.vcpus !== undefined ? { vcpus: first.vcpus } : {}),
    live: true,
    refreshes: n,
    notes: [summary, ...notes],
  };
}
