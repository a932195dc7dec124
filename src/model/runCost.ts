import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DATA_DIR, ModelDataError } from './data.js';

/**
 * data/run-cost.yaml: what a simulated vCPU-second of each guest model costs the simulation, in host
 * CPU milliseconds, by phase (measured by `npm run calibrate:cost`, bench/runCost.ts). The weights of
 * the service's cost cap (src/service/cost.ts); not model constants: they describe this program's
 * speed on a machine, not guests or CPUs.
 */
export interface RunCostWeights {
  /** Per guest model (GUEST_OS_NAMES), then per phase name: ms of host CPU per simulated vCPU-second. */
  readonly byModel: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** A workload-profile guest (an imported report), per vCPU-second. */
  readonly workload: number;
  /** Where the figures come from: date, machine, Node.js. */
  readonly measured: Readonly<Record<string, string | number>>;
}

let cached: RunCostWeights | undefined;

export function loadRunCost(file = join(DATA_DIR, 'run-cost.yaml')): RunCostWeights {
  if (cached && file === join(DATA_DIR, 'run-cost.yaml')) return cached;
  const doc = parse(readFileSync(file, 'utf8')) as {
    runCost?: unknown;
    measured?: Record<string, string | number>;
    msPerVcpuSecond?: Record<string, Record<string, unknown>>;
  };
  if (doc?.runCost !== 1 || typeof doc.msPerVcpuSecond !== 'object' || doc.msPerVcpuSecond === null)
    throw new ModelDataError(`${file}: expected runCost: 1 and a msPerVcpuSecond mapping`);
  const byModel = new Map<string, Map<string, number>>();
  let workload: number | undefined;
  for (const [model, phases] of Object.entries(doc.msPerVcpuSecond)) {
    const m = new Map<string, number>();
    for (const [phase, w] of Object.entries(phases)) {
      if (phase === 'worst') continue;
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
        throw new ModelDataError(`${file}: msPerVcpuSecond.${model}.${phase}: expected a number >= 0`);
      m.set(phase, w);
    }
    if (model === 'workload') workload = m.get('workload');
    else byModel.set(model, m);
  }
  if (workload === undefined) throw new ModelDataError(`${file}: msPerVcpuSecond.workload.workload is missing`);
  const out: RunCostWeights = { byModel, workload, measured: doc.measured ?? {} };
  if (file === join(DATA_DIR, 'run-cost.yaml')) cached = out;
  return out;
}
