/** A vCPU's running share in the fit: its least, the share its host interrupts want, the wake-ups giving it. */
import type { WorkloadProfile } from '../scenario/types.js';
import type { DriverState } from './drivers.js';

/**
 * The least share of time a vCPU runs, for the fit's interrupt floor. A vCPU that halts H times a
 * wall second on I wake-up interrupts a second runs a share of about 1 - H/I of the time (it sleeps
 * 1/I after each HLT), so with I down to H it never runs and every per-guest-second rate needed to
 * reproduce the report grows without bound (the fit diverged so: docs/IMPORT.md "When the fit cannot reach the report").
 * 1 % keeps the fitted rates within 100x the measured wall rates; a measured share below it is not
 * reproduced (judgement).
 */
export const MIN_RUNNING_SHARE = 0.01;

/**
 * The share of the time a vCPU must run for its host-interrupt exits to reach their measured rate. The
 * simulation ran it a share equal to its HLTs per wall second over the profile's HLTs per second of
 * guest execution; what landed on it per second of guest execution is its exits over that share
 * (host ticks in guest mode), so the share wanted is the measured rate over that, kept within
 * [MIN_RUNNING_SHARE, 1 - MIN_RUNNING_SHARE].
 */
export function shareFor(hostIrq: DriverState, hlt: DriverState, sim: Float64Array, profile: WorkloadProfile): number {
  const got = sim[hostIrq.slot];
  const shareGot = sim[hlt.slot] / profile.perGuestSecond.hlts;
  const share = got > 0 && shareGot > 0 ? (hostIrq.measured * shareGot) / got : 1 - MIN_RUNNING_SHARE;
  return Math.min(1 - MIN_RUNNING_SHARE, Math.max(MIN_RUNNING_SHARE, share));
}

/**
 * The wake-up interrupt rate I at which the vCPU halts as often as measured while it runs the wanted
 * share of the time. Its mean halt, (1 - share) / HLTs per wall second, shrinks as wake-ups come
 * faster: I is scaled by the simulated mean halt over the one the measured HLT rate and the wanted
 * share need.
 */
export function irqForShare(
  hlt: DriverState,
  sim: Float64Array,
  profile: WorkloadProfile,
  irq: number,
  hltMeasured: number,
  share: number,
): number {
  const haltsGot = sim[hlt.slot];
  const shareGot = haltsGot / profile.perGuestSecond.hlts;
  if (!(haltsGot > 0) || !(shareGot > 0) || !(shareGot < 1)) return irq;
  const haltGot = (1 - shareGot) / haltsGot;
  const haltWanted = (1 - share) / hltMeasured;
  return (irq * haltGot) / haltWanted;
}
