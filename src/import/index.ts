/**
 * Edge for `vmexit-lab import`: exit reports of real hypervisors (Linux perf kvm stat, kvm_stat and
 * bcc's kvmexit, FreeBSD bhyvectl --get-stats) as typed data. Everything here is pure except `readReport`, which reads
 * the file and dispatches on the format.
 */
import { readInputText } from '../input/readBounded.js';
import { parseBccKvmexit } from './bccKvmexit.js';
import { parseBhyvectlStats } from './bhyvectl.js';
import { parseKvmStat } from './kvmStat.js';
import { parsePerfKvmStat } from './perfKvmStat.js';
import type { ExitReport } from './report.js';

export * from './report.js';
export * from './exitNames.js';
export { parsePerfKvmStat, renderPerfKvmStat, cFixed, type RenderOptions } from './perfKvmStat.js';
export { parseKvmStat } from './kvmStat.js';
export { parseBccKvmexit } from './bccKvmexit.js';
export { parseBhyvectlStats, BHYVE_EXIT_STATS, BHYVE_TOTAL_STAT, BHYVE_VENDOR_STATS } from './bhyvectl.js';

export type ReportFormat = ExitReport['format'];
export const REPORT_FORMATS: readonly ReportFormat[] = ['perf-kvm-stat', 'kvm-stat', 'bhyvectl', 'kvmexit'];

/** Parse a report text of the given format; `file` is used in messages. */
export function parseReport(text: string, file: string, format: ReportFormat): ExitReport {
  if (format === 'perf-kvm-stat') return parsePerfKvmStat(text, file);
  if (format === 'kvmexit') return parseBccKvmexit(text, file);
  return format === 'kvm-stat' ? parseKvmStat(text, file) : parseBhyvectlStats(text, file);
}

/**
 * The formats whose reader takes `text` without an error, other than `except`: what a file given to
 * the wrong reader (or to `what-if` instead of `import`) is, for the message that says so.
 */
export function readableAs(text: string, except?: ReportFormat): ReportFormat[] {
  return REPORT_FORMATS.filter((f) => {
    if (f === except) return false;
    try {
      parseReport(text, '', f);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Read and parse a report file (UTF-8), at most MAX_INPUT_BYTES as the CLI reads it. I/O errors
 * propagate as thrown by node:fs, a file over the limit as an Error naming it.
 */
export function readReport(file: string, format: ReportFormat): ExitReport {
  return parseReport(readInputText(file), file, format);
}
export { perfRowsFromModelTotals } from './fromModel.js';
