/**
 * npm run calibrate:cost — measures what a simulated vCPU-second of each guest model and phase
 * costs this machine's CPU, the weights of the service's cost cap (src/service/cost.ts,
 * docs/SERVICE.md "Limits"), and prints data/run-cost.yaml (`-- --write` writes it).
 *
 * For every guest model and phase, the host CPU time (process.cpuUsage, this thread only) of one
 * host of guests is measured for each combination of hypervisor policy (bhyve-12.1 without TPR
 * shadowing, bhyve-tpr-v3, kvm), CPU profile (i7-6700K: no APICv; xeon-e5-2667v4: APICv;
 * epyc-7763: AVIC) and vCPUs per guest (1, 4, 16), divided by the simulated vCPU-seconds. The
 * weight is the largest of these (the prediction is an upper bound: a run costs at most about that
 * much), each the best of 2 repeats after a warm-up (JIT). Workload-profile guests (imported
 * reports) are measured with the shipped profile.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../src/scenario/load.js';
import { loadModelData, REPO_ROOT } from '../src/model/data.js';
import { runHosts } from '../src/run/simulate.js';
import { TotalsAccumulator } from '../src/run/totals.js';
import { GUEST_OS_NAMES } from '../src/scenario/types.js';

const data = loadModelData();
const POLICIES = ['bhyve-12.1', 'bhyve-tpr-v3', 'kvm'];
const CPUS = ['i7-6700K', 'xeon-e5-2667v4', 'epyc-7763'];
const PHASES = ['boot', 'idle', 'install', 'build', 'disk-benchmark'];
const WORK_BOUND = new Set(['install', 'build', 'disk-benchmark']);
const VCPUS = [1, 4, 16];
const SIM_SECONDS = 2;

function guestYaml(kind: string, vcpus: number, phase: string): string {
  const work = phase === 'disk-benchmark' ? 'work: 1TiB' : 'work: 100000s';
  const phases = `[{ phase: ${phase}, ${WORK_BOUND.has(phase) ? work : 'duration: 100000s'} }]`;
  if (kind === 'workload')
    return `  - workload: ${join(REPO_ROOT, 'data', 'workloads', 'sysbench-kvm-2020.yaml')}\n    count: ${Math.max(1, Math.round(16 / vcpus))}\n`;
  return `  - os: ${kind}\n    vcpus: ${vcpus}\n    count: ${Math.max(1, Math.round(16 / vcpus))}\n    phases: ${phases}\n`;
}

/** CPU ms per simulated vCPU-second of one configuration (best of `repeats`). */
function measure(kind: string, policy: string, cpu: string, phase: string, vcpus: number, repeats = 2): number {
  const yaml = `name: cost\nseed: 1\nhost: { cpu: ${cpu}, cores: 16, count: 1 }\nhypervisor: { policy: ${policy} }\nguests:\n${guestYaml(kind, vcpus, phase)}duration: ${SIM_SECONDS}s\n`;
  const scenario = parseScenario(yaml, 'cost.yaml', { workloadBaseDir: REPO_ROOT });
  const variant = scenario.variants[0];
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const acc = new TotalsAccumulator();
    const c0 = process.cpuUsage();
    runHosts(scenario, variant, data, 0, 1, acc);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000 / (acc.vcpuNs / 1e9));
  }
  return best;
}

// Warm-up: the first configurations would otherwise pay for the JIT.
for (const os of ['windows-10-1909', 'ubuntu-18.04']) measure(os, 'bhyve-12.1', 'i7-6700K', 'idle', 4, 2);

const rows: { kind: string; weights: Record<string, number>; worst: string }[] = [];
for (const kind of [...GUEST_OS_NAMES, 'workload']) {
  const weights: Record<string, number> = {};
  const worstOf: Record<string, string> = {};
  for (const phase of kind === 'workload' ? ['workload'] : PHASES) {
    weights[phase] = 0;
    for (const policy of POLICIES)
      for (const cpu of CPUS)
        for (const vcpus of kind === 'workload' ? [2] : VCPUS) {
          const w = measure(kind, policy, cpu, phase === 'workload' ? 'idle' : phase, vcpus);
          if (w > weights[phase]) {
            weights[phase] = w;
            worstOf[phase] = `${policy} on ${cpu}, ${vcpus} vCPU${vcpus === 1 ? '' : 's'}`;
          }
        }
  }
  const top = Object.keys(weights).reduce((a, b) => (weights[a] >= weights[b] ? a : b));
  rows.push({ kind, weights, worst: `${top}: ${worstOf[top]}` });
  process.stderr.write(
    `${kind}: ${Object.entries(weights)
      .map(([p, w]) => `${p} ${w.toFixed(3)}`)
      .join(', ')} ms per vCPU-second (worst: ${top}, ${worstOf[top]})\n`,
  );
}

const date = new Date().toISOString().slice(0, 10);
const lines = [
  '# What one simulated vCPU-second of each guest model costs the simulation, in host CPU milliseconds:',
  '# the weights of the service\'s cost cap (src/service/cost.ts, docs/SERVICE.md "Limits"). A run\'s',
  '# predicted cost is the sum over its guests of vCPUs x simulated seconds x weight (core-seconds).',
  '#',
  '# Measured by `npm run calibrate:cost` (bench/runCost.ts): for every guest model and phase, the largest',
  '# CPU time per vCPU-second over policies (bhyve-12.1, bhyve-tpr-v3, kvm), CPU profiles (i7-6700K,',
  '# xeon-e5-2667v4, epyc-7763) and 1, 4 and 16 vCPUs per guest, each the best of 2 after a warm-up.',
  '# Workload-profile guests (imported reports): measured with data/workloads/sysbench-kvm-2020.yaml.',
  '# An upper bound on purpose: a run predicted under the budget does not cost much more than predicted.',
  '# The figures are of the machine below; another machine re-measures with the command above.',
  'runCost: 1',
  'measured:',
  `  date: ${date}`,
  `  machine: ${JSON.stringify(`${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`)}`,
  `  node: ${process.version}`,
  `  simulatedSeconds: ${SIM_SECONDS}`,
  'msPerVcpuSecond:',
  ...rows.map(
    (r) =>
      `  ${r.kind}: { ${Object.entries(r.weights)
        .map(([p, w]) => `${p}: ${w.toFixed(3)}`)
        .join(', ')}, worst: ${JSON.stringify(r.worst)} }`,
  ),
];
const text = `${lines.join('\n')}\n`;
if (process.argv.includes('--write')) {
  writeFileSync(join(REPO_ROOT, 'data', 'run-cost.yaml'), text);
  process.stderr.write('wrote data/run-cost.yaml\n');
} else process.stdout.write(text);
