/**
 * results.json, version 1 (docs/RESULTS.md). Other tools read this file: fields are only ever
 * added within a version; renaming or removing one means version 2.
 */
import type { EntryFailure } from '../core/vcpu/reports.js';

export const RESULTS_VERSION = 1;

export interface LatencyHistogram {
  /** Upper bounds of the buckets in nanoseconds (the last bucket is +Inf and not listed). */
  readonly boundsNs: readonly number[];
  /** counts[i] = observations <= boundsNs[i] and > boundsNs[i-1]; counts has boundsNs.length + 1 entries. */
  readonly counts: readonly number[];
  readonly count: number;
  readonly sumNs: number;
  /**
   * Per bucket (same indices as counts), the replayable representative observation: the largest
   * latency, ties to the earliest simulated time then the lowest global guest index; null for an
   * empty bucket. Optional: absent in files written before exemplars (docs/REPLAY.md).
   */
  readonly exemplars?: readonly (LatencyExemplar | null)[];
}

/** A latency bucket's replay handle: global guest index, simulated time of the delivery, its latency. */
interface LatencyExemplar {
  readonly guest: number;
  readonly simTimeNs: number;
  readonly latencyNs: number;
}

/** The smallest guest set / time window found that still trips a violation (docs/REPLAY.md). */
export interface Reproducer {
  /** Global guest indices of the host's guests that are needed (the violating guest among them). */
  readonly guests: readonly number[];
  /** Run the host up to this simulated ns (exclusive): one past the violation. */
  readonly untilNs: number;
  /** Simulated ns of the violation in the reduced run (<= the original's). */
  readonly simTimeNs: number;
  /** Runs the shrinker made (bounded). */
  readonly attempts: number;
  /** The `vmexit-lab replay ...` command that shows it. */
  readonly command: string;
}

export interface ViolationRecord {
  readonly check: string;
  readonly message: string;
  readonly guest: string;
  /** Global guest index (the replay handle; absent for scripted guests and older files). */
  readonly guestIndex?: number;
  readonly host: number;
  readonly vcpu: number;
  readonly simTimeNs: number;
  readonly step: number;
  readonly state: Readonly<Record<string, unknown>>;
  /** True when the scenario lists this check under expect.violations. */
  readonly expected: boolean;
  /** For a modelled guest's violation: the shrunk reproducer (`vmexit-lab run` adds it). */
  readonly reproducer?: Reproducer;
}

interface SourceCounts {
  readonly raised: number;
  readonly delivered: number;
}

export interface VariantTotals {
  /** Simulated seconds of the longest-running host (hosts stop independently when their work is done). */
  readonly simulatedSeconds: number;
  /** Sum over guests of the simulated seconds each guest ran: the denominator of per-guest rates. */
  readonly guestSeconds: number;
  /** Sum over vCPUs of the simulated seconds each ran. */
  readonly vcpuSeconds: number;
  /** Exits by the manual's name, e.g. CR_ACCESS, TPR_BELOW_THRESHOLD, VMEXIT_CR8_WRITE. */
  readonly exits: Readonly<Record<string, number>>;
  readonly exitsTotal: number;
  readonly cr8Accesses: number;
  readonly cr8Reads: number;
  readonly cr8Writes: number;
  readonly tprMmioWrites: number;
  readonly tprMsrWrites: number;
  readonly interruptsRaised: number;
  readonly interruptsInjected: number;
  readonly interruptsDelivered: number;
  readonly interruptsBySource: Readonly<Record<'timer' | 'device' | 'ipi', SourceCounts>>;
  /** Simulated wall seconds the guests needed to finish each work-bound phase (mean over guests). */
  readonly phaseSeconds: Readonly<Record<string, number>>;
  /**
   * Guests that had not finished a work-bound phase when the run ended (its duration or maxDuration
   * reached), by phase; present only when some had not. phaseSeconds is then the mean of those that
   * finished only, and a threshold on that phase's time is not met (docs/RESULTS.md).
   */
  readonly phaseUnfinished?: Readonly<Record<string, number>>;
  /** Host seconds spent handling exits, by exit name. */
  readonly hostSecondsInExits: Readonly<Record<string, number>>;
  readonly guestCpuSeconds: number;
  /**
   * Host seconds the VMM's device model spent outside any exit (an emulated RTC / HPET's periods,
   * cost-model.yaml deviceModelTickNs); present only when nonzero.
   */
  readonly deviceModelSeconds?: number;
  /** KVM's halt-poll statistics summed over vCPUs and hosts; KVM variants only (docs/RESULTS.md). */
  readonly haltPoll?: HaltPollTotals;
  readonly interruptLatency: LatencyHistogram;
  readonly violations: readonly ViolationRecord[];
  readonly entryFailures: readonly EntryFailureRecord[];
  readonly guests: number;
  readonly vcpus: number;
}

/**
 * A failed VM entry (the vCPU stops): which VMCS checks failed, on which guest and host. The machine's
 * report (core/vcpu/reports.ts EntryFailure, the one home of its fields) as src/run/simulate.ts copies
 * it, with the guest's label for its index and the host's index added.
 */
export interface EntryFailureRecord extends Omit<EntryFailure, 'guest'> {
  readonly host: number;
  /** The guest's label. */
  readonly guest: string;
}

export interface GuestTotals {
  readonly guest: string;
  readonly os: string;
  readonly host: number;
  readonly exits: Readonly<Record<string, number>>;
  readonly cr8Accesses: number;
  readonly interruptsDelivered: number;
  readonly phaseSeconds: Readonly<Record<string, number>>;
  readonly guestCpuSeconds: number;
}

export interface ThresholdOutcome {
  readonly expr: string;
  readonly metric: string;
  /** False when the threshold failed; true when it held or was not judged (`judged: false`). */
  readonly passed: boolean;
  /** The value the expression was evaluated on (null when the metric had no data or it was not judged). */
  readonly value: number | null;
  readonly message?: string;
  /**
   * false on a shard of a run (`run --shard I/N`, N > 1): a shard's totals are part of the run's,
   * so its thresholds are not judged (`passed` true, `value` null, `message` says why);
   * `vmexit-lab merge` judges them on the merged totals. Absent when judged. Added in 0.1 without
   * a version bump (fields are only ever added).
   */
  readonly judged?: false;
}

export interface VariantResult {
  readonly name: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
  readonly host: {
    readonly cpu: string;
    readonly cores: number;
    readonly count: number;
    readonly os?: string;
    readonly tickHz?: number;
  };
  readonly policy: string;
  readonly tunables: Readonly<Record<string, number>>;
  readonly totals: VariantTotals;
  readonly perGuest?: readonly GuestTotals[];
  /**
   * Exits over simulated time: exits[name][i] = exits of that reason in simulated seconds
   * [i*stepSeconds, (i+1)*stepSeconds), summed over the variant's guests. Reasons that never
   * occurred are absent.
   */
  readonly series?: { readonly stepSeconds: number; readonly exits: Readonly<Record<string, readonly number[]>> };
  readonly thresholds: readonly ThresholdOutcome[];
  /**
   * Shard runs only: the exact integer accumulators behind `totals`, so `vmexit-lab merge` can
   * combine shards bit for bit (histograms bucket for bucket, phase sums and counts).
   */
  readonly raw?: RawTotals;
}

/**
 * The exact integer accumulators of a variant or of a part of it (src/run/totals.ts
 * TotalsAccumulator) as plain JSON: a shard's `raw`, and the totals a pool worker posts. Arrays are
 * indexed by the engine's exit slots (src/core/vcpu/exits.ts), counters (Counter, GuestCounter),
 * latency buckets (boundsNs, then +Inf) and phases (PHASE_ORDER); times are integer ns.
 */
/**
 * KVM's per-vCPU halt-poll statistics by the names kvm_stat and virsh domstats print (arch/x86/kvm/x86.c
 * debugfs_entries), summed; `pollSeconds`: host seconds the vCPU threads polled (newer kernels'
 * halt_poll_success_ns + halt_poll_fail_ns).
 */
export interface HaltPollTotals {
  readonly halt_attempted_poll: number;
  readonly halt_successful_poll: number;
  readonly halt_wakeup: number;
  readonly pollSeconds: number;
}

export interface RawTotals {
  readonly exits: readonly number[];
  readonly exitHostNs: readonly number[];
  readonly machineCounters: readonly number[];
  /** Exits per slot by guest OS (absent in files written before the metrics' `os` label). */
  readonly exitsByOs?: Readonly<Record<string, readonly number[]>>;
  readonly guestCounters: readonly number[];
  readonly latency: readonly number[];
  readonly latencySumNs: number;
  readonly latencyCount: number;
  /** Per latency bucket (absent in files written before exemplars). */
  readonly latencyExemplars?: readonly (LatencyExemplar | null)[];
  readonly phaseSumNs: readonly number[];
  readonly phaseCount: readonly number[];
  /** Per phase, guests that had not finished it (VariantTotals.phaseUnfinished); absent when none. */
  readonly phaseUnfinished?: readonly number[];
  readonly maxSimNs: number;
  readonly guestNs: number;
  readonly vcpuNs: number;
  readonly guests: number;
  readonly vcpus: number;
  readonly events: number;
  readonly violations: readonly ViolationRecord[];
  readonly entryFailures: readonly EntryFailureRecord[];
  /**
   * High limbs of the nanosecond sums, in units of 2^32 ns (src/run/totals.ts): present only when a
   * sum passed 2^52 ns; the value is `wideHi x 2^32 +` the field.
   */
  readonly wideHi?: readonly number[];
  /** KVM variants: halt_attempted_poll, halt_successful_poll, halt_wakeup, polled ns (src/run/totals.ts HaltPollStat). */
  readonly haltPoll?: readonly number[];
  /** Present when per-guest totals were collected. */
  readonly perGuest?: readonly GuestTotals[];
  /** Present with `series`: exits per time bucket and slot, bucket-major. */
  readonly seriesStepNs?: number;
  readonly series?: readonly number[];
}

export interface RunResults {
  readonly version: typeof RESULTS_VERSION;
  readonly tool: { readonly name: 'vmexit-lab'; readonly version: string; readonly modelVersion: string };
  readonly scenario: string;
  readonly file: string;
  readonly seed: number;
  readonly shard?: { readonly index: number; readonly count: number };
  readonly variants: readonly VariantResult[];
  /** Thresholds comparing variants (ratio(...)), evaluated over the whole run. */
  readonly crossVariantThresholds: readonly ThresholdOutcome[];
  readonly startedAt: string;
  readonly wallSeconds: number;
  /**
   * The run stopped before its end (cancelled, its wall-clock limit, a shutdown, a failed task):
   * the totals cover only what ran. Absent for a run that ran to its end. Added in 0.1 without a
   * version bump (fields are only ever added).
   */
  readonly partial?: true;
  /** Why the results are partial and what they hold, in a sentence. */
  readonly partialReason?: string;
}
