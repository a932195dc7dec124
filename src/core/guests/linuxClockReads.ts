/**
 * The clock reads of a Linux guest on acpi_pm or hpet, as the tick path makes them (the rules and
 * sources: linuxClock.ts).
 */
import { Gf, Vi, type HostState } from '../engine/state.js';
import { READS_PER_ARM, READS_PER_JIFFY, READS_PER_TICK } from './linuxClock.js';

/**
 * Whether vCPU `v`'s guest reads no clock on its tick and arm paths (it is not Linux on acpi_pm or
 * hpet): then linuxTickReads and linuxArmReads do nothing, on the machine or off it.
 */
export function noLinuxClockReads(h: HostState, v: number): boolean {
  return h.linuxClocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].op < 0;
}

function read(h: HostState, v: number, n: number): void {
  if (noLinuxClockReads(h, v) || n <= 0) return;
  const c = h.linuxClocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]];
  h.machine.repeat(v, n, c.op, c.arg, 0);
}

/** vCPU `v` arms its one-shot timer: clockevents_program_event reads the clock once. */
export function linuxArmReads(h: HostState, v: number): void {
  read(h, v, READS_PER_ARM);
}

/**
 * vCPU `v` handles a tick interrupt at `h.now`: the hrtimer and tick reads, and the jiffies update when
 * a tick period has passed since the guest's last one (the first CPU to tick after it takes it).
 */
export function linuxTickReads(h: HostState, v: number, periodNs: number): void {
  if (noLinuxClockReads(h, v)) return;
  const now = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  let n = READS_PER_TICK;
  const j = gi * Gf.STRIDE + Gf.LAST_JIFFY;
  const since = now - h.gf[j];
  if (since >= periodNs) {
    // tick_do_update_jiffies64: last_jiffies_update advances by whole periods (the grid is kept).
    h.gf[j] = since === Infinity ? now : h.gf[j] + Math.floor(since / periodNs) * periodNs;
    n += READS_PER_JIFFY;
  }
  read(h, v, n);
}
