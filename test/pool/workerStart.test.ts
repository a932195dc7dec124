/**
 * A worker that cannot start fails the run at once, naming the worker file and its error; it used to
 * hang it. piscina stops starting threads for a file whose threads fail before they are ready, and
 * a task waiting in its queue for the thread started for it then waited for ever (src/pool/pool.ts
 * checkLoss): `vmexit-lab run` printed nothing and never ended. The worker files are fixtures
 * (test/fixtures/workers/), given through SimPool's `worker` option; production paths are unchanged.
 *
 * Each wait is bounded by `within`, generously: it turns a hang (the old code's) into a failure that
 * says what was awaited, and asserts no speed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenarioPooled, type PooledOutcome } from '../../src/pool/pooledRun.js';
import { SimPool, WorkerStartError } from '../../src/pool/pool.js';
import { desktopFleet } from '../support/fleets.js';
import { escapeRegExp } from '../support/regex.js';

const fixture = (name: string): URL => new URL(`../fixtures/workers/${name}.js`, import.meta.url);
/** The file as the message names it: relative to the working directory (the repository's root under npm test). */
const shown = (url: URL): string => relative(process.cwd(), fileURLToPath(url));

// 2 variants x 4 hosts: with 2 workers, more tasks than threads (some wait in SimPool's own queue).
const fleet = parseScenario(
  desktopFleet({
    name: 'start-fleet',
    seed: 3,
    cores: 4,
    hosts: 4,
    windowsBoot: '1s',
    freebsd: false,
    duration: '2s',
    policies: ['bhyve-12.1', 'bhyve-tpr-v3'],
  }),
  'start-fleet.yaml',
);

const pools: SimPool[] = [];
function pool(worker: URL | undefined, options: { eager?: boolean; allowFaults?: boolean; workers?: number } = {}) {
  const p = new SimPool({ workers: options.workers ?? 2, idleTimeoutMs: 5_000, eager: false, ...options, worker });
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

/** `p`, or a failure naming `what` after `ms` (a hang). The timer holds the process meanwhile. */
async function within<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: still waiting after ${ms / 1000} s (hung)`)), ms);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

function assertFailedAtStart(out: PooledOutcome, cause: string): void {
  const file = escapeRegExp(shown(fixture(cause === 'Error: broken worker' ? 'throwsAtLoad' : 'exitsAtLoad')));
  assert.match(
    out.error ?? '',
    new RegExp(`^a simulation worker could not start \\(${file}\\): ${escapeRegExp(cause)}$`),
  );
  assert.equal(out.stopped, true);
  assert.equal(out.stopReason, 'failed');
  assert.equal(out.results.partial, true, 'never reported as complete');
  assert.match(
    out.results.partialReason ?? '',
    /^stopped because a task failed \(a simulation worker could not start /,
  );
  assert.match(out.results.partialReason ?? '', /, 0 of 8 hosts done\.$/);
}

test('a worker file that throws while loading fails the run (the CLI pool: threads started on demand)', async () => {
  const p = pool(fixture('throwsAtLoad'));
  const out = await within('the run on a worker that throws at load', runScenarioPooled(fleet, { pool: p }));
  assertFailedAtStart(out, 'Error: broken worker');
  // The pool stays usable: the next run tries again (an out-of-memory kill at start may pass) and fails as fast.
  const again = await within('a second run on the same pool', runScenarioPooled(fleet, { pool: p }));
  assertFailedAtStart(again, 'Error: broken worker');
});

test('one worker: the only thread fails while loading, the run fails', async () => {
  const out = await within(
    'the run on one worker that throws at load',
    runScenarioPooled(fleet, { pool: pool(fixture('throwsAtLoad'), { workers: 1 }) }),
  );
  assertFailedAtStart(out, 'Error: broken worker');
});

test('a worker whose thread ends while loading with no error (killed at start) fails the run', async () => {
  const out = await within(
    'the run on a worker that exits at load',
    runScenarioPooled(fleet, { pool: pool(fixture('exitsAtLoad')) }),
  );
  assertFailedAtStart(out, 'its thread ended while loading, with no error (killed, out of memory, or process.exit)');
});

test("the service's warm-up: a worker that cannot start rejects warm() with WorkerStartError, and close() ends", async () => {
  const p = new SimPool({ workers: 2, idleTimeoutMs: 5_000, worker: fixture('throwsAtLoad') });
  const warmed = await within(
    'warm() on a worker that throws at load',
    p.warm().then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  // piscina's close waited for ever for the thread that died under a ping, on an unref'd timer only:
  // the process ran out of work and `serve` exited 0 having printed nothing.
  await within('close() after a failed warm-up', p.close());
  assert.ok(warmed instanceof WorkerStartError, `warm() failed with ${String(warmed)}`);
  assert.equal(
    warmed.message,
    `a simulation worker could not start (${shown(fixture('throwsAtLoad'))}): Error: broken worker`,
  );
});

test('a worker that exits mid-task (the CLI pool) fails the run with the task named, and the pool runs the next', async () => {
  const p = pool(undefined, { allowFaults: true });
  const out = await within(
    'the run whose task 1 exits',
    runScenarioPooled(fleet, { pool: p, faults: new Map([[1, 'exit' as const]]) }),
  );
  assert.match(out.error ?? '', /^task 1 \(variant bhyve-12\.1, hosts \d\.\.\d\) failed: worker exited with code: 7$/);
  assert.equal(out.stopReason, 'failed');
  assert.equal(out.results.partial, true, 'never reported as complete');
  assert.match(out.results.partialReason ?? '', /^stopped because a task failed \(task 1 /);
  const again = await within('the next run', runScenarioPooled(fleet, { pool: p }));
  assert.equal(again.error, undefined);
  assert.equal(again.results.partial, undefined);
});

test('a task that throws mid-run (the CLI pool) fails the run, never reported as complete', async () => {
  const p = pool(undefined, { allowFaults: true });
  const out = await within(
    'the run whose task 0 throws',
    runScenarioPooled(fleet, { pool: p, faults: new Map([[0, 'throw' as const]]) }),
  );
  assert.match(
    out.error ?? '',
    /^task 0 \(variant bhyve-12\.1, hosts 0\.\.\d\) failed: injected fault: the task threw$/,
  );
  assert.equal(out.results.partial, true);
});
