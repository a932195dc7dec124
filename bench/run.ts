/**
 * npm run bench — the engine's speed as a share of a ceiling measured in the same run, the simulated
 * vCPU time it gets through, and the memory a simulated vCPU costs. Figures, not pass/fail: targets
 * are printed beside them (issue #16), and so is the load average the bench ran under, because the
 * figures mean little when other processes share the cores.
 *
 *   ceiling:  a bare loop over a typed array doing trivial work per "event" (one xoshiro128**
 *             draw and one counter increment), i.e. the least work any simulated event can cost.
 *   cases:    the full engine on one thread: the seed's Windows 10 install (bhyve-12.1 and
 *             bhyve-tpr-v1, until complete), an idle mixed fleet (Windows 10, Server 2019, Ubuntu,
 *             FreeBSD; 6 hosts x 7 vCPUs, 60 s, both policies) and a busy fleet (the same guests
 *             installing, building and benchmarking a disk; 2 hosts, 30 s, both policies).
 *             For each: engine events/s (heap events executed one by one) and its share of the
 *             ceiling; simulated vCPU-seconds per wall-second (the thread is one core, so this is per
 *             core); and guest events/s (every guest operation the model accounts for exactly: each
 *             %cr8 access, interrupt, EOI, IPI, exit — the fast-forward executes most %cr8 accesses in
 *             bulk, which is why this rate can exceed the ceiling and says little about the engine).
 *   memory:   bytes per simulated vCPU: heap + array buffers after building a 10,000-guest fleet,
 *             minus before, divided by the vCPUs (target <= 2 KiB).
 *
 * Options: --runs N (each figure the median of N measurements, ceiling included; default 1),
 * --case NAME (only that case: install-12.1, install-v1, idle-fleet, busy-fleet, big-host; for profiling with
 * node --cpu-prof), --seconds S (every case S simulated seconds, the install cut short: quicker A/B
 * comparisons), --no-memory, --memory-only (the memory figure alone), --engine bundle|tsc (the engine measured:
 * by default rollup's bundle, what the pool's workers run, when the build made a current one, else tsc's
 * modules with a notice; bench/engineChoice.ts; the ceiling is tsc's under either); --help prints them,
 * the cases and the engines.
 */
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import type { Scenario, ScenarioVariant } from '../src/scenario/types.js';
import type { TotalsAccumulator } from '../src/run/totals.js';
import type { HostSimulation } from '../src/core/engine/host.js';
import { benchArgs, checkChoice, choicesText } from './args.js';
import { CASES, labelWithSeconds, type CaseId } from './caseNames.js';
import { ceilingLoop } from './ceiling.js';
import { median } from './stats.js';
import { ENGINES, chooseEngine, loadEngine } from './engineChoice.js';

const { values: opts } = benchArgs(
  'node --expose-gc dist/bench/run.js [options]: the engine bench (docs/PERF.md)',
  {
    runs: { type: 'string', default: '1', value: 'N', help: 'each figure the median of N runs, ceiling included' },
    case: { type: 'string', value: 'NAME', help: 'only that case (see below; for A/B runs and --cpu-prof)' },
    'no-memory': { type: 'boolean', default: false, help: 'skip the memory per simulated vCPU' },
    'memory-only': {
      type: 'boolean',
      default: false,
      help: 'only the memory per simulated vCPU (the fleet built twice first, as the cases would warm it; ~10 s)',
    },
    seconds: {
      type: 'string',
      value: 'S',
      help: 'every case S simulated seconds, the install cut short (quicker A/B runs)',
    },
    engine: {
      type: 'string',
      default: 'bundle',
      value: 'NAME',
      help: "the engine measured (see below; the ceiling is tsc's under either); a missing or stale bundle: tsc's",
    },
  },
  { more: `${choicesText('cases', CASES)}\n\n${choicesText('engines', ENGINES)}` },
);
checkChoice('case', 'cases', opts.case, CASES);
checkChoice('engine', 'engines', opts.engine, ENGINES);
const runs = Math.max(1, Number(opts.runs));

// The engine's modules come from the chosen build only (bench/engine.ts, tsc's or rollup's), so the
// bundle's run loads none of tsc's engine; the ceiling loop is tsc's in both (bench/ceiling.ts).
const engineChoice = chooseEngine(opts.engine);
if (engineChoice.notice !== undefined) process.stderr.write(`${engineChoice.notice}\n`);
const {
  scenarios,
  runHosts,
  hostGuests,
  TotalsAccumulator: Totals,
  REPO_ROOT,
  loadModelData,
  exitCostTable,
  hostModel,
  loadScenarioFile,
  Counter,
  HostSimulation: Host,
  EV_COUNT,
  EV_NAMES,
  resolvePolicy,
} = await loadEngine(engineChoice);

const data = loadModelData();

/** Load average (1 min) above which the machine counts as not quiet: the bench's own thread is ~1. */
const QUIET_LOAD = 1.5;
const loads: number[] = [];
function sampleLoad(): number {
  const l = loadavg()[0];
  loads.push(l);
  return l;
}

/** CPU seconds this process has used (user + system): what the bench got of a core, whatever else runs. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The ceiling's rate per wall second and per CPU second. */
function ceiling(events: number): { wall: number; cpu: number } {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  ceilingLoop(events);
  const cpu = cpuSeconds() - c0;
  const s = (performance.now() - t0) / 1000;
  return { wall: events / s, cpu: events / cpu };
}

function guestEvents(acc: TotalsAccumulator): number {
  const c = acc.machineCounters;
  let exits = 0;
  for (const e of acc.exits) exits += e;
  return (
    c[Counter.CR8_READS] + c[Counter.CR8_WRITES] + c[Counter.RAISED] + c[Counter.EOIS] + c[Counter.IPIS_SENT] + exits
  );
}

interface Figures {
  /** Wall seconds. */
  seconds: number;
  /** CPU seconds of the process (the engine's thread, and V8's helpers such as the GC's). */
  cpu: number;
  engineEvents: number;
  guestEvents: number;
  /** Simulated vCPU-seconds (each running host's vCPUs times the simulated seconds it ran). */
  vcpuSeconds: number;
}

function runVariant(scenario: Scenario, variant: ScenarioVariant): Figures {
  const acc = new Totals();
  const vcpusPerHost = variant.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count * g.vcpus : 0), 0);
  let vcpuSeconds = 0;
  let lastNs = 0;
  let lastDone = 0;
  const t0 = performance.now();
  const c0 = cpuSeconds();
  runHosts(scenario, variant, data, 0, variant.host.count, acc, {
    onEpoch: (p) => {
      // Hosts that finished at this epoch ran through it.
      vcpuSeconds += (vcpusPerHost * (p.hostsTotal - lastDone) * (p.simNs - lastNs)) / 1e9;
      lastNs = p.simNs;
      lastDone = p.hostsDone;
    },
  });
  const cpu = cpuSeconds() - c0;
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, cpu, engineEvents: acc.events, guestEvents: guestEvents(acc), vcpuSeconds };
}

function measure(scenario: Scenario, variants: readonly ScenarioVariant[]): Figures {
  const sum: Figures = { seconds: 0, cpu: 0, engineEvents: 0, guestEvents: 0, vcpuSeconds: 0 };
  for (const v of variants) {
    const f = runVariant(scenario, v);
    sum.seconds += f.seconds;
    sum.cpu += f.cpu;
    sum.engineEvents += f.engineEvents;
    sum.guestEvents += f.guestEvents;
    sum.vcpuSeconds += f.vcpuSeconds;
  }
  return sum;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}

const cases = (Object.keys(CASES) as CaseId[]).map((id) => ({ id, label: CASES[id], ...scenarios[id] }));
const chosen = opts['memory-only'] ? [] : opts.case === undefined ? cases : cases.filter((c) => c.id === opts.case);
// --seconds S: every case runs S simulated seconds (the install too, cut short): quicker A/B runs.
const selected =
  opts.seconds === undefined
    ? chosen
    : chosen.map((c) => ({
        ...c,
        // The label says the simulated seconds the case ran, not its default's.
        label: labelWithSeconds(c.label, Number(opts.seconds)),
        scenario: { ...c.scenario, duration: { kind: 'fixed' as const, ns: Number(opts.seconds) * 1e9 } },
      }));

const cores = availableParallelism();
const loadBefore = sampleLoad();
console.log(
  `engine bench: ${cores} cores, load average (1 min) ${loadBefore.toFixed(2)} at start; ` +
    `each figure the median of ${runs} run${runs > 1 ? 's' : ''}`,
);
console.log(engineChoice.line);

const ceilings: { wall: number; cpu: number }[] = [];
const results = selected.map(() => [] as Figures[]);
// The event mix: engine events by the kind that ran (src/core/engine/events.ts), per case, all runs.
const mixes = selected.map(() => new Float64Array(EV_COUNT));
for (let r = 0; r < runs && selected.length > 0; r++) {
  ceilings.push(ceiling(200_000_000));
  sampleLoad();
  for (let i = 0; i < selected.length; i++) {
    Host.kindTally = mixes[i];
    results[i].push(measure(selected[i].scenario, selected[i].variants));
    Host.kindTally = null;
    sampleLoad();
  }
}
// Two clocks: wall seconds (what a quiet machine shows) and CPU seconds (what this process got of a
// core: on a loaded machine the wall-clock rates fall with the share of the core the bench gets,
// the CPU-time rates much less, so they are the ones to compare across runs).
for (const clock of selected.length > 0 ? (['cpu', 'wall'] as const) : []) {
  const ceil = median(ceilings.map((c) => c[clock]));
  const per = clock === 'cpu' ? 'CPU-s' : 'wall-s';
  console.log(
    `${clock === 'cpu' ? 'per CPU second' : 'per wall second'}: ceiling (bare typed-array loop, 1 PRNG draw + 1 ` +
      `increment per event) ${fmt(ceil)} events/${per}`,
  );
  for (let i = 0; i < selected.length; i++) {
    const fs = results[i];
    const time = (f: Figures): number => (clock === 'cpu' ? f.cpu : f.seconds);
    const engine = median(fs.map((f) => f.engineEvents / time(f)));
    const vcpuRate = median(fs.map((f) => f.vcpuSeconds / time(f)));
    const guest = median(fs.map((f) => f.guestEvents / time(f)));
    const secs = median(fs.map(time));
    console.log(
      `  ${selected[i].label}: engine ${fmt(engine)} events/${per} = ${((engine / ceil) * 100).toFixed(2)} % of ` +
        `ceiling; ${fmt(vcpuRate)} simulated vCPU-s per ${per} per core; guest events ${fmt(guest)}/${per} ` +
        `[${secs.toFixed(1)} ${per}, ${fmt(fs[0].engineEvents)} events, ${fmt(fs[0].vcpuSeconds)} vCPU-s]`,
    );
  }
}
// The engine's results are exact: both engines (and every run) execute the same events, which
// these counts let a reader check (test/bench/benchEngine.test.ts compares them).
if (selected.length > 0) {
  const exact = (f: Figures): string => `${f.engineEvents} engine events, ${f.guestEvents} guest events`;
  console.log(
    `exact counts (the same under either engine): ${selected.map((c, i) => `${c.id} ${exact(results[i][0])}`).join('; ')}`,
  );
  selected.forEach((c, i) => {
    if (results[i].some((f) => exact(f) !== exact(results[i][0])))
      console.log(`WARNING: ${c.id}'s runs differ: ${results[i].map(exact).join(' / ')} (the engine is not exact)`);
  });
}
for (let i = 0; i < selected.length; i++) {
  const mix = mixes[i];
  const total = mix.reduce((a, b) => a + b, 0);
  const parts = [...mix.keys()]
    .filter((k) => mix[k] > 0)
    .sort((a, b) => mix[b] - mix[a])
    .map((k) => `${EV_NAMES[k]} ${((mix[k] / total) * 100).toFixed(1)} %`);
  console.log(`event mix, ${selected[i].label}: ${parts.join(', ')}`);
}
if (selected.length > 0) {
  console.log(
    'engine events: events the engine executed one by one (a pop of the event heap: one kind run on one vCPU, or a ' +
      'host-tick wake-up, HOST_TICK above; a wake-up that ran nothing while its vCPU stayed the earliest is folded into ' +
      'the event after it, no pop: dist/bench/eventMix.js counts them); %cr8 pairs and host ticks fast-forwarded in bulk ' +
      'are guest events, not engine events',
  );
  console.log(
    'targets (#16): engine events >= 3 % of the ceiling (idle fleet, install bhyve-12.1); vCPU-s per wall-s ' +
      '>= 10x the figure before #16 (idle fleet)',
  );
}

/**
 * Memory per simulated vCPU: build the hosts of a 10,000-guest fleet and advance them 100 ms; the
 * growth of the heap and array buffers over the vCPUs. `warmups` builds and drops the fleet first:
 * the whole bench measures after its cases ran (the code compiled, its feedback allocated), and
 * --memory-only stands in for them so that it reads like the whole bench (without it, ~75 bytes per
 * vCPU higher: docs/perf/memory.md).
 */
async function memoryPerVcpu(warmups: number): Promise<void> {
  const fleet = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'default.yaml'));
  const variant = fleet.variants[0];
  const perHost = variant.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 0), 0);
  const hosts = Math.ceil(10_000 / perHost);
  const traits = resolvePolicy(variant.hypervisor.policy, variant.host.cpu, variant.hypervisor.tunables);
  const costs = exitCostTable(data.costModel, variant.host.cpu, traits.hypervisor);
  const hm = hostModel(data.costModel, traits.hypervisor);
  const guestLists = Array.from({ length: hosts }, (_, h) => hostGuests(variant, data, h));
  const build = (): { sims: HostSimulation[]; vcpus: number } => {
    const sims: HostSimulation[] = [];
    let vcpus = 0;
    for (let h = 0; h < hosts; h++) {
      const sim = new Host({
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
    return { sims, vcpus };
  };
  for (let w = 0; w < warmups; w++) build();
  if (warmups > 0) {
    // The dropped fleets' buffers are freed by V8's sweeper after the collection, off this thread:
    // until then process.memoryUsage() still counts them, and the figure would read low.
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  globalThis.gc?.();
  const before = process.memoryUsage();
  const { sims, vcpus } = build();
  globalThis.gc?.();
  const after = process.memoryUsage();
  const bytes = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  console.log(
    `memory: ${hosts * perHost} guests, ${vcpus} vCPUs in ${sims.length} hosts: ${(bytes / vcpus).toFixed(0)} bytes per vCPU (target <= 2048)`,
  );
}

if (opts['memory-only']) await memoryPerVcpu(2);
else if (!opts['no-memory'] && opts.case === undefined) await memoryPerVcpu(0);

const loadAfter = sampleLoad();
const peak = Math.max(...loads);
console.log(
  `load average (1 min): ${loadBefore.toFixed(2)} at start, ${loadAfter.toFixed(2)} at end, peak ${peak.toFixed(2)}`,
);
if (peak > QUIET_LOAD)
  console.log(
    `WARNING: the machine was not quiet (load average up to ${peak.toFixed(2)} on ${cores} cores; the bench alone ` +
      `is ~1): other processes shared the cores, so the wall-clock figures are low and noisy. Compare the ` +
      `CPU-time figures, as shares of the ceiling.`,
  );
