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
  readonly format: 'perf-kvm-stat' | 'bhyvectl' | 'kvm-stat';
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
