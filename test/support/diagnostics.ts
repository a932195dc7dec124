import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

/** The first diagnostic of a scenario text that must not load (as x.yaml). */
export function diagnosticOf(text: string): { expected?: string; found?: string } {
  try {
    parseScenario(text, 'x.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    return e.diagnostics[0];
  }
  assert.fail('the text loads');
}
