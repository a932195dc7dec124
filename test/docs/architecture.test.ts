/**
 * docs/ARCHITECTURE.md "Dependencies" writes the folders of src/ from the bottom up; a folder
 * imports only folders below it. This holds the written order to the imports (type-only ones
 * included, read as test/layout/imports.test.ts reads them), so the page cannot keep an order the
 * code left: every folder is in the list once, and every import between two folders goes down.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../../src/model/data.js';

const SRC = join(REPO_ROOT, 'src');
const DOC = readFileSync(join(REPO_ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');

/** The written order: one group of folders per level, bottom first ('dashboards' imports none). */
function levels(): string[][] {
  const start = DOC.indexOf('From the bottom:');
  assert.ok(start >= 0, 'ARCHITECTURE.md "Dependencies" says "From the bottom:"');
  const text = DOC.slice(start + 'From the bottom:'.length, DOC.indexOf('(and `dashboards`', start));
  // A parenthesis explains a level; its backquoted names are not levels.
  return text
    .replace(/\([^)]*\)/g, '')
    .split(';')
    .map((group) => [...group.matchAll(/`([a-z]+)`/g)].map((m) => m[1]))
    .filter((g) => g.length > 0);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Imports from one top-level folder of src/ into another, as "from -> to: file imports target". */
function folderImports(): { from: string; to: string; where: string }[] {
  const out: { from: string; to: string; where: string }[] = [];
  const name = (abs: string): string => relative(SRC, abs).split(sep).join('/');
  for (const file of sources(SRC)) {
    const from = name(file).split('/');
    if (from.length < 2) continue; // src/version.ts, a file of its own
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName.replace(/\.js$/, '.ts'));
      const to = name(target).split('/');
      if (existsSync(target) && to.length >= 2 && to[0] !== from[0])
        out.push({ from: from[0], to: to[0], where: `${name(file)} imports ${name(target)}` });
    }
  }
  return out;
}

test('"Dependencies" names every folder of src/ once, dashboards aside', () => {
  const written = levels().flat();
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'dashboards')
    .map((e) => e.name);
  assert.equal(new Set(written).size, written.length, `a folder twice: ${written.join(' ')}`);
  assert.deepEqual([...written].sort(), folders.sort());
});

test('every import between two folders of src/ goes to a folder written below it; dashboards imports none', () => {
  const level = new Map(levels().flatMap((g, i) => g.map((f) => [f, i] as const)));
  const imports = folderImports();
  assert.ok(imports.length >= 100, `only ${imports.length} imports between folders`);
  const upward = imports
    .filter((i) => i.from === 'dashboards' || i.to === 'dashboards' || level.get(i.to)! >= level.get(i.from)!)
    .map((i) => `${i.from} -> ${i.to}: ${i.where}`);
  assert.deepEqual(upward, []);
});
