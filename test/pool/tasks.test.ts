import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { startPooledRun } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';
import { guidedRanges, planTasks } from '../../src/pool/tasks.js';
import type { WorkerRequest } from '../../src/pool/protocol.js';

/** Two variants of `hosts` idle FreeBSD hosts each (the plan only looks at the host counts). */
const fleetOf = (hosts: number, seconds = 30): ReturnType<typeof parseScenario> =>
  parseScenario(
    `name: plan-fleet
host: { cpu: i7-6700K, cores: 2, count: ${hosts} }
guests:
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: ${seconds}s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`,
    'plan-fleet.yaml',
  );

const sizes = (s: ReturnType<typeof parseScenario>, workers: number): number[] =>
  planTasks(s, { workers, pace: 'max' }).map((t) => t.hostEnd - t.hostStart);

test('max pace: tasks shrink to single hosts at the end of the plan, whatever the fleet size', () => {
  for (const hosts of [8, 24, 50, 1250])
    for (const workers of [2, 3, 4]) {
      const s = sizes(fleetOf(hosts), workers);
      const what = `${hosts} hosts x 2, ${workers} workers: ${s.join(',')}`;
      assert.equal(
        s.reduce((n, x) => n + x, 0),
        2 * hosts,
        what,
      );
      // The last `workers` tasks are single hosts: the workers finish within about a host of each other.
      assert.deepEqual(s.slice(-workers), Array<number>(workers).fill(1), what);
      // No task holds more than a (2 x workers)-th of its variant.
      assert.ok(Math.max(...s) <= Math.ceil(hosts / (2 * workers)), what);
      // The second variant's tasks (the end of the plan) never grow.
      const v1 = planTasks(fleetOf(hosts), { workers, pace: 'max' })
        .filter((t) => t.variantIndex === 1)
        .map((t) => t.hostEnd - t.hostStart);
      for (let i = 1; i < v1.length; i++) assert.ok(v1[i] <= v1[i - 1], what);
    }
  // The pool bench's fleet (2 x 8 hosts, 2 workers): 10 tasks, not 16 single hosts; 2 x 24: 13, not
  // 16 of 3 hosts each, whose tail was up to 3 hosts long.
  assert.deepEqual(sizes(fleetOf(8), 2), [2, 2, 2, 2, 2, 2, 1, 1, 1, 1]);
  assert.deepEqual(sizes(fleetOf(24), 2), [6, 6, 6, 6, 6, 5, 4, 3, 2, 1, 1, 1, 1]);
  // Fewer hosts than tasks would want: single hosts; one worker: one task per variant.
  assert.deepEqual(sizes(fleetOf(3), 2), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(sizes(fleetOf(50), 1), [50, 50]);
});

test('guidedRanges: contiguous ranges that cover the variant, each at most the cap and the share of what is left', () => {
  assert.deepEqual(guidedRanges(10, 20, 10, 2, 100), [
    [10, 13],
    [13, 15],
    [15, 17],
    [17, 18],
    [18, 19],
    [19, 20],
  ]);
  assert.deepEqual(guidedRanges(0, 6, 60, 2, 4), [
    [0, 4],
    [4, 6],
  ]);
  assert.deepEqual(guidedRanges(5, 5, 9, 2, 3), []);
});

const pool = new SimPool({ workers: 2, idleTimeoutMs: 5_000 });
after(() => pool.close());

test('the pool runs a plan in its order (the smallest tasks last): piscina shuffled tasks that waited', async () => {
  // What the pool controls is what it hands piscina, and when: each task in plan order, never more at
  // once than there are workers, so piscina's own queue (which reorders waiting tasks) is never used.
  // (The workers' start times are no measure of it: on a loaded machine a worker thread handed task 0
  // can be descheduled while the other ends task 1 and starts task 2.)
  const piscina = (pool as unknown as { piscina: { run: (req: WorkerRequest, opts?: unknown) => Promise<unknown> } })
    .piscina;
  const original = piscina.run;
  const handed: number[] = [];
  let inFlight = 0;
  let most = 0;
  piscina.run = async (req, opts) => {
    if (req.kind !== 'run') return original.call(piscina, req, opts);
    handed.push(req.task.index);
    most = Math.max(most, ++inFlight);
    try {
      return await original.call(piscina, req, opts);
    } finally {
      inFlight--;
    }
  };
  try {
    const run = startPooledRun(fleetOf(8, 2), { pool, pace: 'max' });
    await run.done;
    assert.ok(run.tasks.length > 4, `${run.tasks.length} tasks`);
    assert.deepEqual(
      handed,
      run.tasks.map((t) => t.task.index),
      'handed in plan order',
    );
    assert.deepEqual(
      run.tasks.map((t) => t.task.index),
      run.tasks.map((_, i) => i),
    );
    assert.ok(most <= 2, `${most} tasks with piscina at once on 2 workers`);
  } finally {
    piscina.run = original;
  }
});
