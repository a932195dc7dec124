/**
 * npm run calibrate:cost — measures what a simulated vCPU-second of each guest model and phase
 * costs this machine's CPU, the weights of the service's cost cap (src/service/cost.ts,
 * docs/SERVICE.md "Limits"), and prints data/run-cost.yaml (`-- --write` writes it).
 *
 * For every guest model and phase, the host CPU time (process.cpuUsage, this thread only) of one
 * host of guests is measured for each combination of hypervisor policy (bhyve-12.1 without TPR
 * shadowing, bhyve-tpr-v3, kvm), CPU profile (i7-6700K: no APICv; xeon-e5-2667v4: APICv;
 * epyc-7763: AVIC) and host: 16 vCPUs on 16 cores in guests of 1, 4 or 16 vCPUs, or one guest of
 * 1 vCPU alone on 4 cores (a host's own work - its cores' ticks, its device model - is then paid by
 * one vCPU: up to several times the per-vCPU cost of a full host), divided by the simulated
 * vCPU-seconds (src/model/runCost.ts costScenarioYaml, FULL_SECONDS, ALONE_SECONDS). The weight is
 * the largest of these (the prediction is an upper bound: a run costs at most about that much),
 * each the largest of 3 repeats after a warm-up (JIT; the largest, not the best: an upper bound has
 * to hold when the machine is not quiet either). Workload-profile guests (imported reports) are
 * measured with the shipped profile. Beside each weight it records the engine events
 * per simulated vCPU-second of that worst configuration (a count, the same on every machine):
 * test/service/runCost.test.ts fails when a phase makes more events than its weight was measured on.
 * It measures too what one more host costs whatever it simulates (`perHostMs`, costPerHost: many
 * small hosts less one, per host added), the largest over policies and CPU profiles.
 *
 * `-- --check` measures instead of calibrating: for every guest model and phase, the CPU per
 * vCPU-second of the configuration its weight was measured on and of one 1-vCPU guest alone on a
 * 4-core host (same policy and CPU), the median of 3, beside the weight and their ratio.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadModelData, REPO_ROOT } from '../src/model/data.js';
import { costPerHost, costPerVcpuSecond } from '../src/service/cost.js';
import { GUEST_OS_NAMES } from '../src/scenario/types.js';
import {
  COST_PHASES,
  FULL_SECONDS,
  HOST_COST,
  configText,
  loadRunCost,
  type CostConfig,
} from '../src/model/runCost.js';
import { median } from './stats.js';

const data = loadModelData();
const POLICIES = ['bhyve-12.1', 'bhyve-tpr-v3', 'kvm'];
const CPUS = ['i7-6700K', 'xeon-e5-2667v4', 'epyc-7763'];
const VCPUS = [1, 4, 16];

/**
 * CPU ms and engine events per simulated vCPU-second of one configuration (costPerVcpuSecond): the
 * CPU time the largest of 3 (with `middle`, the median of 3).
 */
function measure(kind: string, phase: string, c: CostConfig, middle = false): { ms: number; events: number } {
  const xs: number[] = [];
  let events = 0;
  for (let r = 0; r < 3; r++) {
    const m = costPerVcpuSecond(kind, phase, c, data);
    xs.push(m.ms);
    events = m.events;
  }
  return { ms: middle ? median(xs) : Math.max(...xs), events };
}

/** CPU ms per host (costPerHost) over every policy and CPU profile: the largest (`middle`: each the median) of 3. */
function measurePerHost(middle = false): { ms: number; on: string } {
  let worst = { ms: 0, on: '' };
  for (const policy of POLICIES)
    for (const cpu of CPUS) {
      const xs = [0, 1, 2].map(() => costPerHost(policy, cpu, data));
      const ms = middle ? median(xs) : Math.max(...xs);
      if (ms > worst.ms) worst = { ms, on: `${policy} on ${cpu}` };
    }
  return worst;
}

const KINDS = [...GUEST_OS_NAMES, 'workload'];
const phasesOf = (kind: string): readonly string[] => (kind === 'workload' ? ['workload'] : COST_PHASES);

// Warm-up: the first configurations would otherwise pay for the JIT.
for (const os of ['windows-10-1909', 'ubuntu-18.04'])
  for (const alone of [false, true]) measure(os, 'idle', { policy: 'bhyve-12.1', cpu: 'i7-6700K', vcpus: 4, alone });

if (process.argv.includes('--check')) {
  // Each weight against what its own configuration and a lone 1-vCPU guest (same policy and CPU)
  // cost now, the median of 3.
  const w = loadRunCost();
  console.log('model phase: weight | its configuration | alone: CPU ms per simulated vCPU-second (measured / weight)');
  for (const kind of KINDS)
    for (const phase of phasesOf(kind)) {
      const weight = kind === 'workload' ? w.workload : w.byModel.get(kind)!.get(phase)!;
      const on = w.worst.get(kind)?.get(phase);
      if (on === undefined) throw new Error(`data/run-cost.yaml: no measuredOn for ${kind} ${phase}`);
      const own = measure(kind, phase, on, true).ms;
      const alone = on.alone ? own : measure(kind, phase, { ...on, vcpus: 1, alone: true }, true).ms;
      const r = (x: number): string => `${x.toFixed(3)} (${(x / weight).toFixed(2)})`;
      console.log(`${kind} ${phase}: ${weight.toFixed(3)} | ${configText(on)}: ${r(own)} | alone: ${r(alone)}`);
    }
  const host = measurePerHost(true);
  console.log(
    `per host: ${w.perHostMs.toFixed(3)} | the costliest now, ${host.on}: ${host.ms.toFixed(3)} (${(host.ms / w.perHostMs).toFixed(2)})`,
  );
  process.exit(0);
}

const rows: {
  kind: string;
  weights: Record<string, number>;
  on: Record<string, { text: string; events: number }>;
  worst: string;
}[] = [];
for (const kind of KINDS) {
  const weights: Record<string, number> = {};
  const on: Record<string, { text: string; events: number }> = {};
  for (const phase of phasesOf(kind)) {
    weights[phase] = 0;
    const configs: CostConfig[] = [];
    for (const policy of POLICIES)
      for (const cpu of CPUS) {
        for (const vcpus of kind === 'workload' ? [2] : VCPUS) configs.push({ policy, cpu, vcpus, alone: false });
        configs.push({ policy, cpu, vcpus: 1, alone: true });
      }
    for (const c of configs) {
      const m = measure(kind, phase, c);
      if (m.ms > weights[phase]) {
        weights[phase] = m.ms;
        on[phase] = { text: configText(c), events: m.events };
      }
    }
  }
  const top = Object.keys(weights).reduce((a, b) => (weights[a] >= weights[b] ? a : b));
  rows.push({ kind, weights, on, worst: `${top}: ${on[top].text}` });
  process.stderr.write(
    `${kind}: ${Object.entries(weights)
      .map(([p, w]) => `${p} ${w.toFixed(3)}`)
      .join(', ')} ms per vCPU-second (worst: ${top}, ${on[top].text})\n`,
  );
}

const perHost = measurePerHost();
process.stderr.write(`per host: ${perHost.ms.toFixed(3)} ms (worst: ${perHost.on})\n`);

const date = new Date().toISOString().slice(0, 10);
const lines = [
  '# What one simulated vCPU-second of each guest model costs the simulation, in host CPU milliseconds:',
  '# the weights of the service\'s cost cap (src/service/cost.ts, docs/SERVICE.md "Limits"). A run\'s',
  '# predicted cost is the sum over its guests of vCPUs x simulated seconds x weight (core-seconds).',
  '#',
  '# Measured by `npm run calibrate:cost` (bench/runCost.ts): for every guest model and phase, the largest',
  '# CPU time per vCPU-second over policies (bhyve-12.1, bhyve-tpr-v3, kvm), CPU profiles (i7-6700K,',
  '# xeon-e5-2667v4, epyc-7763) and hosts (16 vCPUs on 16 cores in guests of 1, 4 and 16 vCPUs; one',
  '# 1-vCPU guest alone on 4 cores, 10 s minus 2 s), each the largest of 3 after a warm-up.',
  '# Workload-profile guests (imported reports): measured with data/workloads/sysbench-kvm-2020.yaml.',
  '# An upper bound on purpose: a run predicted under the budget does not cost much more than predicted.',
  '# The figures are of the machine below; another machine re-measures with the command above.',
  'runCost: 1',
  'measured:',
  `  date: ${date}`,
  `  machine: ${JSON.stringify(`${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`)}`,
  `  node: ${process.version}`,
  `  simulatedSeconds: ${FULL_SECONDS}`,
  '# Per run, whatever it simulates: validation, compiling the engine on a worker thread that has not',
  '# run it yet, results (src/service/cost.ts). Not measured by this script (it needs a fresh service):',
  '# the service CPU time (/proc/PID/stat) of the first run of a new `vmexit-lab serve` at pace max,',
  '# one 2-vCPU freebsd-12.1 disk benchmark for 1 simulated s: 390 ms (--workers 1), 460 ms',
  '# (--workers 2); the next runs 190 ms and 70 ms. Rounded up; carried over from the file as it is.',
  `perRunMs: ${loadRunCost().perRunMs}`,
  '# Per host, whatever it simulates: building it and running its engine at all (src/service/cost.ts).',
  `# Measured here: ${HOST_COST.hosts[1]} hosts of one 1-vCPU idle windows-10-1909 guest on 4 cores less ${HOST_COST.hosts[0]}, ${HOST_COST.seconds} s`,
  `# simulated, per host added; the largest over the policies and CPU profiles above (${perHost.on}), each the largest of 3.`,
  `perHostMs: ${perHost.ms.toFixed(3)}`,
  'msPerVcpuSecond:',
  ...rows.map(
    (r) =>
      `  ${r.kind}: { ${Object.entries(r.weights)
        .map(([p, w]) => `${p}: ${w.toFixed(3)}`)
        .join(', ')}, worst: ${JSON.stringify(r.worst)} }`,
  ),
  '# Per phase: the configuration its weight was measured on and its engine events per simulated',
  '# vCPU-second there (a count: test/service/runCost.test.ts fails when a phase makes more).',
  'measuredOn:',
  ...rows.map(
    (r) =>
      `  ${r.kind}: { ${Object.keys(r.weights)
        .map((p) => `${p}: { on: ${JSON.stringify(r.on[p].text)}, events: ${Math.ceil(r.on[p].events)} }`)
        .join(', ')} }`,
  ),
];
const text = `${lines.join('\n')}\n`;
if (process.argv.includes('--write')) {
  writeFileSync(join(REPO_ROOT, 'data', 'run-cost.yaml'), text);
  process.stderr.write('wrote data/run-cost.yaml\n');
} else process.stdout.write(text);
