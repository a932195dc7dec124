/**
 * docs/ARCHITECTURE.md is the one page that says where everything lives: every folder of src/ (and
 * of src/core/) has a row in its module table, every row names a folder that exists, and every file
 * it names in backquotes (`name.ts`) exists in the folder of its row.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `(src\/[a-z/]+)` \|(.*)$/gm)].map((m) => ({ folder: m[1], text: m[2] }));

const folders = (dir: string): string[] =>
  readdirSync(join(REPO_ROOT, dir))
    .filter((f) => statSync(join(REPO_ROOT, dir, f)).isDirectory() && f !== 'assets')
    .map((f) => `${dir}/${f}`);

test('every folder of src/ and src/core/ has a row in the module table, and every row a folder', () => {
  const actual = [...folders('src').filter((f) => f !== 'src/core'), ...folders('src/core')].sort();
  assert.deepEqual([...new Set(rows.map((r) => r.folder))].sort(), actual);
});

test("every file a row names in backquotes exists in the row's folder", () => {
  const missing: string[] = [];
  let named = 0;
  for (const r of rows) {
    for (const m of r.text.matchAll(/`([A-Za-z]+\.ts)`/g)) {
      named++;
      const found = [r.folder, ...folders(r.folder)].some((d) => existsSync(join(REPO_ROOT, d, m[1])));
      if (!found) missing.push(`${r.folder}: ${m[1]}`);
    }
  }
  assert.ok(named >= 50, `only ${named} files named`);
  assert.deepEqual(missing, []);
});
