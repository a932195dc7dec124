import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../src/model/data.js';

/** Run the compiled bench/instructions.ts with `args` (only --one and usage errors: no valgrind here). */
function instructions(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'instructions.js'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('instructions: an argument ending in .js is one engine module (a bundle) and runs the same events as the build DIR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-module-'));
  try {
    // One module that exports what --one takes from a build, as docs/perf/bundle.md's bundle does.
    const from = (path: string): string => JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', path)).href);
    const engine = join(dir, 'engine.js');
    writeFileSync(
      engine,
      `export { scenarios } from ${from('bench/cases.js')};\n` +
        `export { runHosts } from ${from('src/run/simulate.js')};\n` +
        `export { TotalsAccumulator } from ${from('src/run/totals.js')};\n` +
        `export { loadModelData } from ${from('src/model/data.js')};\n`,
    );
    const viaModule = instructions(['--one', engine, '--case', 'idle-fleet', '--seconds', '1']);
    assert.equal(viaModule.status, 0, viaModule.stderr);
    const viaDir = instructions(['--one', REPO_ROOT, '--case', 'idle-fleet', '--seconds', '1']);
    assert.equal(viaDir.status, 0, viaDir.stderr);
    const events = (JSON.parse(viaModule.stdout) as { events: number }).events;
    assert.ok(events > 0, viaModule.stdout);
    assert.deepEqual(JSON.parse(viaModule.stdout), JSON.parse(viaDir.stdout));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('instructions: a missing engine module is a usage error before valgrind runs', () => {
  const r = instructions(['--predictable', '--seconds', '20', join(tmpdir(), 'no-such-dir', 'engine.js')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no-such-dir\/engine\.js: no such engine module/);
  assert.equal(r.stdout, '');
});
