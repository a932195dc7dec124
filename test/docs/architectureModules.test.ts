/**
 * docs/ARCHITECTURE.md's module picture and "Modules" table against src/: the picture names every
 * top-level folder of src/, the table has a row for every folder of src/ and of src/core/ and no
 * row for a folder that is gone, and every `file.ts` a row names is a file of that row's folder
 * (or of a folder below it). test/docs/architecture.test.ts holds the "Dependencies" order to the
 * imports; test/docs/references.test.ts checks the repository paths the page writes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';

const SRC = join(REPO_ROOT, 'src');
const DOC = readFileSync(join(REPO_ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');

const folders = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);

/** The .ts files of a folder and the folders below it, by base name. */
function tsFiles(dir: string): Set<string> {
  const out = new Set<string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) for (const f of tsFiles(join(dir, e.name))) out.add(f);
    else if (e.name.endsWith('.ts')) out.add(e.name);
  }
  return out;
}

/** The module picture: the page's first fenced block. */
function picture(): string {
  const m = /^```[^\n]*\n([\s\S]*?)^```$/m.exec(DOC);
  assert.ok(m, 'docs/ARCHITECTURE.md opens with a fenced module picture');
  return m[1];
}

/** The rows of the "Modules" table: the folder (`src/...`) and the row's text. */
function moduleRows(): { folder: string; text: string }[] {
  const rows: { folder: string; text: string }[] = [];
  for (const line of DOC.split('\n')) {
    const m = /^\| `(src\/[\w/]+)` \|(.*)$/.exec(line);
    if (m) rows.push({ folder: m[1], text: m[2] });
  }
  return rows;
}

/** The folders a picture misses: `src/F` is named for each top-level folder F. */
export function missingFromPicture(text: string, names: readonly string[]): string[] {
  return names.filter((f) => !new RegExp(`(?<![\\w/])src/${f}(?![\\w-])`).test(text));
}

test('the module picture names every top-level folder of src/', () => {
  const top = folders(SRC);
  assert.ok(top.length >= 15, top.join(' '));
  assert.deepEqual(missingFromPicture(picture(), top), []);
  // The check itself: a picture without a folder is caught.
  assert.deepEqual(missingFromPicture(picture().replace(/src\/validation\b/g, 'validation'), top), ['validation']);
});

test('the "Modules" table has one row per folder of src/ and of src/core/, and no row for a folder that is gone', () => {
  const expected = [
    ...folders(SRC)
      .filter((f) => f !== 'core')
      .map((f) => `src/${f}`),
    ...folders(join(SRC, 'core')).map((f) => `src/core/${f}`),
  ].sort();
  const written = moduleRows().map((r) => r.folder);
  assert.equal(new Set(written).size, written.length, `a row twice: ${written.join(' ')}`);
  assert.deepEqual([...written].sort(), expected);
});

test("every file a row of the table names is in that row's folder", () => {
  const wrong: string[] = [];
  let named = 0;
  for (const { folder, text } of moduleRows()) {
    const files = tsFiles(join(REPO_ROOT, folder));
    for (const m of text.matchAll(/`([\w.]+\.ts)`/g)) {
      named++;
      if (!files.has(m[1])) wrong.push(`${folder}: ${m[1]}`);
    }
  }
  assert.ok(named >= 60, `only ${named} files named`);
  assert.deepEqual(wrong, []);
});
