/**
 * Every TypeScript file of src/, test/ and bench/ is at most 600 lines (CONTRIBUTING.md, "Layout"):
 * a file that grows past it holds more than one concept and is split by concept (the rule tables of
 * test/core/vmx/ and test/core/svm/ are one file per topic). No file is exempt.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';

const MAX_LINES = 600;
const ROOTS = ['src', 'test', 'bench'] as const;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Lines as an editor numbers them: a final newline ends the last line, it does not start another. */
function lineCount(text: string): number {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

const files = ROOTS.flatMap((root) => tsFiles(join(REPO_ROOT, root))).map((abs) => ({
  name: relative(REPO_ROOT, abs).split(sep).join('/'),
  lines: lineCount(readFileSync(abs, 'utf8')),
}));

test('lineCount counts lines as wc -l does for files that end in a newline, and a last unterminated line', () => {
  const cases: readonly (readonly [string, number])[] = [
    ['', 0],
    ['a', 1],
    ['a\n', 1],
    ['a\nb', 2],
    ['a\nb\n', 2],
    ['\n\n', 2],
  ];
  for (const [text, want] of cases) assert.equal(lineCount(text), want, JSON.stringify(text));
});

test(`every .ts file under ${ROOTS.join('/, ')}/ is at most ${MAX_LINES} lines`, () => {
  for (const root of ROOTS)
    assert.ok(
      files.some((f) => f.name.startsWith(`${root}/`)),
      `no .ts file under ${root}/`,
    );
  const over = files
    .filter((f) => f.lines > MAX_LINES)
    .sort((a, b) => b.lines - a.lines)
    .map((f) => `${f.name}: ${f.lines} lines`);
  assert.deepEqual(
    over,
    [],
    `over ${MAX_LINES} lines (split by concept, CONTRIBUTING.md "Layout"):\n${over.join('\n')}`,
  );
});
