/** Why the best fit misses the report: MISS_PERCENT and one sentence per reason missed (missReasons). */
import { driverName, drives, valueIn, type DriverState } from './drivers.js';
import { MAX_PROFILE_RATE, sixDigits } from './fittedProfile.js';
import type { FitConfig, FitRow } from './fitTypes.js';
import { hostOsOf } from './hostTick.js';
import { MIN_RUNNING_SHARE } from './runningShare.js';
import type { WorkloadProfile } from '../scenario/types.js';

/**
 * A fitted reason missed by more than this is a miss the fit reports (import's default --max-error,
 * and its warning): the model cannot reproduce the report under the measured configuration.
 */
export const MISS_PERCENT = 5;

/** The host tick (Hz) the fit simulates: the one stated, else the model's for the policy's host OS. */
function tickOf(config: FitConfig): number {
  return config.hostTickHz ?? config.data.costModel.hostTickHz[hostOsOf(config.policy)];
}

/**
 * Why the best in-range fit still misses reasons by more than MISS_PERCENT (and more than sampling
 * noise), one sentence each, naming the reason and the bound it hit: a driver held at the reader's
 * largest rate, or a reason that overshoots with its own driver at (almost) zero because the
 * configuration makes that exit from other causes: the wake-up interrupts the HLTs need (at their
 * floor) and their EOIs, or the host's own timer ticks.
 */
export function missReasons(
  rows: readonly FitRow[],
  drivers: readonly DriverState[],
  profile: WorkloadProfile,
  ctx: {
    /** The share of the time the best iterate's vCPU ran (its HLTs per wall second over those per guest second). */
    runningShare: number;
    irqFloor: number;
    hltMeasured: number;
    config: FitConfig;
    countScale: number;
    missed: FitRow[];
  },
): string[] {
  const out: string[] = [];
  const where = `${ctx.config.cpu.id} / ${ctx.config.policy}`;
  const irq = profile.interruptsPerSecond;
  const irqAtFloor = ctx.irqFloor > 0 && irq <= ctx.irqFloor * 1.001;
  const check = 'the report is infeasible for this configuration: check --cpu, --policy, --tunable and --x2apic';
  for (const r of rows) {
    // A miss is beyond the sampling noise of the fit's span too: three Poisson standard deviations of
    // the measured count, plus two exits (a short --sim-seconds fit of a small reason misses by more
    // than MISS_PERCENT by chance alone; the seed is fixed, so the fit cannot average it away).
    const count = r.measured * ctx.countScale;
    const noise = 3 * Math.sqrt(Math.max(count, 1)) + 2;
    if (Math.abs(r.errorPercent!) <= MISS_PERCENT || Math.abs(r.simulated - r.measured) * ctx.countScale <= noise)
      continue;
    ctx.missed.push(r);
    const d = drivers.find((x) => x.reason === r.reason);
    const value = d === undefined ? 0 : valueIn(profile, d);
    const name = d === undefined ? '' : `${driverName(d.driver)} `;
    const at = `${r.reason} is simulated at ${sixDigits(r.simulated)}/s per vCPU against ${sixDigits(r.measured)}/s measured (${r.errorPercent! >= 0 ? '+' : ''}${r.errorPercent!.toFixed(2)} %)`;
    if (value >= MAX_PROFILE_RATE) {
      const why = drives(d, 'hlts')
        ? `each HLT waits for a wake-up interrupt, and at ${sixDigits(irq)}/s${irqAtFloor ? ' (the floor)' : ''} there are too few`
        : 'the vCPU runs too little of the time to produce it';
      out.push(
        `${at}: its driver ${name}reached the largest rate a profile may hold ` +
          `(${MAX_PROFILE_RATE.toExponential(0)} per vCPU-second): ${why}`,
      );
    } else if (r.errorPercent! > 0 && value <= 0.01 * r.measured) {
      const hostInterrupt = r.reason === 'EXTERNAL_INTERRUPT' || r.reason === 'VMEXIT_INTR';
      if (hostInterrupt && ctx.runningShare <= MIN_RUNNING_SHARE * 1.05) {
        out.push(
          `${at} although its driver ${name}is (almost) zero: the vCPU runs ${(100 * ctx.runningShare).toFixed(1)} % ` +
            `of the time here, the least a fitted profile may (below it the rates per second of guest execution ` +
            `grow without bound), and the host's own timer ticks in that time alone exceed it under ${where}: the ` +
            `measured vCPU ran less, or on a host with a slower tick than the ${tickOf(ctx.config)} Hz simulated ` +
            `(give the measured host's: import --host-tick-hz)`,
        );
        continue;
      }
      const cause =
        irqAtFloor && !hostInterrupt
          ? `the report's ${sixDigits(ctx.hltMeasured)} HLTs per vCPU-second need at least as many wake-up interrupts ` +
            `(${sixDigits(irq)}/s here, the floor), and under ${where} each causes ${r.reason} exits (its EOI)`
          : hostInterrupt
            ? `the host's own timer ticks while the vCPU runs and the kicks of its interrupts (docs/MODEL.md §3) alone exceed it under ${where}`
            : `the interrupts and the other fitted rates cause that many under ${where}`;
      out.push(`${at} although its driver ${name}is (almost) zero: ${cause}; ${check}`);
    } else if (r.simulated === 0) {
      out.push(`${at}: ${where} does not take this exit at all (a feature the measured host had? see the notes)`);
    } else {
      out.push(`${at}: the model cannot reproduce it under ${where} with the other reasons fitted`);
    }
  }
  return out;
}
