/**
 * A YAML input with a control character YAML does not allow in a stream (YAML 1.2 c-printable) is
 * refused at it: yaml read them, so a NUL in a scenario's description ran and went on into its
 * results and reports (polish40). Tab, line feed and carriage return are text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { SMALL_SCENARIO as SCENARIO } from './helpers.js';

for (const [what, char, code] of [
  ['a NUL', '\u0000', 'U+0000'],
  ['an escape (a terminal colour code pasted in)', '\u001b', 'U+001B'],
  ['a form feed', '\u000c', 'U+000C'],
  ['DEL', '\u007f', 'U+007F'],
  ['a C1 control', '\u0090', 'U+0090'],
  ['U+FFFF', '\uffff', 'U+FFFF'],
] as const) {
  test(`${what} in a description is refused at it, with what YAML takes`, () => {
    assert.throws(
      () => parseScenario(`${SCENARIO}description: a${char}b\n`, 'x.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof ScenarioError);
        const d = e.diagnostics[0];
        assert.equal(d.message, `a control character (${code}) in the text`);
        assert.deepEqual([d.line, d.column], [7, 15]);
        assert.match(d.expected ?? '', /^printable text: YAML takes tab, line feed and carriage return/);
        return true;
      },
    );
  });
}

test('tab, CRLF, NEL and printable text outside ASCII load as before', () => {
  const s = parseScenario(
    `${SCENARIO}description: "a\tb \u0085 caf\u00e9 \u{1f600}"\n`.replace(/\n/g, '\r\n'),
    'x.yaml',
  );
  assert.match(s.description, /^a\tb/);
});
