/**
 * A Linux guest with `spinning` of its `vcpus` in phase lock-spin under a policy and tunables, run on
 * the engine: the PAUSE exits per second of Intel's PAUSE-loop exiting (PAUSE) or AMD's pause filter
 * (VMEXIT_PAUSE). Shared by test/core/pauseLoop.test.ts and test/core/pauseFilter.test.ts.
 */
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

export function spinPausePerSecond(
  cpu: string,
  policy: string,
  tunables: string,
  vcpus: number,
  spinning: number,
  seconds: number,
): number {
  const s = parseScenario(
    `name: spin
seed: 3
host: { cpu: ${cpu}, cores: 16 }
hypervisor: { policy: ${policy}${tunables ? `, tunables: { ${tunables} }` : ''} }
guests:
  - { os: ubuntu-18.04, vcpus: ${vcpus}, x2apic: true, phases: [{ phase: lock-spin, duration: ${seconds}s, busyVcpus: ${spinning} }] }
duration: ${seconds}s
`,
    'spin.yaml',
  );
  const exits = runScenario(s).results.variants[0].totals.exits;
  return ((exits.PAUSE ?? 0) + (exits.VMEXIT_PAUSE ?? 0)) / seconds;
}
