import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import type { RunState } from '../../src/history/records.js';
import {
  api as fetchApi,
  busyScenario,
  tinyScenario as tiny,
  waitForState,
  yamlPost as yaml,
  type FetchAnswer as Answer,
} from '../support/http.js';
import { parseExposition } from '../metrics/support.js';

/**
 * The findings of issue #18, one test each, against loopback services: every test here failed
 * before the fix it names (the service then validated on the main thread, labelled series with the
 * client's `name`, capped guests but not CPU, ran realtime runs on the shared workers, said
 * `exitStatus: 0` for partial runs, read `?limit=2.5` as a SQL error, ...).
 */

const { dataDir, services } = serviceFixture('vmexit-lab-hostile-');

let svc: ServiceHandle;
before(async () => {
  svc = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    limits: { maxSeries: 1_000, maxQueued: 200, maxConcurrentRuns: 2 },
    stopGraceMs: 2_000,
  });
  services.push(svc);
});

const api = (path: string, init: RequestInit = {}, base = svc.url): Promise<Answer> => fetchApi(base, path, init);
const waitFor = (id: string, states: RunState[], base = svc.url): Promise<any> => waitForState(base, id, states);
function assertError(r: Answer, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
}

test('#18.1: a 1 MB body of 100,000 unknown keys is refused at once (too_complex), nothing parsed', async () => {
  const keys = Array.from({ length: 102_000 }, (_, i) => `k${i}: 1`).join('\n');
  const r = await api('/api/runs?', yaml(keys));
  assertError(r, 422, 'too_complex');
  assert.match(r.body.error.message, /request\.yaml: the document has 102000 lines; at most 20000/);
});

test('#18.1: validation runs off the main thread: /healthz answers while a slow document is parsed', async () => {
  // Under the early bound (about 49,000 nodes) but seconds of parsing and did-you-mean work.
  const body = `name: slow\n${Array.from({ length: 16_000 }, (_, i) => `x${i}: [a, b]`).join('\n')}\n`;
  // A time bound far above the document's cost, so that its answer is its diagnostics whatever the
  // load: under the default 5 s bound, a loaded machine made it a 422 too_complex (the bound has its
  // own test below).
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, validation: { timeoutMs: 300_000 } });
  services.push(s);
  const order: string[] = [];
  const post = api('/api/runs', yaml(body), s.url).then((r) => {
    order.push('post');
    return r;
  });
  // Let the request reach the validator, then ask for health: it must not wait for the parse.
  await new Promise((ok) => setTimeout(ok, 50));
  const health = await api('/healthz', {}, s.url);
  order.push('healthz');
  const r = await post;
  assert.equal(health.status, 200);
  assertError(r, 400, 'invalid_scenario');
  assert.deepEqual(order, ['healthz', 'post'], 'health answered before the parse ended');
});

test('#18.2: 100 distinct posted scenarios leave the series under the ceiling; labels are the service’s', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    // Every name a client could choose is different, and a label would once have been made of it.
    const r = await api('/api/runs', yaml(tiny(`flood-${i}-${'x'.repeat(40)}`, i + 1)));
    assert.equal(r.status, 202, r.text);
    assert.match(r.body.seriesLabel, /^inline-[0-9a-f]{12}$/);
    ids.push(r.body.id);
  }
  for (const id of ids) await waitFor(id, ['completed']);
  const text = (await api('/metrics')).text;
  const m = parseExposition(text);
  const labels = new Set<string>();
  let series = 0;
  for (const key of m.keys()) {
    const s = /scenario="([^"]*)"/.exec(key);
    if (!s) continue;
    series++;
    labels.add(s[1]);
  }
  assert.doesNotMatch(text, /flood-/, 'no client text in a label');
  assert.ok(series <= 1_000, `${series} scenario series, ceiling 1000`);
  assert.equal(m.get('vmexit_lab_series_ceiling'), 1_000);
  assert.ok((m.get('vmexit_lab_series_in_use') ?? Infinity) <= 1_000);
  assert.ok((m.get('vmexit_lab_series_retirements_total') ?? 0) > 0, 'older scenarios were retired to make room');
  assert.ok(labels.size < 100, `${labels.size} scenario labels exported`);
  assert.ok(text.length < 2_000_000, `scrape of ${text.length} bytes`);
  // Retired series leave /metrics; the history keeps every run.
  const runs = await api('/api/runs?limit=1000');
  assert.ok(runs.body.runs.filter((r: { id: string }) => ids.includes(r.id)).length === 100);
});

test('#18.2: a scenario cannot raise the ceiling with its own cardinalityBudget', async () => {
  const big = `name: budget-raiser
host: { cores: 2, count: 1 }
guests:
  - { os: freebsd-12.1, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, phases: [{ phase: idle }] }
duration: 1s
cardinalityBudget: 10000000
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v1, bhyve-tpr-v2, bhyve-tpr-v3, kvm]
  cpu: [i7-6700K, xeon-e5-2667v4]
`;
  const r = await api('/api/runs', yaml(big));
  assertError(r, 422, 'limit_exceeded');
  assert.match(r.body.error.message, /metric series; this service exports at most 1000 \(--max-series/);
});

test('#18.3: caps in the unit that costs: 20,000 guests x 64 vCPUs for 2 s is refused with its predicted cost', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const heavy = `name: heavy
host: { cpu: i7-6700K, cores: 64, count: 2000 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    vcpus: 64
    count: 10
    phases: [{ phase: disk-benchmark, duration: 2s }]
duration: 2s
`;
  const r = await api('/api/runs', yaml(heavy), s.url);
  assertError(r, 422, 'limit_exceeded');
  assert.match(
    r.body.error.message,
    /predicted to cost [\d,]+ core-seconds of simulation \([\d,]+ simulated vCPU-seconds; biggest: .*windows-10-1909.*\); this service allows at most 3,600 per run \(--max-run-cost/,
  );
});

test('#18.3/#18.5: a run stopped by its time limit says why; a partial run reports exit status 3 and partial: true', async () => {
  const r = await api('/api/runs?pace=realtime&timeLimitSeconds=1', yaml(tiny('limited', 1, 60)));
  assert.equal(r.status, 202, r.text);
  const rec = await waitFor(r.body.id, ['cancelled', 'failed', 'completed']);
  assert.equal(rec.state, 'cancelled');
  assert.equal(rec.stopReason, 'time_limit');
  assert.equal(rec.summary.exitStatus, 3, 'as the CLI exits for a run that did not reach its end');
  assert.match(rec.summary.partialReason, /wall-clock limit of 1 s at \d+( to \d+)? of 60 simulated seconds/);
  assert.ok(rec.progress.simSeconds < 60, `progress says where it stopped: ${rec.progress.simSeconds}/60`);
  const res = await api(`/api/runs/${r.body.id}/results`);
  assert.equal(res.body.partial, true);
  assert.equal(res.body.partialReason, rec.summary.partialReason);
  const m = parseExposition((await api('/metrics')).text);
  assert.equal(m.get(`vmexit_lab_run_last_exit_status{scenario="${r.body.seriesLabel}"}`), 3);
  assert.equal(m.get(`vmexit_lab_run_state{scenario="${r.body.seriesLabel}",state="cancelled"}`), 1);
});

test('#18.4: a realtime run does not hold up a max-pace run, which reports queued with a position', async () => {
  const s = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    limits: { maxConcurrentRuns: 1 },
    stopGraceMs: 2_000,
  });
  services.push(s);
  const rt = await api('/api/runs?pace=realtime', yaml(tiny('rt-long', 1, 120)), s.url);
  assert.equal(rt.status, 202);
  assert.equal(rt.body.options.lane, 'realtime');
  // max-a holds the max lane's one slot while b is posted: busy for minutes, so it cannot finish first
  // (an idle 3,600 s guest, as it was, ends in 0.4 s), cancelled once b's queue is checked.
  const a = await api('/api/runs', yaml(busyScenario('max-a', 2)), s.url);
  const b = await api('/api/runs', yaml(tiny('max-b', 3, 1)), s.url);
  assert.equal(b.body.state, 'queued');
  assert.deepEqual(b.body.queue, { lane: 'max', position: 1 });
  const list = await api('/api/runs', {}, s.url);
  const lanes = Object.fromEntries(list.body.queue.lanes.map((l: { lane: string }) => [l.lane, l]));
  assert.deepEqual(lanes.max.queued, [b.body.id]);
  assert.deepEqual(lanes.realtime.running, [rt.body.id]);
  await api(`/api/runs/${a.body.id}`, { method: 'DELETE' }, s.url);
  const done = await waitFor(b.body.id, ['completed'], s.url);
  assert.equal(done.summary.exitStatus, 0);
  assert.equal((await api(`/api/runs/${rt.body.id}`, {}, s.url)).body.state, 'running', 'the realtime run goes on');
  assert.equal(a.status, 202);
  for (const id of [rt.body.id]) await api(`/api/runs/${id}`, { method: 'DELETE' }, s.url);
  await waitFor(rt.body.id, ['cancelled'], s.url);
});

test('#18.7: strict requests: limit 2.5, unknown or repeated parameters, hex numbers, bad UTF-8, 415 codes', async () => {
  assertError(await api('/api/runs?limit=2.5'), 400, 'bad_request');
  const typo = await api('/api/runs?tiemLimitSeconds=1', yaml(tiny('typo')));
  assertError(typo, 400, 'bad_request');
  assert.match(
    typo.body.error.message,
    /unknown query parameter "tiemLimitSeconds" \(did you mean "timeLimitSeconds"\?\)/,
  );
  assertError(await api('/api/runs?seed=0x10', yaml(tiny('hex'))), 400, 'bad_request');
  assertError(await api('/api/runs?seed=1&seed=2', yaml(tiny('twice'))), 400, 'bad_request');
  assertError(await api('/api/runs?bogus=1'), 400, 'bad_request');
  const bad = Buffer.concat([Buffer.from('name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
  const utf = await api('/api/runs', yaml(bad));
  assertError(utf, 400, 'bad_request');
  assert.match(utf.body.error.message, /not valid UTF-8/);
  assertError(await api('/api/runs', yaml('<x/>', 'application/xml')), 415, 'unsupported_media_type');
  assertError(await api('/api/runs', yaml(tiny('latin'), 'text/yaml; charset=latin1')), 415, 'unsupported_media_type');
  // A body in an encoding express does not take (it answers 415): the code says so, not bad_request.
  const gz = await new Promise<Answer>((ok, fail) => {
    const u = new URL(`${svc.url}/api/runs`);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'Content-Type': 'application/yaml', 'Content-Encoding': 'x-unheard-of' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(text), text }));
      },
    );
    req.on('error', fail);
    req.end('xx');
  });
  assertError(gz, 415, 'unsupported_media_type');
});

test('#17.2: after a restart the run-state, threshold and exit-status gauges come back from the history', async () => {
  const d = dataDir();
  const first = await startService({ port: 0, dataDir: d, workers: 1 });
  const failing = `${tiny('restored')}thresholds:\n  exits_per_second{reason="HLT"}: ["< 0"]\n`;
  const r = await api('/api/runs', yaml(failing), first.url);
  assert.equal(r.status, 202, r.text);
  const rec = await waitFor(r.body.id, ['completed'], first.url);
  assert.equal(rec.summary.exitStatus, 1);
  await first.close();
  const again = await startService({ port: 0, dataDir: d, workers: 1 });
  services.push(again);
  const m = parseExposition((await api('/metrics', {}, again.url)).text);
  const label = r.body.seriesLabel as string;
  assert.equal(m.get(`vmexit_lab_run_state{scenario="${label}",state="completed"}`), 1);
  assert.equal(m.get(`vmexit_lab_run_last_exit_status{scenario="${label}"}`), 1);
  const thresholds = [...m].filter(([k]) => k.startsWith(`vmexit_lab_threshold_passed{scenario="${label}"`));
  assert.equal(thresholds.length, 1);
  assert.equal(thresholds[0][1], 0, 'the failed threshold is still failed: its alert does not resolve');
});

test('#18.1: a validation over its time bound is abandoned with too_complex', async () => {
  const { ScenarioValidator } = await import('../../src/service/scenarioValidator.js');
  const v = new ScenarioValidator({ timeoutMs: 50, threads: 1 });
  try {
    await v.warm();
    const body = `name: slow\n${Array.from({ length: 16_000 }, (_, i) => `x${i}: [a, b]`).join('\n')}\n`;
    await assert.rejects(v.validate(body, 'request.yaml'), (e: { status: number; code: string; message: string }) => {
      assert.equal(e.status, 422);
      assert.equal(e.code, 'too_complex');
      assert.match(e.message, /did not finish within 0\.05 s/);
      return true;
    });
    assert.equal(v.inFlight, 0, 'the abandoned validation no longer counts against the bound');
  } finally {
    await v.close();
  }
});

test('#18.1: a validation over its memory bound is abandoned with too_complex, and the next one is answered', async () => {
  const { ScenarioValidator } = await import('../../src/service/scenarioValidator.js');
  // 16,000 flow sequences pass the early bound (48,000 structure characters) but their nodes need
  // more than a 16 MiB heap: the thread dies of it, the validator does not.
  const v = new ScenarioValidator({ timeoutMs: 60_000, threads: 1, heapMb: 16 });
  try {
    await v.warm();
    const body = `name: big\n${Array.from({ length: 16_000 }, (_, i) => `x${i}: [a, b]`).join('\n')}\n`;
    await assert.rejects(v.validate(body, 'request.yaml'), (e: { status: number; code: string; message: string }) => {
      assert.equal(e.status, 422);
      assert.equal(e.code, 'too_complex');
      assert.match(e.message, /^request\.yaml: validating the scenario needed more than 16 MiB/);
      return true;
    });
    assert.equal(v.inFlight, 0);
    await assert.rejects(
      v.validate('name: next\n', 'next.yaml'),
      (e: { status: number; code: string; message: string }) => {
        assert.equal(e.status, 400, 'a fresh thread validates the next document');
        assert.equal(e.code, 'invalid_scenario');
        assert.match(e.message, /next\.yaml:1:1: error: missing required key "guests"/);
        return true;
      },
    );
  } finally {
    await v.close();
  }
});
