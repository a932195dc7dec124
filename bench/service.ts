/**
 * npm run bench (second part) — the service's figures, printed beside their targets:
 *
 *   pool:     the same work on a 1-worker and a 2-worker pool (warmed; the pools take turns, 1, 2,
 *             1, 2, ..., so load from elsewhere hits both alike), and the speed-up: the wall clock's
 *             (median of the rounds'; target >= 1.85x on a quiet machine), the workers' CPU's
 *             (work per worker-CPU-second, which other processes change far less), and the wall
 *             clock's less the workers' waits for a core. Then where each pool's time went, per
 *             worker (Linux thread clocks, src/pool/threadClock.ts; the tasks' spans,
 *             src/pool/workAccount.ts): CPU, waiting for a core, idle before the first task,
 *             between tasks and after the last; the main thread's CPU, V8's helper threads', and
 *             other processes' (/proc/stat); the load average before and after. Before each round,
 *             what the two cores give together (bench/coreProbe.ts: the ceiling loop on one thread,
 *             then on two at once), and the pool's speed-up as a share of it: on a VM one core can
 *             run slower than the other, and by how much moves within a minute.
 *   /metrics: render time of the Prometheus text exposition while 10,000 simulated guests run
 *             (2 variants x 1,250 hosts x 4 FreeBSD guests on a 2-worker pool, every task posting
 *             its live totals), over repeated scrapes. Target <= 50 ms. The same with per-guest
 *             labels on (the naive design: one series per guest and reason) for comparison.
 *
 * The pool's workers keep both cores busy while /metrics renders, as in the service.
 *
 * Options: --pool-only (the pool figures only, not /metrics), --rounds N (timed runs per pool; 5),
 * --hosts N (hosts per variant of the pool's work; 8), --warmup N (untimed runs of the work per worker
 * thread before the timed ones; 3).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/types.js';
import { startPooledRun } from '../src/pool/pooledRun.js';
import { SimPool } from '../src/pool/pool.js';
import { processThreadClocks, threadClock } from '../src/pool/threadClock.js';
import { accountWorkers, type WorkerAccount } from '../src/pool/workAccount.js';
import { MetricsHub } from '../src/metrics/hub.js';
import { MetricsEndpoint } from '../src/metrics/registry.js';
import { benchArgs, USAGE_ERROR } from './args.js';
import { sleep, tenThousandGuests } from './serviceLoad.js';
import { medianP95Max } from './stats.js';
import { CoreProbe, pairBound, pairSkew, type CoreSample } from './coreProbe.js';

/** Ceiling-loop iterations per core sample: ~0.1 s on one thread of this project's machine. */
const PROBE_EVENTS = 40_000_000;

/** The pool's work: an idle mixed fleet, `hosts` hosts per variant (8 by default: 16 hosts in all). */
const throughputYaml = (hosts: number): string => `name: bench-throughput
seed: 1
host: { cpu: i7-6700K, cores: 8, count: ${hosts} }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: boot, duration: 10s }, { phase: idle }]
  - os: windows-server-2019
    vcpus: 2
    phases: [{ phase: boot, duration: 10s }, { phase: idle }]
  - os: ubuntu-18.04
    vcpus: 2
    x2apic: true
    phases: [{ phase: boot, duration: 5s }, { phase: idle }]
  - os: freebsd-12.1
    vcpus: 1
    x2apic: true
    phases: [{ phase: boot, duration: 5s }, { phase: idle }]
duration: 30s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;

const tenThousand = parseScenario(tenThousandGuests(3600), 'bench-10k-guests.yaml');

/** What one pooled run took: the wall clock, and where the CPU went (seconds; thread clocks on Linux). */
interface PoolRun {
  /** Wall seconds from the run's start to its results. */
  wall: number;
  /** CPU seconds of the whole process (workers, main thread, V8's helper threads). */
  cpu: number;
  /** Each worker's wall time: in tasks, idle before, between and after them (TaskWork). */
  workers: WorkerAccount[];
  /** Per worker (same order): its thread's CPU seconds and its seconds waiting for a core (Linux). */
  workerCpu?: number[];
  workerWait?: number[];
  /** The main thread's CPU seconds (Linux), else its event loop's busy seconds. */
  main: number;
  /** CPU seconds of the process's other threads: V8's GC and compiler threads, libuv's (Linux). */
  helpers?: number;
  /** CPU seconds other processes took on the machine in the run (/proc/stat; Linux). */
  others?: number;
}

/** The machine's busy and total CPU time so far, in clock ticks (/proc/stat's first line), or undefined. */
function machineTicks(): { busy: number; all: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const all = f.slice(0, 8).reduce((x, y) => x + y, 0);
    return { busy: all - f[3] - f[4], all }; // idle and iowait are not busy
  } catch {
    return undefined;
  }
}

/** One pooled run of `scenario` on `pool`, accounted, and its results' totals as JSON (the pools must agree). */
async function timedRun(pool: SimPool, scenario: Scenario): Promise<{ run: PoolRun; totals: string }> {
  const elu = performance.eventLoopUtilization();
  const main0 = threadClock(true);
  const threads0 = processThreadClocks(); // the workers are asleep between runs: exact
  const m0 = machineTicks();
  const c0 = process.cpuUsage();
  const start = performance.timeOrigin + performance.now();
  const run = startPooledRun(scenario, { pool, pace: 'max' });
  const out = await run.done;
  const end = performance.timeOrigin + performance.now();
  const c = process.cpuUsage(c0);
  const m1 = machineTicks();
  const main1 = threadClock(true);
  await sleep(5); // the last worker to answer goes back to sleep, so its clocks read exact
  const threads1 = processThreadClocks();
  const workers = accountWorkers(
    run.tasks.flatMap((t) => (t.work ? [t.work] : [])),
    start,
    end,
  );
  const cpu = (c.user + c.system) / 1e6;
  const wall = (end - start) / 1000;
  const delta = (tid: number | undefined, f: 'cpuNs' | 'waitNs'): number | undefined => {
    const a = tid === undefined ? undefined : threads0.get(tid);
    const b = tid === undefined ? undefined : threads1.get(tid);
    return a && b ? (b[f] - a[f]) / 1e9 : undefined;
  };
  const workerCpu = workers.map((w) => delta(w.osThreadId, 'cpuNs') ?? NaN);
  const workerWait = workers.map((w) => delta(w.osThreadId, 'waitNs') ?? NaN);
  const clocked = !workerCpu.some(Number.isNaN) && main0 !== undefined && main1 !== undefined;
  const main = clocked ? (main1.cpuNs - main0.cpuNs) / 1e9 : performance.eventLoopUtilization(elu).active / 1000;
  let helpers: number | undefined;
  if (clocked) {
    const mine = new Set([process.pid, ...workers.map((w) => w.osThreadId)]);
    helpers = 0;
    for (const [tid, b] of threads1) if (!mine.has(tid)) helpers += (b.cpuNs - (threads0.get(tid)?.cpuNs ?? 0)) / 1e9;
  }
  return {
    run: {
      wall,
      cpu,
      workers,
      main,
      ...(clocked ? { workerCpu, workerWait, helpers } : {}),
      ...(m0 && m1 && m1.all > m0.all
        ? { others: Math.max(0, ((m1.busy - m0.busy) / (m1.all - m0.all)) * availableParallelism() * wall - cpu) }
        : {}),
    },
    totals: JSON.stringify(out.results.variants.map((v) => v.totals)),
  };
}

/**
 * The same run on each pool in turn (1, 2, 1, 2, ...: load from elsewhere hits both alike), after
 * untimed runs that warm every worker thread's JIT alike: `warmup` x the work per worker thread, so
 * the 1-worker pool runs `warmup` times and the 2-worker pool 2 x `warmup` times (each of its workers
 * runs half of a run). One untimed run per pool (the bench before) left TurboFan still compiling in
 * the first timed rounds, most in the 2-worker pool, whose workers had each run half as much: V8's
 * helper threads 88, 62, 48 ms in its first three rounds, 1-5 ms from the fourth (docs/PERF.md,
 * "Twentieth session"). Every run's results must agree. Before each round, a sample of what the two
 * cores give together (bench/coreProbe.ts), since that moves within a minute on a VM. Returns the timed
 * runs, the samples and, per pool, the V8 and libuv threads' CPU seconds in its last untimed run.
 */
async function timeRuns(
  pools: readonly SimPool[],
  scenario: Scenario,
  rounds: number,
  warmup: number,
  probe: CoreProbe,
): Promise<{ runs: PoolRun[][]; lastWarm: (number | undefined)[]; cores: CoreSample[] }> {
  const runs: PoolRun[][] = pools.map(() => []);
  const lastWarm: (number | undefined)[] = pools.map(() => undefined);
  let totals = '';
  const check = (t: string): void => {
    if (totals !== '' && t !== totals) throw new Error('results differ between pools');
    totals = t;
  };
  const warmRuns = pools.map((p) => warmup * p.workers);
  for (let k = 0; k < Math.max(...warmRuns); k++)
    for (let i = 0; i < pools.length; i++) {
      if (k >= warmRuns[i]) continue;
      const r = await timedRun(pools[i], scenario);
      check(r.totals);
      lastWarm[i] = r.run.helpers;
    }
  const cores: CoreSample[] = [];
  for (let round = 0; round < rounds; round++) {
    cores.push(await probe.sample(PROBE_EVENTS));
    for (let i = 0; i < pools.length; i++) {
      const r = await timedRun(pools[i], scenario);
      check(r.totals);
      runs[i].push(r.run);
    }
  }
  return { runs, lastWarm, cores };
}

async function renderWhileRunning(
  perGuest: boolean,
  scrapes: number,
): Promise<{ median: number; p95: number; max: number; series: number; bytes: number; running: number }> {
  const pool = new SimPool({ workers: 2 });
  await pool.warm();
  const hub = new MetricsHub({ perGuest });
  const endpoint = new MetricsEndpoint(hub, { defaultMetrics: true });
  const ac = new AbortController();
  // realtime plans one task per worker, so all 10,000 guests run at once (they run behind wall time: no sleeping).
  const run = startPooledRun(tenThousand, {
    pool,
    pace: 'realtime',
    signal: ac.signal,
    livePerGuest: perGuest,
    stopGraceMs: 60_000,
  });
  hub.addRun('bench', tenThousand, run);
  const deadline = Date.now() + 180_000;
  while (run.tasks.some((t) => t.totals === undefined) && Date.now() < deadline) await sleep(200);
  if (run.tasks.some((t) => t.totals === undefined)) throw new Error('no live totals from every task within 180 s');
  await endpoint.render(false); // warm the code path once
  const times: number[] = [];
  let body = '';
  for (let i = 0; i < scrapes; i++) {
    const t0 = performance.now();
    body = (await endpoint.render(false)).body;
    times.push(performance.now() - t0);
    await sleep(100);
  }
  const running = body
    .split('\n')
    .filter((l) => l.startsWith('vmexit_lab_guests_running{'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  ac.abort();
  await run.done;
  await pool.close();
  return {
    ...medianP95Max(times),
    series: body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    bytes: body.length,
    running,
  };
}

const median = (xs: readonly number[]): number => medianP95Max(xs.filter((x) => !Number.isNaN(x))).median;
const sum = (xs: readonly number[]): number => xs.reduce((x, y) => x + y, 0);
const range = (xs: readonly number[]): string => `${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)}`;
/** The workers' CPU seconds in a run (their threads' clocks), else their wall seconds in tasks. */
const workersCpu = (r: PoolRun): number =>
  r.workerCpu ? sum(r.workerCpu) : sum(r.workers.map((w) => w.inTasksMs)) / 1000;
/** The workers' mean seconds waiting for a core in a run (0 where the OS does not say). */
const meanWait = (r: PoolRun): number => (r.workerWait ? sum(r.workerWait) / r.workerWait.length : 0);

/**
 * The pool figures: the wall-clock speed-up (median of the rounds' and best against best), the
 * speed-up the workers' CPU gives (work per worker-CPU-second: what 2 workers would reach each on
 * a core of its own, never idle), the wall-clock one less the waits for a core, and where each
 * pool's time went.
 */
function printPoolFigures(
  runs1: readonly PoolRun[],
  runs2: readonly PoolRun[],
  lastWarm: readonly (number | undefined)[],
  warmup: number,
  cores: readonly CoreSample[],
): void {
  const wall1 = runs1.map((r) => r.wall);
  const wall2 = runs2.map((r) => r.wall);
  const perRound = wall1.map((w, i) => w / wall2[i]);
  const best1 = Math.min(...wall1);
  const best2 = Math.min(...wall2);
  const v = throughputWork.variants;
  console.log(
    `pool throughput, ${v.length} variants x ${v[0].host.count} hosts x 4 guests, 30 simulated s, ${runs1.length} rounds ` +
      `taking turns (1, 2, 1, 2, ...) after ${warmup} untimed run${warmup === 1 ? '' : 's'} of the work per worker thread ` +
      `(${warmup} on the 1-worker pool, ${2 * warmup} on the 2-worker pool), identical results:`,
  );
  console.log(
    `  wall clock: 1 worker ${fmt(median(wall1), 2)} s (best ${fmt(best1, 2)}), 2 workers ${fmt(median(wall2), 2)} s ` +
      `(best ${fmt(best2, 2)}): speed-up ${fmt(median(perRound), 2)}x (median of the rounds', ${range(perRound)}; ` +
      `best against best ${fmt(best1 / best2, 2)}x) (target >= 1.85x)`,
  );
  const c1 = runs1.map(workersCpu);
  const c2 = runs2.map(workersCpu);
  const byCpu = c1.map((c, i) => (2 * c) / c2[i]);
  console.log(
    `  per worker-CPU-second: the workers' CPU 1 worker ${fmt(median(c1), 2)} s, 2 workers ${fmt(median(c2), 2)} s ` +
      `(${pct(median(c2), median(c1))} for the same work): speed-up ${fmt(median(byCpu), 2)}x (${range(byCpu)}; 2 x CPU1 / CPU2)`,
  );
  // What the cores gave in the same rounds, per CPU second as the line above: the pool cannot beat it
  // (bench/coreProbe.ts). On a quiet machine the wall-clock speed-up reads the same as the CPU one.
  const bounds = cores.map(pairBound);
  const ofBound = byCpu.map((x, i) => x / bounds[i]);
  console.log(
    `  the cores in the same rounds (the ceiling loop on 1 thread, then on 2 at once, per CPU second): 2 threads give ` +
      `${fmt(median(bounds), 2)}x (${range(bounds)}), the slower of the two ${fmt(median(cores.map(pairSkew)) * 100, 1)} % ` +
      `slower than the faster (median); the pool per worker-CPU-second reached ${fmt(median(ofBound) * 100, 0)} % of it ` +
      `(median of the rounds', ${fmt(Math.min(...ofBound) * 100, 0)}-${fmt(Math.max(...ofBound) * 100, 0)} %)`,
  );
  if (runs2.every((r) => r.workerWait)) {
    const net = runs1.map((r, i) => (r.wall - meanWait(r)) / (runs2[i].wall - meanWait(runs2[i])));
    console.log(
      `  less the workers' waits for a core (the wall clock minus their mean wait): speed-up ${fmt(median(net), 2)}x (${range(net)})`,
    );
  }
  for (const [label, runs] of [
    ['1 worker: ', runs1],
    ['2 workers:', runs2],
  ] as const) {
    const n = runs[0].workers.length;
    const ms = (f: (r: PoolRun) => number | undefined): string => {
      const xs = runs.map((r) => f(r) ?? NaN);
      return xs.every(Number.isNaN) ? '?' : fmt(median(xs) * 1000, 0);
    };
    const perWorker = (f: (w: WorkerAccount) => number) => (r: PoolRun) => sum(r.workers.map(f)) / 1000 / n;
    console.log(
      `  ${label} ms per worker (medians): CPU ${ms((r) => (r.workerCpu ? sum(r.workerCpu) / n : undefined))}, ` +
        `waiting for a core ${ms((r) => (r.workerWait ? meanWait(r) : undefined))}; idle before its first task ` +
        `${ms(perWorker((w) => w.beforeMs))}, between tasks ${ms(perWorker((w) => w.gapsMs))} ` +
        `(${runs[0].workers.map((w) => w.tasks).join(' + ')} tasks), after its last ${ms(perWorker((w) => w.tailMs))} ` +
        `(the run's end after its last task ${ms((r) => Math.min(...r.workers.map((w) => w.tailMs)) / 1000)}, ` +
        `the rest the workers' uneven ends); ` +
        `in the process: main thread CPU ${ms((r) => r.main)}, V8 and libuv threads ${ms((r) => r.helpers)}; ` +
        `other processes ${ms((r) => r.others)}`,
    );
  }
  // The JIT's warm-up shows as V8's helper threads' CPU (TurboFan compiles on them): settled, a few ms a run.
  const helperMs = (h: number | undefined): string => (h === undefined ? '?' : fmt(h * 1000, 0));
  console.log(
    `  V8 and libuv threads per run, ms (the JIT's compiles): 1 worker ${helperMs(lastWarm[0])} in its last untimed run, ` +
      `then ${runs1.map((r) => helperMs(r.helpers)).join(', ')}; 2 workers ${helperMs(lastWarm[1])}, then ` +
      `${runs2.map((r) => helperMs(r.helpers)).join(', ')}`,
  );
}

const pct = (x: number, y: number): string => `${x >= y ? '+' : ''}${fmt((x / y - 1) * 100, 1)} %`;
const fmt = (n: number, d = 1): string => n.toFixed(d);
const { values: opts } = benchArgs(
  'node dist/bench/service.js [options]: 1 vs 2 pool workers on the same work, and /metrics while 10,000 guests run',
  {
    'pool-only': { type: 'boolean', default: false, help: 'the pool figures only, not /metrics' },
    rounds: { type: 'string', default: '5', value: 'N', help: 'timed pool runs per pool, taking turns' },
    warmup: {
      type: 'string',
      default: '3',
      value: 'N',
      help: 'untimed warm-up per worker thread, in runs of the pool work (the 2-worker pool runs 2N times)',
    },
    hosts: { type: 'string', default: '8', value: 'N', help: 'hosts per variant of the pool figures' },
  },
);
/** `--name`'s value as a whole number >= 1, or a usage error (exit 2). */
function positive(name: string, value: string): number {
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1) return n;
  process.stderr.write(`--${name} takes a whole number >= 1, not ${JSON.stringify(value)}\n`);
  process.exit(USAGE_ERROR);
}
const rounds = positive('rounds', opts.rounds);
const throughputWork = parseScenario(throughputYaml(positive('hosts', opts.hosts)), 'bench-throughput.yaml');

const loadStart = loadavg()[0];
console.log(`\nservice bench (${availableParallelism()} cores, load average (1 min) ${loadStart.toFixed(2)} at start)`);
const pools = [new SimPool({ workers: 1 }), new SimPool({ workers: 2 })];
await Promise.all(pools.map((p) => p.warm()));
const probe = await CoreProbe.start();
const warmup = positive('warmup', opts.warmup);
const {
  runs: [runs1, runs2],
  lastWarm,
  cores,
} = await timeRuns(pools, throughputWork, rounds, warmup, probe);
await Promise.all([...pools.map((p) => p.close()), probe.close()]);
const loadPool = loadavg()[0];
printPoolFigures(runs1, runs2, lastWarm, warmup, cores);
console.log(`  load average (1 min): ${loadStart.toFixed(2)} at start, ${loadPool.toFixed(2)} after the pool runs`);
// Other processes' CPU in the runs: on a quiet machine the workers wait for a core only while this
// process's main thread and V8's threads take one.
const othersCores = median([...runs1, ...runs2].map((r) => (r.others === undefined ? NaN : r.others / r.wall)));
if (othersCores > 0.1 || (Number.isNaN(othersCores) && Math.max(loadStart, loadPool) > availableParallelism() + 0.5))
  console.log(
    `WARNING: the machine was not quiet (${Number.isNaN(othersCores) ? `load average ${fmt(Math.max(loadStart, loadPool), 2)}` : `other processes held ${fmt(othersCores, 2)} cores in the runs (median)`}): ` +
      `the wall-clock speed-up measures the contention, not the pool (1.85x needs a quiet machine); the CPU figures hold better.`,
  );
if (opts['pool-only']) process.exit(0);
const lean = await renderWhileRunning(false, 40);
console.log(
  `/metrics render with ${lean.running.toLocaleString('en-US')} simulated guests running (2 busy workers): median ${fmt(lean.median)} ms, ` +
    `p95 ${fmt(lean.p95)} ms, max ${fmt(lean.max)} ms; ${lean.series} series, ${fmt(lean.bytes / 1024)} KiB (target <= 50 ms)`,
);
const naive = await renderWhileRunning(true, 5);
console.log(
  `  for comparison, per-guest labels on (--per-guest-metrics, the naive design): median ${fmt(naive.median)} ms, ` +
    `max ${fmt(naive.max)} ms; ${naive.series.toLocaleString('en-US')} series, ${fmt(naive.bytes / 1024 / 1024)} MiB`,
);
console.log(`load average (1 min) at end: ${loadavg()[0].toFixed(2)}`);
