/**
 * bench/run.ts --engine tsc|bundle: the engine bench measures the engine the pool's workers run,
 * rollup's bundle dist/bundle/bench/engine.js, when the build made a current one (the freshness rule
 * of the pool's worker, src/pool/bundleFresh.ts), else tsc's modules with a notice. Before it the
 * bench ran tsc's modules only and said nothing about which engine it measured (issue #16).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { bundleState } from '../../src/pool/bundleFresh.js';
import { runBench, type BenchRun } from '../support/bench.js';

/** A short case: the ceiling and 1 simulated second of the idle fleet, no memory figure. */
const SHORT = ['--case', 'idle-fleet', '--seconds', '1', '--no-memory'];

/** Run `root`'s compiled bench/run.ts with `args`. */
const run = (root: string, args: string[]): BenchRun => runBench('run', args, { root, timeoutMs: 120_000 });

/** The run's `engine:` line. */
function engineLine(stdout: string): string {
  const lines = stdout.split('\n').filter((l) => l.startsWith('engine: '));
  assert.equal(lines.length, 1, stdout);
  return lines[0];
}

/** The run's exact counts line (engine and guest events per case). */
function counts(stdout: string): string {
  const lines = stdout.split('\n').filter((l) => l.startsWith('exact counts'));
  assert.equal(lines.length, 1, stdout);
  return lines[0].replace(/^exact counts[^:]*: /, '');
}

test('--engine tsc and --engine bundle: each names its engine, and both run the same events', () => {
  const tsc = run(REPO_ROOT, [...SHORT, '--engine', 'tsc']);
  assert.equal(tsc.status, 0, tsc.stderr);
  assert.match(engineLine(tsc.stdout), /^engine: tsc's modules dist\/bench\/engine\.js/);
  const bundle = run(REPO_ROOT, [...SHORT, '--engine', 'bundle']);
  assert.equal(bundle.status, 0, bundle.stderr);
  assert.match(engineLine(bundle.stdout), /^engine: rollup bundle dist\/bundle\/bench\/engine\.js \(what the pool's/);
  assert.equal(bundle.stderr, '', 'no fallback notice after npm run build');
  // The default is the bundle.
  assert.equal(engineLine(run(REPO_ROOT, SHORT).stdout), engineLine(bundle.stdout));
  const c = counts(tsc.stdout);
  assert.match(c, /^idle-fleet \d+ engine events, \d+ guest events$/);
  assert.ok(!c.startsWith('idle-fleet 0 '), c);
  assert.equal(counts(bundle.stdout), c);
});

test('--engine: a name other than tsc or bundle is a usage error', () => {
  const r = run(REPO_ROOT, [...SHORT, '--engine', 'esbuild']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^no engine esbuild; engines: bundle, tsc \(--help\)$/m);
});

test('a missing or stale bundle: the bench falls back to tsc with a notice', () => {
  // A copy of the build (dist/src, dist/bench; data/, scenarios/ and node_modules linked), so the
  // repository's own bundle is left alone while its copy goes missing and stale.
  const root = mkdtempSync(join(tmpdir(), 'bench-engine-'));
  try {
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    for (const d of ['data', 'scenarios', 'node_modules']) symlinkSync(join(REPO_ROOT, d), join(root, d));
    for (const d of ['src', 'bench']) cpSync(join(REPO_ROOT, 'dist', d), join(root, 'dist', d), { recursive: true });
    const bundle = join(root, 'dist', 'bundle', 'bench', 'engine.js');

    const missing = run(root, [...SHORT, '--engine', 'bundle']);
    assert.equal(missing.status, 0, missing.stderr);
    assert.match(
      missing.stderr,
      /^notice: dist\/bundle\/bench\/engine\.js is missing \(npm run build makes it\): measuring tsc's modules$/m,
    );
    assert.match(engineLine(missing.stdout), /^engine: tsc's modules dist\/bench\/engine\.js/);

    mkdirSync(join(root, 'dist', 'bundle', 'bench'), { recursive: true });
    cpSync(join(REPO_ROOT, 'dist', 'bundle', 'bench', 'engine.js'), bundle);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(bundle, old, old); // older than every file tsc wrote: stale
    const stale = run(root, SHORT);
    assert.equal(stale.status, 0, stale.stderr);
    assert.match(stale.stderr, /^notice: dist\/bundle\/bench\/engine\.js is stale \(older than a file tsc wrote/m);
    assert.match(engineLine(stale.stdout), /^engine: tsc's modules/);

    const now = new Date(Date.now() + 60_000);
    utimesSync(bundle, now, now); // newer than all: the copy's bundle is current and runs
    const current = run(root, SHORT);
    assert.equal(current.status, 0, current.stderr);
    assert.equal(current.stderr, '');
    assert.match(engineLine(current.stdout), /^engine: rollup bundle dist\/bundle\/bench\/engine\.js/);
    assert.equal(counts(current.stdout), counts(stale.stdout));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bundleState: missing, stale when a file of an input tree is newer, else current', () => {
  const root = mkdtempSync(join(tmpdir(), 'bundle-state-'));
  try {
    const tree = join(root, 'src');
    mkdirSync(join(tree, 'bundle'), { recursive: true });
    mkdirSync(join(tree, 'a', 'assets'), { recursive: true });
    const bundle = join(tree, 'bundle', 'worker.js');
    const input = join(tree, 'a', 'b.js');
    writeFileSync(input, '');
    assert.equal(bundleState(bundle, [tree]), 'missing');
    writeFileSync(bundle, '');
    const at = (file: string, s: number): void => utimesSync(file, new Date(s * 1000), new Date(s * 1000));
    at(input, 2000);
    at(bundle, 1000);
    assert.equal(bundleState(bundle, [tree]), 'stale');
    at(bundle, 3000);
    assert.equal(bundleState(bundle, [tree]), 'current');
    // The bundle's own directory and copied assets are not inputs; a second tree is.
    writeFileSync(join(tree, 'bundle', 'other.js'), '');
    writeFileSync(join(tree, 'a', 'assets', 'chart.js'), '');
    at(join(tree, 'bundle', 'other.js'), 4000);
    at(join(tree, 'a', 'assets', 'chart.js'), 4000);
    assert.equal(bundleState(bundle, [tree]), 'current');
    const second = join(root, 'bench');
    mkdirSync(second);
    writeFileSync(join(second, 'cases.js'), '');
    at(join(second, 'cases.js'), 4000);
    assert.equal(bundleState(bundle, [tree, second]), 'stale');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ab.js prints the engine each build measured under its figures', () => {
  const r = runBench('ab', ['--case', 'idle-fleet', '--seconds', '1', '--rounds', '1', REPO_ROOT, REPO_ROOT], {
    timeoutMs: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const engines = r.stdout.split('\n').filter((l) => l.startsWith('    engine: '));
  assert.deepEqual(engines, [
    "    engine: rollup bundle dist/bundle/bench/engine.js (what the pool's workers run)",
    "    engine: rollup bundle dist/bundle/bench/engine.js (what the pool's workers run)",
  ]);
});
