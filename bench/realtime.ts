/**
 * Thousands of guests live (issue #16): a mixed fleet at realtime pace through the pool, the way the
 * service runs a realtime run (startPooledRun: one task per worker, every guest running at once,
 * live totals into a MetricsHub), for a bounded time. Samples once a second the pace's lag (the
 * vmexit_lab_realtime_lag_seconds gauge: simulated seconds behind the wall clock) and every few
 * seconds the render time of /metrics, then prints both with the load average. A benchmark, not a
 * timed test: figures, and whether the fleet kept up (lag <= 1 s after the warm-up).
 *
 *   npm run build && node dist/bench/realtime.js                       # 2,000 guests, 1 minute
 *   node dist/bench/realtime.js --guests 2000 --minutes 10             # the 10 minutes
 *   node dist/bench/realtime.js --guests 500,1000,2000 --minutes 1     # several fleets in turn
 *
 * The fleet: hosts of 4 guests (Windows 10, Windows Server 2019, Ubuntu 18.04, FreeBSD 12.1; 7
 * vCPUs), idle (the steady state of a live fleet; --boot: a boot phase first, 10 s for Windows and
 * 5 s for the others, much busier), on an i7-6700K under bhyve-tpr-v3 (--policy to change it).
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseScenario } from '../src/scenario/load.js';
import { MAX_HOST_COUNT } from '../src/scenario/limits.js';
import type { Scenario } from '../src/scenario/types.js';
import { startPooledRun } from '../src/pool/pooledRun.js';
import { SimPool } from '../src/pool/pool.js';
import { MetricsHub } from '../src/metrics/hub.js';
import { MetricsEndpoint } from '../src/metrics/registry.js';
import { benchArgs } from './args.js';
import { sleep } from './serviceLoad.js';
import { medianP95Max } from './stats.js';

const { values: opts } = benchArgs(
  'node dist/bench/realtime.js [options]: a mixed idle fleet at realtime pace through the pool, its lag and /metrics times',
  {
    guests: { type: 'string', default: '2000', value: 'N[,N...]', help: 'fleet sizes, run in turn (4 guests a host)' },
    minutes: { type: 'string', default: '1', value: 'M', help: 'minutes each fleet runs' },
    workers: { type: 'string', default: '2', value: 'N', help: 'pool workers' },
    policy: { type: 'string', default: 'bhyve-tpr-v3', value: 'NAME', help: 'hypervisor policy' },
    'warmup-seconds': {
      type: 'string',
      default: '15',
      value: 'S',
      help: 'lag ignored before this (keeps up: lag <= 1 s after it)',
    },
    'scrape-seconds': { type: 'string', default: '5', value: 'S', help: 'a /metrics render every S seconds' },
    boot: { type: 'boolean', default: false, help: 'a boot phase first (10 s Windows, 5 s others), then idle' },
  },
);
const GUESTS_PER_HOST = 4;
// The fleet is one scenario of hosts of 4 guests: the scenario loader's host cap bounds it.
const MAX_GUESTS = MAX_HOST_COUNT * GUESTS_PER_HOST;
const fleets = opts.guests.split(',').map((g) => Math.max(4, Number(g)));
const badFleet = fleets.find((g) => !Number.isInteger(g) || g > MAX_GUESTS);
if (badFleet !== undefined) {
  process.stderr.write(
    `--guests ${opts.guests}: each fleet a whole number of guests up to ${MAX_GUESTS} (${MAX_HOST_COUNT} hosts of ${GUESTS_PER_HOST}, the scenario's host.count cap) (--help)\n`,
  );
  process.exit(2);
}
const seconds = Number(opts.minutes) * 60;
const workers = Number(opts.workers);
const warmup = Number(opts['warmup-seconds']);
const scrapeEvery = Number(opts['scrape-seconds']);

function fleet(guests: number): Scenario {
  const hosts = Math.ceil(guests / GUESTS_PER_HOST);
  const phases = (boot: number): string =>
    opts.boot ? `[{ phase: boot, duration: ${boot}s }, { phase: idle }]` : '[{ phase: idle }]';
  return parseScenario(
    `name: bench-realtime-fleet
seed: 1
host: { cpu: i7-6700K, cores: 8, count: ${hosts} }
hypervisor: { policy: ${opts.policy} }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: ${phases(10)}
  - os: windows-server-2019
    vcpus: 2
    phases: ${phases(10)}
  - os: ubuntu-18.04
    vcpus: 2
    x2apic: true
    phases: ${phases(5)}
  - os: freebsd-12.1
    vcpus: 1
    x2apic: true
    phases: ${phases(5)}
duration: ${seconds + 60}s
`,
    'bench-realtime-fleet.yaml',
  );
}

const fmt = (n: number, d = 2): string => n.toFixed(d);
const cores = availableParallelism();
console.log(
  `realtime fleet bench: ${cores} cores, ${workers} workers, ${seconds} s per fleet (lag counted after a ` +
    `${warmup} s warm-up), /metrics every ${scrapeEvery} s; load average (1 min) ${fmt(loadavg()[0])} at start`,
);

const pool = new SimPool({ workers });
await pool.warm();
const summary: string[] = [];
for (const guests of fleets) {
  const scenario = fleet(guests);
  const vcpus = scenario.variants[0].host.count * 7;
  const hub = new MetricsHub();
  const endpoint = new MetricsEndpoint(hub, { defaultMetrics: true });
  const ac = new AbortController();
  const run = startPooledRun(scenario, { pool, pace: 'realtime', signal: ac.signal, stopGraceMs: 60_000 });
  hub.addRun('bench', scenario, run);
  const t0 = performance.now();
  const lags: number[] = [];
  const scrapes: number[] = [];
  let maxLag = 0;
  let lastScrape = 0;
  let worstAt = 0;
  for (let s = 1; s <= seconds; s++) {
    await sleep(Math.max(0, t0 + s * 1000 - performance.now()));
    const lag = hub.realtimeLag()[0].value;
    if (s > warmup) {
      lags.push(lag);
      if (lag > maxLag) {
        maxLag = lag;
        worstAt = s;
      }
    }
    if (s - lastScrape >= scrapeEvery) {
      lastScrape = s;
      const r0 = performance.now();
      await endpoint.render(false);
      scrapes.push(performance.now() - r0);
    }
    if (s % 10 === 0)
      console.log(
        `  ${guests} guests, ${s} s: lag ${fmt(lag)} s, simulated ${fmt(run.progress().simSeconds, 0)} s, ` +
          `load ${fmt(loadavg()[0])}`,
      );
  }
  const final = hub.realtimeLag()[0].value;
  ac.abort();
  await run.done;
  const l = medianP95Max(lags);
  const sc = medianP95Max(scrapes);
  const keeps = maxLag <= 1;
  const line =
    `${guests} guests (${vcpus} vCPUs): lag after warm-up median ${fmt(l.median)} s, p95 ${fmt(l.p95)} s, ` +
    `max ${fmt(maxLag)} s (at ${worstAt} s), final ${fmt(final)} s -> ${keeps ? 'keeps up' : 'does NOT keep up'} ` +
    `(lag <= 1 s); /metrics render median ${fmt(sc.median, 1)} ms, p95 ${fmt(sc.p95, 1)} ms, max ${fmt(sc.max, 1)} ms ` +
    `(${scrapes.length} scrapes, target <= 50 ms); load average (1 min) ${fmt(loadavg()[0])}`;
  console.log(line);
  summary.push(line);
}
await pool.close();
console.log('\nsummary:');
for (const l of summary) console.log(l);
if (loadavg()[0] > workers + 0.5)
  console.log(
    `WARNING: the machine was not quiet (load average ${fmt(loadavg()[0])} with ${workers} workers on ${cores} cores): ` +
      'other processes took time from the workers, so the fleets that keep up are smaller than on a quiet machine.',
  );
