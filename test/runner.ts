/**
 * `npm test`: node's test runner over the compiled test files, `dist/test/**\/*.test.js`, and nothing
 * else. Given a directory, Node 20 runs every .js file below a `test` folder as a test file, so
 * helper modules (test/support/*, test/deploy/kustomize.ts, ...) used to show up as passing
 * "tests"; and its --test takes no glob (Node 21 does), hence this list.
 *
 *   node dist/test/runner.js                          every test file (what `npm test` runs)
 *   node dist/test/runner.js pool service/api.test.js the test files below dist/test/pool/, and one file
 *   node dist/test/runner.js --test-name-pattern=cancel pool
 *
 * Arguments starting with "-" go to node as they are; the others name files or folders below
 * dist/test/ (a test/... source path works too). The output is node's own spec reporter and summary.
 * A compiled test whose test/...ts source is gone (moved or deleted; tsc leaves its old output in
 * dist/) is not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TESTS = dirname(fileURLToPath(import.meta.url));
/** The sources: dist/test/x.test.js was compiled from test/x.test.ts. */
const SOURCES = join(TESTS, '..', '..', 'test');

/** The *.test.js files below `dir` (or `dir` itself), sorted by name. */
function testFiles(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** The compiled test's source still exists (a moved test leaves its old output behind in dist/). */
function hasSource(file: string): boolean {
  return existsSync(join(SOURCES, relative(TESTS, file)).replace(/\.js$/, '.ts'));
}

/** A file or folder named on the command line, as a path below dist/test/. */
function below(arg: string): string {
  const p = arg.replace(/^(?:\.\/)?(?:dist\/)?test\//, '').replace(/\.ts$/, '.js');
  const full = resolve(TESTS, p);
  if (relative(TESTS, full).startsWith('..') || !existsSync(full))
    throw new Error(`no test file or folder ${arg} below ${relative(process.cwd(), TESTS) || '.'}`);
  return full;
}

function main(args: readonly string[]): number {
  const nodeArgs = args.filter((a) => a.startsWith('-'));
  const picked = args.filter((a) => !a.startsWith('-'));
  let files: string[];
  try {
    files = (picked.length === 0 ? [TESTS] : picked.map(below)).flatMap(testFiles).filter(hasSource);
  } catch (e) {
    process.stderr.write(`test runner: ${(e as Error).message}\n`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write('test runner: no *.test.js files\n');
    return 2;
  }
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...nodeArgs, ...files], {
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

process.exitCode = main(process.argv.slice(2));
