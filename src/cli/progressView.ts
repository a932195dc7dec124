/** How far a run is, per variant: the progress line's view of a run on the main thread or in the pool (src/cli/progress.ts draws it). */
import { GuestCounter } from '../core/engine/host.js';
import type { ScenarioProgress } from '../run/runScenario.js';
import type { PooledRun } from '../pool/pooledRun.js';
import type { Scenario, ScenarioVariant } from '../scenario/types.js';

/** What the progress line knows of one variant at one moment. */
export interface VariantProgress {
  readonly name: string;
  /** Every host ran to its end. */
  readonly done: boolean;
  /**
   * Nothing runs any more, but not every host ran to its end (Ctrl-C, a time limit, a shutdown, a
   * failed or terminated task): its hosts that did not finish are not done.
   */
  readonly stopped?: boolean;
  /** Simulated ns reached: by the slowest running host; for a done variant its real end when known. */
  readonly simNs: number;
  readonly hostsDone: number;
  readonly hostsTotal: number;
  /** The fixed work done, summed over the variant's hosts (a host 0..1: src/run/workShare.ts), when the runner reports it. */
  readonly workDone?: number;
  /** Live totals of the variant's hosts (finished and running), when the runner has them. */
  readonly guestCpuNs?: number;
  readonly ioBytes?: number;
}

export interface ProgressView {
  readonly variants: readonly VariantProgress[];
  /** The variant the line names (the first one still running). */
  readonly current: number;
}

/** The work of a variant's work-bound phases (hosts [0, hosts) of it). */
export interface VariantWork {
  /** Guest CPU ns that count as the work being done (build work, install work x the guest's vCPUs). */
  readonly cpuNs: number;
  /** Bytes of disk-benchmark phases. */
  readonly ioBytes: number;
}

export function variantWork(variant: ScenarioVariant, hosts: number): VariantWork {
  let cpuNs = 0;
  let ioBytes = 0;
  for (const g of variant.guests) {
    if (g.kind !== 'modelled') continue;
    for (const p of g.phases) {
      if (p.work === undefined) continue;
      const n = g.count * hosts;
      if (p.phase === 'disk-benchmark') ioBytes += p.work * n;
      else if (p.phase === 'install') cpuNs += p.work * g.vcpus * n;
      else cpuNs += p.work * n;
    }
  }
  return { cpuNs, ioBytes };
}

/**
 * The fraction (0..1) of one variant that is done. Fixed duration: simulated time; until-complete:
 * work done (see the file comment), never above 0.99 before the variant is done.
 */
export function variantFraction(scenario: Scenario, vi: number, p: VariantProgress, stopNs?: number): number {
  if (p.done) return 1;
  const hostsFraction = p.hostsTotal > 0 ? p.hostsDone / p.hostsTotal : 0;
  if (stopNs !== undefined)
    return Math.min(
      0.99,
      Math.max(hostsFraction, p.simNs / stopNs, p.hostsTotal > 0 ? (p.workDone ?? 0) / p.hostsTotal : 0),
    );
  if (scenario.duration.kind === 'fixed') {
    return Math.min(1, Math.max(hostsFraction, p.simNs / scenario.duration.ns));
  }
  if (p.workDone !== undefined && p.hostsTotal > 0)
    return Math.min(0.99, Math.max(hostsFraction, p.workDone / p.hostsTotal));
  const work = variantWork(scenario.variants[vi], p.hostsTotal);
  const parts: { f: number; w: number }[] = [];
  if (work.cpuNs > 0 && p.guestCpuNs !== undefined) parts.push({ f: p.guestCpuNs / work.cpuNs, w: work.cpuNs });
  if (work.ioBytes > 0 && p.ioBytes !== undefined) parts.push({ f: p.ioBytes / work.ioBytes, w: 1 });
  // Several kinds of work: each kind weighs by its share of the guests' work (CPU first; I/O as one).
  const weight = parts.reduce((a, x) => a + x.w, 0);
  const workFraction = weight > 0 ? parts.reduce((a, x) => a + Math.min(1, x.f) * x.w, 0) / weight : 0;
  return Math.min(0.99, Math.max(hostsFraction, workFraction));
}

/** The view of a runScenario progress callback (variants run one after the other). */
export function viewOfScenarioProgress(
  p: ScenarioProgress,
  ends: Map<number, number> = new Map(),
  names: readonly string[] = [],
): ProgressView {
  const variants: VariantProgress[] = [];
  for (let vi = 0; vi < p.variants; vi++) {
    if (vi < p.variantIndex)
      variants.push({
        name: names[vi] ?? '',
        done: true,
        simNs: ends.get(vi) ?? p.limitNs,
        hostsDone: 1,
        hostsTotal: 1,
      });
    else if (vi === p.variantIndex)
      variants.push({
        name: p.variant,
        done: p.hostsTotal > 0 ? p.hostsDone === p.hostsTotal : p.simNs >= p.limitNs,
        simNs: p.simNs,
        hostsDone: p.hostsDone,
        hostsTotal: p.hostsTotal,
        ...(p.workDone !== undefined ? { workDone: p.workDone } : {}),
      });
    else variants.push({ name: names[vi] ?? '', done: false, simNs: 0, hostsDone: 0, hostsTotal: 1 });
  }
  return { variants, current: p.variantIndex };
}

/** The view of a pooled run: every variant from its tasks (running tasks' latest live totals). */
export function viewOfPooledRun(run: PooledRun): ProgressView {
  const variants: VariantProgress[] = run.scenario.variants.map((v, vi) => {
    const mine = run.tasks.filter((t) => t.task.variantIndex === vi);
    const ended = (t: (typeof mine)[number]): boolean => t.status === 'done' || t.status === 'failed';
    // A task stopped early or failed has ended without finishing its hosts: only those it finished count.
    const ranToEnd = (t: (typeof mine)[number]): boolean => t.status === 'done' && t.stopped !== true;
    let slowest = Infinity;
    let end = 0;
    let hostsDone = 0;
    let hostsTotal = 0;
    let guestCpuNs = 0;
    let ioBytes = 0;
    // The work done as the tasks report it; undefined when a running one does not.
    let workDone: number | undefined = 0;
    for (const t of mine) {
      hostsTotal += t.task.hostEnd - t.task.hostStart;
      if (ranToEnd(t)) {
        if (workDone !== undefined) workDone += t.task.hostEnd - t.task.hostStart;
      } else if (t.status !== 'queued' && t.progress.simNs > 0) {
        // (A task not started, or before its first simulated second, has done nothing.)
        const w = t.progress.workDone;
        workDone = w === undefined || workDone === undefined ? undefined : workDone + w;
      }
      if (t.totals) {
        guestCpuNs += t.totals.guestCounterOf(GuestCounter.GUEST_CPU_NS);
        ioBytes += t.totals.guestCounterOf(GuestCounter.IO_BYTES);
        end = Math.max(end, t.totals.maxSimNs);
      }
      if (ranToEnd(t)) {
        hostsDone += t.task.hostEnd - t.task.hostStart;
        continue;
      }
      hostsDone += t.progress.hostsDone;
      slowest = Math.min(slowest, t.status === 'queued' ? 0 : t.progress.simNs);
    }
    const done = mine.every(ranToEnd);
    const stopped = !done && mine.every(ended);
    return {
      name: v.name,
      done,
      stopped,
      simNs: done ? end : slowest === Infinity ? 0 : slowest,
      hostsDone,
      hostsTotal,
      ...(workDone !== undefined ? { workDone } : {}),
      guestCpuNs,
      ioBytes,
    };
  });
  const current = variants.findIndex((v) => !v.done && !v.stopped);
  return { variants, current: current < 0 ? variants.length - 1 : current };
}
