/**
 * A workload profile (src/scenario/workload.ts) on the real engine: the one-host scenario that runs
 * it under a CPU and policy, and its simulated exits per vCPU per second. The import fit (fit.ts)
 * iterates on it, what-if (whatIf.ts) runs its scenario on other CPUs and policies.
 */
import type { CpuProfile } from '../core/cpu/profile.js';
import type { PolicyName, Tunables } from '../core/hypervisor/policy.js';
import { EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import type { ModelData } from '../model/data.js';
import { runHosts } from '../run/simulate.js';
import { TotalsAccumulator } from '../run/totals.js';
import { DEFAULT_CARDINALITY_BUDGET, DEFAULT_MEMORY_BYTES } from '../scenario/limits.js';
import type { Scenario, ScenarioVariant, WorkloadProfile } from '../scenario/types.js';

/** A one-variant, one-host scenario running `profile` (used by the fit and by what-if). */
export function workloadScenario(
  profile: WorkloadProfile,
  variants: readonly {
    readonly name: string;
    readonly cpu: CpuProfile;
    readonly policy: PolicyName;
    readonly tunables: Tunables;
    /** The host's tick (Hz) when stated (import/what-if --host-tick-hz); absent: the host OS's default. */
    readonly tickHz?: number;
  }[],
  simSeconds: number,
  seed: number,
): Scenario {
  return {
    name: `workload-${profile.name}`,
    description: `workload profile ${profile.name}`,
    file: `${profile.name}.yaml`,
    seed,
    duration: { kind: 'fixed', ns: Math.round(simSeconds * 1e9) },
    pace: 'max',
    variants: variants.map((v): ScenarioVariant => ({
      name: v.name,
      params: { cpu: v.cpu.id, policy: v.policy },
      // As many cores as vCPUs: the report measured exits, not contention with other guests.
      host: { cpu: v.cpu, cores: profile.vcpus, count: 1, ...(v.tickHz !== undefined ? { tickHz: v.tickHz } : {}) },
      hypervisor: { policy: v.policy, tunables: v.tunables },
      guests: [
        {
          kind: 'modelled',
          os: profile.os,
          count: 1,
          vcpus: profile.vcpus,
          memoryBytes: DEFAULT_MEMORY_BYTES,
          x2apic: profile.x2apic,
          phases: [{ phase: 'idle' }],
          name: profile.name,
          workload: profile,
        },
      ],
    })),
    thresholds: [],
    expectViolations: [],
    debugChecks: false,
    cardinalityBudget: DEFAULT_CARDINALITY_BUDGET,
  };
}

/** Simulate a profile under one configuration: exits per vCPU per second by slot, plus the accumulator. */
export function simulateProfile(
  profile: WorkloadProfile,
  cpu: CpuProfile,
  policy: PolicyName,
  tunables: Tunables,
  simSeconds: number,
  seed: number,
  data: ModelData,
  tickHz?: number,
): { perSecond: Float64Array; acc: TotalsAccumulator } {
  const scenario = workloadScenario(
    profile,
    [{ name: 'fit', cpu, policy, tunables, ...(tickHz !== undefined ? { tickHz } : {}) }],
    simSeconds,
    seed,
  );
  const acc = new TotalsAccumulator();
  runHosts(scenario, scenario.variants[0], data, 0, 1, acc);
  const perSecond = new Float64Array(EXIT_SLOT_COUNT);
  const denom = simSeconds * profile.vcpus;
  for (let s = 0; s < EXIT_SLOT_COUNT; s++) perSecond[s] = acc.exits[s] / denom;
  return { perSecond, acc };
}
