/**
 * What-if: run one workload profile under several CPU profiles and policies (same seed: paired, no
 * sampling noise between them) and report what each changes against the configuration the profile
 * was measured on — exits per second by reason, host time in exits, guest CPU, and the projected
 * duration of a phase of fixed guest work.
 *
 * Projection rule: a phase that needs a fixed amount of guest CPU work takes
 * T x (guest CPU per vCPU-second at the source) / (guest CPU per vCPU-second here): exits steal the
 * vCPU's time, and the model's progress rate (src/core/engine/host.ts) is exactly that. The rule
 * holds only for a CPU-bound phase: it is refused (phaseRefused) for a profile whose vCPUs are
 * mostly halted - the phase then lasts as long as what it waits for - or mostly spinning in PAUSE
 * loops, whose guest CPU is not work (see projectionRefusal).
 *
 * Opaque exits (measured, no cause in the model) go to a target only if it can take them
 * (core/hypervisor/opaqueExits.ts); each row names the ones dropped and why.
 */
import type { CpuProfile } from '../core/cpu/profile.js';
import { resolvePolicy, TUNABLES, tunableValue, type PolicyName, type Tunables } from '../core/hypervisor/policy.js';
import { x2apicOfferedByDefault } from '../core/hypervisor/x2apicOffer.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import type { ModelData } from '../model/data.js';
import { runScenario } from '../run/runScenario.js';
import type { Scenario, WorkloadProfile } from '../scenario/types.js';
import type { RunResults } from '../results/types.js';
import { workloadSpecFor } from '../scenario/workload.js';
import { sixDigits } from './fittedProfile.js';
import { workloadScenario } from './simulateProfile.js';

export interface WhatIfTarget {
  readonly cpu: CpuProfile;
  readonly policy: PolicyName;
  readonly tunables: Tunables;
  /** The host's tick (Hz) when stated (the measured host's, --host-tick-hz); absent: its OS's default. */
  readonly tickHz?: number;
}

interface WhatIfRow {
  readonly variant: string;
  readonly cpu: string;
  readonly policy: string;
  readonly isSource: boolean;
  /** The host tick (Hz) this configuration ran, when stated (--host-tick-hz, the profile's source: hostTickHz). */
  readonly hostTickHz?: number;
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
  /** Failed VM entries (VMfailValid, the vCPU does not run; SDM vol. 3C "Checks on VMX Controls"), their messages, each once. */
  readonly entryFailures: readonly string[];
  /** Exits per second relative to the source configuration, percent. */
  readonly exitsChangePercent: number;
  /**
   * Opaque exits of the profile this configuration cannot take (not simulated), with why: their rate
   * per second of guest execution as the profile holds it, and per vCPU-second as the measured
   * configuration makes them (the figure a reader compares with the report).
   */
  readonly droppedOpaque: readonly {
    readonly name: string;
    readonly perGuestSecond: number;
    readonly perVcpuSecondAtSource: number;
    readonly reason: string;
  }[];
  /** Opaque exits that land as another exit here, in words. */
  readonly mappedOpaque: readonly string[];
  /**
   * The row's tunables (NAME=VALUE) when, together, they leave everything the model uses as the
   * policy's defaults do on this CPU (tunableEffect): the row is then the default configuration's.
   */
  readonly tunablesWithoutEffect: readonly string[];
  /**
   * This configuration programs a TPR threshold (TPR shadow without virtual-interrupt delivery: SDM
   * "TPR Virtualization") and the measured one did not, for a guest that writes %cr8: its
   * TPR_BELOW_THRESHOLD exits are opaque (carried as measured, here none), so the row lacks them.
   */
  readonly tprThresholdNotMeasured?: true;
}

export interface WhatIfResult {
  readonly profile: string;
  readonly simSeconds: number;
  readonly seed: number;
  readonly phaseSeconds?: number;
  /** Why the phase duration was not projected (the projection rule does not hold for this profile). */
  readonly phaseRefused?: string;
  /** The profile's LAPIC mode: every configuration runs the guest in it, as measured. */
  readonly x2apic: boolean;
  /** The profile's guest OS model (absent in results made by hand). */
  readonly os?: string;
  readonly rows: readonly WhatIfRow[];
  /** Configurations a stop (Ctrl-C, SIGTERM) left without a whole run: no row; absent when every one ran. */
  readonly notRun?: readonly string[];
}

/**
 * Below this share of guest CPU per vCPU-second at the source, the profile is halt-dominated:
 * a phase of it waits on interrupts (devices, timers), so exits do not stretch it in proportion
 * to the CPU they take. One half: the projection needs the guest to be CPU-bound most of the time.
 */
const MIN_BUSY_SHARE_TO_PROJECT = 0.5;
/**
 * At or above this share of the source's exits in PAUSE-loop exits (PLE, SDM "PAUSE-Loop
 * Exiting"; SVM pause filter), the guest spends its CPU spinning on locks: guest CPU is not work.
 */
const MAX_PAUSE_SHARE_TO_PROJECT = 0.1;

/** Why a phase of the source row's profile cannot be projected by the guest-CPU rule, or undefined. */
export function projectionRefusal(source: {
  readonly guestCpu: number;
  readonly exitsPerSecond: Readonly<Record<string, number>>;
  readonly exitsPerSecondTotal: number;
}): string | undefined {
  if (source.guestCpu < MIN_BUSY_SHARE_TO_PROJECT) {
    // One decimal: 49.7 % rounded to "50 %" read as if the threshold (half) had been met.
    const pct = (x: number): string => String(Math.round(x * 1000) / 10);
    return `the profile is halt-dominated (its vCPUs run ${pct(source.guestCpu)} % of the time, halted or waiting ${pct(1 - source.guestCpu)} %): a phase of it lasts as long as what it waits for, not in proportion to guest CPU`;
  }
  const pause = (source.exitsPerSecond.PAUSE ?? 0) + (source.exitsPerSecond.VMEXIT_PAUSE ?? 0);
  if (source.exitsPerSecondTotal > 0 && pause >= MAX_PAUSE_SHARE_TO_PROJECT * source.exitsPerSecondTotal) {
    return `the profile is polling (${Math.round((pause / source.exitsPerSecondTotal) * 100)} % of its exits are PAUSE-loop exits): its guest CPU is spinning, not work`;
  }
  return undefined;
}

/** The tunables of `t`'s policy that it sets to other values than `other` does (defaults filled in). */
function tunableDifferences(t: WhatIfTarget, other: WhatIfTarget): string[] {
  return TUNABLES.filter((spec) => spec.policies.includes(t.policy) && !spec.readOnly)
    .filter((spec) => tunableValue(t.tunables, spec.name) !== tunableValue(other.tunables, spec.name))
    .map((spec) => `${spec.name}=${tunableValue(t.tunables, spec.name)}`);
}

/**
 * `t`'s tunables as NAME=VALUE when they change nothing the model uses against the policy's defaults
 * on `t`'s CPU, else none: the engine reads a policy only through the traits resolvePolicy() derives
 * (src/core/hypervisor/policy.ts; its `tunables` field only echoes the values), so equal traits are an
 * equal configuration. kvm_amd.avic=1 on a CPU profile without AVIC, a kvm_intel tunable on an AMD
 * CPU, or a value equal to the default: a what-if row that could only say "+0 %".
 */
export function tunableEffectless(t: WhatIfTarget): string[] {
  const set = Object.entries(t.tunables);
  if (set.length === 0) return [];
  const traits = (tunables: Tunables): string =>
    JSON.stringify({ ...resolvePolicy(t.policy, t.cpu, tunables), tunables: 0 });
  return traits(t.tunables) === traits({}) ? set.map(([k, v]) => `${k}=${v}`) : [];
}

/** The same CPU, policy and tunable values (defaults filled in): one configuration, run once. */
export function sameConfiguration(a: WhatIfTarget, b: WhatIfTarget): boolean {
  return (
    a.cpu.id === b.cpu.id && a.policy === b.policy && a.tickHz === b.tickHz && tunableDifferences(a, b).length === 0
  );
}

/** POLICY/CPU, and the tunables that differ when an earlier row has the same CPU and policy. */
function configurationName(t: WhatIfTarget, earlier: readonly WhatIfTarget[]): string {
  const twin = earlier.find((e) => e.cpu.id === t.cpu.id && e.policy === t.policy);
  const base = variantName(t.cpu, t.policy);
  return twin === undefined ? base : `${base} ${tunableDifferences(t, twin).join(' ')}`;
}

function variantName(cpu: CpuProfile, policy: string): string {
  return `${policy}/${cpu.id}`;
}

/** What-if's scenario: one variant per configuration, the measured one first, duplicates run once. */
export interface WhatIfPlan {
  readonly profile: WorkloadProfile;
  readonly scenario: Scenario;
  /** The configurations in variant order: the source first. */
  readonly configurations: readonly WhatIfTarget[];
  readonly simSeconds: number;
  readonly seed: number;
}

/** The scenario that runs `profile` under the source configuration and each target. */
export function planWhatIf(
  profile: WorkloadProfile,
  source: WhatIfTarget,
  targets: readonly WhatIfTarget[],
  options: { readonly simSeconds: number; readonly seed: number },
): WhatIfPlan {
  // A configuration is its CPU, policy and tunable values: the measured host with one tunable
  // changed (what-if --tunable on the measured CPU and policy) is a target of its own.
  const all: WhatIfTarget[] = [source];
  for (const t of targets) {
    if (!all.some((a) => sameConfiguration(a, t))) all.push(t);
  }
  const scenario = workloadScenario(
    profile,
    all.map((t, i) => ({
      name: configurationName(t, all.slice(0, i)),
      cpu: t.cpu,
      policy: t.policy,
      tunables: t.tunables,
      ...(t.tickHz !== undefined ? { tickHz: t.tickHz } : {}),
    })),
    options.simSeconds,
    options.seed,
  );
  return { profile, scenario, configurations: all, simSeconds: options.simSeconds, seed: options.seed };
}

/**
 * Run `profile` under the source configuration and each target in this thread (the library's and the
 * tests' form; the CLI runs the plan in the pool); the source comes first.
 */
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
  const plan = planWhatIf(profile, source, targets, options);
  return whatIfResult(plan, runScenario(plan.scenario, { data: options.data }).results, options);
}

/**
 * The what-if figures of a run of `plan.scenario` (in this thread or the pool: the same results).
 * `ranToEnd`, for a stopped run, says which configurations ran whole: only those get rows (the rest
 * are listed in notRun); the measured configuration must be one of them.
 */
export function whatIfResult(
  plan: WhatIfPlan,
  results: RunResults,
  options: { readonly phaseSeconds?: number; readonly ranToEnd?: readonly boolean[] },
): WhatIfResult {
  const { profile } = plan;
  const ran = (i: number): boolean => options.ranToEnd?.[i] !== false;
  if (!ran(0)) throw new Error('what-if: the measured configuration did not run to its end');
  const all = plan.configurations;
  const notRun = results.variants.filter((_, i) => !ran(i)).map((v) => v.name);
  const rows0 = results.variants.flatMap((v, i) => {
    if (!ran(i)) return [];
    const t = v.totals;
    const configuration = all[i];
    const vcpuSeconds = t.vcpuSeconds;
    const exitsPerSecond: Record<string, number> = {};
    for (const k of EXIT_KINDS) {
      const n = t.exits[k.name];
      if (n !== undefined && n > 0) exitsPerSecond[k.name] = n / vcpuSeconds;
    }
    const hostSeconds = Object.values(t.hostSecondsInExits).reduce((a, b) => a + b, 0);
    return {
      configuration,
      variant: v.name,
      cpu: all[i].cpu.id,
      policy: all[i].policy,
      isSource: i === 0,
      ...(all[i].tickHz !== undefined ? { hostTickHz: all[i].tickHz } : {}),
      exitsPerSecond,
      exitsPerSecondTotal: t.exitsTotal / vcpuSeconds,
      hostTimeInExits: hostSeconds / vcpuSeconds,
      guestCpu: t.guestCpuSeconds / vcpuSeconds,
      violations: [...new Set(t.violations.map((x) => x.check))].sort(),
      // The message with the checks that failed, so a stop says which SDM check refused the entry.
      entryFailures: [...new Set(t.entryFailures.map((x) => `${x.message}: ${x.failedChecks.join(', ')}`))].sort(),
    };
  });
  const src = rows0[0];
  const phaseRefused = options.phaseSeconds === undefined ? undefined : projectionRefusal(src);
  // Where TPR_BELOW_THRESHOLD can happen (opaqueExits.ts missingFeature's rule): a TPR shadow, a policy
  // that programs the threshold, no virtual-interrupt delivery.
  const threshold = (t: WhatIfTarget): boolean => {
    const traits = resolvePolicy(t.policy, t.cpu, t.tunables);
    return t.cpu.vendor === 'intel' && traits.tprShadowing && traits.tprThreshold !== 'none' && !traits.vid;
  };
  const writesCr8 = (profile.perGuestSecond.cr8Writes ?? 0) > 0;
  const sourceThreshold = threshold(all[0]);
  const rows: WhatIfRow[] = rows0.map(({ configuration: t, ...r }, i) => {
    const resolved = workloadSpecFor(profile, resolvePolicy(t.policy, t.cpu, t.tunables), t.cpu);
    return {
      ...r,
      exitsChangePercent:
        src.exitsPerSecondTotal > 0
          ? ((r.exitsPerSecondTotal - src.exitsPerSecondTotal) / src.exitsPerSecondTotal) * 100
          : 0,
      ...(options.phaseSeconds !== undefined && phaseRefused === undefined && r.guestCpu > 0
        ? {
            // The measured host's row is the phase as measured: (T x g) / g is not T in every double.
            projectedPhaseSeconds:
              r.guestCpu === src.guestCpu ? options.phaseSeconds : (options.phaseSeconds * src.guestCpu) / r.guestCpu,
          }
        : {}),
      droppedOpaque: resolved.dropped.map((d) => ({
        name: d.name,
        perGuestSecond: profile.opaquePerGuestSecond[d.name] ?? 0,
        perVcpuSecondAtSource: src.exitsPerSecond[d.name] ?? 0,
        reason: d.reason,
      })),
      mappedOpaque: resolved.mapped,
      // The measured configuration is what it is; a target's tunables are the question asked.
      tunablesWithoutEffect: i === 0 ? [] : tunableEffectless(t),
      ...(writesCr8 && !sourceThreshold && i > 0 && threshold(t) ? { tprThresholdNotMeasured: true as const } : {}),
    };
  });
  return {
    profile: profile.name,
    simSeconds: plan.simSeconds,
    seed: plan.seed,
    ...(options.phaseSeconds !== undefined ? { phaseSeconds: options.phaseSeconds } : {}),
    ...(phaseRefused !== undefined ? { phaseRefused } : {}),
    x2apic: profile.x2apic,
    os: profile.os,
    rows,
    ...(notRun.length > 0 ? { notRun } : {}),
  };
}

/** A configuration whose guest stopped: why, as `run`'s results say it. */
interface WhatIfStop {
  readonly variant: string;
  readonly violations: readonly string[];
  readonly entryFailures: readonly string[];
}

/**
 * What what-if's exit status says, as `run`'s does (src/results/exitStatus.ts; docs/CLI.md "Exit
 * statuses"): 3 when a configuration's guest stopped on an invariant violation the scenario does not
 * expect (the what-if scenario expects none: src/import/simulateProfile.ts workloadScenario) or a failed VM
 * entry; else 1 when a configuration's exits per vCPU-second are more than `maxIncreasePercent`
 * above the measured configuration's (exitsChangePercent, the table's change column); else 0.
 */
export interface WhatIfVerdict {
  readonly status: 0 | 1 | 3;
  /** The configurations whose guest stopped, the measured one included. */
  readonly stopped: readonly WhatIfStop[];
  /** --max-increase, percent; null without it. */
  readonly maxIncreasePercent: number | null;
  /** The configurations more than maxIncreasePercent above the measured one, highest first. */
  readonly over: readonly { readonly variant: string; readonly exitsChangePercent: number }[];
  /** Why no configuration was held against maxIncreasePercent, when none could be. */
  readonly notJudged?: string;
}

/** The verdict on `r`, with `maxIncreasePercent` (what-if --max-increase) or without it. */
export function whatIfVerdict(r: WhatIfResult, maxIncreasePercent?: number): WhatIfVerdict {
  const stopped = r.rows
    .filter((row) => row.violations.length > 0 || row.entryFailures.length > 0)
    .map((row) => ({ variant: row.variant, violations: row.violations, entryFailures: row.entryFailures }));
  const isStopped = (variant: string): boolean => stopped.some((s) => s.variant === variant);
  const source = r.rows[0];
  // A stopped guest's rates are over the time it ran: not the configuration's. Its row is judged by
  // the exit status 3 instead, and a stopped measured row leaves nothing to hold the others against.
  const notJudged =
    maxIncreasePercent !== undefined && isStopped(source.variant)
      ? `the measured configuration's guest (${source.variant}) stopped: no measured figure to hold the others against`
      : undefined;
  const over =
    maxIncreasePercent === undefined || notJudged !== undefined
      ? []
      : r.rows
          .filter((row) => !row.isSource && !isStopped(row.variant) && row.exitsChangePercent > maxIncreasePercent)
          .sort((a, b) => b.exitsChangePercent - a.exitsChangePercent)
          .map((row) => ({ variant: row.variant, exitsChangePercent: row.exitsChangePercent }));
  return {
    status: stopped.length > 0 ? 3 : over.length > 0 ? 1 : 0,
    stopped,
    maxIncreasePercent: maxIncreasePercent ?? null,
    over,
    ...(notJudged !== undefined ? { notJudged } : {}),
  };
}

/** What a reader of the what-if table must know beside it: a refused projection, dropped or mapped opaque exits. */
export function whatIfNotes(r: WhatIfResult): string[] {
  const notes: string[] = [];
  if (r.phaseRefused !== undefined) notes.push(`phase not projected: ${r.phaseRefused}`);
  // The guest keeps the measured mode; a hypervisor that does not offer x2APIC by default needs
  // telling to (src/core/hypervisor/x2apicOffer.ts).
  const noOffer = r.x2apic ? r.rows.filter((row) => !x2apicOfferedByDefault(row.policy as PolicyName)) : [];
  if (noOffer.length > 0)
    notes.push(
      `${configurationsText(noOffer)}: the guest runs in x2APIC mode as measured; bhyve offers x2APIC only with bhyve -x (config x86.x2apic), so those rows assume it`,
    );
  // The same note for many configurations (what-if --cpu all: every AMD CPU under every policy
  // drops the same Intel-only exits) is said once, with the configurations it applies to.
  const byText = new Map<string, WhatIfRow[]>();
  const add = (text: string, row: WhatIfRow): void => {
    const rows = byText.get(text);
    if (rows === undefined) byText.set(text, [row]);
    else if (!rows.includes(row)) rows.push(row);
  };
  for (const row of r.rows) {
    for (const d of row.droppedOpaque)
      add(
        `${d.name} dropped (${sixDigits(d.perVcpuSecondAtSource)} per vCPU-second on the measured host; ` +
          `${sixDigits(d.perGuestSecond)} per second of guest execution in the profile): ${d.reason}`,
        row,
      );
    for (const m of row.mappedOpaque) add(m, row);
    if (row.tunablesWithoutEffect.length > 0)
      add(
        `--tunable ${row.tunablesWithoutEffect.join(' ')} changes nothing the model uses here (the CPU profile lacks the feature, the tunable is the other vendor's module's, or the value is the default): the row is the policy's default configuration`,
        row,
      );
  }
  const source = r.rows[0];
  for (const row of r.rows)
    if (row.tprThresholdNotMeasured === true)
      add(
        `TPR_BELOW_THRESHOLD exits missing: these configurations program a TPR threshold, the measured configuration (${source.variant}) programs none, ` +
          "so the profile carries no rate for these exits (opaque, docs/IMPORT.md) and these rows lack the ones the guest's %cr8 writes would cause; " +
          `a modelled guest (os: ${r.os ?? 'its OS'}) in a scenario shows them (docs/TUTORIAL.md section 1)`,
        row,
      );
  for (const [text, rows] of byText) notes.push(`${configurationsText(rows)}: ${text}`);
  return notes;
}

/**
 * Configurations in few words: one is its name (kvm/epyc-7281); several are grouped by CPU, the CPUs
 * with the same policies (and tunables) together: "bhyve-12.1, kvm on epyc-7281, epyc-7763 (4
 * configurations)".
 */
export function configurationsText(rows: readonly Pick<WhatIfRow, 'variant' | 'cpu'>[]): string {
  if (rows.length === 1) return rows[0].variant;
  // A row's name is POLICY/CPU, then the tunables that tell it from a twin: the name without "/CPU".
  const perCpu = new Map<string, string[]>();
  for (const row of rows) {
    const label = row.variant.replace(`/${row.cpu}`, '');
    const labels = perCpu.get(row.cpu);
    if (labels === undefined) perCpu.set(row.cpu, [label]);
    else labels.push(label);
  }
  const groups = new Map<string, string[]>();
  for (const [cpu, labels] of perCpu) {
    const key = labels.join(', ');
    const cpus = groups.get(key);
    if (cpus === undefined) groups.set(key, [cpu]);
    else cpus.push(cpu);
  }
  const parts = [...groups].map(([labels, cpus]) => `${labels} on ${cpus.join(', ')}`);
  return `${parts.join('; ')} (${rows.length} configurations)`;
}
