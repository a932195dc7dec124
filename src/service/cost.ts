import {
  ALONE_SECONDS,
  FULL_SECONDS,
  HOST_COST,
  costScenarioYaml,
  loadRunCost,
  type CostConfig,
  type RunCostWeights,
} from '../model/runCost.js';
import { REPO_ROOT, loadModelData, type ModelData } from '../model/data.js';
import { parseScenario } from '../scenario/load.js';
import { durationLimitNs, type ModelledGuestSpec, type Scenario } from '../scenario/types.js';
import { runHosts } from '../run/simulate.js';
import { TotalsAccumulator } from '../run/totals.js';

/**
 * A run's predicted cost, in the unit that costs: host CPU core-seconds of the simulation. Each
 * modelled guest's vCPUs walk its phases over the run's duration (the scenario's `duration`, or
 * `maxDuration` for until-complete): a duration-bound phase costs its duration, a work-bound phase
 * (install, build, disk-benchmark) the rest of the run (its end is a result, so it is assumed to
 * last), and after the last phase the guest idles; each second at the measured weight of its guest
 * model and phase (data/run-cost.yaml, `npm run calibrate:cost`). Workload-profile guests cost the
 * workload weight for the whole run; scripted guests (a list of single operations) nothing.
 *
 * Every run also costs `perRunMs` whatever it simulates (validation, compiling the engine on a
 * worker that has not run it yet, results): without it a run of a few simulated seconds cost up to
 * 7x its prediction (docs/SERVICE.md "Predicted cost" says what the prediction guarantees). And
 * each host costs `perHostMs` to build and run at all: 10,000 hosts of one small guest cost seconds
 * that their guests' weights do not predict.
 *
 * The weights are the worst case over policies, CPUs and hosts (full, or one small guest alone), so
 * the prediction is an upper bound: the service refuses a run predicted over its budget (422
 * limit_exceeded, the prediction in the message) before it queues, instead of finding out an hour
 * later.
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

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');

export function predictCost(scenario: Scenario, weights: RunCostWeights = loadRunCost()): CostPrediction {
  const seconds = durationLimitNs(scenario) / 1e9;
  let coreSeconds = weights.perRunMs / 1000;
  let vcpuSeconds = 0;
  const parts = new Map<string, { vcpuSeconds: number; coreSeconds: number }>();
  let hosts = 0;
  for (const v of scenario.variants) {
    hosts += v.host.count;
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
  const building = (hosts * weights.perHostMs) / 1000;
  coreSeconds += building;
  const what = `${n0(hosts)} host${hosts === 1 ? '' : 's'} built and run (${weights.perHostMs} ms each)`;
  // Named among the biggest parts only where it shows in the message's whole core-seconds.
  if (building >= 0.5) parts.set(what, { vcpuSeconds: 0, coreSeconds: building });
  const top = [...parts]
    .map(([what, p]) => ({ what, ...p }))
    .sort((a, b) => b.coreSeconds - a.coreSeconds)
    .slice(0, 3);
  return { coreSeconds, vcpuSeconds, top };
}

/** The refusal message of a run predicted over `budget` core-seconds. */
export function overCostMessage(name: string, p: CostPrediction, budget: number, workers: number): string {
  const parts = p.top
    .map((t) => `${t.vcpuSeconds > 0 ? `${n0(t.vcpuSeconds)} vCPU-seconds of ` : ''}${t.what}: ${n0(t.coreSeconds)}`)
    .join('; ');
  return (
    `scenario ${name} is predicted to cost ${n0(p.coreSeconds)} core-seconds of simulation ` +
    `(${n0(p.vcpuSeconds)} simulated vCPU-seconds; biggest: ${parts}); this service allows at most ${n0(budget)} per run ` +
    `(--max-run-cost; ${workers} worker${workers === 1 ? '' : 's'} would need about ${n0(p.coreSeconds / workers)} s). ` +
    'Run fewer guests, fewer vCPUs or a shorter duration, or run it with the CLI (vmexit-lab run --shard)'
  );
}

/**
 * One run of a calibration configuration (src/model/runCost.ts costScenarioYaml): this thread's CPU
 * ms, the simulated vCPU-seconds and the engine events.
 */
function costRun(
  kind: string,
  phase: string,
  c: CostConfig,
  seconds: number,
  data: ModelData,
  hosts = 1,
): { ms: number; vcpuSeconds: number; events: number } {
  const yaml = costScenarioYaml(kind, phase === 'workload' ? 'idle' : phase, c, seconds, hosts);
  const scenario = parseScenario(yaml, 'cost.yaml', { workloadBaseDir: REPO_ROOT });
  const acc = new TotalsAccumulator();
  const c0 = process.cpuUsage();
  runHosts(scenario, scenario.variants[0], data, 0, hosts, acc);
  const u = process.cpuUsage(c0);
  return { ms: (u.user + u.system) / 1000, vcpuSeconds: acc.vcpuNs / 1e9, events: acc.events };
}

/**
 * CPU ms and engine events per simulated vCPU-second of a guest model (or `workload`) in a phase on
 * a calibration configuration, as `npm run calibrate:cost` measures a weight and
 * test/service/runCost.test.ts counts its events: a full host's run of FULL_SECONDS; a lone guest's
 * run of ALONE_SECONDS[1] minus its run of ALONE_SECONDS[0], so building the host does not count.
 * The events are a count (the same on every machine), the CPU time is not.
 */
export function costPerVcpuSecond(
  kind: string,
  phase: string,
  c: CostConfig,
  data: ModelData = loadModelData(),
): { ms: number; events: number } {
  if (!c.alone) {
    const r = costRun(kind, phase, c, FULL_SECONDS, data);
    return { ms: r.ms / r.vcpuSeconds, events: r.events / r.vcpuSeconds };
  }
  const a = costRun(kind, phase, c, ALONE_SECONDS[0], data);
  const b = costRun(kind, phase, c, ALONE_SECONDS[1], data);
  const v = b.vcpuSeconds - a.vcpuSeconds;
  return { ms: (b.ms - a.ms) / v, events: (b.events - a.events) / v };
}

/**
 * CPU ms one more host costs under a policy and CPU profile (HOST_COST: the run of many small hosts
 * less the run of one, per host added), as `npm run calibrate:cost` measures `perHostMs`.
 */
export function costPerHost(policy: string, cpu: string, data: ModelData = loadModelData()): number {
  const c: CostConfig = { policy, cpu, vcpus: 1, alone: true };
  const [few, many] = HOST_COST.hosts;
  const a = costRun('windows-10-1909', 'idle', c, HOST_COST.seconds, data, few);
  const b = costRun('windows-10-1909', 'idle', c, HOST_COST.seconds, data, many);
  return (b.ms - a.ms) / (many - few);
}
