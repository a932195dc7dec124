/** One host stepped epoch by epoch as runHosts steps it, for replay and run --timeline. */
import type { HostSimulation } from '../core/engine/host.js';
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import { EPOCH_NS } from './simulate.js';
import { hostWorkShare } from './workShare.js';

/** What a replay does after a step: go on, stop here (a budget spent), or give up (a re-run follows). */
export type AfterStep = 'go' | 'stop' | 'abort';

/**
 * One host stepped as runHosts steps it, for replay and the timeline, which must reach the states a
 * run reached: epochs of EPOCH_NS up to `stop` (at most the limit), the last one cut there; an
 * until-complete host ends at the first step's end, an epoch's or the limit's, where its work is done.
 * `before(next)` runs before each step (a recorder started), `after(t)` after it, and `onStep` with
 * the work share. Returns where it stopped and whether the host's run ended there; undefined when
 * `after` gave up.
 */
export function stepOneHost(
  sim: HostSimulation,
  scenario: Scenario,
  stop: number,
  before: (next: number) => void,
  after: (t: number) => AfterStep,
  onStep?: (simNs: number, workDone: number | undefined) => void,
): { t: number; ended: boolean } | undefined {
  const limit = durationLimitNs(scenario);
  const untilComplete = scenario.duration.kind === 'until-complete';
  let t = 0;
  let ended = false;
  while (t < stop) {
    const next = Math.min(stop, t + EPOCH_NS);
    before(next);
    sim.advanceTo(next);
    t = next;
    onStep?.(t, untilComplete ? hostWorkShare(sim) : undefined);
    const then = after(t);
    if (then === 'abort') return undefined;
    if (then === 'stop') break;
    if (untilComplete && (t % EPOCH_NS === 0 || t === limit) && sim.workDone()) {
      ended = true;
      break;
    }
  }
  return { t, ended: ended || t >= limit };
}
