/**
 * src/input/depth.ts through parseYaml: a text nested more than MAX_YAML_DEPTH levels deep is
 * refused where the level past the limit opens, before it is composed; below the limit the
 * document is the one yaml's parseDocument builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { MAX_YAML_DEPTH, TOO_DEEP } from '../../src/input/depth.js';
import { parseYaml } from '../../src/input/yaml.js';
import { REPO_ROOT } from '../../src/model/data.js';

const L = MAX_YAML_DEPTH;

/** The refusal's position (line:column), or undefined when the text parses. */
function refusedAt(text: string): string | undefined {
  const { problems } = parseYaml(text, { uniqueKeys: false });
  const deep = problems.filter((p) => p.message === TOO_DEEP.message);
  if (deep.length === 0) return undefined;
  assert.equal(problems.length, 1, 'the refusal is the only problem');
  assert.equal(deep[0].expected, TOO_DEEP.expected);
  return `${deep[0].line}:${deep[0].column}`;
}

/** Block mappings nested by indentation, `levels` deep: `k:` lines two spaces further in each. */
const blockMaps = (levels: number): string =>
  Array.from({ length: levels }, (_, i) => `${'  '.repeat(i)}k${i}:${i === levels - 1 ? ' x' : ''}`).join('\n') + '\n';

// [what, text of `levels` levels, where level L + 1 opens when levels = L + 1 (line:column)]
const SHAPES: [string, (levels: number) => string, string][] = [
  ['flow sequences [[[', (n) => `a: ${'['.repeat(n - 1)}${']'.repeat(n - 1)}\n`, `1:${3 + L}`],
  ['flow mappings {a: {a:', (n) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`, `1:${1 + 4 * L}`],
  ['block mappings by indentation', blockMaps, `${L + 1}:${1 + 2 * L}`],
  ['compact block sequences - - -', (n) => `${'- '.repeat(n)}x\n`, `1:${1 + 2 * L}`],
  ['complex keys ? ? ?', (n) => `${'? '.repeat(n)}x\n`, `1:${1 + 2 * L}`],
];

for (const [what, make, at] of SHAPES) {
  test(`${what}: ${L - 1} and ${L} levels parse, ${L + 1} is refused where it opens`, () => {
    assert.equal(refusedAt(make(L - 1)), undefined, `${L - 1} levels`);
    assert.equal(refusedAt(make(L)), undefined, `${L} levels`);
    assert.equal(refusedAt(make(L + 1)), at, `${L + 1} levels`);
  });
}

test("a block sequence at its mapping's indentation is a level of its own", () => {
  // `k:`, then `- k:` lines at the mapping's indentation (a sequence, and the mapping of its
  // entry: two levels a line), and a last entry `- x` (one) or `- k: x` (two).
  const text = (m: number, last: string): string =>
    ['k:', ...Array.from({ length: m }, (_, i) => `${'  '.repeat(i)}- k:`), `${'  '.repeat(m)}- ${last}`].join('\n') +
    '\n';
  const m = L / 2 - 1;
  assert.equal(refusedAt(text(m - 1, 'k: x')), undefined, `${L - 1} levels`);
  assert.equal(refusedAt(text(m, 'x')), undefined, `${L} levels`);
  assert.equal(refusedAt(text(m, 'k: x')), `${m + 2}:${2 * m + 3}`, `${L + 1} levels`);
});

test('brackets, dashes and indentation that are not structure count nothing', () => {
  const deep = `${'['.repeat(L + 50)}${'{'.repeat(L + 50)}`;
  const rows: [string, string][] = [
    ['double-quoted', `a: "${deep}"\n`],
    ['single-quoted', `a: '${deep}'\n`],
    ['double-quoted over lines', `a: "${deep}\n  ${deep}"\n`],
    ['plain scalar', `a: x ${deep}\n`],
    ['comment', `a: 1 # ${deep}\n# ${deep}\n`],
    [
      'block scalar',
      `a: |\n  ${deep}\n  ${'- '.repeat(L + 50)}x\n${Array.from({ length: L + 50 }, (_, i) => `  ${' '.repeat(i)}b:`).join('\n')}\nc: 1\n`,
    ],
    ['a deep comment block', Array.from({ length: L + 50 }, (_, i) => `${' '.repeat(i)}# x:`).join('\n') + '\na: 1\n'],
  ];
  for (const [what, text] of rows) {
    assert.equal(refusedAt(text), undefined, what);
    assert.equal(parseYaml(text, { uniqueKeys: false }).problems.length, 0, `${what}: valid YAML`);
  }
});

test('bad input that yaml nests while recovering is counted as it nests (each passed a bracket-and-indentation count)', () => {
  const rows: [string, string, string][] = [
    // `]` in quotes closes nothing: each `[ "]" ` opens a level.
    ['quoted closing brackets', `a: ${'[ "]" '.repeat(L)}\n`, `1:${4 + 6 * (L - 1)}`],
    // Nested compact mappings on one line: one mapping a key.
    ['keys on one line', `${'a: '.repeat(L + 1)}x\n`, `1:${1 + 3 * L}`],
    // An empty-keyed entry holding a stray `- -`: yaml nests the next key one level deeper, each time.
    ['stray dashes under empty keys', ': - -\na:\n'.repeat(L), `${2 * L - 1}:5`],
  ];
  for (const [what, text, at] of rows) {
    assert.ok(parseDocument(text).errors.length > 0, `${what}: bad YAML`);
    assert.equal(refusedAt(text), at, what);
  }
});

test('a 100,000-level flow text is refused at level 201 without recursing (the parser and its stack stop there)', () => {
  const text = `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
  assert.equal(refusedAt(text), `1:${3 + L}`);
});

/** A document as JavaScript, or what toJS threw (an alias bomb among the fixtures). */
function js(doc: { toJS(): unknown }): unknown {
  try {
    return doc.toJS();
  } catch (e) {
    return `threw ${(e as Error).message}`;
  }
}

test('below the limit parseYaml builds what parseDocument builds: every YAML file of the repository', () => {
  const walk = (d: string): string[] =>
    readdirSync(join(REPO_ROOT, d), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : /\.ya?ml$/.test(e.name) ? [join(d, e.name)] : [],
    );
  const files = ['scenarios', 'test/fixtures', 'data', 'deploy', 'grafana'].flatMap(walk);
  assert.ok(files.length > 100, `${files.length} files`);
  const extra = ['a: 1\n---\nb: 2\n', 'a: [1, 2\n', 'a: 1\na: 2\n', 'x: "unterminated\n', ''];
  for (const [name, text] of [
    ...files.map((f) => [f, readFileSync(join(REPO_ROOT, f), 'utf8')]),
    ...extra.map((t, i) => [`extra ${i}`, t]),
  ]) {
    for (const uniqueKeys of [false, true]) {
      const mine = parseYaml(text, { uniqueKeys });
      const theirs = parseDocument(text, { prettyErrors: false, uniqueKeys, version: '1.2' });
      assert.deepEqual(js(mine.doc), js(theirs), name);
      assert.deepEqual(
        mine.problems.map((p) => `${p.line}:${p.column} ${p.warning ? 'warning' : 'error'}`),
        [
          ...theirs.errors.map((e) => [e, 'error'] as const),
          ...theirs.warnings.map((e) => [e, 'warning'] as const),
        ].map(([e, kind]) => `${mine.lc.linePos(e.pos[0]).line}:${mine.lc.linePos(e.pos[0]).col} ${kind}`),
        name,
      );
    }
  }
});
