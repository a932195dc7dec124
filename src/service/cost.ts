import { loadRunCost, type RunCostWeights } from '../model/runCost.js';
import { durationLimitNs, type ModelledGuestSpec, type Scenario } from '../scenario/types.js';

/**
 * A run's predicted cost, in the unit that costs: host CPU core-seconds of the simulation. Each
 * modelled guest's vCPUs walk its phases over the run's duration (the scenario's `duration`, or
 * `maxDuration` for until-complete): a duration-bound phase costs its duration, a work-bound phase
 * (install, build, disk-benchmark) the rest of the run (its end is a result, so it is assumed to
 * last), and after the last phase the guest idles; each second at the measured weight of its guest
 * model and phase (data/run-cost.yaml, `npm run calibrate:cost`). Workload-profile guests cost the
 * workload weight for the whole run; scripted guests (a list of single operations) nothing.
 *
 * The weights are the worst case over policies, CPUs and vCPU counts, so the prediction is an upper
 * bound: the service refuses a run predicted over its budget (422 limit_exceeded, the prediction
 * in the message) before it queues, instead of finding out an hour later.
 */

export interface CostPrediction {
  /** Host CPU seconds the run is predicted to need at most. */
  readonly coreSeconds: number;
  /** Simulated vCPU-seconds: vCPUs x the run's simulated seconds, over every variant and host. */
  readonly vcpuSeconds: number;
  /** The biggest contributions, for the refusal message: guest spec, vCPU-seconds, weight. */
  readonly top: readonly { readonly what: string; readonly vcpuSeconds: number; readonly coreSeconds: number }[];
}

function guestCost(g: ModelledGuestSpec, seconds: number, w: RunCostWeights): { coreSeconds: number; what: string } {
  if (g.workload !== undefined)
    return { coreSeconds: (seconds * w.workload) / 1000, what: `workload ${g.name} (${w.workload} ms)` };
  const weights = w.byModel.get(g.os);
  if (weights === undefined) throw new Error(`data/run-cost.yaml has no weights for guest model ${g.os}`);
  const at = (phase: string): number => weights.get(phase) ?? Math.max(...weights.values());
  let left = seconds;
  let ms = 0;
  const used: string[] = [];
  for (const p of g.phases) {
    if (left <= 0) break;
    const s = p.durationNs !== undefined ? Math.min(left, p.durationNs / 1e9) : left;
    ms += s * at(p.phase);
    used.push(`${p.phase} ${at(p.phase)} ms`);
    left -= s;
  }
  if (left > 0) {
    ms += left * at('idle');
    if (!used.some((u) => u.startsWith('idle '))) used.push(`idle ${at('idle')} ms`);
  }
  return { coreSeconds: ms / 1000, what: `${g.os} (${used.join(', ')} per vCPU-second)` };
}

export function predictCost(scenario: Scenario, weights: RunCostWeights = loadRunCost()): CostPrediction {
  const seconds = durationLimitNs(scenario) / 1e9;
  let coreSeconds = 0;
  let vcpuSeconds = 0;
  const parts = new Map<string, { vcpuSeconds: number; coreSeconds: number }>();
  for (const v of scenario.variants) {
    for (const g of v.guests) {
      if (g.kind !== 'modelled') continue;
      const n = g.count * v.host.count * g.vcpus;
      const one = guestCost(g, seconds, weights);
      const c = one.coreSeconds * n;
      coreSeconds += c;
      vcpuSeconds += n * seconds;
      const what = `${g.count * v.host.count} x ${g.vcpus}-vCPU ${one.what}`;
      const p = parts.get(what) ?? { vcpuSeconds: 0, coreSeconds: 0 };
      parts.set(what, { vcpuSeconds: p.vcpuSeconds + n * seconds, coreSeconds: p.coreSeconds + c });
    }
  }
  const top = [...parts]
    .map(([what, p]) => ({ what, ...p }))
    .sort((a, b) => b.coreSeconds - a.coreSeconds)
    .slice(0, 3);
  return { coreSeconds, vcpuSeconds, top };
}

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');

/** The refusal message of a run predicted over `budget` core-seconds. */
export function overCostMessage(name: string, p: CostPrediction, budget: number, workers: number): string {
  const parts = p.top.map((t) => `${n0(t.vcpuSeconds)} vCPU-seconds of ${t.what}: ${n0(t.coreSeconds)}`).join('; ');
  return (
    `scenario ${name} is predicted to cost ${n0(p.coreSeconds)} core-seconds of simulation ` +
    `(${n0(p.vcpuSeconds)} simulated vCPU-seconds; biggest: ${parts}); this service allows at most ${n0(budget)} per run ` +
    `(--max-run-cost; ${workers} worker${workers === 1 ? '' : 's'} would need about ${n0(p.coreSeconds / workers)} s). ` +
    'Run fewer guests, fewer vCPUs or a shorter duration, or run it with the CLI (vmexit-lab run --shard)'
  );
}
