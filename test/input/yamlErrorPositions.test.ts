/**
 * Where a YAML syntax error is when yaml's parser, recovering from an earlier error, leaves line
 * breaks unreported (found by test/fuzz/scenarios.test.ts): the line counter was fed by the parser
 * only, so an error after such a break was placed on the line before it, at a column past that
 * line's end ('2:10' on a line of one character). Lines now come from the text itself.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseYaml } from '../../src/input/yaml.js';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

describe('YAML syntax errors after a recovered one', () => {
  it('the ":" on line 3 is reported at 3:8, not 2:10', () => {
    const { problems } = parseYaml('vcpu0 #\n0\nSamples:', { uniqueKeys: false });
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column}`),
      ['2:1', '3:8'],
    );
  });

  it('every diagnostic of a scenario with such a slip is inside its line', () => {
    const text = 'vcpu0 #\n0\nSamples:';
    try {
      parseScenario(text, 's.yaml');
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof ScenarioError, String(e));
      const lines = text.split('\n');
      for (const d of e.diagnostics)
        assert.ok(d.column <= (lines[d.line - 1] ?? '').length + 1, `${d.line}:${d.column}: ${d.message}`);
    }
  });
});
