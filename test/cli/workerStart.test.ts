/**
 * A damaged install whose pool worker throws while loading (a half-written dist/src/bundle/worker.js):
 * `vmexit-lab run` printed nothing and never ended, and `vmexit-lab serve` printed nothing and exited
 * 0 (its start-up waited on a pool close that only an unref'd timer would end, src/pool/pool.ts
 * close). Now both say which worker file could not start and why, and `run` exits 3 (docs/CLI.md,
 * "Exit statuses": an internal error) with no file written.
 *
 * The install is a copy of the built tree in a temporary directory, its bundle replaced: the
 * production paths are the ones under test, and the repository's own build is left alone.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

const install = mkdtempSync(join(tmpdir(), 'vmexit-lab-broken-'));
after(() => rmSync(install, { recursive: true, force: true }));

mkdirSync(join(install, 'dist'));
cpSync(join(REPO_ROOT, 'dist', 'src'), join(install, 'dist', 'src'), { recursive: true });
cpSync(join(REPO_ROOT, 'package.json'), join(install, 'package.json'));
for (const d of ['node_modules', 'data', 'scenarios']) symlinkSync(join(REPO_ROOT, d), join(install, d));
// Written after the copy, so it is newer than every file tsc wrote: the pool loads it (pool.ts workerFile).
writeFileSync(join(install, 'dist', 'src', 'bundle', 'worker.js'), "throw new Error('broken worker');\n");

/** The CLI of the damaged install, from its root; a hang is killed after a minute (status null). */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join('dist', 'src', 'cli', 'main.js'), ...args], {
    cwd: install,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CI: 'true' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const NOT_STARTED = 'a simulation worker could not start (dist/src/bundle/worker.js): Error: broken worker';

test('run: a worker that cannot load fails the run with exit 3, naming the worker file and its error', () => {
  const r = cli('run', '-q', '-o', 'results.json', 'scenarios/default.yaml');
  assert.equal(r.status, 3, `exit status (null: killed, hung)\n${r.stderr}`);
  assert.equal(r.stdout, '', 'no summary table: nothing ran');
  assert.equal(
    r.stderr,
    `vmexit-lab run: default-mixed-fleet: ${NOT_STARTED}\nvmexit-lab run: not written: results.json (the run failed)\n`,
  );
  assert.equal(existsSync(join(install, 'results.json')), false);
});

test('serve: a worker that cannot load is a service that does not start, and says why', () => {
  const r = cli('serve', '--port', '0', '--data-dir', 'history');
  // 3, an internal error as `run` says for the same cause: 0 said nothing and ended, 2 blamed the caller.
  assert.equal(r.status, 3, `exit status (null: killed, hung)\n${r.stderr}`);
  assert.equal(r.stdout, '', 'no URLs: it is not listening');
  assert.equal(r.stderr, `vmexit-lab serve: cannot start the service: ${NOT_STARTED}\n`);
});
