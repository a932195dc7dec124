/** A fitted profile: built from the fit's rates, each within the reader's range at six significant digits. */
import { roundSignificant } from '../results/figures.js';
import { MAX_RATE_PER_SECOND } from '../scenario/workload.js';
import { WORKLOAD_RATE_NAMES, type WorkloadProfile, type WorkloadRateName } from '../scenario/types.js';
import type { FitConfig } from './fitTypes.js';

/**
 * The largest rate the workload-profile reader accepts, per vCPU per second (1 per 10 ns). Every
 * fitted rate stays at or below it, so whatever import writes, the reader accepts
 * (test/import/profileRange.test.ts).
 */
export const MAX_PROFILE_RATE = MAX_RATE_PER_SECOND;

export function buildProfile(
  config: FitConfig,
  rates: Record<string, number>,
  opaque: Record<string, number>,
  irq: number,
): WorkloadProfile {
  const per: Record<string, number> = {};
  for (const k of WORKLOAD_RATE_NAMES) per[k] = inRange(rates[k]);
  if (per.cr8Writes > 0) per.cr8Writes = 2 * Math.round(per.cr8Writes / 2); // raise/lower pairs
  const op: Record<string, number> = {};
  for (const [k, v] of Object.entries(opaque)) if (v > 0) op[k] = inRange(v);
  return Object.freeze({
    name: config.name,
    os: config.os,
    vcpus: config.vcpus,
    x2apic: config.x2apic,
    perGuestSecond: Object.freeze(per as Record<WorkloadRateName, number>),
    interruptsPerSecond: inRange(irq),
    opaquePerGuestSecond: Object.freeze(op),
    ...(config.measuredTimePerExit ? { measuredTimePerExit: config.measuredTimePerExit } : {}),
    ...(config.source ? { source: config.source } : {}),
  });
}

/** A rate as the profile holds it: 6 significant digits, within the reader's range 0..MAX_PROFILE_RATE. */
function inRange(x: number): number {
  return Math.min(MAX_PROFILE_RATE, Math.max(0, sixDigits(x)));
}

/** Rates are written with 6 significant digits: the profile file is the fit's output, read by people. */
export function sixDigits(x: number): number {
  return Number.isFinite(x) ? roundSignificant(x, 6) : 0;
}
