import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { startPooledRun } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';
import { osThreadId, processThreadClocks, threadClock } from '../../src/pool/threadClock.js';
import { accountWorkers } from '../../src/pool/workAccount.js';

const linux = process.platform === 'linux';
const pool = new SimPool({ workers: 2, idleTimeoutMs: 5_000 });
after(() => pool.close());

const fleet = parseScenario(
  `name: clock-fleet
host: { cpu: i7-6700K, cores: 2, count: 4 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: 2s
`,
  'clock-fleet.yaml',
);

test('threadClock: the calling thread reads its own CPU clock, which work moves (Linux)', { skip: !linux }, () => {
  const a = threadClock(true);
  assert.ok(a !== undefined);
  let x = 0;
  for (let i = 0; i < 5e6; i++) x = (x * 31 + i) | 0;
  const b = threadClock(true);
  assert.ok(b !== undefined && x !== 0.5);
  assert.ok(b.cpuNs > a.cpuNs, `${b.cpuNs} > ${a.cpuNs}`);
  assert.ok(b.waitNs >= a.waitNs);
  // The same thread seen from the process's list of threads, by its OS id (the main thread's is the pid).
  assert.equal(osThreadId(), process.pid);
  assert.ok(processThreadClocks().has(process.pid));
});

test('every task says when and on which worker it ran; the workers are threads of the process', async () => {
  const start = performance.timeOrigin + performance.now();
  const run = startPooledRun(fleet, { pool, pace: 'max' });
  await run.done;
  const end = performance.timeOrigin + performance.now();
  assert.ok(run.tasks.length > 2, `${run.tasks.length} tasks`);
  const work = run.tasks.map((t) => t.work);
  for (const w of work) {
    assert.ok(w !== undefined, 'a done task has its work');
    assert.ok(start <= w.startMs && w.startMs <= w.endMs && w.endMs <= end, JSON.stringify(w));
  }
  const workers = accountWorkers(
    work.flatMap((w) => (w ? [w] : [])),
    start,
    end,
  );
  assert.equal(
    workers.reduce((n, w) => n + w.tasks, 0),
    run.tasks.length,
  );
  if (linux) {
    const threads = processThreadClocks();
    for (const w of workers) {
      assert.ok(w.osThreadId !== undefined && w.osThreadId !== process.pid, 'a worker has its own thread');
      assert.ok(threads.has(w.osThreadId), `thread ${w.osThreadId} is one of the process's`);
    }
  }
});
