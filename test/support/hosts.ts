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
