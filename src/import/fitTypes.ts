/** The import fit's configuration, its table's rows and its result (the types fit.ts works with). */
import type { CpuProfile } from '../core/cpu/profile.js';
import type { PolicyName, Tunables } from '../core/hypervisor/policy.js';
import type { ModelData } from '../model/data.js';
import type { GuestOsName, WorkloadProfile } from '../scenario/types.js';

export interface FitConfig {
  readonly name: string;
  readonly os: GuestOsName;
  readonly vcpus: number;
  readonly x2apic: boolean;
  readonly cpu: CpuProfile;
  readonly policy: PolicyName;
  readonly tunables: Tunables;
  /** The measured host's tick (Hz), when stated (import --host-tick-hz); absent: its OS's default. */
  readonly hostTickHz?: number;
  /** Simulated seconds per fit iteration. */
  readonly simSeconds: number;
  readonly seed: number;
  readonly maxIterations: number;
  /** Device interrupts per vCPU per second, pinned; default: fitted, starting at 2 x the HLT rate (see fitWorkload). */
  readonly interruptsPerSecond?: number;
  readonly data: ModelData;
  readonly source?: Readonly<Record<string, unknown>>;
  /** The report's time per exit to carry into the profile (import --carry-exit-times). */
  readonly measuredTimePerExit?: WorkloadProfile['measuredTimePerExit'];
  /**
   * Called after each iteration's simulation with its number (from 1) and the worst relative error
   * over the measured reasons, in percent (Infinity: a reason not produced yet): the CLI's progress.
   */
  readonly onIteration?: (iteration: number, worstPercent: number) => void;
}

export interface FitRow {
  readonly reason: string;
  /** What was fitted to it: a profile rate, "interrupts", "opaque", or "-" (not driven: a consequence of others). */
  readonly driver: string;
  /** Exits per vCPU per second. */
  readonly measured: number;
  readonly simulated: number;
  /** (simulated - measured) / measured x 100; null when nothing was measured. */
  readonly errorPercent: number | null;
}

export interface FitResult {
  readonly profile: WorkloadProfile;
  readonly rows: readonly FitRow[];
  readonly iterations: number;
  /** Measured reasons the model has no exit kind for (not simulated). */
  readonly unmodelled: readonly { readonly reason: string; readonly perSecond: number }[];
  /** What the fit assumed beyond the report (e.g. the %cr8 prior), in words. */
  readonly notes: readonly string[];
  /** The largest |error| in % over the fitted reasons (what --max-error judges; rows with errorPercent). */
  readonly worstErrorPercent: number;
  /** Why the best in-range fit misses the report, in words (empty when it reaches it); see MISS_PERCENT. */
  readonly misses: readonly string[];
  /**
   * The largest |error| in % over the reasons in `misses` (0 when none): what the fit misses by, where
   * worstErrorPercent may be a reason inside its sampling noise (one exit of a rare reason not drawn).
   */
  readonly worstMissPercent: number;
}

/** Measured exits per vCPU per second, by exit name (names as in EXIT_KINDS; others are unmodelled). */
export type MeasuredRates = ReadonlyMap<string, number>;
