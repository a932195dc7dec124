/**
 * A report as `import` takes it: its rows as exits per vCPU-second by model exit name (measuredRates),
 * its times per exit carried into the profile (carriedExitTimes), and how each format is taken on its
 * host (TAKE_REPORT).
 */
import type { CpuProfile } from '../core/cpu/profile.js';
import { hypervisorOf, type PolicyName } from '../core/hypervisor/policy.js';
import { exitKindByName } from '../core/vcpu/exits.js';
import {
  BHYVE_EXIT_STATS,
  kvmStatExitCode,
  modelExitName,
  type ExitReport,
  type ReportFormat,
} from '../import/index.js';
import { exitCostTable, loadModelData } from '../model/data.js';

/** A row of the report with no model exit kind: its count as printed and its rate per vCPU-second. */
export interface UnknownReason {
  readonly name: string;
  readonly samples: number;
  readonly perSecond: number;
}

/**
 * Measured exits per vCPU per second by model exit name, plus rows the model has no kind for: the
 * rows' own rates (kvm_stat) when `useRates`, otherwise samples / `seconds`.
 */
export function measuredRates(
  report: ExitReport,
  cpu: CpuProfile,
  vcpus: number,
  seconds: number | undefined,
  useRates: boolean,
): { rates: Map<string, number>; unknown: UnknownReason[] } {
  const rates = new Map<string, number>();
  const unknown: UnknownReason[] = [];
  for (const row of report.rows) {
    // bhyve counts most reasons for both vendors, and a report without a vendor-only counter has no
    // codes: its stat table (src/import/bhyvectl.ts) gives the code for the measured CPU's vendor.
    // kvm_stat reasons in both of its tables (CPUID, HLT, ...) take the measured CPU's vendor too.
    const stat = report.format === 'bhyvectl' ? BHYVE_EXIT_STATS[row.name] : undefined;
    const name =
      stat !== undefined
        ? modelExitName({ vendor: cpu.vendor, code: stat[cpu.vendor] })
        : report.format === 'kvm-stat' && row.vendor === 'unknown' && row.reason !== undefined
          ? modelExitName({ vendor: cpu.vendor, code: kvmStatExitCode(cpu.vendor, row.reason) })
          : modelExitName(row);
    const perSecond = useRates ? row.perSecond! : row.samples / seconds!;
    if (name === undefined) {
      // In the fit table's unit, exits per vCPU per second, as the reasons the model knows.
      unknown.push({ name: row.name, samples: row.samples, perSecond: perSecond / vcpus });
      continue;
    }
    rates.set(name, (rates.get(name) ?? 0) + perSecond / vcpus);
  }
  return { rates, unknown };
}

/**
 * The report's average time per exit, by model exit name, with the model's cost for that exit at
 * the measured host (data/cost-model.yaml via exitCostTable): the pair a profile carries. Rows
 * merged into one model name are weighted by their counts. HLT is not carried: perf times it up to
 * the next entry, i.e. mostly the time the vCPU slept, which the engine models as halted time.
 */
export function carriedExitTimes(
  report: ExitReport,
  cpu: CpuProfile,
  policy: PolicyName,
): Record<string, { measuredNs: number; modelNs: number }> {
  const costs = exitCostTable(loadModelData().costModel, cpu, hypervisorOf(policy));
  const sums = new Map<string, { ns: number; n: number }>();
  for (const row of report.rows) {
    if (row.avgNs === undefined || row.samples === 0) continue;
    const name = modelExitName(row);
    if (name === undefined) continue;
    const t = sums.get(name) ?? { ns: 0, n: 0 };
    t.ns += row.avgNs * row.samples;
    t.n += row.samples;
    sums.set(name, t);
  }
  const out: Record<string, { measuredNs: number; modelNs: number }> = {};
  for (const [name, t] of sums) {
    const kind = exitKindByName(name);
    if (kind === undefined || t.ns <= 0 || name === 'HLT' || name === 'VMEXIT_HLT') continue;
    const measuredNs = Math.round(t.ns / t.n);
    // The profile reader takes times in (0, 1e9) ns (src/scenario/workload.ts): a sub-ns average is no time.
    if (measuredNs < 1 || measuredNs >= 1e9 || !(costs[kind.slot] > 0 && costs[kind.slot] < 1e9)) continue;
    out[name] = { measuredNs, modelNs: costs[kind.slot] };
  }
  return out;
}

/** How each report is taken on its host, for an import whose report file is not there. */
export const TAKE_REPORT: Readonly<Record<ReportFormat, string>> = {
  'perf-kvm-stat': "e.g. 'perf kvm stat record -a sleep 30 && perf kvm stat report > report.txt'",
  'kvm-stat': "e.g. 'kvm_stat -1 > kvm_stat.txt' or 'kvm_stat -l > kvm_stat.log'",
  kvmexit: "e.g. bcc's 'kvmexit 30 > kvmexit.txt'",
  bhyvectl: "e.g. 'bhyvectl --vm=NAME --get-stats > stats.txt'",
};
