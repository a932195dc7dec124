/**
 * Table-driven fixture tests: every file in test/fixtures/scenarios/bad/ states its expected
 * error on its first line (`# expect: LINE:COL message substring`); every file in good/ loads.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError, formatDiagnostic } from '../../src/input/diagnostics.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { FIXTURES } from './helpers.js';

const BAD = join(FIXTURES, 'bad');
const GOOD = join(FIXTURES, 'good');

interface Expectation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

function expectations(): Expectation[] {
  return readdirSync(BAD)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(BAD, file), 'utf8');
      const first = text.slice(0, text.indexOf('\n'));
      const m = /^# expect: (\d+):(\d+) (.+)$/.exec(first);
      assert.ok(m, `${file}: first line must be "# expect: LINE:COL message", found ${JSON.stringify(first)}`);
      return { file, line: Number(m[1]), column: Number(m[2]), message: m[3] };
    });
}

describe('bad scenario fixtures', () => {
  const table = expectations();

  it('has at least 30 distinct bad files', () => {
    assert.ok(table.length >= 30, `only ${table.length} bad fixtures`);
    const contents = new Set(table.map((e) => readFileSync(join(BAD, e.file), 'utf8').split('\n').slice(1).join('\n')));
    assert.equal(contents.size, table.length, 'two bad fixtures have the same content');
  });

  for (const e of table) {
    it(`${e.file}: ${e.line}:${e.column} ${e.message}`, () => {
      const path = join(BAD, e.file);
      let error: unknown;
      try {
        loadScenarioFile(path);
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof ScenarioError, `${e.file} should fail with a ScenarioError, got ${String(error)}`);
      const found = error.diagnostics.find(
        (d) => d.line === e.line && d.column === e.column && formatDiagnostic(d).includes(e.message),
      );
      assert.ok(
        found,
        `${e.file}: no diagnostic at ${e.line}:${e.column} containing ${JSON.stringify(e.message)}; got:\n${error.diagnostics.map(formatDiagnostic).join('\n')}`,
      );
      assert.equal(found.file, path);
      assert.ok(formatDiagnostic(found).startsWith(`${path}:${e.line}:${e.column}: error: `));
    });
  }
});

describe('good scenario fixtures', () => {
  const files = readdirSync(GOOD)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  it('has good fixtures', () => assert.ok(files.length >= 5));

  for (const file of files) {
    it(`${file} loads`, () => {
      const s = loadScenarioFile(join(GOOD, file));
      assert.ok(s.variants.length >= 1);
      assert.ok(Object.isFrozen(s));
    });
  }
});
