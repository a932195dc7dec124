/**
 * A run request and the options a run takes from it: what POST /api/runs asks for (read field by
 * field in src/service/request.ts) or `vmexit-lab start` runs (src/service/server.ts), and the one
 * rule (`takenOptions`) by which a run is made from it (src/service/admission.ts) and an
 * Idempotency-Key compares two requests (src/service/idempotency.ts).
 */
import type { LoadedScenario } from './scenarios.js';

export interface SubmitRequest {
  /** Scenario YAML (inline) ... */
  readonly yaml?: string;
  /** ... or the name of one in scenarios/. */
  readonly name?: string;
  /** How diagnostics name inline YAML (default request.yaml). */
  readonly file?: string;
  readonly pace?: 'max' | 'realtime';
  readonly seed?: number;
  readonly timeLimitSeconds?: number;
  /**
   * The scenario already parsed, with its text (`vmexit-lab start --scenario FILE` parsed FILE to
   * check it before the service started): runContinuously takes it as it is, not parsing the text a
   * second time. In-process only: no HTTP request sets it (src/service/request.ts builds a request
   * field by field and refuses unknown fields), and `submit`, the API's way in, never reads it.
   */
  readonly loaded?: LoadedScenario;
}

/** What a scenario gives the options a request leaves out. */
export interface ScenarioDefaults {
  readonly seed: number;
  readonly pace: 'max' | 'realtime';
}

/** The options a run takes (its record's `options` has them). */
export interface TakenOptions {
  readonly pace: 'max' | 'realtime';
  readonly seed: number;
  readonly timeLimitSeconds: number;
}

/**
 * The options a run of `req` takes: the request's; for those it leaves out the scenario's seed and
 * pace and the service's time limit (`--max-run-time`), which also bounds the one it gives. The
 * one rule: a run is made with it, and an Idempotency-Key compares requests by it.
 */
export function takenOptions(req: SubmitRequest, defaults: ScenarioDefaults, maxRunSeconds: number): TakenOptions {
  return {
    pace: req.pace ?? defaults.pace,
    seed: req.seed ?? defaults.seed,
    timeLimitSeconds: Math.min(req.timeLimitSeconds ?? maxRunSeconds, maxRunSeconds),
  };
}
