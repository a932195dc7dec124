/** How far a pooled run is: its progress, the CLI's view of it, each variant run to its end or where it stopped. */
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import type { RunProgress } from '../history/records.js';
import type { ScenarioProgress } from '../run/runScenario.js';
import type { TaskState } from './taskState.js';

export function runProgress(scenario: Scenario, tasks: readonly TaskState[]): RunProgress {
  const limit = durationLimitNs(scenario);
  let weight = 0;
  let done = 0;
  let hostsDone = 0;
  let hostsTotal = 0;
  let tasksDone = 0;
  let slowest = Infinity;
  let furthest = 0;
  for (const t of tasks) {
    const hosts = Math.max(1, t.task.hostEnd - t.task.hostStart);
    const p = t.progress;
    weight += hosts;
    hostsTotal += t.task.hostEnd - t.task.hostStart;
    furthest = Math.max(furthest, p.simNs);
    if (t.status === 'done' || t.status === 'failed') tasksDone++;
    if (t.status === 'done' && !t.stopped) {
      done += hosts;
      hostsDone += t.task.hostEnd - t.task.hostStart;
      continue;
    }
    // Where the run stands in simulated time: the least of every task that has not run to its
    // end (a task stopped early counts with where it stopped, not with the limit).
    slowest = Math.min(slowest, p.simNs);
    hostsDone += p.hostsDone;
    // An until-complete task's share is its work done (src/run/workShare.ts, hosts done counted
    // whole), as `run`'s progress line reads it (src/cli/progressView.ts variantFraction): its simulated
    // time over the cap (maxDuration) said 51 % of an install barely begun, and >0 through a boot.
    const hostsFraction = p.hostsTotal === 0 ? 0 : p.hostsDone / p.hostsTotal;
    const f =
      p.workDone !== undefined
        ? Math.min(1, Math.max(hostsFraction, p.hostsTotal === 0 ? 0 : p.workDone / p.hostsTotal))
        : Math.max(hostsFraction, Math.min(1, p.simNs / limit));
    done += hosts * f;
  }
  return {
    fraction: weight === 0 ? 1 : Math.min(1, done / weight),
    simSeconds: (slowest === Infinity ? furthest : slowest) / 1e9,
    limitSeconds: limit / 1e9,
    hostsDone,
    hostsTotal,
    tasksDone,
    tasksTotal: tasks.length,
  };
}

/**
 * Per variant, whether every one of its tasks ran to its end (a stop, a failure or a task not yet
 * run leaves it false): what a stopped run can still show whole, as what-if's configurations.
 */
export function variantsRunToEnd(scenario: Scenario, tasks: readonly TaskState[]): boolean[] {
  return scenario.variants.map((_, vi) =>
    tasks.every((t) => t.task.variantIndex !== vi || (t.status === 'done' && !t.stopped)),
  );
}

/** The CLI progress line's view: the first variant with unfinished tasks. */
export function scenarioProgress(scenario: Scenario, tasks: readonly TaskState[]): ScenarioProgress {
  const variants = scenario.variants.length;
  const limit = durationLimitNs(scenario);
  for (let vi = 0; vi < variants; vi++) {
    const mine = tasks.filter((t) => t.task.variantIndex === vi);
    if (mine.every((t) => t.status === 'done' || t.status === 'failed')) continue;
    let sim = Infinity;
    let hostsDone = 0;
    let hostsTotal = 0;
    for (const t of mine) {
      hostsTotal += t.progress.hostsTotal;
      if (t.status === 'done' || t.status === 'failed') {
        hostsDone += t.progress.hostsTotal;
        continue;
      }
      hostsDone += t.progress.hostsDone;
      sim = Math.min(sim, t.status === 'running' ? t.progress.simNs : 0);
    }
    return {
      variant: scenario.variants[vi].name,
      variantIndex: vi,
      variants,
      simNs: sim === Infinity ? limit : sim,
      limitNs: limit,
      hostsDone,
      hostsTotal,
    };
  }
  const last = scenario.variants[variants - 1];
  return {
    variant: last?.name ?? '',
    variantIndex: Math.max(0, variants - 1),
    variants,
    simNs: limit,
    limitNs: limit,
    hostsDone: 0,
    hostsTotal: 0,
  };
}

/**
 * Where each variant stood when the run stopped, in simulated seconds: the least and the most of its
 * tasks that did not run to their end (a task not started counts 0; a terminated one, its last
 * snapshot), or undefined for a variant whose tasks all ran to their end. A task stopped inside a
 * second (runHosts' stopRequested) is at its progress (the second all its hosts reached) for the
 * least and at its totals' maxSimNs (its hosts that ran the next one) for the most.
 */
export function simulatedAtStop(
  scenario: Scenario,
  tasks: readonly TaskState[],
): ({ readonly least: number; readonly most: number } | undefined)[] {
  return scenario.variants.map((_, vi) => {
    let least = Infinity;
    let most = -Infinity;
    for (const t of tasks) {
      if (t.task.variantIndex !== vi || (t.status === 'done' && !t.stopped)) continue;
      least = Math.min(least, t.progress.simNs / 1e9);
      most = Math.max(most, Math.max(t.progress.simNs, t.totals?.maxSimNs ?? 0) / 1e9);
    }
    return least === Infinity ? undefined : { least, most };
  });
}
