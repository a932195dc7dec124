import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { runScenarioPooled, startPooledRun } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { METRICS } from '../../src/metrics/catalogue.js';
import { MetricsEndpoint, prefersOpenMetrics } from '../../src/metrics/registry.js';
import { parseExposition, sumOf, systemBinary } from './support.js';
import { waitUntil } from '../support/wait.js';

const FLEET = `name: metrics-fleet
seed: 3
host: { cpu: i7-6700K, cores: 4, count: 3 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: boot, duration: 1s }, { phase: idle }]
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: 3s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
thresholds:
  exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v3"}: ["== 0"]
`;
const fleet = parseScenario(FLEET, 'metrics-fleet.yaml');

const pool = new SimPool({ workers: 2, idleTimeoutMs: 5_000 });
after(() => pool.close());

const promtool = systemBinary('promtool', 'prometheus');

test('counters equal results.json after a run, by reason, source, kind and in the histogram', async () => {
  const out = await runScenarioPooled(fleet, { pool });
  const hub = new MetricsHub();
  hub.addFinished(fleet, out.accumulators, out.results);
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  for (const v of out.results.variants) {
    const l = { variant: v.name };
    assert.equal(sumOf(s, 'vmexit_lab_vm_exits_total', l), v.totals.exitsTotal);
    for (const [reason, n] of Object.entries(v.totals.exits))
      assert.equal(sumOf(s, 'vmexit_lab_vm_exits_total', { ...l, reason }), n);
    for (const [reason, sec] of Object.entries(v.totals.hostSecondsInExits))
      assert.ok(Math.abs(sumOf(s, 'vmexit_lab_exit_handling_seconds_total', { ...l, reason }) - sec) < 1e-9);
    assert.equal(sumOf(s, 'vmexit_lab_tpr_accesses_total', { ...l, kind: 'cr8_write' }), v.totals.cr8Writes);
    assert.equal(sumOf(s, 'vmexit_lab_tpr_accesses_total', { ...l, kind: 'cr8_read' }), v.totals.cr8Reads);
    assert.equal(sumOf(s, 'vmexit_lab_tpr_accesses_total', { ...l, kind: 'mmio_write' }), v.totals.tprMmioWrites);
    for (const src of ['timer', 'device', 'ipi'] as const) {
      assert.equal(
        sumOf(s, 'vmexit_lab_interrupts_total', { ...l, source: src, outcome: 'raised' }),
        v.totals.interruptsBySource[src].raised,
      );
      assert.equal(
        sumOf(s, 'vmexit_lab_interrupts_total', { ...l, source: src, outcome: 'delivered' }),
        v.totals.interruptsBySource[src].delivered,
      );
    }
    assert.equal(sumOf(s, 'vmexit_lab_interrupt_latency_seconds_count', l), v.totals.interruptLatency.count);
    assert.equal(
      sumOf(s, 'vmexit_lab_interrupt_latency_seconds_bucket', { ...l, le: '+Inf' }),
      v.totals.interruptLatency.count,
    );
    assert.ok(Math.abs(sumOf(s, 'vmexit_lab_guest_cpu_seconds_total', l) - v.totals.guestCpuSeconds) < 1e-9);
    assert.equal(sumOf(s, 'vmexit_lab_simulated_seconds_total', l), v.totals.simulatedSeconds);
    assert.equal(sumOf(s, 'vmexit_lab_guest_simulated_seconds_total', l), v.totals.guestSeconds);
    assert.equal(sumOf(s, 'vmexit_lab_invariant_violations_total', l), v.totals.violations.length);
    assert.equal(sumOf(s, 'vmexit_lab_guests_running', l), 0);
  }
  assert.equal(sumOf(s, 'vmexit_lab_threshold_passed', { variant: 'bhyve-tpr-v3' }), 1);
  assert.equal(sumOf(s, 'vmexit_lab_run_state', { scenario: 'metrics-fleet', state: 'completed' }), 1);
});

test('device-model seconds equal results.json: an emulated RTC under KVM has them, synthetic timers none', async () => {
  const kvm = parseScenario(
    `name: device-model
seed: 5
host: { cpu: xeon-silver-4110, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - os: windows-server-2019
    vcpus: 2
    phases: [{ phase: idle }]
duration: 2s
matrix:
  enlightenments: [none, [hv-relaxed, hv-vapic, hv-time, hv-vpindex, hv-synic, hv-stimer]]
`,
    'device-model.yaml',
  );
  const out = await runScenarioPooled(kvm, { pool });
  const hub = new MetricsHub();
  hub.addFinished(kvm, out.accumulators, out.results);
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  const [rtc, stimer] = out.results.variants;
  // Without synthetic timers the clock is the RTC at 1024 Hz, each period costing QEMU deviceModelTickNs.
  assert.ok((rtc.totals.deviceModelSeconds ?? 0) > 0, 'the RTC variant has device-model time');
  assert.equal(stimer.totals.deviceModelSeconds, undefined, 'hv-stimer: no emulated platform timer');
  for (const v of out.results.variants)
    assert.ok(
      Math.abs(
        sumOf(s, 'vmexit_lab_device_model_seconds_total', { variant: v.name }) - (v.totals.deviceModelSeconds ?? 0),
      ) < 1e-9,
      v.name,
    );
});

test('live: a realtime run moves the counters between scrapes; finishing it neither double counts nor loses', async () => {
  const hub = new MetricsHub();
  const endpoint = new MetricsEndpoint(hub);
  // 60 s of realtime, stopped once the counters have moved. The scrapes wait for snapshots, not for
  // time: three scrapes 0.9 s apart during a 3 s run saw nothing move when the workers' start-up
  // took most of those 3 s, and the catch-up then ran the rest between two scrapes.
  const live = parseScenario(FLEET.replace('duration: 3s', 'duration: 60s'), 'metrics-fleet.yaml');
  const run = startPooledRun(live, { pool, pace: 'realtime' });
  hub.addRun('r1', live, run);
  const scrape = async (): Promise<Map<string, number>> => parseExposition((await endpoint.render(false)).body);
  const readings: number[] = [];
  let running = 0;
  const read = async (): Promise<number> => {
    const s = await scrape();
    readings.push(sumOf(s, 'vmexit_lab_vm_exits_total'));
    running = Math.max(running, sumOf(s, 'vmexit_lab_guests_running'));
    return readings[readings.length - 1];
  };
  await waitUntil('exits in a scrape of the live run', async () => ((await read()) > 0 ? true : undefined));
  const from = readings[readings.length - 1];
  await waitUntil('the exits to grow between scrapes', async () => ((await read()) > from ? true : undefined), {
    seen: () => readings.join(' -> '),
  });
  for (let i = 1; i < readings.length; i++) assert.ok(readings[i] >= readings[i - 1], 'counters never go down');
  assert.ok(running > 0, 'running guests were reported');
  run.stop('cancelled');
  const out = await run.done;
  const before = sumOf(await scrape(), 'vmexit_lab_vm_exits_total');
  hub.finishRun('r1', 'completed', out.results);
  const s = await scrape();
  const exact = out.results.variants.reduce((n, v) => n + v.totals.exitsTotal, 0);
  assert.equal(before, exact, 'the live sum of final task totals is the result');
  assert.equal(
    sumOf(s, 'vmexit_lab_vm_exits_total'),
    exact,
    'folding the run into the finished totals keeps the value',
  );
  assert.equal(sumOf(s, 'vmexit_lab_guests_running'), 0);
  // A second run of the same scenario adds to the same series.
  const again = await runScenarioPooled(fleet, { pool });
  hub.addFinished(fleet, again.accumulators, again.results);
  const more = again.results.variants.reduce((n, v) => n + v.totals.exitsTotal, 0);
  assert.equal(sumOf(await scrape(), 'vmexit_lab_vm_exits_total'), exact + more);
});

test("a shard's run is marked not judged (vmexit_lab_run_last_not_judged 1) until a judged run of the scenario finishes", async () => {
  const shard = await runScenarioPooled(fleet, { pool, shard: { index: 1, count: 2 } });
  assert.deepEqual(shard.results.shard, { index: 1, count: 2 });
  const whole = await runScenarioPooled(fleet, { pool });
  const marker = 'vmexit_lab_run_last_not_judged{scenario="metrics-fleet"}';
  const status = 'vmexit_lab_run_last_exit_status{scenario="metrics-fleet"}';
  const scrape = async (hub: MetricsHub): Promise<Map<string, number>> =>
    parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  const hub = new MetricsHub();
  hub.addFinished(fleet, shard.accumulators, shard.results);
  let s = await scrape(hub);
  assert.equal(s.get(marker), 1, 'a shard judged nothing');
  assert.equal(s.get(status), 0, "the shard's own exit status");
  hub.addFinished(fleet, whole.accumulators, whole.results);
  s = await scrape(hub);
  assert.equal(s.get(marker), undefined, 'the latest run judged its thresholds');
  assert.equal(s.get(status), 0);
  // From the history after a restart: the same.
  const restored = new MetricsHub();
  const finishedAtMs = Date.now();
  restored.restore([{ label: 'a', state: 'completed', finishedAtMs, results: shard.results }]);
  restored.restore([{ label: 'b', state: 'completed', finishedAtMs, results: whole.results }]);
  s = await scrape(restored);
  assert.equal(s.get('vmexit_lab_run_last_not_judged{scenario="a"}'), 1);
  assert.equal(s.get('vmexit_lab_run_last_not_judged{scenario="b"}'), undefined);
});

test('per-guest series (opt-in) add up to the per-variant series', async () => {
  const out = await runScenarioPooled(fleet, { pool, perGuest: true });
  const hub = new MetricsHub({ perGuest: true });
  hub.addFinished(fleet, out.accumulators, out.results);
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  for (const v of out.results.variants) {
    assert.equal(sumOf(s, 'vmexit_lab_per_guest_vm_exits_total', { variant: v.name }), v.totals.exitsTotal);
    assert.equal(sumOf(s, 'vmexit_lab_per_guest_cr8_accesses_total', { variant: v.name }), v.totals.cr8Accesses);
  }
  assert.ok(
    sumOf(s, 'vmexit_lab_per_guest_vm_exits_total', { host: '2', guest: 'windows-10-1909', os: 'windows-10-1909' }) > 0,
  );
  const off = parseExposition((await new MetricsEndpoint(new MetricsHub()).render(false)).body);
  assert.equal([...off.keys()].filter((k) => k.startsWith('vmexit_lab_per_guest_')).length, 0, 'off by default');
});

test('content negotiation: OpenMetrics when asked for (as Prometheus asks), the text format otherwise', async () => {
  assert.equal(prefersOpenMetrics(undefined), false);
  assert.equal(prefersOpenMetrics('*/*'), false);
  assert.equal(prefersOpenMetrics('text/plain;version=0.0.4'), false);
  assert.equal(
    prefersOpenMetrics(
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ),
    true,
  );
  assert.equal(prefersOpenMetrics('text/plain;q=0.9, application/openmetrics-text;q=0.5'), false);
  const hub = new MetricsHub();
  hub.register(fleet);
  const ep = new MetricsEndpoint(hub, { defaultMetrics: true });
  const om = await ep.render(true);
  assert.match(om.contentType, /^application\/openmetrics-text; version=1\.0\.0/);
  assert.ok(om.body.endsWith('# EOF\n'));
  assert.match(om.body, /^# TYPE vmexit_lab_vm_exits counter$/m);
  assert.match(om.body, /^vmexit_lab_vm_exits_total\{/m);
  const text = await ep.render(false);
  assert.match(text.contentType, /^text\/plain; version=0\.0\.4/);
  assert.match(
    text.body,
    /^# TYPE vmexit_lab_vm_exits_total counter$/m,
    "rendering OpenMetrics first does not rename the text format's counters",
  );
  assert.ok(!text.body.includes('# EOF'));
});

test('naming: vmexit_lab_ prefix, counters end in _total, base units, per-guest labels only on opt-in metrics', () => {
  for (const m of METRICS) {
    assert.match(m.name, /^vmexit_lab_[a-z0-9_]+$/);
    assert.equal(m.name.endsWith('_total'), m.type === 'counter', m.name);
    assert.ok(!/_(ms|milliseconds|us|ns|percent)(_|$)/.test(m.name), m.name);
    assert.equal(m.labels.includes('guest'), m.perGuest === true, m.name);
  }
});

test('every metric in seconds says in its HELP which clock: simulated, wall or Unix time', () => {
  // A simulated second and a wall second differ by the pace (max pace: thousands to one), so a
  // dashboard that divides one by the other must be able to tell them apart from the HELP alone.
  const inSeconds = METRICS.filter((m) => /_seconds(_|$)/.test(m.name));
  assert.ok(inSeconds.length >= 10, `${inSeconds.length} metrics in seconds`);
  for (const m of inSeconds) assert.match(m.help, /\b(simulated|wall|Unix time)\b/i, `${m.name}: ${m.help}`);
});

test(
  'promtool check metrics passes on /metrics (default, per-guest, with and without runs)',
  { skip: promtool.skip },
  async () => {
    if (!promtool.path) assert.fail(promtool.missing);
    const out = await runScenarioPooled(fleet, { pool, perGuest: true });
    for (const perGuest of [false, true]) {
      const hub = new MetricsHub({ perGuest });
      const ep = new MetricsEndpoint(hub, { defaultMetrics: true });
      for (const stage of ['empty', 'after a run']) {
        if (stage === 'after a run') hub.addFinished(fleet, out.accumulators, out.results);
        const body = (await ep.render(false)).body;
        const r: SpawnSyncReturns<string> = spawnSync(promtool.path, ['check', 'metrics'], {
          input: body,
          encoding: 'utf8',
          timeout: 20_000,
        });
        assert.equal(r.status, 0, `promtool (${perGuest ? 'per-guest' : 'default'}, ${stage}): ${r.stdout}${r.stderr}`);
      }
    }
  },
);

/** Series of one scenario (label scenario="..."), the number docs/SERVICE.md states. */
async function scenarioSeries(file: string): Promise<{ total: number; byMetric: Map<string, number> }> {
  const scenario = loadScenarioFile(file);
  const out = await runScenarioPooled({ ...scenario, duration: { kind: 'fixed', ns: 1e9 } }, { pool });
  const hub = new MetricsHub();
  hub.addFinished(scenario, out.accumulators, out.results);
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  const byMetric = new Map<string, number>();
  let total = 0;
  for (const key of s.keys()) {
    if (!key.includes(`scenario="${scenario.name}"`)) continue;
    const name = key.slice(0, key.indexOf('{')).replace(/_(bucket|sum|count)$/, '');
    byMetric.set(name, (byMetric.get(name) ?? 0) + 1);
    total++;
  }
  return { total, byMetric };
}

test('the series count of scenarios/default.yaml is the one docs/SERVICE.md states', async () => {
  const { total, byMetric } = await scenarioSeries(join(REPO_ROOT, 'scenarios', 'default.yaml'));
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const m = /scenarios\/default\.yaml[^\n]*?: \*\*(\d+) series\*\*/.exec(doc);
  assert.ok(m, 'docs/SERVICE.md states "scenarios/default.yaml ...: **N series**"');
  assert.equal(total, Number(m[1]), `measured ${total}: ${JSON.stringify(Object.fromEntries(byMetric))}`);
  assert.ok(total < 400, 'bounded: no per-guest series by default');
});

test("a variant's series keep one frozen label set from scrape to scrape, prom-client's sharedLabels; each label printed once, in order", async () => {
  const out = await runScenarioPooled(fleet, { pool });
  const hub = new MetricsHub();
  hub.addFinished(fleet, out.accumulators, out.results);
  const perVariant = METRICS.filter(
    // The KVM-only families have no series on this bhyve fleet: test/metrics/haltPoll.test.ts checks them;
    // nor the work-bound phases' (it has none): test/metrics/phaseUnfinished.test.ts.
    (d) =>
      !d.perGuest &&
      d.kvmOnly !== true &&
      d.workPhasesOnly !== true &&
      d.labels.slice(0, 4).join() === 'scenario,variant,cpu,policy',
  );
  assert.ok(perVariant.length >= 15, `${perVariant.length} per-variant metrics`);
  for (const def of perVariant) {
    const first = def.collect(hub, def.name);
    const second = def.collect(hub, def.name);
    assert.ok(first.length > 0, def.name);
    assert.equal(second.length, first.length, def.name);
    first.forEach((a, i) => {
      // The same object both times: prom-client's cache of the formatted set is keyed by it.
      assert.equal(a.sharedLabels, a.labels, `${def.name}: sharedLabels`);
      assert.ok(Object.isFrozen(a.labels), `${def.name}: frozen`);
      assert.equal(second[i].labels, a.labels, `${def.name}: same label set on the next scrape`);
    });
  }
  for (const openMetrics of [false, true]) {
    const body = (await new MetricsEndpoint(hub).render(openMetrics)).body;
    const lines = body.split('\n').filter((l) => l.startsWith('vmexit_lab_vm_exits_total{'));
    assert.ok(lines.length > 0);
    for (const line of lines) {
      const names = [...line.replace(/ # \{.*$/, '').matchAll(/([a-z_]+)="/g)].map((m) => m[1]);
      assert.deepEqual(names, ['scenario', 'variant', 'cpu', 'policy', 'os', 'reason'], line);
    }
    const buckets = body.split('\n').filter((l) => l.startsWith('vmexit_lab_interrupt_latency_seconds_bucket{'));
    for (const line of buckets) {
      const names = [...line.replace(/ # \{.*$/, '').matchAll(/([a-z_]+)="/g)].map((m) => m[1]);
      assert.deepEqual(names, ['scenario', 'variant', 'cpu', 'policy', 'le'], line);
    }
  }
});
