/**
 * One walk per event (src/core/engine/host.ts processVcpu, V8.WALK_HINT; docs/perf/engine30.md E6):
 * the kind the walk of a vCPU's re-key found first at its next event's time is trusted at that event
 * unless something voided it since. With HostSimulation.checkWalkHints every trusted hint is checked
 * against the walk it skips, which throws on a difference: a path that changes what the walk read
 * without re-keying the vCPU or voiding its hint shows here. The golden digests hold the shipped
 * scenarios (with the check forced on they passed); these stress the paths that change a vCPU's
 * state between its re-key and its event: ISRs started by host ticks at the advance (a pending
 * interrupt on a running vCPU), IPIs and wake-ups, shares changed by halts on an overcommitted host,
 * phase changes, clock reads that exit, halt polling, a workload profile, ping-pong hops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSimulation } from '../../src/core/engine/host.js';
import { join } from 'node:path';
import { loadModelData, REPO_ROOT } from '../../src/model/data.js';
import { runHosts } from '../../src/run/simulate.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';

const data = loadModelData();

const CASES: Record<string, string> = {
  'an idle mixed fleet under bhyve-tpr-v3': `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: boot, duration: 1s }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, vcpus: 1, phases: [{ phase: idle }] }`,
  'installs, builds and a disk benchmark on 2 cores for 7 vCPUs, bhyve-12.1, invariant checks on': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
debug: true
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, duration: 2s }, { phase: idle }] }
  - { os: windows-10-1909, name: win-build, vcpus: 2, phases: [{ phase: build, duration: 2s }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 1, phases: [{ phase: disk-benchmark, duration: 2s }] }`,
  'KVM with halt polling, acpi_pm clock reads that exit, ping-pong': `
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, name: pipe, vcpus: 2, phases: [{ phase: ping-pong, hop: 40us, duration: 2s }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }`,
};

/** Shipped scenarios with what the cases above lack: a workload profile and guests stopped by a violation, AVIC. */
const FILES = ['scenarios/library/imported-sysbench-policies.yaml', 'scenarios/library/amd-avic.yaml'];

/** The scenario's engine events and the events that trusted a hint (each checked). */
function run(scenario: Scenario): { events: number; trusted: number } {
  const acc = new TotalsAccumulator(true);
  const proto = HostSimulation.prototype as unknown as {
    checkWalkHint: (this: HostSimulation, v: number, kind: number) => void;
  };
  const check = proto.checkWalkHint;
  let trusted = 0;
  proto.checkWalkHint = function (this: HostSimulation, v: number, kind: number) {
    trusted++;
    check.call(this, v, kind);
  };
  HostSimulation.checkWalkHints = true;
  try {
    for (const variant of scenario.variants) runHosts(scenario, variant, data, 0, variant.host.count, acc);
  } finally {
    HostSimulation.checkWalkHints = false;
    proto.checkWalkHint = check;
  }
  return { events: acc.toJSON().events, trusted };
}

function check(scenario: Scenario): void {
  const r = run(scenario);
  assert.ok(r.events > 1000, `${r.events} events`);
  assert.ok(r.trusted > r.events / 3, `${r.trusted} of ${r.events} events trusted a hint`);
}

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: every walk hint trusted is the walk's answer, and most events trust one`, () => {
    check(parseScenario(`name: walk-hint\nseed: 3\n${yaml.trim()}\nduration: 3s\n`, 'walk-hint.yaml'));
  });
}

for (const file of FILES) {
  test(`${file}, its first 2 s: every walk hint trusted is the walk's answer`, () => {
    const scenario = loadScenarioFile(join(REPO_ROOT, file));
    check({ ...scenario, duration: { kind: 'fixed', ns: 2e9 } });
  });
}
