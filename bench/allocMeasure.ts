/**
 * Bytes the engine allocates per engine event in the steady state (issue #16, "no allocation in
 * steady state"), independent of the machine's load: a case's hosts are built and run `warmSeconds`
 * simulated seconds (the JIT settles, the arrays reach their size), then `seconds` more, over which
 * the V8 heap's allocation is counted: used heap at the end minus at the start, plus what every
 * garbage collection in between freed (v8.GCProfiler gives the used heap before and after each one),
 * i.e. every byte allocated whether or not a GC ran. Divided by the engine events of those seconds
 * (HostSimulation.events). The hosts run in lockstep one simulated second at a time, as runHosts
 * runs them, without its per-epoch bookkeeping (which is not the engine's).
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';
import type { ModelData } from '../src/model/data.js';
import { hostGuests, hostSimulations, EPOCH_NS } from '../src/run/simulate.js';
import type { HostSimulation } from '../src/core/engine/host.js';
import type { Scenario, ScenarioVariant } from '../src/scenario/types.js';
import type { CaseId } from './cases.js';

export interface Allocation {
  /** Bytes allocated on the V8 heap over the measured seconds. */
  bytes: number;
  /** Engine events over the measured seconds. */
  events: number;
  /** Garbage collections over the measured seconds. */
  gcs: number;
}

interface GcStat {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/**
 * Every host of `variant` with guests, built, and `runTo(ns)` that advances them all in lockstep one
 * simulated second at a time (both alloc scripts run their hosts this way).
 */
export function lockstepHosts(
  scenario: Scenario,
  variant: ScenarioVariant,
  data: ModelData,
): { sims: HostSimulation[]; runTo: (untilNs: number) => void } {
  const build = hostSimulations(scenario, variant, data);
  const sims: HostSimulation[] = [];
  for (let h = 0; h < variant.host.count; h++) {
    const guests = hostGuests(variant, data, h);
    if (guests.length > 0) sims.push(build(h, guests));
  }
  let t = 0;
  const runTo = (until: number): void => {
    while (t < until) {
      t = Math.min(until, t + EPOCH_NS);
      for (let i = 0; i < sims.length; i++) sims[i].advanceTo(t);
    }
  };
  return { sims, runTo };
}

/**
 * Bytes allocated and engine events while `runTo` advances `sims` to `untilNs` (they must be past
 * any warm-up: this counts whatever happens, JIT compilation of late-optimized functions included).
 */
export function measureWindow(
  sims: readonly HostSimulation[],
  runTo: (untilNs: number) => void,
  untilNs: number,
): Allocation {
  let events0 = 0;
  for (const s of sims) events0 -= s.events;
  const profiler = new GCProfiler();
  profiler.start();
  const used0 = getHeapStatistics().used_heap_size;
  runTo(untilNs);
  const used1 = getHeapStatistics().used_heap_size;
  const stats = (profiler.stop()?.statistics ?? []) as GcStat[];
  let freed = 0;
  for (const g of stats) freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
  let events = events0;
  for (const s of sims) events += s.events;
  return { bytes: used1 - used0 + freed, events, gcs: stats.length };
}

/** Build every host of `variant` and run them `warmSeconds`, then measure `seconds` more. */
export function measureAllocation(
  scenario: Scenario,
  variant: ScenarioVariant,
  data: ModelData,
  warmSeconds: number,
  seconds: number,
): Allocation {
  const { sims, runTo } = lockstepHosts(scenario, variant, data);
  runTo(warmSeconds * 1e9);
  return measureWindow(sims, runTo, (warmSeconds + seconds) * 1e9);
}

/**
 * The steady-state allocation guard's measurement (test/engine/alloc.test.ts; bench/allocSpread.ts
 * repeats it over fresh processes): a case's warm-up (simulated seconds), then `windows` consecutive
 * windows; the least bytes per event of the windows must be below `boundBytesPerEvent`, and each
 * window must hold more than `minEvents` engine events. `warmupS` and `windowS` are the idle fleet's
 * (ALLOC_GUARD_CASES gives each case its own). The test says why these figures.
 */
export const ALLOC_GUARD = { warmupS: 60, windowS: 30, windows: 3, boundBytesPerEvent: 4, minEvents: 50_000 } as const;

/** One run of the guard: a case of bench/cases.ts (all its variants), its warm-up and window, simulated s. */
export interface AllocGuardCase {
  id: CaseId;
  label: string;
  warmupS: number;
  windowS: number;
}

/**
 * The guard's runs, in this order in one process (each variant's hosts built afresh; what V8 compiled
 * for one run is what the next starts with). The overcommitted host twice: while its guests boot
 * (10-28 s), where halts and wake-ups change the share ~2,300 times per simulated second and
 * HostSimulation.shareChanged re-keys ~16 running vCPUs each time (~0.1 changes and ~1.6 re-keys per
 * engine event), a path the idle fleet never takes; and while they build (40-70 s), every vCPU
 * running, ~10 share changes per simulated second, where raise meets running vCPUs (docs/PERF.md,
 * twenty-first session). Counted in a throwaway copy: 22,700-23,000 changes per 10 s of boot, 74-134
 * per 10 s of build. Then workload-profile guests (the imported sysbench profile, whose events -
 * its device interrupts, HLTs and IPIs - and bulk runs, guests/workloadGuest.ts, neither fleet has):
 * 10 s, then windows of 15 s (~67,500 events each), after the others as where their boxes showed most
 * (33-39 bytes per event on main at 99a6171, 8-15 alone; docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
 */
export const ALLOC_GUARD_CASES: readonly AllocGuardCase[] = [
  { id: 'idle-fleet', label: 'idle fleet', warmupS: ALLOC_GUARD.warmupS, windowS: ALLOC_GUARD.windowS },
  { id: 'overcommit-host', label: 'overcommitted host booting (share changes)', warmupS: 10, windowS: 6 },
  { id: 'overcommit-host', label: 'overcommitted host building', warmupS: 40, windowS: 10 },
  { id: 'workload-host', label: 'workload-profile guests', warmupS: 10, windowS: 15 },
];

/** Bytes per engine event in each of the guard's windows, for `variant` (its hosts built afresh). */
export function guardWindows(
  scenario: Scenario,
  variant: ScenarioVariant,
  data: ModelData,
  warmupS: number = ALLOC_GUARD.warmupS,
  windowS: number = ALLOC_GUARD.windowS,
): { bytesPerEvent: number[]; events: number[] } {
  const { sims, runTo } = lockstepHosts(scenario, variant, data);
  let t = warmupS * 1e9;
  runTo(t);
  const bytesPerEvent: number[] = [];
  const events: number[] = [];
  for (let k = 0; k < ALLOC_GUARD.windows; k++) {
    t += windowS * 1e9;
    const a = measureWindow(sims, runTo, t);
    bytesPerEvent.push(a.bytes / a.events);
    events.push(a.events);
  }
  return { bytesPerEvent, events };
}
