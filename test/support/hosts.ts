import type { HostSimulation } from '../../src/core/engine/host.js';
import { loadModelData } from '../../src/model/data.js';
import { hostGuests, hostSimulations } from '../../src/run/simulate.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';

/**
 * Host `host` of a scenario's first variant, built as a run builds it (src/run/simulate.ts), before any
 * event: for tests that drive the engine's or the guests' functions directly. `scenario` is YAML text
 * (read as `file`) or a parsed scenario.
 */
export function firstHost(scenario: string | Scenario, file = 'test.yaml', host = 0): HostSimulation {
  const s = typeof scenario === 'string' ? parseScenario(scenario, file) : scenario;
  const variant = s.variants[0];
  const data = loadModelData();
  return hostSimulations(s, variant, data)(host, hostGuests(variant, data, host));
}

/** One idle 1-vCPU Windows 10 1909 guest on an i7-6700K under `policy` (bhyve-12.1: every %cr8 access exits). */
export function idleWindows10Host(policy = 'bhyve-12.1'): HostSimulation {
  return firstHost(
    `name: idle-windows-10
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: ${policy} }
guests:
  - { os: windows-10-1909, vcpus: 1, phases: [{ phase: idle }] }
duration: 1s
`,
    'idle-windows-10.yaml',
  );
}

/**
 * A scenario of one guest replaying the sysbench workload profile (data/workloads/sysbench-kvm-2020.yaml)
 * on a 16-core Xeon under KVM, for 1 s: the workload books' tests (timeBooks, overcommitBooks). Its
 * path is relative to the scenario, which the tests read as `scenarios/NAME.yaml`.
 */
export function sysbenchWorkloadYaml(name: string): string {
  return `name: ${name}
host: { cpu: xeon-e5-2667v4, cores: 16 }
hypervisor: { policy: kvm }
guests:
  - workload: ../data/workloads/sysbench-kvm-2020.yaml
duration: 1s
`;
}

/**
 * Two mixed hosts on which isrEnd's fused operations meet every path (test/core/isrEndFusion's and
 * isrHaltFusion's fused-vs-unfused runs): bhyve 12.1 with the idle fleet's guests and an install (every
 * %cr8 access exits), and KVM on an APICv Xeon with Windows on each clock source and Linux in ping-pong.
 */
export const ISR_FUSION_HOSTS: Readonly<Record<string, string>> = {
  "bhyve 12.1, the idle fleet's guests and an install": `
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, name: idle1, vcpus: 2 }
  - { os: windows-10-1909, name: idle2, vcpus: 2 }
  - { os: windows-10-1909, name: installer, vcpus: 2, phases: [{ phase: install, work: 200ms }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2 }
  - { os: freebsd-12.1, vcpus: 2 }`,
  'KVM on an APICv Xeon: Windows on the RTC installing, on the HPET in a disk benchmark, on a synthetic timer; Linux in ping-pong': `
host: { cpu: xeon-e5-2667v4, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, hpet: false, enlightenments: none, phases: [{ phase: install, work: 200ms }, { phase: idle }] }
  - { os: windows-server-2019, name: hpet, vcpus: 2, hpet: true, enlightenments: none, phases: [{ phase: disk-benchmark, duration: 400ms }] }
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: ping-pong, hop: 40us, duration: 300ms }, { phase: idle }] }
  - { os: windows-server-2019, name: stimer, vcpus: 2, enlightenments: [hv-vpindex, hv-synic, hv-stimer, hv-time] }`,
};

/**
 * Scenario bodies (host, hypervisor, guests: no name, seed or duration) for the engine's exactness
 * tests (test/engine): hosts whose phases write every phase word, and an idle KVM fleet.
 */
export const ENGINE_HOSTS = {
  /** An install, a build, a disk benchmark and a ping-pong of 1 s each on 4 cores, bhyve-tpr-v3. */
  everyPhase: `
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: disk-benchmark, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, name: pp, vcpus: 2, phases: [{ phase: ping-pong, hop: 40us, duration: 1s }, { phase: idle }] }`,
  /** An install, a build and a ping-pong on 2 cores for 6 vCPUs, bhyve-12.1. */
  installBuildPingPong: `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, name: pp, vcpus: 2, phases: [{ phase: ping-pong, hop: 40us, duration: 1s }, { phase: idle }] }`,
  /** An idle mixed fleet under KVM with Hyper-V guests, on 8 cores. */
  kvmIdleFleet: `
host: { cpu: xeon-e5-2667v4, cores: 8 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 4, x2apic: true, phases: [{ phase: idle }] }`,
} as const;

/**
 * The host's totals after `ns` simulated ns, as one string: its events, the machine's exit totals,
 * host ns, exit counts, counters, per-vCPU host ns and state words, the guests' counters and the
 * latency histogram (two runs that differ anywhere differ here).
 */
export function hostTotals(h: HostSimulation, ns: number): string {
  h.advanceTo(ns);
  h.finalChecks();
  const m = h.machine;
  return JSON.stringify([
    h.events,
    ...m.exitTotals,
    ...m.exitHostNs,
    ...m.exitCounts,
    ...m.counters,
    ...m.vcpuHostNs,
    ...m.s,
    ...h.guestCounters,
    ...h.latencyCounts,
  ]);
}
