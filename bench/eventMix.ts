/**
 * The engine's event mix per phase (docs/perf/history.md#fifteenth-session-busy-phases-no-op-wake-ups-folded-not-removed-16): one guest (or one bench fleet)
 * run alone, and its engine events counted by the kind that ran (HostSimulation.kindTally, as
 * bench/run.ts counts its mix; HOST_TICK is a wake-up that ran no kind), with the CPU seconds the run
 * took, and the wake-ups that ran nothing and were folded into the event after them (no heap pop:
 * HostSimulation.processVcpu). Counts, not rates: they do not depend on the machine's load, so two
 * builds compare exactly.
 *
 *   node dist/bench/eventMix.js                    # every case, 10 simulated seconds
 *   node dist/bench/eventMix.js --case ubuntu-build --seconds 30
 *
 * Options: --case NAME (one case; the list in --help), --seconds S (the duration of each single-guest
 * case; the fleets keep theirs); --help.
 */
import { loadModelData } from '../src/model/data.js';
import { runHosts } from '../src/run/simulate.js';
import { TotalsAccumulator } from '../src/run/totals.js';
import { HostSimulation } from '../src/core/engine/host.js';
import { EV_COUNT, EV_NAMES } from '../src/core/engine/events.js';
import { parseScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/types.js';
import { benchArgs, checkChoice, choicesText } from './args.js';
import { scenarios as benchCases } from './cases.js';

/** The single-guest cases: a guest model, its vCPUs, its phase, the policy. */
const SINGLE = {
  'ubuntu-build': { os: 'ubuntu-18.04', vcpus: 2, phase: 'build', policy: 'bhyve-12.1' },
  'win10-install-12.1': { os: 'windows-10-1909', vcpus: 2, phase: 'install', policy: 'bhyve-12.1' },
  'win10-install-v3': { os: 'windows-10-1909', vcpus: 2, phase: 'install', policy: 'bhyve-tpr-v3' },
  'win10-build-12.1': { os: 'windows-10-1909', vcpus: 2, phase: 'build', policy: 'bhyve-12.1' },
  'freebsd-build': { os: 'freebsd-12.1', vcpus: 1, phase: 'build', policy: 'bhyve-12.1' },
  'server2019-disk': { os: 'windows-server-2019', vcpus: 2, phase: 'disk-benchmark', policy: 'bhyve-12.1' },
} as const;
const FLEETS = {
  'idle-fleet': 'bench/cases.ts idle mixed fleet (6 hosts x 7 vCPUs, 60 s, 2 policies)',
  'busy-fleet': 'bench/cases.ts busy mixed fleet (2 hosts x 7 vCPUs, 30 s, 2 policies)',
} as const;
const CASES: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(SINGLE).map(([id, c]) => [
      id,
      `${c.os}, ${c.vcpus} vCPU${c.vcpus > 1 ? 's' : ''}, ${c.phase} alone on 8 cores, ${c.policy}`,
    ]),
  ),
  ...FLEETS,
};

const { values: opts } = benchArgs(
  'node dist/bench/eventMix.js [options]: engine events per kind, one guest or bench fleet alone (docs/PERF.md)',
  {
    case: { type: 'string', value: 'NAME', help: 'only that case (see below)' },
    seconds: { type: 'string', default: '10', value: 'S', help: 'simulated seconds of each single-guest case' },
  },
  { more: choicesText('cases', CASES) },
);
checkChoice('case', 'cases', opts.case, CASES);
const seconds = Number(opts.seconds);
if (!(seconds > 0 && seconds <= 3600)) {
  process.stderr.write(`--seconds must be a number of seconds above 0 and at most 3600, not ${opts.seconds}\n`);
  process.exit(2);
}

const data = loadModelData();

function single(id: keyof typeof SINGLE): Scenario {
  const c = SINGLE[id];
  try {
    return singleScenario(id, c);
  } catch (e) {
    // What the scenario loader refuses (a duration it cannot read, e.g. --seconds 1e-12): its diagnostics.
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}

function singleScenario(id: string, c: (typeof SINGLE)[keyof typeof SINGLE]): Scenario {
  return parseScenario(
    `name: mix-${id}
seed: 1
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: ${c.policy} }
guests:
  - os: ${c.os}
    vcpus: ${c.vcpus}
    phases: [{ phase: ${c.phase}, duration: ${seconds}s }]
duration: ${seconds}s
`,
    `mix-${id}.yaml`,
  );
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const ids = opts.case === undefined ? Object.keys(CASES) : [opts.case];
for (const id of ids) {
  const scenario = id in SINGLE ? single(id as keyof typeof SINGLE) : benchCases[id as keyof typeof FLEETS].scenario;
  const variants = id in SINGLE ? scenario.variants : benchCases[id as keyof typeof FLEETS].variants;
  const tally = new Float64Array(EV_COUNT);
  HostSimulation.kindTally = tally;
  const folds = new Float64Array(1);
  HostSimulation.foldTally = folds;
  let events = 0;
  const c0 = cpuSeconds();
  for (const variant of variants) {
    const acc = new TotalsAccumulator();
    runHosts(scenario, variant, data, 0, variant.host.count, acc);
    events += acc.events;
  }
  const cpu = cpuSeconds() - c0;
  HostSimulation.kindTally = null;
  HostSimulation.foldTally = null;
  const total = tally.reduce((a, b) => a + b, 0);
  if (total !== events) throw new Error(`${id}: the tally (${total}) is not the engine's event count (${events})`);
  const parts = [...tally.keys()]
    .filter((k) => tally[k] > 0)
    .sort((a, b) => tally[b] - tally[a])
    .map((k) => `${EV_NAMES[k]} ${tally[k]}`);
  console.log(
    `${id} (${CASES[id]}): ${total} engine events, ${cpu.toFixed(2)} CPU-s; ` +
      `${folds[0]} wake-ups that ran nothing folded into the event after them`,
  );
  console.log(`  ${parts.join(', ')}`);
}
