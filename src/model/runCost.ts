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
  /**
   * Host CPU ms a run costs whatever it simulates: validating it, compiling the engine on a worker
   * thread that has not run it yet (the service's first run), assembling and storing results.
   */
  readonly perRunMs: number;
  /**
   * Host CPU ms each host of a run costs whatever it simulates: building its cores, guests and vCPUs
   * and running its engine for a moment (HOST_COST). A fleet of many small hosts costs this many
   * times over, which the per-vCPU-second weights do not see.
   */
  readonly perHostMs: number;
  /** Where the figures come from: date, machine, Node.js. */
  readonly measured: Readonly<Record<string, string | number>>;
  /**
   * Per guest model (and `workload`), then per phase: the configuration the weight was measured on
   * (the costliest of the calibration's) and its engine events per simulated vCPU-second there.
   */
  readonly worst: ReadonlyMap<string, ReadonlyMap<string, MeasuredOn>>;
}

/**
 * A configuration of the calibration (bench/runCost.ts): one host of the CPU profile under the
 * policy; `alone`: one guest of 1 vCPU on 4 cores, else 16 vCPUs in guests of `vcpus` on 16 cores.
 */
export interface CostConfig {
  readonly policy: string;
  readonly cpu: string;
  readonly vcpus: number;
  readonly alone: boolean;
}

/** A weight's configuration and its engine events per simulated vCPU-second there (rounded up). */
export interface MeasuredOn extends CostConfig {
  readonly events: number;
}

export const COST_PHASES = ['boot', 'idle', 'install', 'build', 'disk-benchmark'] as const;
const WORK_BOUND = new Set(['install', 'build', 'disk-benchmark']);

/**
 * The calibration's runs, in simulated seconds: a full host is measured over one run of 2 s; a
 * lone guest as the difference of a 10 s and a 2 s run, since building its host (~50 ms of CPU)
 * would otherwise be most of what its 2 vCPU-seconds cost.
 */
export const FULL_SECONDS = 2;
export const ALONE_SECONDS: readonly [number, number] = [2, 10];

/**
 * How the per-host cost is measured: runs of `hosts[0]` and of `hosts[1]` hosts, each one 1-vCPU idle
 * Windows 10 guest on 4 cores, for `seconds` simulated; the difference of their CPU time per host
 * added. The smallest host is the costliest per vCPU to build, and the run is short so that what it
 * simulates (0.2 ms per idle vCPU-second at most) is lost beside what it builds.
 */
export const HOST_COST = { hosts: [1, 201] as const, seconds: 0.01 };

/** How data/run-cost.yaml names a configuration: `kvm on i7-6700K, 4 vCPUs`, `... 1 vCPU alone`. */
export function configText(c: CostConfig): string {
  return `${c.policy} on ${c.cpu}, ${c.vcpus} vCPU${c.vcpus === 1 ? '' : 's'}${c.alone ? ' alone' : ''}`;
}

/**
 * The scenario (YAML) the calibration runs for a guest model (or `workload`: the shipped profile
 * data/workloads/sysbench-kvm-2020.yaml) in one phase, held there for the whole run.
 */
export function costScenarioYaml(kind: string, phase: string, c: CostConfig, seconds: number, hosts = 1): string {
  const count = c.alone ? 1 : Math.max(1, Math.round(16 / c.vcpus));
  const work = phase === 'disk-benchmark' ? 'work: 1TiB' : 'work: 100000s';
  const phases = `[{ phase: ${phase}, ${WORK_BOUND.has(phase) ? work : 'duration: 100000s'} }]`;
  const guest =
    kind === 'workload'
      ? `  - workload: ${join(DATA_DIR, 'workloads', 'sysbench-kvm-2020.yaml')}\n    count: ${count}\n`
      : `  - os: ${kind}\n    vcpus: ${c.vcpus}\n    count: ${count}\n    phases: ${phases}\n`;
  return (
    `name: cost\nseed: 1\nhost: { cpu: ${c.cpu}, cores: ${c.alone ? 4 : 16}, count: ${hosts} }\n` +
    `hypervisor: { policy: ${c.policy} }\nguests:\n${guest}duration: ${seconds}s\n`
  );
}

let cached: RunCostWeights | undefined;

export function loadRunCost(file = join(DATA_DIR, 'run-cost.yaml')): RunCostWeights {
  if (cached && file === join(DATA_DIR, 'run-cost.yaml')) return cached;
  const doc = parse(readFileSync(file, 'utf8')) as {
    runCost?: unknown;
    measured?: Record<string, string | number>;
    perRunMs?: unknown;
    perHostMs?: unknown;
    msPerVcpuSecond?: Record<string, Record<string, unknown>>;
    measuredOn?: Record<string, Record<string, { on?: unknown; events?: unknown }>>;
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
  const worst = new Map<string, Map<string, MeasuredOn>>();
  for (const [model, phases] of Object.entries(doc.measuredOn ?? {})) {
    const m = new Map<string, MeasuredOn>();
    for (const [phase, o] of Object.entries(phases)) {
      const at = typeof o?.on === 'string' ? /^(\S+) on (\S+), (\d+) vCPUs?( alone)?$/.exec(o.on) : null;
      if (at === null || typeof o.events !== 'number' || !Number.isFinite(o.events) || o.events < 0)
        throw new ModelDataError(
          `${file}: measuredOn.${model}.${phase}: expected { on: "POLICY on CPU, N vCPUs[ alone]", events: N }`,
        );
      m.set(phase, { policy: at[1], cpu: at[2], vcpus: Number(at[3]), alone: at[4] !== undefined, events: o.events });
    }
    worst.set(model, m);
  }
  const perRunMs = doc.perRunMs;
  if (typeof perRunMs !== 'number' || !Number.isFinite(perRunMs) || perRunMs < 0)
    throw new ModelDataError(`${file}: perRunMs: expected a number >= 0`);
  const perHostMs = doc.perHostMs;
  if (typeof perHostMs !== 'number' || !Number.isFinite(perHostMs) || perHostMs < 0)
    throw new ModelDataError(`${file}: perHostMs: expected a number >= 0`);
  const out: RunCostWeights = { byModel, workload, perRunMs, perHostMs, measured: doc.measured ?? {}, worst };
  if (file === join(DATA_DIR, 'run-cost.yaml')) cached = out;
  return out;
}
