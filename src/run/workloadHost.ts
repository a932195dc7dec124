/** A workload-profile guest's host: the OS model such a guest runs with, and the exit costs its carried times set. */
import { exitKindByName } from '../core/vcpu/exits.js';
import type { GuestModel, PhaseBehaviour } from '../core/guests/model.js';
import type { ScenarioVariant, WorkloadProfile } from '../scenario/types.js';

const NO_ACTIVITY: PhaseBehaviour = Object.freeze({
  busyFraction: 1,
  burstNs: 1e9,
  cr8PerBusySecond: 0,
  ioPerBusySecond: 0,
  ipiPerBusySecond: 0,
  clockReadsPerBusySecond: 0,
});

/**
 * The OS model a workload-profile guest runs with: its vectors and ISR times, and nothing of its own
 * behaviour (no timer, no %cr8 stream, no background activity) — the profile's rates are all of it.
 * The guest's LAPIC mode is the profile's (x2apic), whatever the OS would choose.
 */
export function workloadGuestModel(base: GuestModel, x2apic: boolean): GuestModel {
  return Object.freeze({
    ...base,
    usesX2apicWhenOffered: x2apic,
    usesCr8: false,
    timer: Object.freeze({ ...base.timer, hz: 0, oneShotRearm: false, tscDeadline: false }),
    phases: Object.freeze({
      boot: NO_ACTIVITY,
      idle: NO_ACTIVITY,
      install: NO_ACTIVITY,
      build: NO_ACTIVITY,
      'disk-benchmark': NO_ACTIVITY,
      compute: NO_ACTIVITY,
      'lock-spin': NO_ACTIVITY,
      'ping-pong': NO_ACTIVITY,
    }),
  });
}

/**
 * A host's exit costs with a workload profile's carried times (import --carry-exit-times): an exit
 * the report timed costs the model's cost here x the report's time / the model's cost at the
 * measured host, so the field part the microbenchmarks miss moves with the profile while the CPU
 * and policy still set the base. A host has one cost table: the first workload guest that carries
 * times sets it (docs/IMPORT.md). Reasons of the other vendor are not carried.
 */
export function withMeasuredTimes(table: Float64Array, variant: ScenarioVariant): Float64Array {
  let carried: WorkloadProfile['measuredTimePerExit'];
  for (const g of variant.guests)
    if (carried === undefined && g.kind === 'modelled') carried = g.workload?.measuredTimePerExit;
  if (carried === undefined) return table;
  const out = table.slice();
  for (const [name, t] of Object.entries(carried)) {
    const kind = exitKindByName(name);
    if (kind === undefined || kind.vendor !== variant.host.cpu.vendor) continue;
    out[kind.slot] = Math.round((table[kind.slot] * t.measuredNs) / t.modelNs);
  }
  return out;
}
