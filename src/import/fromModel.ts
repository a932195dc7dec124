/**
 * The model's exit totals (results.json `exits` / `hostSecondsInExits`, keyed by the manual's names
 * of src/core/vcpu/exits.ts) as report rows with the names perf prints, so a simulated run can be
 * rendered with renderPerfKvmStat() and read back with parsePerfKvmStat() (the issue #9 round trip).
 */
import { exitKindByName } from '../core/vcpu/exits.js';
import { linuxExitName } from './exitNames.js';
import type { ExitReportRow } from './report.js';

/**
 * One row per exit kind with a positive count. `avgNs` = host seconds in that kind / count (0 when
 * the kind has no time). Throws on a name that is not a model exit kind or on a mix of vendors
 * (perf prints one vendor's table).
 */
export function perfRowsFromModelTotals(
  exits: Readonly<Record<string, number>>,
  hostSecondsInExits: Readonly<Record<string, number>> = {},
): ExitReportRow[] {
  const rows: ExitReportRow[] = [];
  let vendor: 'intel' | 'amd' | undefined;
  for (const [name, count] of Object.entries(exits)) {
    if (!(count > 0)) continue;
    const kind = exitKindByName(name);
    if (!kind) throw new Error(`perfRowsFromModelTotals: ${name} is not a model exit kind`);
    if (vendor !== undefined && kind.vendor !== vendor) {
      throw new Error(
        `perfRowsFromModelTotals: ${name} is ${kind.vendor}, the other exits are ${vendor}; perf prints one vendor's names`,
      );
    }
    vendor = kind.vendor;
    const printed = linuxExitName(kind.vendor, kind.code);
    if (printed === undefined) throw new Error(`perfRowsFromModelTotals: no Linux name for ${name}`);
    const seconds = hostSecondsInExits[name] ?? 0;
    rows.push({
      name: printed,
      vendor: kind.vendor,
      code: kind.code,
      reason: printed,
      samples: count,
      avgNs: (seconds * 1e9) / count,
      source: { line: 0, column: 0 },
    });
  }
  return rows;
}
