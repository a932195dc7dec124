import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { runScenarioPooled } from '../../src/pool/pooledRun.js';
import { SimPool, workerFile } from '../../src/pool/pool.js';
import type { Scenario } from '../../src/scenario/types.js';
import type { RunResults } from '../../src/results/types.js';
import { shippedYamlFiles } from '../support/paths.js';

/**
 * The pool's worker as `npm run build` ships it: rollup's one-scope bundle of src/pool/worker.ts
 * (dist/src/bundle/worker.js, docs/perf/bundle.md). The bundle changes how V8 reaches the engine's
 * bindings, never what the engine computes: every shipped scenario gives byte-identical results
 * through the bundle and through tsc's dist/src/pool/worker.js. (The golden digests pin the full
 * runs, which go through the bundle too: the CLI's pool loads it.)
 */

const pools: SimPool[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

const rel = (url: URL): string => relative(REPO_ROOT, fileURLToPath(url));

/** results.json as bytes, the wall-clock fields fixed. */
function canonical(r: RunResults): string {
  return JSON.stringify({ ...r, startedAt: '-', wallSeconds: 0 });
}

test('bundled worker: npm run build made a current bundle, and the pool loads it by default', () => {
  assert.equal(rel(workerFile()), 'dist/src/bundle/worker.js');
  assert.equal(rel(workerFile('compiled')), 'dist/src/pool/worker.js');
  const p = new SimPool({ workers: 1, idleTimeoutMs: 5_000, eager: false });
  pools.push(p);
  assert.equal(rel(p.workerFile), 'dist/src/bundle/worker.js');
});

test('bundled worker: every shipped scenario (up to 5 simulated seconds, per guest) gives the same results.json through the bundle and through tsc output', async () => {
  const bundled = new SimPool({ workers: 2, idleTimeoutMs: 5_000 });
  const compiled = new SimPool({ workers: 2, idleTimeoutMs: 5_000, worker: 'compiled' });
  pools.push(bundled, compiled);
  assert.notEqual(bundled.workerFile.href, compiled.workerFile.href);
  let checked = 0;
  for (const file of shippedYamlFiles()) {
    let s: Scenario;
    try {
      s = loadScenarioFile(file);
    } catch {
      continue; // not a scenario (a workload profile, the schema's examples)
    }
    const limit = s.duration.kind === 'fixed' ? s.duration.ns : s.duration.maxNs;
    const short: Scenario = { ...s, duration: { kind: 'fixed', ns: Math.min(limit, 5e9) }, pace: 'max' };
    const a = await runScenarioPooled(short, { pool: compiled, perGuest: true });
    const b = await runScenarioPooled(short, { pool: bundled, perGuest: true });
    assert.equal(canonical(b.results), canonical(a.results), relative(REPO_ROOT, file));
    checked++;
  }
  assert.ok(checked >= 10, `${checked} scenarios checked`);
});
