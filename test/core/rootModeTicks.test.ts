/**
 * A host tick is an EXTERNAL_INTERRUPT exit only if it lands while the vCPU is in guest mode (VMX
 * non-root operation; docs/MODEL.md §3): one that lands while the vCPU is in an exit's handling (root
 * mode, where KVM and bhyve run with interrupts off) is taken by the host and is no exit. So a vCPU's
 * tick exits are the host's tick rate times its time in guest mode, not its running wall time (guest
 * time plus time in exits). Table-driven over vCPUs from no exit load to mostly root mode: a
 * workload-profile guest with a known opaque exit rate, a lock-spin vCPU under PAUSE-loop exiting, and
 * the seed's Windows install under bhyve-12.1 (each %cr8 access an exit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelData, type HostOs, type ModelData } from '../../src/model/data.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

const base = loadModelData();

/** The shipped model data with one host OS's tick rate replaced (slowed: the run without host ticks). */
function withOsHz(os: HostOs, hz: number): ModelData {
  return { ...base, costModel: { ...base.costModel, hostTickHz: { ...base.costModel.hostTickHz, [os]: hz } } };
}

type Totals = ReturnType<typeof runScenario>['results']['variants'][number]['totals'];

/** A workload profile (docs/IMPORT.md) that only takes `rate` opaque EXCEPTION_NMI exits per guest second. */
function profile(rate: number): string {
  return `workloadProfile: 1
name: nmi-${rate}
os: ubuntu-18.04
vcpus: 1
x2apic: true
perGuestSecond:
  cr8Writes: 0
  cr8Reads: 0
  cpuid: 0
  io: 0
  mmio: 0
  msrReads: 0
  msrWrites: 0
  apicTimerWrites: 0
  hlts: 0
  ipis: 0
  hostInterrupts: 0
interruptsPerSecond: 0
opaquePerGuestSecond:
  EXCEPTION_NMI: ${rate}
`;
}

/** A workload guest at `rate` exits per guest second on an APICv host (no kicks) under KVM. */
function runWorkload(rate: number, data: ModelData): Totals {
  const dir = mkdtempSync(join(tmpdir(), 'roottick-'));
  try {
    writeFileSync(join(dir, 'p.yaml'), profile(rate));
    writeFileSync(
      join(dir, 's.yaml'),
      `name: roottick\nseed: 3\nhost: { cpu: xeon-e5-2667v4, cores: 4 }\nhypervisor: { policy: kvm }\nguests:\n  - workload: p.yaml\nduration: 5s\n`,
    );
    return runScenario(loadScenarioFile(join(dir, 's.yaml')), { data }).results.variants[0].totals;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SPIN = `name: spin
seed: 7
host: { cpu: i7-4771, cores: 8 }
hypervisor: { policy: kvm, tunables: { kvm_intel.ple_window_grow: 1 } }
guests:
  - { os: ubuntu-18.04, vcpus: 4, x2apic: true, phases: [{ phase: lock-spin, duration: 5s, busyVcpus: 1 }] }
duration: 5s
`;

const INSTALL = `name: install
seed: 1
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, memory: 4GiB, phases: [{ phase: install, duration: 20s }] }
duration: 20s
`;

function runText(text: string, data: ModelData): Totals {
  return runScenario(parseScenario(text, 'roottick.yaml'), { data }).results.variants[0].totals;
}

const exitSeconds = (t: Totals): number => Object.values(t.hostSecondsInExits).reduce((a, b) => a + (b ?? 0), 0);
const extInt = (t: Totals): number => (t.exits.EXTERNAL_INTERRUPT ?? 0) + (t.exits.VMEXIT_INTR ?? 0);

const ROWS: readonly {
  name: string;
  hz: number;
  /** The scenario run on the given model data. */
  run: (data: ModelData) => Totals;
  /** The host OS whose tick rate is set to `hz` (and, for the run without ticks, to one per 1000 s). */
  os: HostOs;
  /** At least this share of the vCPUs' running time in root mode (0: no exit load to speak of). */
  minRootShare: number;
}[] = [
  { name: 'workload guest, no exits', hz: 1000, run: (d) => runWorkload(0, d), os: 'linux', minRootShare: 0 },
  { name: 'workload guest, 1 M exits/s', hz: 1000, run: (d) => runWorkload(1e6, d), os: 'linux', minRootShare: 0.2 },
  { name: 'workload guest, 5 M exits/s', hz: 1000, run: (d) => runWorkload(5e6, d), os: 'linux', minRootShare: 0.5 },
  { name: 'lock-spin vCPU, fixed PLE window', hz: 250, run: (d) => runText(SPIN, d), os: 'linux', minRootShare: 0.2 },
  {
    name: 'Windows install on bhyve-12.1',
    hz: 1000,
    run: (d) => runText(INSTALL, d),
    os: 'freebsd',
    minRootShare: 0.5,
  },
];

for (const r of ROWS) {
  test(`host ticks exit only in guest mode: ${r.name} gets ${r.hz} Hz x time in guest mode`, () => {
    const t = r.run(withOsHz(r.os, r.hz));
    // What is not a host tick (kicks of running vCPUs without posted interrupts): the same run
    // with the host's tick slowed to one per 1000 s.
    const without = r.run(withOsHz(r.os, 0.001));
    const got = extInt(t) - extInt(without);
    const guest = t.guestCpuSeconds;
    const running = guest + exitSeconds(t);
    const expected = r.hz * guest;
    // Each vCPU's first tick phase, the carried fraction, the kicks' spread between the two runs.
    const slack = 4 * Math.sqrt(expected) + t.vcpus + 2;
    assert.ok(
      Math.abs(got - expected) <= slack,
      `${got} tick exits, expected ${r.hz} Hz x ${guest.toFixed(3)} s in guest mode = ${expected.toFixed(1)} ± ${slack.toFixed(1)}`,
    );
    const rootShare = 1 - guest / running;
    assert.ok(rootShare >= r.minRootShare, `root-mode share ${rootShare.toFixed(3)} < ${r.minRootShare}`);
    // Counting every tick of the running time (guest + exits) is what this rule is not: far off here.
    if (r.minRootShare > 0) {
      const wallRule = r.hz * running;
      assert.ok(wallRule - got > 2 * slack, `${got} vs ${wallRule.toFixed(1)} ticks of the running time`);
    }
  });
}

test('an overcommitted host: 8 computing vCPUs on 2 cores take Hz x their guest-mode CPU time, not Hz x wall time', () => {
  // Processor sharing: each vCPU is on a core a quarter of the time; a tick lands on a core in guest
  // mode of the vCPU running there, so the 8 vCPUs share the 2 cores' ticks.
  const text = `name: overcommit
seed: 5
host: { cpu: xeon-e5-2667v4, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 8, x2apic: true, phases: [{ phase: compute, duration: 5s }] }
duration: 5s
`;
  const t = runText(text, withOsHz('linux', 1000));
  const without = runText(text, withOsHz('linux', 0.001));
  const got = extInt(t) - extInt(without);
  const expected = 1000 * t.guestCpuSeconds;
  const slack = 4 * Math.sqrt(expected) + t.vcpus + 2;
  assert.ok(t.guestCpuSeconds < 2 * 5 + 1e-6, `guest CPU ${t.guestCpuSeconds} s on 2 cores in 5 s`);
  assert.ok(
    Math.abs(got - expected) <= slack,
    `${got} tick exits, expected ${expected.toFixed(1)} ± ${slack.toFixed(1)}`,
  );
  // Every tick of every vCPU's wall time would be 8 x 5 s x 1000 Hz = 40,000.
  assert.ok(got < 0.3 * 8 * 5 * 1000, `${got}`);
});
