/**
 * The caps one run is held to, and the service's limits they come from: --max-guests,
 * --max-duration, --max-run-time (a realtime run's length), --max-run-cost (by default
 * --max-run-time x workers), the scenario's cardinalityBudget and --max-series. One rule for a scenario posted to the service (POST /api/runs
 * answers 422, src/service/admission.ts) and for the scenario `vmexit-lab start` runs (refused before the
 * service starts, src/cli/commands/start.ts).
 */
import { durationLimitNs, totalGuests, type Scenario } from '../scenario/types.js';
import { expectedSeries, overBudget } from '../metrics/cardinality.js';
import { ApiError } from './errors.js';
import { overCostMessage, predictCost } from './cost.js';

export interface ServiceLimits {
  /** Guests one run may simulate (all variants and hosts). */
  readonly maxGuests: number;
  /** Simulated seconds one run may last (duration, or maxDuration for until-complete). */
  readonly maxDurationSeconds: number;
  /** Max-pace runs in progress at once (they share the workers fairly); more wait queued. */
  readonly maxConcurrentRuns: number;
  /** Realtime runs in progress at once (threads of their own); more wait queued. */
  readonly maxRealtimeRuns: number;
  /** Runs waiting in the queue (all lanes); more get 429. */
  readonly maxQueued: number;
  /** Wall-clock limit of a run (a request may ask for less). */
  readonly maxRunSeconds: number;
  /** Predicted cost one run may have, host CPU core-seconds (src/service/cost.ts); default maxRunSeconds x workers. */
  readonly maxRunCost?: number;
  /** Scenario series /metrics exports at once: the ceiling clients cannot raise (docs/SERVICE.md "Series"). */
  readonly maxSeries: number;
  /** A scenario's series leave /metrics this long after its last run ended (the history keeps the numbers). */
  readonly retireAfterSeconds: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  maxGuests: 20_000,
  maxDurationSeconds: 3_600,
  maxConcurrentRuns: 4,
  maxRealtimeRuns: 2,
  maxQueued: 32,
  maxRunSeconds: 3_600,
  maxSeries: 20_000,
  retireAfterSeconds: 3_600,
};

/** The service's limits: the defaults under `limits`, the cost cap by default --max-run-time x workers. */
export function serviceLimits(
  limits: Partial<ServiceLimits> | undefined,
  workers: number,
): ServiceLimits & { readonly maxRunCost: number } {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  return { ...merged, maxRunCost: merged.maxRunCost ?? merged.maxRunSeconds * workers };
}

/** What a run's caps are checked against. */
export interface CapsContext {
  readonly limits: ServiceLimits & { readonly maxRunCost: number };
  /** Workers of the service (the cost message says how long they would take). */
  readonly workers: number;
  /** Per-guest metric series (serve --per-guest-metrics): they count against the series caps. */
  readonly perGuest: boolean;
}

/** The caps checkCaps holds a scenario to, in the order it checks and names them. */
export type Cap = 'guests' | 'duration' | 'realtime_length' | 'cost' | 'cardinality_budget' | 'series';

/**
 * One cap a scenario is over: its message (the scenario's figure, the cap, the option), and the
 * service option that raises the cap with the least value that would admit the scenario; option
 * and atLeast are absent where no option does (the scenario's own cardinalityBudget).
 */
export interface CapExceeded {
  readonly cap: Cap;
  readonly option?: string;
  readonly atLeast?: number;
  readonly message: string;
}

/**
 * A scenario over one or more of a run's caps (422 `limit_exceeded`), every one it is over, in
 * checkCaps' order: refused once, not once per cap fixed. The message is the one cap's message, or
 * all of them numbered; the body adds them as a list, `error.exceeded` (docs/SERVICE.md, "Errors").
 */
export class OverCapError extends ApiError {
  constructor(readonly exceeded: readonly CapExceeded[]) {
    super(
      422,
      'limit_exceeded',
      exceeded.length === 1
        ? exceeded[0].message
        : `the scenario is over ${exceeded.length} caps: ${exceeded.map((x, i) => `(${i + 1}) ${x.message.replace(/\.?$/, '.')}`).join(' ')}`,
    );
  }

  override body(): { error: Record<string, unknown> } {
    const { error } = super.body();
    return { error: { ...error, exceeded: this.exceeded } };
  }
}

/**
 * Hold `scenario` to the caps above, in the order of Cap (the file's header says where this rule is
 * used). Throws OverCapError naming every cap the scenario is over; else the run's figures. Every
 * figure is computed whatever the others are: each is a sum over the scenario's variants and guest
 * specs, not over its guests (a 100,000-guest scenario costs what a 1-guest one does to check).
 */
export function checkCaps(scenario: Scenario, c: CapsContext): { guests: number; cost: number; series: number } {
  const L = c.limits;
  const exceeded: CapExceeded[] = [];
  const guests = totalGuests(scenario);
  if (guests > L.maxGuests)
    exceeded.push({
      cap: 'guests',
      option: '--max-guests',
      atLeast: guests,
      message: `the scenario simulates ${guests} guests; this service allows at most ${L.maxGuests} per run (--max-guests)`,
    });
  const durationS = durationLimitNs(scenario) / 1e9;
  if (durationS > L.maxDurationSeconds)
    exceeded.push({
      cap: 'duration',
      option: '--max-duration',
      atLeast: Math.ceil(durationS),
      message: `the scenario lasts up to ${durationS} simulated seconds; this service allows at most ${L.maxDurationSeconds} (--max-duration)`,
    });
  // A realtime run takes its simulated seconds in wall seconds, and --max-run-time stops any run at
  // that wall time: a fixed-duration realtime scenario longer than it could only ever end partial.
  // (An until-complete one may finish before its maxDuration, so it is not refused here.)
  if (scenario.pace === 'realtime' && scenario.duration.kind === 'fixed' && durationS > L.maxRunSeconds)
    exceeded.push({
      cap: 'realtime_length',
      option: '--max-run-time',
      atLeast: Math.ceil(durationS),
      message: `the scenario runs at realtime pace for ${durationS} s; this service stops a run after ${L.maxRunSeconds} s (--max-run-time), so it could only end partial`,
    });
  const cost = predictCost(scenario);
  if (cost.coreSeconds > L.maxRunCost)
    exceeded.push({
      cap: 'cost',
      option: '--max-run-cost',
      atLeast: Math.ceil(cost.coreSeconds),
      message: overCostMessage(scenario.name, cost, L.maxRunCost, c.workers),
    });
  const over = overBudget(scenario, { perGuest: c.perGuest });
  if (over !== undefined) exceeded.push({ cap: 'cardinality_budget', message: over });
  const series = expectedSeries(scenario, { perGuest: c.perGuest }).total;
  if (series > L.maxSeries)
    exceeded.push({
      cap: 'series',
      option: '--max-series',
      atLeast: series,
      message: `scenario ${scenario.name} would create ${series} metric series; this service exports at most ${L.maxSeries} (--max-series, a ceiling the scenario's cardinalityBudget cannot raise)`,
    });
  if (exceeded.length > 0) throw new OverCapError(exceeded);
  return { guests, cost: cost.coreSeconds, series };
}
