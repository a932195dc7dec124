import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

/** The fresh-eyes pass of 2026-12-05 (docs/CLI.md, "Bad input"): each test failed before its fix. */

function diagnosticOf(text: string): { expected?: string; found?: string } {
  try {
    parseScenario(text, 'x.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    return e.diagnostics[0];
  }
  assert.fail('the text loads');
}

test('an empty or comments-only scenario: expected names the required keys only (it named host and hypervisor, which are optional) and found says why there is nothing', () => {
  for (const text of ['', '\n\n', '# yaml-language-server: $schema=scenarios/scenario.schema.json\n# name: x\n']) {
    const d = diagnosticOf(text);
    assert.equal(d.expected, 'a mapping with at least name and guests (docs/SCENARIOS.md has every key)', text);
    assert.equal(d.found, 'nothing: the file is empty or holds only comments', text);
  }
  // A document that is something else still says what it is.
  assert.equal(diagnosticOf('just a string\n').found, 'string "just a string"');
  // What the expectation says is so: name and guests alone make a scenario (host.cpu comes from the matrix).
  parseScenario(
    'name: x\nguests: [{ os: freebsd-12.1 }]\nmatrix: { cpu: [i7-6700K], policy: [bhyve-12.1] }\n',
    'x.yaml',
  );
});
