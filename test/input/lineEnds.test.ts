/**
 * Line ends: YAML 1.2 (section 5.4, b-break) ends a line at LF, at CR LF and at a CR alone (old Mac
 * files). yaml's lexer took a lone CR for no break, so such a scenario was read as one line of
 * syntax errors ('1:7', '1:42', ...). src/input/yaml.ts parseYaml reads it as the spec does.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseYaml } from '../../src/input/yaml.js';
import { parseScenario } from '../../src/scenario/load.js';

const LINES = [
  'name: line-ends',
  'description: |',
  '  two lines',
  '  of text',
  'host: { cpu: i7-6700K, cores: 4 }',
  'hypervisor: { policy: kvm }',
  'guests:',
  '  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle }] }',
  'duration: 1s',
  '',
];

for (const [ends, eol] of [
  ['CR LF', '\r\n'],
  ['a CR alone', '\r'],
  ['mixed LF, CR LF and CR', undefined],
] as const) {
  test(`a scenario with ${ends} line ends reads as the same scenario with LF`, () => {
    const text = eol === undefined ? LINES.map((l, i) => l + ['\n', '\r\n', '\r'][i % 3]).join('') : LINES.join(eol);
    const want = parseScenario(LINES.join('\n'), 's.yaml');
    assert.deepEqual(parseScenario(text, 's.yaml'), want);
    assert.equal(want.description, 'two lines\nof text\n');
  });
}

test('an error in a file of lone CRs is on its own line and column, as in the same file with LF', () => {
  const bad = LINES.map((l) => (l.startsWith('duration') ? 'duration: forever' : l));
  const where = (text: string): string[] => {
    try {
      parseScenario(text, 's.yaml');
    } catch (e) {
      assert.ok(e instanceof ScenarioError, String(e));
      return e.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`);
    }
    return assert.fail('accepted');
  };
  const lf = where(bad.join('\n'));
  assert.equal(lf.length, 1);
  assert.match(lf[0], /^9:11 /);
  assert.deepEqual(where(bad.join('\r')), lf);
});

test('a YAML syntax error after lone CRs is placed on its line', () => {
  const { problems } = parseYaml('a: 1\rb: [1, 2\rc: 3\r', { uniqueKeys: true });
  const lf = parseYaml('a: 1\nb: [1, 2\nc: 3\n', { uniqueKeys: true }).problems;
  assert.ok(lf.length > 0);
  assert.deepEqual(
    problems.map((p) => `${p.line}:${p.column}`),
    lf.map((p) => `${p.line}:${p.column}`),
  );
  assert.ok(problems.every((p) => p.line > 1 || p.column <= 5));
});

test('a control character in a file of lone CRs is refused on its own line', () => {
  const text = LINES.map((l) => (l.startsWith('hypervisor') ? 'hypervisor: { policy: kvm } # \u0000' : l)).join('\r');
  assert.throws(
    () => parseScenario(text, 's.yaml'),
    (e: unknown) => e instanceof ScenarioError && e.diagnostics.length === 1 && e.diagnostics[0].line === 6,
  );
});
