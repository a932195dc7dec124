/**
 * `/metrics` at the service's series ceiling (docs/SERVICE.md, "Hostile input"): a hub holding
 * finished runs of distinct scenarios until the series in use reach `--max-series` (20,000, the
 * default), then the Prometheus text rendered `--renders` times (20) in this thread. Prints the
 * series, the body's size and the render times (mean, p50, max) against the 50 ms target.
 * One simulation of a small two-variant scenario is shared by every label, so the figures are the
 * exposition's alone. Profile it with `node --cpu-prof dist/bench/metricsCeiling.js`.
 *
 * Options: --max-series N (20000), --renders N (20).
 */
import { parseScenario } from '../src/scenario/load.js';
import { runScenario } from '../src/run/runScenario.js';
import { MetricsHub } from '../src/metrics/hub.js';
import { MetricsEndpoint } from '../src/metrics/registry.js';
import { benchArgs } from './args.js';
import { ascending, atFraction } from './stats.js';

const { values: opts } = benchArgs(
  'node dist/bench/metricsCeiling.js [options]: /metrics rendered with the series in use at the ceiling',
  {
    'max-series': { type: 'string', default: '20000', value: 'N', help: 'the series ceiling to fill' },
    renders: { type: 'string', default: '20', value: 'N', help: 'renders to time' },
  },
);
const maxSeries = Math.max(1, Number(opts['max-series']));
const renders = Math.max(1, Number(opts.renders));

const text = (name: string): string => `name: ${name}
seed: 1
duration: 2s
host: { cpu: i7-6700K, cores: 4, count: 2 }
hypervisor: {}
matrix:
  policy: [bhyve-12.1, kvm]
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
  - os: ubuntu-18.04
    vcpus: 2
    phases: [{ phase: idle }]
thresholds:
  exits_per_second: ['< 100000']
`;

const first = parseScenario(text('ceiling-0'), 'ceiling-0.yaml');
const run = runScenario(first);
const hub = new MetricsHub({ limits: { maxSeries, retireAfterMs: Infinity } });
let n = 0;
// Scenarios until the next would pass the ceiling (the service would retire the oldest idle one).
while (hub.groups.seriesInUse() + hub.expectedSeries(first) <= maxSeries) {
  const s = n === 0 ? first : parseScenario(text(`ceiling-${n}`), `ceiling-${n}.yaml`);
  hub.addFinished(s, run.accumulators, { ...run.results, scenario: s.name });
  n++;
}
const endpoint = new MetricsEndpoint(hub);
const times: number[] = [];
let bytes = 0;
let lines = 0;
for (let i = 0; i < renders; i++) {
  const t0 = performance.now();
  const { body } = await endpoint.render(false);
  times.push(performance.now() - t0);
  bytes = Buffer.byteLength(body);
  lines = body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
}
const sorted = ascending(times);
const mean = times.reduce((a, b) => a + b, 0) / times.length;
const f = (x: number): string => x.toFixed(1);
console.log(
  `/metrics at the ${maxSeries}-series ceiling: ${n} scenarios added, ${hub.groups.seriesInUse()} series in use, ` +
    `${lines} samples, ${(bytes / 1e6).toFixed(2)} MB; ${times.length} renders: mean ${f(mean)} ms, ` +
    `p50 ${f(atFraction(sorted, 0.5))} ms, max ${f(sorted[sorted.length - 1])} ms (target <= 50 ms)`,
);
