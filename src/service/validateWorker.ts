/**
 * Validation worker (piscina loads the compiled dist/src/service/validateWorker.js): loads one
 * posted scenario off the service's main thread, under the time and memory bounds of
 * src/service/scenarioValidator.ts. Answers the typed Scenario (it travels back by structured
 * clone, as it travels to the simulation workers), or the loader's diagnostics.
 */
import { parseScenario } from '../scenario/load.js';
import { ScenarioError, type Diagnostic } from '../input/diagnostics.js';
import type { Scenario } from '../scenario/types.js';

export interface ValidateRequest {
  readonly yaml: string;
  /** How diagnostics name the text (request.yaml). */
  readonly file: string;
}

export type ValidateAnswer =
  | { readonly ok: true; readonly scenario: Scenario }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[]; readonly message: string };

export default function validate(req: ValidateRequest): ValidateAnswer {
  try {
    // A posted scenario must not make the server read its own files (workload profiles).
    return { ok: true, scenario: parseScenario(req.yaml, req.file, { workloadBaseDir: null }) };
  } catch (e) {
    if (e instanceof ScenarioError) return { ok: false, diagnostics: e.diagnostics, message: e.message };
    throw e;
  }
}
