/**
 * The engine bench's cases (bench/run.ts, bench/alloc.ts): the seed's Windows 10 install under
 * bhyve-12.1 and bhyve-tpr-v1, an idle mixed fleet, a busy fleet, one big host, matrix.yaml's
 * overcommitted host and an imported workload profile's guests, each a scenario and the variants a case runs. The big host keeps the engine
 * honest where a host queues hundreds of vCPUs (a linear scan of the event queue was x1.01-1.03 on the
 * fleets' 7-vCPU hosts and x0.74 there: docs/perf/history.md, sixteenth session, second round).
 */
import { join } from 'node:path';
import { loadScenarioFile, parseScenario } from '../src/scenario/load.js';
import { REPO_ROOT } from '../src/model/data.js';
import type { Scenario, ScenarioVariant } from '../src/scenario/types.js';
import type { CaseId } from './caseNames.js';

// The ids and labels live apart from the scenarios, so that bench/run.ts can read its options
// before it loads an engine (bench/engineChoice.ts): this module parses scenarios when loaded.
export { CASES, labelWithSeconds, type CaseId } from './caseNames.js';

const mixedGuests = (phases: readonly string[]): string =>
  ['windows-10-1909', 'windows-server-2019', 'ubuntu-18.04', 'freebsd-12.1']
    .map(
      (os, i) =>
        `  - os: ${os}\n    vcpus: ${i === 3 ? 1 : 2}\n${i >= 2 ? '    x2apic: true\n' : ''}    phases: [${phases[i]}]\n`,
    )
    .join('');

const install = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-install-tpr-shadowing.yaml'));
const idleFleet = parseScenario(
  `name: bench-idle-fleet
seed: 1
host: { cpu: i7-6700K, cores: 8, count: 6 }
guests:
${mixedGuests(['{ phase: idle }', '{ phase: idle }', '{ phase: idle }', '{ phase: idle }'])}duration: 60s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`,
  'bench-idle-fleet.yaml',
);
const busyFleet = parseScenario(
  `name: bench-busy-fleet
seed: 1
host: { cpu: i7-6700K, cores: 8, count: 2 }
guests:
${mixedGuests([
  '{ phase: install, duration: 30s }',
  '{ phase: build, duration: 30s }',
  '{ phase: build, duration: 30s }',
  '{ phase: disk-benchmark, duration: 30s }',
])}duration: 30s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`,
  'bench-busy-fleet.yaml',
);

const bigHost = parseScenario(
  `name: bench-big-host
seed: 1
host: { cpu: xeon-e5-2667v4, cores: 64 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, count: 2, vcpus: 64, phases: [{ phase: idle }] }
  - { os: windows-server-2019, count: 2, vcpus: 64, phases: [{ phase: idle }] }
duration: 60s
`,
  'bench-big-host.yaml',
);

/**
 * The overcommitted host of test/fixtures/scenarios/good/matrix.yaml (its first variant): the share
 * changes at every halt and wake-up, so shareChanged's re-keys show here (rekeyonce, issue #16).
 */
const overcommitHost = parseScenario(
  `name: bench-overcommit-host
seed: 1
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-tpr-v1 }
guests:
  - os: windows-10-1909
    count: 10
    vcpus: 2
    phases:
      - { phase: boot, duration: 30s }
      - { phase: build, work: 2m }
      - { phase: idle }
  - { os: ubuntu-18.04, name: linux, memory: 1GiB }
duration: 60s
`,
  'bench-overcommit-host.yaml',
);

/**
 * Workload-profile guests (guests/workloadGuest.ts): scenarios/library/imported-sysbench-policies.yaml,
 * a profile imported from a perf kvm stat report (docs/IMPORT.md), under kvm and bhyve-12.1 (its
 * bhyve-tpr-v2 variant panics at once, its bhyve-tpr-v3 runs as bhyve-12.1 for a guest without %cr8).
 */
const workloadHost = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'library', 'imported-sysbench-policies.yaml'));

const variantOf = (s: Scenario, name: string): ScenarioVariant => {
  const v = s.variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no variant ${name} in ${s.name}`);
  return v;
};

/** Each case's scenario and the variants it runs. */
export const scenarios: Record<CaseId, { scenario: Scenario; variants: readonly ScenarioVariant[] }> = {
  'install-12.1': { scenario: install, variants: [variantOf(install, 'bhyve-12.1')] },
  'install-v1': { scenario: install, variants: [variantOf(install, 'bhyve-tpr-v1')] },
  'idle-fleet': { scenario: idleFleet, variants: idleFleet.variants },
  'busy-fleet': { scenario: busyFleet, variants: busyFleet.variants },
  'big-host': { scenario: bigHost, variants: bigHost.variants },
  'overcommit-host': { scenario: overcommitHost, variants: overcommitHost.variants },
  'workload-host': {
    scenario: workloadHost,
    variants: [variantOf(workloadHost, 'kvm'), variantOf(workloadHost, 'bhyve-12.1')],
  },
};
