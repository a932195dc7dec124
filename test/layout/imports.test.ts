/**
 * The import graph of src/ has no cycle: neither between files nor between the top-level folders
 * (src/run, src/pool, src/metrics, ...; a file directly in src/ counts as a folder of its own).
 * Type-only imports count too: a cycle of types is still two modules that cannot be read apart.
 * The imports are read with TypeScript's own pre-processor (import, export ... from, import()).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../../src/model/data.js';

const SRC = join(REPO_ROOT, 'src');

type Graph = ReadonlyMap<string, readonly string[]>;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** File -> the files it imports (paths relative to src/, '/'-separated). */
function fileGraph(): { graph: Map<string, string[]>; unresolved: string[] } {
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  const name = (abs: string): string => relative(SRC, abs).split(sep).join('/');
  for (const file of sources(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: built-ins
      const target = resolve(dirname(file), fileName.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) unresolved.push(`${name(file)}: ${fileName}`);
      else deps.add(name(target));
    }
    graph.set(name(file), [...deps].sort());
  }
  return { graph, unresolved };
}

/** The top-level folder of a path below src/ (a file directly in src/ is its own). */
function folderOf(file: string): string {
  return file.split('/')[0];
}

function folderGraph(files: Graph): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [f, deps] of files) {
    const from = folderOf(f);
    if (!out.has(from)) out.set(from, new Set());
    for (const d of deps) if (folderOf(d) !== from) out.get(from)!.add(folderOf(d));
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** Every cycle's nodes, one list per strongly connected component of more than one node (or a self-loop). */
function cycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** One closed path through a cycle's nodes, for the message: a -> b -> a. */
function path(graph: Graph, nodes: readonly string[]): string {
  const inside = new Set(nodes);
  const start = nodes[0];
  const seen = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const back: string[] = [v];
        for (let x = v; x !== start; x = seen.get(x)!) back.push(seen.get(x)!);
        return [...back.reverse(), start].join(' -> ');
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return nodes.join(', ');
}

const { graph: files, unresolved } = fileGraph();

test('the import graph of src/ is read: every relative import names a file', () => {
  assert.ok(files.size > 50, `${files.size} files read`);
  assert.deepEqual(unresolved, []);
});

test('the cycle finder finds a cycle, and only one', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
  ]);
  assert.deepEqual(cycles(g), [['a', 'b', 'c']]);
  assert.equal(path(g, ['a', 'b', 'c']), 'a -> b -> c -> a');
  assert.deepEqual(cycles(new Map([['a', ['a']]])), [['a']]);
  assert.deepEqual(cycles(new Map([['a', ['b']]])), []);
});

test('no import cycle between files of src/', () => {
  const found = cycles(files).map((c) => path(files, c));
  assert.deepEqual(found, [], `import cycles:\n  ${found.join('\n  ')}`);
});

test('no import cycle between the top-level folders of src/', () => {
  const folders = folderGraph(files);
  const found = cycles(folders).map((c) => {
    // Name the file imports that close the cycle, so the fix is easy to find.
    const inside = new Set(c);
    const edges = [...files].flatMap(([f, deps]) =>
      deps
        .filter((d) => folderOf(d) !== folderOf(f) && inside.has(folderOf(f)) && inside.has(folderOf(d)))
        .map((d) => `    ${f} -> ${d}`),
    );
    return `${path(folders, c)}\n${edges.join('\n')}`;
  });
  assert.deepEqual(found, [], `folder cycles:\n  ${found.join('\n  ')}`);
});
