/**
 * Read-only setups that every host of a variant works out alike, shared by the hosts of a thread
 * instead of copied into each (issue #16's 2 KiB per simulated vCPU; docs/perf/memory.md). A host
 * reads them and never writes them; what is shared is decided by content, not by where it came from
 * (the edge builds each host's guests afresh: src/run/simulate.ts hostGuests).
 */
import { clockSetup, type ClockSetup } from '../guests/clock.js';
import { linuxClockSetup, type LinuxClockSetup } from '../guests/linuxClock.js';
import type { HostConfig } from './config.js';

/** A host's clock setups, one per guest (HostState.clocks, HostState.linuxClocks). */
export interface GuestClocks {
  readonly clocks: readonly ClockSetup[];
  readonly linuxClocks: readonly LinuxClockSetup[];
}

/**
 * Entries (hosts' setups that differ) a thread keeps; past it the table starts again (a service
 * thread that runs scenario after scenario must not grow without end). A default fleet's hosts are
 * one entry.
 */
export const MAX_SHARED_CLOCKS = 256;
const clockTable = new Map<string, GuestClocks>();

/** JSON.stringify's numbers, but -0, NaN and the infinities kept apart from 0 and null. */
function exactNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))
    ? `#${Object.is(value, -0) ? '-0' : value}`
    : value;
}

/**
 * The clock setups of `config`'s guests (guests/clock.ts clockSetup, guests/linuxClock.ts
 * linuxClockSetup): the arrays of an earlier host of this thread whose setups are equal field for
 * field, else these. Two frozen objects and two arrays of ~80 bytes per host were ~57 bytes per vCPU
 * of the bench's 7-vCPU hosts.
 */
export function guestClocks(config: HostConfig): GuestClocks {
  // map, not push: an array grown by push keeps room for 17 entries (~150 bytes).
  const clocks = config.guests.map((x) => clockSetup(config.traits, x.model, x.timekeeping));
  const linuxClocks = config.guests.map((x) => linuxClockSetup(config.traits.hypervisor, x.model, x.clocksource));
  const key = JSON.stringify([clocks, linuxClocks], exactNumbers);
  const shared = clockTable.get(key);
  if (shared !== undefined) return shared;
  if (clockTable.size >= MAX_SHARED_CLOCKS) clockTable.clear();
  const made: GuestClocks = { clocks, linuxClocks };
  clockTable.set(key, made);
  return made;
}
