import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../src/model/data.js';
import { runBench, type BenchRun } from '../support/bench.js';

/** Run the compiled bench/instructions.ts with `args` (only --one and usage errors: no valgrind here). */
const instructions = (args: string[]): BenchRun => runBench('instructions', args);

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
