/**
 * Write a workload profile as YAML (the format src/scenario/workload.ts reads), with the fit table
 * as an informational `fit:` section so a reader sees how well each reason was reproduced.
 */
import { stringify } from 'yaml';
import { WORKLOAD_PROFILE_VERSION } from '../scenario/workload.js';
import type { WorkloadProfile } from '../scenario/types.js';
import { sixDigits } from './fittedProfile.js';
import type { FitResult } from './fitTypes.js';

export function renderWorkloadProfile(
  profile: WorkloadProfile,
  fit?: FitResult,
  header: readonly string[] = [],
  /** Rows of the report with no model exit kind (per vCPU-second), so the section holds the whole report. */
  unknown: readonly { readonly name: string; readonly perSecond: number }[] = [],
): string {
  const doc: Record<string, unknown> = {
    workloadProfile: WORKLOAD_PROFILE_VERSION,
    name: profile.name,
    os: profile.os,
    vcpus: profile.vcpus,
    x2apic: profile.x2apic,
    perGuestSecond: { ...profile.perGuestSecond },
    interruptsPerSecond: profile.interruptsPerSecond,
    opaquePerGuestSecond: { ...profile.opaquePerGuestSecond },
  };
  if (profile.measuredTimePerExit) doc.measuredTimePerExit = profile.measuredTimePerExit;
  if (profile.source) doc.source = profile.source;
  if (fit) {
    const rows: Record<string, unknown> = {};
    for (const row of fit.rows) {
      rows[row.reason] = {
        driver: row.driver,
        measuredPerSecond: sixDigits(row.measured),
        simulatedPerSecond: sixDigits(row.simulated),
        errorPercent: row.errorPercent === null ? null : Number(row.errorPercent.toFixed(2)),
      };
    }
    for (const u of fit.unmodelled)
      rows[u.reason] = {
        driver: 'not modelled',
        measuredPerSecond: sixDigits(u.perSecond),
        simulatedPerSecond: 0,
        errorPercent: -100,
      };
    for (const u of unknown)
      rows[u.name] = {
        driver: 'unknown reason',
        measuredPerSecond: sixDigits(u.perSecond),
        simulatedPerSecond: 0,
        errorPercent: -100,
      };
    doc.fit = rows;
  }
  const lines = [
    `# vmexit-lab workload profile v${WORKLOAD_PROFILE_VERSION} (docs/IMPORT.md)`,
    ...header.map((h) => `# ${h}`),
    '# Rates are per vCPU: instructions per second of guest execution, interrupts per wall second.',
  ];
  return `${lines.join('\n')}\n${stringify(doc, { lineWidth: 0 })}`;
}
