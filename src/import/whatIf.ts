/**
 * What-if: run one workload profile under several CPU profiles and policies (same seed: paired, no
 * sampling noise between them) and report what each changes against the configuration the profile
 * was measured on — exits per second by reason, host time in exits, guest CPU, and the projected
 * duration of a phase of fixed guest work.
 *
 * Projection rule: a phase that needs a fixed amount of guest CPU work takes
 * T x (guest CPU per vCPU-second at the source) / (guest CPU per vCPU-second here): exits steal the
 * vCPU's time, and the model's progress rate (src/core/engine/host.ts) is exactly that.
 */
import type { CpuProfile } from '../core/cpu/profile.js';
import type { PolicyName, Tunables } from '../core/hypervisor/policy.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import type { ModelData } from '../model/data.js';
import { runScenario } from '../run/runScenario.js';
import type { WorkloadProfile } from '../scenario/types.js';
import { workloadScenario } from './fit.js';

export interface WhatIfTarget {
  readonly cpu: CpuProfile;
  readonly policy: PolicyName;
  readonly tunables: Tunables;
}

interface WhatIfRow {
  readonly variant: string;
  readonly cpu: string;
  readonly policy: string;
  readonly isSource: boolean;
  /** Exits per vCPU per simulated second, by reason. */
  readonly exitsPerSecond: Readonly<Record<string, number>>;
  readonly exitsPerSecondTotal: number;
  /** Host seconds handling exits per vCPU second. */
  readonly hostTimeInExits: number;
  /** Guest CPU seconds per vCPU second. */
  readonly guestCpu: number;
  /** Projected duration of the phase (seconds), when a phase duration was given. */
  readonly projectedPhaseSeconds?: number;
  /** Invariant checks that tripped (a guest stopped: e.g. bhyve's "ISR and isrvec_stk out of sync" panic). */
  readonly violations: readonly string[];
  /** Exits per second relative to the source configuration, percent. */
  readonly exitsChangePercent: number;
}

export interface WhatIfResult {
  readonly profile: string;
  readonly simSeconds: number;
  readonly seed: number;
  readonly phaseSeconds?: number;
  readonly rows: readonly WhatIfRow[];
}

function variantName(cpu: CpuProfile, policy: string): string {
  return `${policy}/${cpu.id}`;
}

/** Run `profile` under the source configuration and each target; the source comes first. */
export function whatIf(
  profile: WorkloadProfile,
  source: WhatIfTarget,
  targets: readonly WhatIfTarget[],
  options: {
    readonly simSeconds: number;
    readonly seed: number;
    readonly phaseSeconds?: number;
    readonly data: ModelData;
  },
): WhatIfResult {
  const all: WhatIfTarget[] = [source];
  for (const t of targets) {
    if (!all.some((a) => a.cpu.id === t.cpu.id && a.policy === t.policy)) all.push(t);
  }
  const scenario = workloadScenario(
    profile,
    all.map((t) => ({ name: variantName(t.cpu, t.policy), cpu: t.cpu, policy: t.policy, tunables: t.tunables })),
    options.simSeconds,
    options.seed,
  );
  const run = runScenario(scenario, { data: options.data });
  const rows0 = run.results.variants.map((v, i) => {
    const t = v.totals;
    const vcpuSeconds = t.vcpuSeconds;
    const exitsPerSecond: Record<string, number> = {};
    for (const k of EXIT_KINDS) {
      const n = t.exits[k.name];
      if (n !== undefined && n > 0) exitsPerSecond[k.name] = n / vcpuSeconds;
    }
    const hostSeconds = Object.values(t.hostSecondsInExits).reduce((a, b) => a + b, 0);
    return {
      variant: v.name,
      cpu: all[i].cpu.id,
      policy: all[i].policy,
      isSource: i === 0,
      exitsPerSecond,
      exitsPerSecondTotal: t.exitsTotal / vcpuSeconds,
      hostTimeInExits: hostSeconds / vcpuSeconds,
      guestCpu: t.guestCpuSeconds / vcpuSeconds,
      violations: [...new Set(t.violations.map((x) => x.check))].sort(),
    };
  });
  const src = rows0[0];
  const rows: WhatIfRow[] = rows0.map((r) => ({
    ...r,
    exitsChangePercent:
      src.exitsPerSecondTotal > 0
        ? ((r.exitsPerSecondTotal - src.exitsPerSecondTotal) / src.exitsPerSecondTotal) * 100
        : 0,
    ...(options.phaseSeconds !== undefined && r.guestCpu > 0
      ? { projectedPhaseSeconds: (options.phaseSeconds * src.guestCpu) / r.guestCpu }
      : {}),
  }));
  return {
    profile: profile.name,
    simSeconds: options.simSeconds,
    seed: options.seed,
    ...(options.phaseSeconds !== undefined ? { phaseSeconds: options.phaseSeconds } : {}),
    rows,
  };
}
