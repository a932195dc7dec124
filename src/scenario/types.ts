import type { CpuProfile } from '../core/cpu/profile.js';
import type { PolicyName, Tunables } from '../core/hypervisor/policy.js';
import type { HvEnlightenment } from '../core/hypervisor/hyperv.js';
import type { VmcsOverrides } from '../core/vcpu/machine.js';
import type { ScriptOp } from '../core/script/ops.js';
import type { HostOs } from '../model/hostOs.js';
import type { LinuxClocksource } from '../core/guests/linuxClock.js';
import { WORKLOAD_OP_NAMES } from '../core/guests/workload.js';

/**
 * A scenario after validation: typed, immutable, every default filled in. Produced only by
 * `src/scenario/load.ts`; everything downstream (engine, pool, reports) trusts these types.
 */

export const GUEST_OS_NAMES = [
  'windows-10-1903',
  'windows-10-1909',
  'windows-server-2019',
  'windows-server-2012r2',
  'windows-7',
  'ubuntu-18.04',
  'freebsd-12.1',
] as const;
export type GuestOsName = (typeof GUEST_OS_NAMES)[number];

/** Whether a guest OS is a Linux one (it takes `clocksource`: src/core/guests/linuxClock.ts). */
export function isLinuxOs(os: GuestOsName): boolean {
  return os.startsWith('ubuntu-');
}

export const PHASE_NAMES = [
  'boot',
  'idle',
  'install',
  'disk-benchmark',
  'build',
  'compute',
  'lock-spin',
  'ping-pong',
] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

/** A phase runs for a simulated duration, or until a fixed amount of guest work is done. */
export interface PhaseSpec {
  readonly phase: PhaseName;
  /** Simulated nanoseconds the phase lasts (duration-bound phases: boot, idle, and any phase given `duration`). */
  readonly durationNs?: number;
  /**
   * Amount of work for work-bound phases: guest CPU nanoseconds for `install` and `build`;
   * bytes of I/O for `disk-benchmark`. Its completion time is a result (phaseSeconds).
   */
  readonly work?: number;
  /**
   * The phase's activity runs on the guest's first `busyVcpus` vCPUs only; the others are idle (their
   * idle behaviour). A stated setup such as "sysbench, 1 thread": duration-bound phases only.
   */
  readonly busyVcpus?: number;
  /**
   * ping-pong only (required there): guest ns each vCPU of a pair runs between the message's
   * arrival (the peer's reschedule IPI) and its send back (src/core/guests/pingPong.ts).
   */
  readonly hopNs?: number;
}

/** Keys of a workload profile's perGuestSecond beyond the bulk instruction ops. */
const WORKLOAD_EVENT_NAMES = ['hlts', 'ipis', 'hostInterrupts'] as const;
export const WORKLOAD_RATE_NAMES = [...WORKLOAD_OP_NAMES, ...WORKLOAD_EVENT_NAMES] as const;
export type WorkloadRateName = (typeof WORKLOAD_RATE_NAMES)[number];

/**
 * A workload-profile file (src/scenario/workload.ts): a guest given by instruction and event rates
 * instead of an OS model, validated and frozen.
 */
export interface WorkloadProfile {
  readonly name: string;
  readonly os: GuestOsName;
  readonly vcpus: number;
  readonly x2apic: boolean;
  readonly perGuestSecond: Readonly<Record<WorkloadRateName, number>>;
  readonly interruptsPerSecond: number;
  /** Exit name (as in EXIT_KINDS) -> per vCPU per guest second. */
  readonly opaquePerGuestSecond: Readonly<Record<string, number>>;
  /**
   * The report's own time per exit, carried by `import --carry-exit-times`: by exit name, perf's
   * average time at the measured host and the model's cost there. A host running this profile
   * charges such an exit the model's cost on its own CPU and policy x measuredNs / modelNs.
   */
  readonly measuredTimePerExit?: Readonly<Record<string, { readonly measuredNs: number; readonly modelNs: number }>>;
  /** Informational; kept as written (plain JSON values). */
  readonly source?: Readonly<Record<string, unknown>>;
}

/** A Windows guest's Hyper-V enlightenments and clock hardware under KVM (src/scenario/timekeeping.ts). */
export interface GuestTimekeepingSpec {
  readonly enlightenments: readonly HvEnlightenment[];
  readonly hpet: boolean;
  readonly referenceTscPage: boolean;
}

export interface ModelledGuestSpec {
  readonly kind: 'modelled';
  readonly os: GuestOsName;
  /** Identical guests of this spec. */
  readonly count: number;
  readonly vcpus: number;
  readonly memoryBytes: number;
  /** Offer x2APIC to the guest (the guest model decides whether it uses it). */
  readonly x2apic: boolean;
  readonly phases: readonly PhaseSpec[];
  /** Optional label used in reports instead of the os name. */
  readonly name: string;
  /**
   * A workload-profile guest (src/scenario/workload.ts): its behaviour comes from the profile's rates;
   * `os` (the profile's) only supplies interrupt vectors and ISR times.
   */
  readonly workload?: WorkloadProfile;
  /**
   * A Windows guest under KVM: its enlightenments and clock hardware for this variant, defaults
   * filled in (src/scenario/timekeeping.ts). Absent under bhyve and for other guests.
   */
  readonly timekeeping?: GuestTimekeepingSpec;
  /** A Linux guest's clocksource as the scenario states it (src/core/guests/linuxClock.ts); absent: the hypervisor's default. */
  readonly clocksource?: LinuxClocksource;
}

export interface ScriptedGuestSpec {
  readonly kind: 'scripted';
  readonly name: string;
  readonly vcpus: number;
  readonly x2apic: boolean;
  readonly script: readonly ScriptOp[];
}

export type GuestSpec = ModelledGuestSpec | ScriptedGuestSpec;

interface HostSpec {
  readonly cpu: CpuProfile;
  /** Host cores (hardware threads) the vCPUs of this host share. */
  readonly cores: number;
  /** Identical hosts in the fleet; guests are placed on every host (shards split by host). */
  readonly count: number;
  /** The host OS (its clock tick: cost-model.yaml hostTickHz); absent: the hypervisor's default (model/data.ts DEFAULT_HOST_OS). */
  readonly os?: HostOs;
  /** The host kernel's tick rate (Hz) when the scenario states it (host.tickHz); absent: the OS's default (cost-model.yaml hostTickHz). */
  readonly tickHz?: number;
}

interface HypervisorSpec {
  readonly policy: PolicyName;
  readonly tunables: Tunables;
  readonly vmcs?: VmcsOverrides;
}

/** One threshold expression as written, with where it came from (for error messages and reports). */
export interface ThresholdSpec {
  readonly metric: string;
  readonly expr: string;
  readonly source: SourceLocation;
  /** The parsed form (src/scenario/thresholds.ts); always set by the loader. */
  readonly parsed?: ParsedThreshold;
}

export const THRESHOLD_COMPARATORS = ['<=', '>=', '==', '!=', '<', '>'] as const;
export type ThresholdComparator = (typeof THRESHOLD_COMPARATORS)[number];

/** How a histogram metric (interrupt_latency_seconds) is reduced to one number. */
export type ThresholdAggregation =
  | { readonly kind: 'quantile'; /** 0..1, e.g. 0.99 for p99 */ readonly q: number }
  | { readonly kind: 'mean' }
  | { readonly kind: 'count' };

/** A metric name with its labels (without `variant`), e.g. exits_total{reason="CR_ACCESS"}. */
export interface MetricSelector {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type ParsedThreshold =
  | {
      /** Evaluated on each variant, or only on `variant` when the key has a variant="..." label. */
      readonly kind: 'metric';
      readonly metric: MetricSelector;
      readonly variant?: string;
      readonly aggregation?: ThresholdAggregation;
      readonly comparator: ThresholdComparator;
      readonly bound: number;
    }
  | {
      /** ratio(metric, variant="numerator", variant="denominator"), evaluated once over the run. */
      readonly kind: 'ratio';
      readonly metric: MetricSelector;
      readonly numerator: string;
      readonly denominator: string;
      readonly aggregation?: ThresholdAggregation;
      readonly comparator: ThresholdComparator;
      readonly bound: number;
    };

interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface ScenarioVariant {
  /** `base`, or the matrix values joined with "/" in key order, e.g. `bhyve-12.1/i7-2620M`. */
  readonly name: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
  readonly host: HostSpec;
  readonly hypervisor: HypervisorSpec;
  readonly guests: readonly GuestSpec[];
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly seed: number;
  /** Simulated nanoseconds, or `until-complete` (every work-bound phase done), capped by maxDurationNs. */
  readonly duration:
    { readonly kind: 'fixed'; readonly ns: number } | { readonly kind: 'until-complete'; readonly maxNs: number };
  readonly pace: 'max' | 'realtime';
  readonly variants: readonly ScenarioVariant[];
  readonly thresholds: readonly ThresholdSpec[];
  /** Invariant violations the scenario expects (a reproduction of a known bug); others still fail. */
  readonly expectViolations: readonly string[];
  /** Run the consistency checks after every guest operation. */
  readonly debugChecks: boolean;
  /** Most /metrics series the scenario may create (src/metrics/cardinality.ts); default 10000. */
  readonly cardinalityBudget: number;
}

/** Simulated ns a scenario may run: its fixed duration, or the cap of an `until-complete` run. */
export function durationLimitNs(scenario: Pick<Scenario, 'duration'>): number {
  return scenario.duration.kind === 'fixed' ? scenario.duration.ns : scenario.duration.maxNs;
}

/** Modelled guests per host of a variant, by guest OS (for the running-guests gauge). */
export function guestsPerHostByOs(scenario: Scenario, variantIndex: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of scenario.variants[variantIndex].guests)
    if (g.kind === 'modelled') m.set(g.os, (m.get(g.os) ?? 0) + g.count);
  return m;
}

/** Guests a scenario simulates in total (every variant: modelled guests on every host, plus scripted guests once): what the service caps. */
export function totalGuests(scenario: Scenario): number {
  let n = 0;
  for (const v of scenario.variants) {
    for (const g of v.guests) n += g.kind === 'modelled' ? g.count * v.host.count : 1;
  }
  return n;
}
