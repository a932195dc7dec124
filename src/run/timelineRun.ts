import type { GuestInstance } from '../core/engine/host.js';
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import type { ModelData } from '../model/data.js';
import { EPOCH_NS, hostGuests } from './simulate.js';
import { stepOneHost } from './stepOneHost.js';
import {
  guestSimulation,
  hostOfGuest,
  recorderRecord,
  ReplayError,
  type ReplayRecord,
  type ReplayViolation,
} from './replay.js';

/**
 * The recording behind `run --timeline` (src/report/timeline.ts renders it as a trace): re-run the
 * host a guest lives on exactly as `run` and `replay` step it (one simulated second at a time, the
 * same random streams; docs/REPLAY.md), with the machine's exit recorder on for that guest's vCPUs,
 * and keep its exits and interrupt deliveries of a window of simulated time. Unlike replay(), which
 * holds a whole window in memory, this one stops at a record budget and says where; it also keeps
 * each vCPU's last record before the window (the state the window starts in: halted after a HLT).
 * replay() itself is unchanged.
 */

export interface TimelineRunRequest {
  readonly scenario: Scenario;
  readonly variantIndex: number;
  readonly data: ModelData;
  /** Global guest index (GuestInstance.index). */
  readonly guest: number;
  /** Window of simulated time [fromNs, toNs]. */
  readonly fromNs: number;
  readonly toNs: number;
  /** Most records kept; the recording stops at the first record over it. */
  readonly maxRecords: number;
  /**
   * Called after each simulated second with the ns reached and, for an until-complete scenario, the
   * host's work done (0..1, src/run/workShare.ts): the CLI's progress line.
   */
  readonly onStep?: (simNs: number, workDone: number | undefined) => void;
}

export interface TimelineRun {
  readonly host: number;
  readonly target: GuestInstance;
  /** Host ns the machine charges per exit slot (constant per kind: the slices' durations). */
  readonly exitCostNs: readonly number[];
  /**
   * Records of the target's vCPUs (vcpu within the guest) stamped in [fromNs, toNs + 1], in time
   * order: the events up to toNs and the exits the last step's advance to toNs + 1 counts in bulk.
   */
  readonly records: readonly ReplayRecord[];
  /** Per vCPU of the target, its last record before fromNs (undefined: none in the second before). */
  readonly before: readonly (ReplayRecord | undefined)[];
  /**
   * Where the recording ends: toNs + 1 (the cut), the host's end, or the simulated ns of the first
   * record over the budget.
   */
  readonly endNs: number;
  /** The budget ran out: records from this simulated ns on are missing. */
  readonly truncatedAtNs?: number;
  /** When the target guest stopped (an invariant violation stops it), if it did by endNs. */
  readonly stoppedAtNs?: number;
  /** The target guest's violations (global guest index), with their simulated time. */
  readonly violations: readonly ReplayViolation[];
}

const INITIAL_CAPACITY = 1 << 16;
const MAX_CAPACITY = 1 << 24;

export function recordTimeline(req: TimelineRunRequest): TimelineRun {
  if (!(req.fromNs >= 0 && req.toNs > req.fromNs))
    throw new ReplayError(`the window must be FROM..TO with 0 <= FROM < TO, found ${req.fromNs}..${req.toNs} ns`);
  for (let capacity = INITIAL_CAPACITY; ; capacity *= 2) {
    const r = recordOnce(req, capacity);
    if (r !== undefined) return r;
    if (capacity * 2 > MAX_CAPACITY)
      throw new ReplayError(
        `more than ${MAX_CAPACITY} records in one simulated second: choose a guest with less traffic or a shorter window`,
      );
  }
}

function recordOnce(req: TimelineRunRequest, capacity: number): TimelineRun | undefined {
  const { scenario, data } = req;
  const variant = scenario.variants[req.variantIndex];
  const { host } = hostOfGuest(scenario, req.variantIndex, req.guest);
  const guests = hostGuests(variant, data, host);
  const { sim, target, targetIdx, first, end } = guestSimulation(scenario, variant, data, host, guests, req.guest);

  const stop = Math.min(durationLimitNs(scenario), req.toNs + 1);
  // Record from the second before the window: the state a vCPU enters the window in.
  const recordFrom = Math.max(0, req.fromNs - EPOCH_NS);
  const m = sim.machine;
  const records: ReplayRecord[] = [];
  const before: (ReplayRecord | undefined)[] = Array.from({ length: target.vcpus }, () => undefined);
  let truncatedAtNs: number | undefined;
  let drained = 0;
  /**
   * false: the ring overflowed (re-run with more room); 'full': the budget is spent. `pre`: the
   * step ended at or before the window, so its records (even those stamped fromNs by its final
   * advance) are what a run cut at fromNs counts: before the window.
   */
  const drain = (pre: boolean): boolean | 'full' => {
    const rec = m.recorded;
    if (rec.written - drained > rec.capacity) return false;
    for (; drained < rec.written; drained++) {
      const i = drained % rec.capacity;
      const timeNs = rec.timeNs[i];
      // Up to the cut: the last step advances every vCPU to `stop` (bulk exits stamped there).
      if (timeNs > stop) continue;
      const vcpu = rec.vcpu[i] - first;
      const r = recorderRecord(rec, i, vcpu);
      if (pre || timeNs < req.fromNs) {
        before[vcpu] = r;
        continue;
      }
      if (records.length >= req.maxRecords) {
        truncatedAtNs = timeNs;
        return 'full';
      }
      records.push(r);
    }
    return true;
  };

  const steps = stepOneHost(
    sim,
    scenario,
    stop,
    (next) => {
      if (!m.recOn && next > recordFrom) m.startRecorder(capacity, first, end);
    },
    (t) => {
      if (!m.recOn) return 'go';
      const d = drain(t <= req.fromNs);
      return d === false ? 'abort' : d === 'full' ? 'stop' : 'go';
    },
    req.onStep,
  );
  if (steps === undefined) return undefined;
  const { t, ended } = steps;
  if (ended && truncatedAtNs === undefined) {
    sim.finalChecks();
    if (m.recOn && drain(false) === false) return undefined;
  }
  const endNs = truncatedAtNs ?? t;
  const violations: ReplayViolation[] = [];
  for (const viol of m.violations) {
    if (viol.vcpu < first || viol.vcpu >= end) continue;
    violations.push({
      check: viol.check,
      message: viol.message,
      guest: target.index,
      vcpu: viol.vcpu - first,
      simTimeNs: sim.stoppedAtNs[targetIdx] >= 0 ? sim.stoppedAtNs[targetIdx] : t,
      step: viol.step,
      state: { ...viol.state },
    });
  }
  const stoppedAt = sim.stoppedAtNs[targetIdx];
  return {
    host,
    target,
    exitCostNs: Array.from(m.exitCostNs),
    records,
    before,
    endNs,
    ...(truncatedAtNs !== undefined ? { truncatedAtNs } : {}),
    ...(stoppedAt >= 0 && stoppedAt <= endNs ? { stoppedAtNs: stoppedAt } : {}),
    violations,
  };
}
