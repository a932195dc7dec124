import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

/**
 * docs/SERVICE.md "Hostile input: what is checked" and the tests it names. A row names the test that
 * checks it by the start of its title (a test of test/service/) or by its file. The files whose
 * header says so (MARK) have every test named by a row: a test added there without a row, or a row
 * whose test was renamed, fails here. No file name is written here: the files say it themselves.
 */

/** What a test file of test/service/ says in its header (a line of its doc comment) when the table names each of its tests. */
const MARK = /^ \* .*names each test of this file by its title/m;

const dir = join(REPO_ROOT, 'test', 'service');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
const titlesOf = (text: string): string[] => [...text.matchAll(/^test\(\s*'([^']+)'/gm)].map((m) => m[1]);

test('docs/SERVICE.md "Hostile input": every fixed row names a test of test/service/ or a test file that exists, and every test of the files that say so has a row', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const start = doc.indexOf('## Hostile input: what is checked');
  assert.ok(start > 0, 'the section exists');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| tried') && !l.startsWith('|---'));
  assert.ok(rows.length >= 20, `${rows.length} rows`);
  const marked = files.filter((f) => MARK.test(f.text));
  assert.ok(marked.length >= 5, `${marked.length} files say the table names their tests`);
  const titles = files.flatMap((f) => titlesOf(f.text));
  const named = new Set<string>();
  for (const row of rows) {
    const cells = row.split(' | ');
    const checkedBy = cells[cells.length - 1];
    const refs = [...checkedBy.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((r) => !/[./]/.test(r)); // file names are not titles
    for (const r of refs) {
      assert.ok(
        titles.some((t) => t.startsWith(r)),
        `"${r}" (${row.slice(0, 60)}...) is no test title of test/service/`,
      );
      named.add(r);
    }
    // A file named instead (a finding tested in a file of its own): it exists, in test/service/, test/ or a
    // folder of test/.
    const fileRefs = [...checkedBy.matchAll(/`([^`]+\.test\.ts)`/g)].map((m) => m[1]);
    for (const f of fileRefs)
      assert.ok(
        [
          join(REPO_ROOT, f),
          join(REPO_ROOT, 'test', f),
          ...readdirSync(join(REPO_ROOT, 'test')).map((d) => join(REPO_ROOT, 'test', d, f)),
        ].some((x) => existsSync(x)),
        `${f} (${row.slice(0, 60)}...) names no test file`,
      );
    if (/\*\*fixed\*\*/.test(row))
      assert.ok(refs.length + fileRefs.length > 0, `a fixed row names its test: ${row.slice(0, 80)}`);
  }
  for (const f of marked)
    for (const t of titlesOf(f.text))
      assert.ok(
        [...named].some((r) => t.startsWith(r)),
        `test "${t}" of ${f.name} has no row in the section`,
      );
});
