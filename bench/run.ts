/**
 * npm run bench — prints the engine's speed next to a ceiling measured in the same run, and the
 * memory a simulated vCPU costs. Figures, not pass/fail: targets are printed beside them.
 *
 *   ceiling:  a bare loop over a typed array doing trivial work per "event" (one xoshiro128**
 *             draw and one counter increment), i.e. the least work any simulated event can cost.
 *   model:    the full engine on the seed's Windows install (bhyve-tpr-v1 and bhyve-12.1) and on the
 *             default mixed fleet. Two rates are printed: guest events (every guest operation the
 *             model accounts for exactly: each %cr8 access, interrupt, EOI, IPI, exit) and engine
 *             events (heap events executed one by one). CR8 accesses between events are executed
 *             by the exact fast-forward (src/core/vcpu/machine.ts cr8Pairs), which is why the
 *             first rate can exceed the ceiling.
 *   memory:   bytes per simulated vCPU: heap + array buffers after building a 10,000-guest fleet,
 *             minus before, divided by the vCPUs (target <= 2 KiB).
 */
import { join } from 'node:path';
import { loadScenarioFile } from '../src/scenario/load.js';
import { REPO_ROOT, loadModelData, exitCostTable, hostModel } from '../src/model/data.js';
import { runHosts, hostGuests } from '../src/run/simulate.js';
import { TotalsAccumulator } from '../src/run/totals.js';
import { Counter } from '../src/core/vcpu/machine.js';
import { RandomStreams } from '../src/core/engine/prng.js';
import { HostSimulation } from '../src/core/engine/host.js';
import { resolvePolicy } from '../src/core/hypervisor/policy.js';
import type { Scenario, ScenarioVariant } from '../src/scenario/types.js';

const data = loadModelData();

function ceiling(events: number): number {
  const rng = new RandomStreams(1);
  rng.seed(0, 12345);
  const counts = new Uint32Array(16);
  const t0 = performance.now();
  for (let i = 0; i < events; i++) counts[rng.nextU32(0) & 15]++;
  const s = (performance.now() - t0) / 1000;
  if (counts.reduce((a, b) => a + b, 0) !== events) throw new Error('ceiling loop miscounted');
  return events / s;
}

function guestEvents(acc: TotalsAccumulator): number {
  const c = acc.machineCounters;
  let exits = 0;
  for (const e of acc.exits) exits += e;
  return (
    c[Counter.CR8_READS] + c[Counter.CR8_WRITES] + c[Counter.RAISED] + c[Counter.EOIS] + c[Counter.IPIS_SENT] + exits
  );
}

function measure(scenario: Scenario, variant: ScenarioVariant): { guest: number; engine: number; seconds: number } {
  const acc = new TotalsAccumulator();
  const t0 = performance.now();
  runHosts(scenario, variant, data, 0, variant.host.count, acc);
  const seconds = (performance.now() - t0) / 1000;
  return { guest: guestEvents(acc) / seconds, engine: acc.events / seconds, seconds };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}

const ceil = ceiling(200_000_000);
console.log(`ceiling (bare typed-array loop, 1 PRNG draw + 1 increment per event): ${fmt(ceil)} events/s per core`);

const install = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-install-tpr-shadowing.yaml'));
const fleet = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'default.yaml'));
const cases: [string, Scenario, ScenarioVariant][] = [
  ['Windows 10 install, bhyve-tpr-v1', install, install.variants.find((v) => v.name === 'bhyve-tpr-v1')!],
  ['Windows 10 install, bhyve-12.1', install, install.variants.find((v) => v.name === 'bhyve-12.1')!],
  ['default mixed fleet, bhyve-12.1', fleet, fleet.variants[0]],
];
for (const [label, scenario, variant] of cases) {
  const m = measure(scenario, variant);
  console.log(
    `${label}: ${fmt(m.guest)} guest events/s (${((m.guest / ceil) * 100).toFixed(1)} % of ceiling), ` +
      `${fmt(m.engine)} engine events/s (${((m.engine / ceil) * 100).toFixed(2)} % of ceiling) [${m.seconds.toFixed(1)} s]`,
  );
}
console.log('target: full model >= 25 % of the ceiling (guest events)');

// Memory per simulated vCPU: build the hosts of a 10,000-guest fleet (without running them).
const variant = fleet.variants[0];
const perHost = variant.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 0), 0);
const hosts = Math.ceil(10_000 / perHost);
const traits = resolvePolicy(variant.hypervisor.policy, variant.host.cpu, variant.hypervisor.tunables);
const costs = exitCostTable(data.costModel, variant.host.cpu, traits.hypervisor);
const hm = hostModel(data.costModel, traits.hypervisor);
const guestLists = Array.from({ length: hosts }, (_, h) => hostGuests(variant, data, h));
globalThis.gc?.();
const before = process.memoryUsage();
const sims: HostSimulation[] = [];
let vcpus = 0;
for (let h = 0; h < hosts; h++) {
  const sim = new HostSimulation({
    hostIndex: h,
    seed: 1,
    profile: variant.host.cpu,
    traits,
    cores: variant.host.cores,
    guests: guestLists[h],
    exitCostNs: costs,
    host: hm,
    debugChecks: false,
  });
  sim.advanceTo(1e8);
  sims.push(sim);
  vcpus += sim.n;
}
globalThis.gc?.();
const after = process.memoryUsage();
const bytes = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
console.log(
  `memory: ${hosts * perHost} guests, ${vcpus} vCPUs in ${sims.length} hosts: ${(bytes / vcpus).toFixed(0)} bytes per vCPU (target <= 2048)`,
);
