/**
 * Wake-ups that run nothing, folded into the event after them (src/core/engine/host.ts processVcpu,
 * docs/perf/history.md#fifteenth-session-busy-phases-no-op-wake-ups-folded-not-removed-16):
 * the same steps at the same times, so every total is the same as
 * when each wake-up is an engine event of its own (HostSimulation.foldWakeUps off, the engine before
 * the fold); only the engine-event count falls, by exactly the wake-ups folded. The golden digests
 * hold the shipped scenarios; these hold phases made to stress the fold: work-counted due times on
 * an overcommitted host (share < 1), clock reads that exit, the invariant checks on, KVM, and a
 * fleet whose vCPUs are due at the same instants (the heap's tie-break by index).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSimulation } from '../../src/core/engine/host.js';
import { loadModelData } from '../../src/model/data.js';
import { runHosts } from '../../src/run/simulate.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { parseScenario } from '../../src/scenario/load.js';
import { firstHost } from '../support/hosts.js';

const data = loadModelData();

const CASES: Record<string, string> = {
  'Ubuntu build, 2 vCPUs alone (the phase of the PERF.md figures)': `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, duration: 3s }] }`,
  'Windows installs and builds on 2 cores for 6 vCPUs, bhyve-12.1, invariant checks on': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
debug: true
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, duration: 3s }] }
  - { os: windows-10-1909, name: win-build, vcpus: 2, phases: [{ phase: build, duration: 3s }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: build, duration: 3s }] }`,
  'Linux builds under KVM with acpi_pm (clock reads that exit) and a Windows disk benchmark': `
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: build, duration: 3s }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: disk-benchmark, duration: 3s }] }`,
  'a mixed fleet, 2 hosts, bursts and idle gaps': `
host: { cpu: i7-6700K, cores: 8, count: 2 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: boot, duration: 1s }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: install, duration: 3s }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: build, duration: 3s }] }
  - { os: freebsd-12.1, vcpus: 1, phases: [{ phase: disk-benchmark, duration: 3s }] }`,
};

/** The case's totals (as results.json's raw form), its engine events and the wake-ups folded. */
function run(yaml: string, fold: boolean): { totals: string; events: number; folded: number } {
  const scenario = parseScenario(`name: fold\nseed: 7\n${yaml.trim()}\nduration: 3s\n`, 'fold.yaml');
  const acc = new TotalsAccumulator(true);
  const folds = new Float64Array(1);
  HostSimulation.foldWakeUps = fold;
  HostSimulation.foldTally = folds;
  try {
    for (const variant of scenario.variants) runHosts(scenario, variant, data, 0, variant.host.count, acc);
  } finally {
    HostSimulation.foldWakeUps = true;
    HostSimulation.foldTally = null;
  }
  const { events, ...rest } = acc.toJSON();
  return { totals: JSON.stringify(rest), events, folded: folds[0] };
}

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: folding the wake-ups that run nothing changes no total, only the engine events`, () => {
    const before = run(yaml, false);
    const after = run(yaml, true);
    assert.equal(before.folded, 0);
    assert.ok(after.folded > 0, 'no wake-up was folded');
    assert.equal(after.totals, before.totals);
    assert.equal(after.events + after.folded, before.events);
  });
}

// advanceTo's bound: a wake-up folds only at a time before it (at the bound every vCPU is advanced,
// and that split of its interval is a step of its own). Runs of 1-second epochs rarely put a chain of
// wake-ups across one; bounds every 37 us put thousands there.
test("folding stops at advanceTo's bound: a busy host advanced in 37 us steps gives the same counts", () => {
  const scenario = parseScenario(
    `name: fold-steps\nseed: 3\n${CASES['a mixed fleet, 2 hosts, bursts and idle gaps'].trim()}\nduration: 1s\n`,
    'fold-steps.yaml',
  );
  const counts = (fold: boolean): { counts: string; events: number; folded: number } => {
    const folds = new Float64Array(1);
    HostSimulation.foldWakeUps = fold;
    HostSimulation.foldTally = folds;
    try {
      const sim = firstHost(scenario);
      for (let t = 37_000; t < 400e6; t += 37_000) sim.advanceTo(t);
      sim.finalChecks();
      const m = sim.machine;
      return {
        counts: JSON.stringify([...m.exitTotals, ...m.counters, ...sim.guestCounters]),
        events: sim.events,
        folded: folds[0],
      };
    } finally {
      HostSimulation.foldWakeUps = true;
      HostSimulation.foldTally = null;
    }
  };
  const before = counts(false);
  const after = counts(true);
  assert.ok(after.folded > 0, 'no wake-up was folded');
  assert.equal(after.counts, before.counts);
  assert.equal(after.events + after.folded, before.events);
});
