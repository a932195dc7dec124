/**
 * src/input/document.ts: the opening every YAML input kind shares (size, parse, nesting, root
 * mapping), here through the two kinds that use it whole: workload profiles and validation cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { openYamlMapping } from '../../src/input/document.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { parseValidationCase } from '../../src/validation/load.js';

const KIND = { noun: 'test input', maxBytes: 64, maxAliases: 10 };
const deep = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

function messages(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ScenarioError)
      return e.diagnostics.map(
        (d) =>
          `${d.line}:${d.column} ${d.message}${d.expected !== undefined ? ` (expected ${d.expected}, found ${d.found})` : ''}`,
      );
    throw e;
  }
  assert.fail('no error');
}

// [input, the message expected (line:column message)]: one row per way an input fails to open.
const ROWS: [string, string, RegExp][] = [
  [
    'too large',
    `a: ${'x'.repeat(80)}\n`,
    /^1:1 test input is too large \(expected at most 64 bytes, found undefined\)$/,
  ],
  ['empty', '', /^1:1 wrong type for the test input \(expected a mapping, found nothing\)$/],
  ['not a mapping', '- a\n- b\n', /^1:1 wrong type for the test input \(expected a mapping, found a list\)$/],
  ['YAML syntax', 'a: [1, 2\n', /YAML/],
  [
    'nested too deeply',
    `a: ${deep(20_000)}\n`,
    /^1:203 YAML nested too deeply: a collection 201 levels deep opens here/,
  ],
];

for (const [what, text, want] of ROWS)
  test(`openYamlMapping refuses: ${what}`, () => {
    const kind = what === 'nested too deeply' ? { ...KIND, maxBytes: 1 << 20 } : KIND;
    const m = messages(() => openYamlMapping(text, 'in.yaml', kind));
    assert.ok(
      m.some((x) => want.test(x)),
      m.join('\n'),
    );
  });

test('openYamlMapping gives the root mapping of a good input', () => {
  const { root, sink } = openYamlMapping('a: 1\nb: two\n', 'in.yaml', KIND);
  assert.deepEqual(
    root.items.map((p) => String((p.key as { value: unknown }).value)),
    ['a', 'b'],
  );
  assert.doesNotThrow(() => sink.throwIfAny());
});

test('profiles and validation cases open the same way: too deep and empty say so, by their own names', () => {
  for (const [parse, noun] of [
    [parseWorkloadProfile, 'workload profile'],
    [parseValidationCase, 'validation case'],
  ] as const) {
    assert.ok(
      messages(() => parse(`x: ${deep(20_000)}\n`, 'deep.yaml')).some((m) => /YAML nested too deeply/.test(m)),
      noun,
    );
    assert.deepEqual(
      messages(() => parse('', 'empty.yaml')),
      [`1:1 wrong type for the ${noun} (expected a mapping, found nothing)`],
    );
  }
});
