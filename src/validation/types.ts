/**
 * Validation cases (data/validation/*.yaml, issue #14): one real, published measurement each, with
 * its source, the numbers as published, the setup as stated (and what was assumed), a scenario that
 * reproduces that setup with the shipped models only, and the outputs compared with tolerances.
 * Produced only by src/validation/load.ts; everything downstream trusts these types.
 */
import type { Scenario } from '../scenario/types.js';
import type { HvEnlightenment } from '../core/hypervisor/hyperv.js';

export const VALIDATION_CASE_VERSION = 1;

export const SOURCE_KINDS = [
  'blog',
  'mailing-list',
  'issue',
  'pull-request',
  'paper',
  'review',
  'web-page',
  'code',
] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface CaseSource {
  /** Groups cases measured by the same people in the same place: the unit of "independent sources". */
  readonly id: string;
  readonly kind: SourceKind;
  readonly title: string;
  readonly url?: string;
  readonly repository?: string;
  readonly path?: string;
  readonly commit?: string;
  /** YYYY, YYYY-MM or YYYY-MM-DD; or "unknown" (then dateNote says why). */
  readonly date: string;
  readonly dateNote?: string;
  /** Where in the source (a comment, a table, a message id). */
  readonly locator?: string;
  /** A copy of the published output in this repository (test/fixtures/reports/...). */
  readonly fixture?: string;
}

/** One item of the setup: what the source states, or what was assumed and why. */
export interface SetupItem<T> {
  readonly stated?: T;
  readonly assumed?: T;
  /** Required with `assumed`: the reasoning. */
  readonly why?: string;
  /** What the scenario uses for it (a model name, a CPU profile id, a number). */
  readonly model?: string | number | boolean;
  readonly note?: string;
}

export type SetupValue = string | number | boolean | null | readonly string[];

export const SETUP_ITEMS = [
  'guest',
  'vcpus',
  'hypervisor',
  'hostCpu',
  'clockSource',
  'enlightenments',
  'hpet',
  'workload',
] as const;
export type SetupItemName = (typeof SETUP_ITEMS)[number];

export interface CaseSetup {
  readonly guest: SetupItem<SetupValue>;
  readonly vcpus: SetupItem<SetupValue>;
  readonly hypervisor: SetupItem<SetupValue>;
  readonly hostCpu: SetupItem<SetupValue>;
  /** The guest's clock source (kvm-clock, TSC, HPET, ACPI PM timer, Hyper-V reference time ...). */
  readonly clockSource: SetupItem<SetupValue>;
  /**
   * Hyper-V enlightenments and KVM paravirtual features as QEMU names them, possibly empty: the
   * names a scenario's `enlightenments` key takes (HV_ENLIGHTENMENTS).
   */
  readonly enlightenments: SetupItem<readonly HvEnlightenment[]>;
  /** Whether the VM has an HPET (QEMU -no-hpet / libvirt <timer name='hpet' present='no'/>); null: unknown. */
  readonly hpet: SetupItem<boolean | null>;
  readonly workload: SetupItem<SetupValue>;
}

export const METRIC_KINDS = [
  'exits_per_second',
  'exit_share',
  'time_per_exit_us',
  'host_cpu_fraction',
  'interrupt_latency_mean_us',
  'phase_seconds',
] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** Default tolerances on model/real (issue #14): counts and shares [0.67, 1.5], times [0.5, 2]. */
export const DEFAULT_TOLERANCE: Readonly<Record<MetricKind, readonly [number, number]>> = {
  exits_per_second: [0.67, 1.5],
  exit_share: [0.67, 1.5],
  time_per_exit_us: [0.5, 2],
  host_cpu_fraction: [0.67, 1.5],
  interrupt_latency_mean_us: [0.5, 2],
  phase_seconds: [0.67, 1.5],
};

export interface Comparison {
  /** Stable key within the case (the before-values are stored under it). */
  readonly key: string;
  readonly metric: MetricKind;
  /** Model exit names (EXIT_KINDS) summed for the metric; empty = all exits. */
  readonly reasons: readonly string[];
  /** exits_per_second / host_cpu_fraction: per VM (default) or per vCPU. */
  readonly per: 'vm' | 'vcpu';
  /** The variant measured (default: the scenario's first). */
  readonly variant?: string;
  /** The value is metric(variant) / metric(relativeTo): a ratio between two configurations. */
  readonly relativeTo?: string;
  readonly phase?: string;
  /** The number from the source (or derived from its numbers; see derivation). */
  readonly real: number;
  /** How the source names it (e.g. "MSR_WRITE Samples% 35.40"). */
  readonly label: string;
  /** Arithmetic from published numbers, when real is not copied as is. */
  readonly derivation?: string;
  readonly tolerance: readonly [number, number];
  /** Set when the model cannot produce this metric for this setup: the row shows n/a and why. */
  readonly notComparable?: string;
  /**
   * The model constants fitted to this row (docs/MODEL.md "Calibration"): the row is shown, marked
   * "fit", and left out of the held-out summary.
   */
  readonly fittedBy?: string;
}

export interface NotExpressed {
  /** A setup item (enlightenments, hpet, ...) or a free name. */
  readonly what: string;
  readonly why: string;
}

export interface ValidationCase {
  readonly id: string;
  readonly file: string;
  readonly title: string;
  /** The model was fitted to this figure (the seed's); it does not count toward the corpus. */
  readonly fitted: boolean;
  /** The case is known to stay outside, with the cause. */
  readonly knownGap?: string;
  readonly source: CaseSource;
  /** The numbers as published (plain values, kept as written). */
  readonly published: Readonly<Record<string, unknown>>;
  readonly setup: CaseSetup;
  readonly notExpressed: readonly NotExpressed[];
  readonly scenario: Scenario;
  readonly compare: readonly Comparison[];
}
