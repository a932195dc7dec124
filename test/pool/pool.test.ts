import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { runScenario } from '../../src/run/runScenario.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { runScenarioPooled, startPooledRun, type PooledRun } from '../../src/pool/pooledRun.js';
import { mergeTaskTotals } from '../../src/pool/mergeTotals.js';
import { SimPool } from '../../src/pool/pool.js';
import { planTasks, splitRange } from '../../src/pool/tasks.js';
import { totalGuests } from '../../src/scenario/types.js';
import { desktopFleet, idleFreebsdFleet } from '../support/fleets.js';

// A multi-host fleet: 3 variants x 4 hosts of 3 guests each.
const fleet = parseScenario(
  desktopFleet({
    name: 'pool-fleet',
    seed: 7,
    cores: 4,
    hosts: 4,
    windowsBoot: '1s',
    freebsd: true,
    duration: '2s',
    policies: ['bhyve-12.1', 'bhyve-tpr-v3', 'kvm'],
  }),
  'pool-fleet.yaml',
);

/** A long realtime run for cancellation tests: one cheap guest per host. */
function longRealtime(seconds: number, hosts = 2): ReturnType<typeof parseScenario> {
  return parseScenario(
    idleFreebsdFleet({ name: 'long-realtime', cores: 2, hosts, policies: ['bhyve-tpr-v3'], seconds, realtime: true }),
    'long-realtime.yaml',
  );
}

const pools: SimPool[] = [];
function pool(workers: number, allowFaults = false): SimPool {
  const p = new SimPool({ workers, allowFaults, idleTimeoutMs: 5_000 });
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

const totalsOf = (r: { variants: readonly { totals: unknown }[] }): string =>
  JSON.stringify(r.variants.map((v) => v.totals));
let reference: string | undefined;
/** The single-thread run's totals (computed once). */
const referenceTotals = (): string => (reference ??= totalsOf(runScenario(fleet).results));

test('tasks: contiguous host ranges per variant cover every host once, for any worker count and shard', () => {
  for (const workers of [1, 2, 3, 4, 7]) {
    for (const pace of ['max', 'realtime'] as const) {
      for (const shard of [undefined, { index: 1, count: 2 }, { index: 2, count: 2 }]) {
        const tasks = planTasks(fleet, { workers, pace, shard });
        tasks.forEach((t, i) => assert.equal(t.index, i));
        fleet.variants.forEach((v, vi) => {
          const mine = tasks.filter((t) => t.variantIndex === vi);
          const hosts: number[] = [];
          for (const t of mine) for (let h = t.hostStart; h < t.hostEnd; h++) hosts.push(h);
          const [a, b] = shard
            ? [Math.floor((v.host.count * (shard.index - 1)) / 2), Math.floor((v.host.count * shard.index) / 2)]
            : [0, v.host.count];
          assert.deepEqual(
            hosts,
            Array.from({ length: b - a }, (_, i) => a + i),
            `workers ${workers} ${pace} shard ${shard?.index}`,
          );
        });
        if (pace === 'realtime')
          assert.ok(tasks.length <= Math.max(workers, fleet.variants.length), 'realtime tasks all run at once');
      }
    }
  }
  assert.deepEqual(splitRange(0, 5, 2), [
    [0, 2],
    [2, 5],
  ]);
  assert.deepEqual(splitRange(3, 4, 8), [[3, 4]]);
  assert.equal(totalGuests(fleet), 3 * 4 * 3);
});

test('tasks: scripted guests run in exactly one task per variant', () => {
  const s = parseScenario(
    readFileSync(join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic-script.yaml'), 'utf8'),
    'script.yaml',
  );
  for (const workers of [1, 2, 4]) {
    const tasks = planTasks(s, { workers, pace: 'max' });
    s.variants.forEach((_, vi) => assert.equal(tasks.filter((t) => t.variantIndex === vi && t.scripted).length, 1));
  }
});

test('determinism: results.json totals are identical for 1, 2 and 3 workers, and equal the single-thread run', async () => {
  const reference = referenceTotals();
  for (const workers of [1, 2, 3]) {
    const out = await runScenarioPooled(fleet, { pool: pool(workers) });
    assert.equal(out.stopped, false);
    assert.equal(out.error, undefined);
    assert.equal(totalsOf(out.results), reference, `${workers} workers`);
  }
});

test('determinism: invariant violations and scripted guests come out the same for any split', async () => {
  const text = readFileSync(join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic.yaml'), 'utf8')
    .replace('host: { cpu: xeon-e5-2667v4, cores: 16 }', 'host: { cpu: xeon-e5-2667v4, cores: 16, count: 3 }')
    .replace(/duration: 5s/g, 'duration: 2s');
  const s = parseScenario(text, 'panic3.yaml');
  const p2 = pool(2);
  const one = await runScenarioPooled(s, { pool: pool(1) });
  const two = await runScenarioPooled(s, { pool: p2 });
  assert.ok(one.results.variants[0].totals.violations.length > 0, 'the scenario does produce violations');
  assert.equal(totalsOf(two.results), totalsOf(one.results));
  const script = parseScenario(
    readFileSync(join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic-script.yaml'), 'utf8'),
    'script.yaml',
  );
  assert.equal(
    totalsOf((await runScenarioPooled(script, { pool: p2 })).results),
    totalsOf(runScenario(script).results),
  );
});

test('merge: per-host records come out in host order whatever order the tasks finished their hosts in', () => {
  const v = (host: number, check: string) => ({
    check,
    message: '',
    guest: 'g',
    host,
    vcpu: 0,
    simTimeNs: 0,
    step: 0,
    state: {},
    expected: false,
  });
  const a = new TotalsAccumulator();
  a.violations.push(v(2, 'x'), v(0, 'y'), v(1, 'z'), v(0, 'w'));
  const [m] = mergeTaskTotals(
    fleet,
    [{ task: { index: 0, variantIndex: 0, hostStart: 0, hostEnd: 3, scripted: false }, totals: a }],
    false,
  );
  assert.deepEqual(
    m.violations.map((x) => `${x.host}${x.check}`),
    ['0y', '0w', '1z', '2x'],
  );
});

test('live snapshots are absolute and only grow; the final totals are the sum of the tasks', async () => {
  const seen = new Map<number, number[]>();
  const run = startPooledRun(fleet, {
    pool: pool(2),
    postIntervalMs: 0,
    onUpdate: (r: PooledRun) => {
      for (const t of r.tasks) {
        if (!t.totals) continue;
        const exits = t.totals.exits.reduce((x, y) => x + y, 0);
        const list = seen.get(t.task.index) ?? [];
        if (list[list.length - 1] !== exits) list.push(exits);
        seen.set(t.task.index, list);
      }
    },
  });
  const out = await run.done;
  assert.ok(
    [...seen.values()].some((l) => l.length >= 2),
    'some task reported more than once',
  );
  for (const [, list] of seen)
    for (let i = 1; i < list.length; i++) assert.ok(list[i] >= list[i - 1], 'a snapshot never goes down');
  const sum = out.results.variants.reduce((n, v) => n + v.totals.exitsTotal, 0);
  const taskSum = run.tasks.reduce((n, t) => n + t.totals!.exits.reduce((x, y) => x + y, 0), 0);
  assert.equal(taskSum, sum);
  assert.equal(run.progress().fraction, 1);
});

test('cancel: an AbortSignal wakes a realtime worker asleep until its next second; the run stops there, with partial results', async () => {
  // Abort once every task has reached the same simulated second k >= 1 on time (lag 0): each then
  // sleeps until second k + 1 is due in wall time. Woken, the run ends before that moment; a stop that
  // did not wake the sleeper would end at it or later. (The test aborted 1.5 s of wall time after the
  // start and asked for a simulated second by then, which a loaded machine did not always give: the
  // workers' start-up alone can take that long.)
  const ac = new AbortController();
  let at = 0;
  const run = startPooledRun(longRealtime(60), {
    pool: pool(2),
    signal: ac.signal,
    onUpdate: (r) => {
      if (ac.signal.aborted) return;
      const k = r.tasks[0].progress.simNs;
      if (k >= 1e9 && r.tasks.every((t) => t.status === 'running' && t.progress.simNs === k && t.lagSeconds === 0)) {
        at = k / 1e9;
        ac.abort();
      }
    },
  });
  const out = await run.done;
  assert.ok(at >= 1, 'every task reached a simulated second on time, and the run was aborted there');
  assert.equal(out.stopped, true);
  assert.equal(out.stopReason, 'cancelled');
  const sim = out.results.variants[0].totals.simulatedSeconds;
  assert.ok(sim > at && sim < 60, `partial: stopped at ${sim} simulated seconds, aborted after ${at}`);
  const wall = out.results.wallSeconds;
  assert.ok(wall < sim, `ended ${wall.toFixed(3)} s into the run, before second ${sim} was due: the sleeper was woken`);
  assert.ok(out.results.variants[0].totals.guests > 0);
});

test('time limit: a run over its wall-clock limit stops with reason time_limit', async () => {
  const out = await runScenarioPooled(longRealtime(60), { pool: pool(1), timeLimitMs: 1_200 });
  assert.equal(out.stopReason, 'time_limit');
  const { wallSeconds } = out.results;
  const sim = out.results.variants[0].totals.simulatedSeconds;
  assert.ok(wallSeconds >= 1.2, `not before its limit: ${wallSeconds} s`);
  // Realtime: never more than the second it was heading for ahead of the wall clock.
  assert.ok(sim < 60 && sim <= wallSeconds + 1, `stopped at ${sim} simulated seconds, ${wallSeconds} s into the run`);
});

test('a worker that throws fails its task with a clear error; the pool keeps serving', async () => {
  const p = pool(2, true);
  const out = await runScenarioPooled(fleet, { pool: p, faults: new Map([[1, 'throw' as const]]) });
  assert.match(
    out.error ?? '',
    /^task 1 \(variant bhyve-12\.1, hosts \d\.\.\d\) failed: injected fault: the task threw$/,
  );
  assert.equal(out.stopped, true);
  assert.equal(out.stopReason, 'failed');
  assert.equal(p.failures, 1);
  const again = await runScenarioPooled(fleet, { pool: p });
  assert.equal(again.error, undefined);
  assert.equal(totalsOf(again.results), referenceTotals());
});

test('a worker that dies fails its task with a clear error; the pool replaces it and keeps serving', async () => {
  const p = pool(2, true);
  const out = await runScenarioPooled(fleet, { pool: p, faults: new Map([[0, 'exit' as const]]) });
  assert.match(out.error ?? '', /^task 0 \(variant bhyve-12\.1, hosts 0\.\.\d\) failed: .+/);
  const again = await runScenarioPooled(fleet, { pool: p });
  assert.equal(again.error, undefined);
  assert.equal(totalsOf(again.results), referenceTotals());
});

test('a hung worker is terminated after the stop grace period (piscina abort as the last resort)', async () => {
  const p = pool(1, true);
  const ac = new AbortController();
  let abortedAt = 0;
  // Stop once the task is running (and hanging), not while it is still queued.
  const run = startPooledRun(longRealtime(60, 1), {
    pool: p,
    signal: ac.signal,
    stopGraceMs: 300,
    faults: new Map([[0, 'hang' as const]]),
    onUpdate: (r) => {
      if (r.tasks[0].status === 'running' && !ac.signal.aborted) {
        abortedAt = performance.now();
        ac.abort();
      }
    },
  });
  const out = await run.done;
  // The injected hang lasts 30 s and then the task would return on its own (stopped, not
  // terminated): "was terminated" and an end well before the hang's says the grace timer did it.
  // (The test bounded the whole run, worker start-up included, by 5 s of wall time.)
  const afterStop = (performance.now() - abortedAt) / 1000;
  assert.ok(afterStop < 25, `ended ${afterStop.toFixed(1)} s after the stop: terminated, not waited out`);
  assert.equal(out.stopped, true);
  assert.equal(out.error, undefined, 'terminating on purpose is not a failure');
  assert.match(run.tasks[0].error ?? '', /was terminated/);
  assert.match(
    out.partialReason ?? '',
    /did not reach their next host's simulated second within 0\.3 s of the stop \(a task reads the stop before each host's second[^)]*\) and were terminated/,
  );
  const again = await runScenarioPooled(fleet, { pool: p });
  assert.equal(again.error, undefined);
});

/** Two variants of one host each: with one worker the second waits while the first runs. */
const twoVariants = parseScenario(
  `name: two-variants
host: { cpu: i7-6700K, cores: 2 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
duration: 600s
matrix:
  policy: [bhyve-12.1, kvm]
`,
  'two-variants.yaml',
);

test('stop: the caller names the stop (its reason for the history, its words for partialReason); the first stop wins', async () => {
  const cases = [
    { words: undefined, reason: 'cancelled', opens: 'cancelled at ' },
    { words: 'interrupted (Ctrl-C, SIGINT)', reason: 'cancelled', opens: 'interrupted (Ctrl-C, SIGINT) at ' },
    { words: 'stopped by the test', reason: 'shutdown', opens: 'stopped by the test at ' },
    { words: undefined, reason: 'shutdown', opens: 'stopped by a service shutdown (SIGTERM) at ' },
  ] as const;
  for (const c of cases) {
    const run = startPooledRun(longRealtime(60, 1), { pool: pool(1) });
    run.stop(c.reason, c.words);
    run.stop(c.reason === 'cancelled' ? 'shutdown' : 'cancelled', 'a later stop');
    const out = await run.done;
    assert.equal(out.stopReason, c.reason);
    assert.ok(out.partialReason?.startsWith(c.opens), `${out.partialReason} starts with ${c.opens}`);
    assert.equal(out.results.partialReason, out.partialReason);
  }
});

test('partialReason says what each variant simulated: one variant 3 s or more, the other not started (it said "at 0")', async () => {
  const run = startPooledRun(twoVariants, {
    pool: pool(1),
    postIntervalMs: 0,
    onUpdate: (r) => {
      if (r.tasks[0].progress.simNs >= 3e9) r.stop('cancelled', 'stopped by the test');
    },
  });
  const out = await run.done;
  const [first, second] = out.results.variants.map((v) => v.totals.simulatedSeconds);
  assert.ok(first >= 3 && first < 600, `first variant: ${first} s`);
  assert.equal(second, 0);
  assert.equal(
    out.partialReason,
    `stopped by the test at ${first} of 600 simulated seconds in bhyve-12.1, 0 in kvm, 0 of 2 hosts done.`,
  );
  assert.deepEqual(run.simulatedAtStop(), [
    { least: first, most: first },
    { least: 0, most: 0 },
  ]);
});

test('partialReason with a variant done before the stop names the stopped ones first (it read "at done of 600 simulated seconds in bhyve-12.1")', async () => {
  const run = startPooledRun(twoVariants, {
    pool: pool(1),
    postIntervalMs: 0,
    onUpdate: (r) => {
      if (r.tasks[0].status === 'done' && r.tasks[1].progress.simNs >= 1e9) r.stop('cancelled', 'stopped by the test');
    },
  });
  const out = await run.done;
  const second = out.results.variants[1].totals.simulatedSeconds;
  assert.equal(out.results.variants[0].totals.simulatedSeconds, 600);
  assert.ok(second >= 1 && second < 600, `second variant: ${second} s`);
  assert.equal(
    out.partialReason,
    `stopped by the test at ${second} of 600 simulated seconds in kvm, done in bhyve-12.1, 1 of 2 hosts done.`,
  );
});

test('after the grace period only tasks on a worker are terminated; a queued task returns at the stop (it was counted as terminated)', async () => {
  const run = startPooledRun(twoVariants, {
    pool: pool(1, true),
    stopGraceMs: 300,
    faults: new Map([[0, 'hang' as const]]),
    onUpdate: (r) => {
      if (r.tasks[0].status === 'running') r.stop('cancelled');
    },
  });
  const out = await run.done;
  assert.equal(out.error, undefined);
  assert.equal(run.tasks[0].status, 'failed');
  assert.match(run.tasks[0].error ?? '', /was terminated/);
  assert.equal(run.tasks[1].status, 'done');
  assert.equal(run.tasks[1].stopped, true);
  assert.match(out.partialReason ?? '', /; 1 task \(task 0 \(variant bhyve-12\.1, hosts 0\.\.0\)\) did not reach/);
});
