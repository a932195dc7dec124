import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { READ_TOKEN_ENV, startService, TOKEN_ENV, type ServiceHandle } from '../../src/service/server.js';
import type { RunState } from '../../src/history/records.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { parseScenario } from '../../src/scenario/load.js';
import { type ScenarioError, formatDiagnostic } from '../../src/input/diagnostics.js';
import { runScenario } from '../../src/run/runScenario.js';
import {
  api as fetchApi,
  busyScenario,
  waitForSimulated,
  waitForState,
  yamlPost as post,
  type FetchAnswer,
} from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-api-');

const SMALL = `name: api-small
seed: 5
host: { cpu: i7-6700K, cores: 4, count: 2 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: 2s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;
const LONG = SMALL.replace('name: api-small', 'name: api-long').replace('duration: 2s', 'duration: 120s');
/** A max-pace run that lasts until cancelled (LONG ended in 1.4 s, sometimes before the next POST was admitted). */
const BUSY = busyScenario('api-busy', 5, 600);

let svc: ServiceHandle;
before(async () => {
  svc = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 2,
    limits: { maxGuests: 100, maxDurationSeconds: 600, maxConcurrentRuns: 2 },
    bodyLimitBytes: 64 * 1024,
    stopGraceMs: 2_000,
  });
  services.push(svc);
});

const api = (path: string, init: RequestInit = {}, base = svc.url): Promise<FetchAnswer> =>
  fetchApi(base, path, init, 15_000);
const yamlPost = (yaml: string): RequestInit => post(yaml);
const waitFor = (id: string, states: RunState[], base = svc.url): Promise<any> => waitForState(base, id, states);

function assertErrorShape(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.status, status);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
}

test('health, readiness and the scenario list', async () => {
  assert.deepEqual((await api('/healthz')).body, { status: 'ok' });
  const ready = await api('/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  const list = await api('/api/scenarios');
  const def = list.body.scenarios.find((s: { name: string }) => s.name === 'default');
  assert.equal(def.scenario, 'default-mixed-fleet');
  assert.ok(def.valid);
  assert.ok(list.body.scenarios.some((s: { name: string }) => s.name === 'seed/win10-1909-cr8-exits'));
});

test("POST YAML: 202 with Location, then state, progress, summary and results.json identical to the CLI's", async () => {
  const post = await api('/api/runs', yamlPost(SMALL));
  assert.equal(post.status, 202);
  assert.equal(post.headers.get('location'), `/api/runs/${post.body.id}`);
  assert.equal(post.body.scenario, 'api-small');
  assert.deepEqual(post.body.source, { kind: 'inline' });
  const rec = await waitFor(post.body.id, ['completed', 'failed']);
  assert.equal(rec.state, 'completed');
  assert.equal(rec.progress.fraction, 1);
  assert.equal(rec.summary.exitStatus, 0);
  assert.equal(rec.summary.variants.length, 2);
  assert.equal(rec.hasResults, true);
  assert.equal(rec.partial, false);
  const res = await api(`/api/runs/${post.body.id}/results`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-vmexit-lab-partial'), 'false');
  assert.equal(res.body.version, 1);
  const ref = runScenario(parseScenario(SMALL, 'request.yaml')).results;
  assert.deepEqual(
    res.body.variants.map((v: { totals: unknown }) => v.totals),
    JSON.parse(JSON.stringify(ref.variants.map((v) => v.totals))),
  );
  const list = await api('/api/runs');
  assert.ok(list.body.runs.some((r: { id: string }) => r.id === post.body.id));
});

test('POST by name (JSON, or a bare name as text) with pace, seed and time limit', async () => {
  const r = await api('/api/runs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ scenario: 'seed/e5-2667v4-apicv-panic-script', seed: 9, timeLimitSeconds: 60 }),
  });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.body.source, { kind: 'name', name: 'seed/e5-2667v4-apicv-panic-script' });
  assert.equal(r.body.options.seed, 9);
  assert.equal(r.body.options.timeLimitSeconds, 60);
  await waitFor(r.body.id, ['completed']);
  const t = await api('/api/runs', {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: 'seed/e5-2667v4-apicv-panic-script',
  });
  assert.equal(t.status, 202, t.text);
  assert.equal(t.body.scenario, 'e5-2667v4-apicv-panic-script');
  await waitFor(t.body.id, ['completed']);
});

test('a bad scenario: 400 with the same file:line:col messages as the CLI, and nothing runs', async () => {
  const bad = SMALL.replace('os: freebsd-12.1', 'os: freebsd-99');
  const r = await api('/api/runs', yamlPost(bad));
  assertErrorShape(r, 400, 'invalid_scenario');
  let cli: string[] = [];
  try {
    parseScenario(bad, 'request.yaml');
  } catch (e) {
    cli = (e as ScenarioError).diagnostics.map(formatDiagnostic);
  }
  assert.ok(cli.length > 0);
  assert.deepEqual(
    r.body.error.diagnostics.map((d: { text: string }) => d.text),
    cli,
  );
  assert.match(r.body.error.diagnostics[0].text, /^request\.yaml:\d+:\d+: error: /);
  assert.equal(r.body.error.diagnostics[0].file, 'request.yaml');
  // Refused requests, each with its status and code, in this order.
  const json = (body: string): RequestInit => post(body, 'application/json');
  const refused: readonly (readonly [string, RequestInit, number, string])[] = [
    ['/api/runs', yamlPost('name: [unclosed'), 400, 'invalid_scenario'],
    ['/api/runs', json('{"scenario": "no-such-scenario"}'), 404, 'unknown_scenario'],
    ['/api/runs', json('{"scenario": "../package"}'), 400, 'unknown_scenario'],
    ['/api/runs', json('{"scenario": '), 400, 'bad_request'],
    ['/api/runs', json('{"scenario": "default", "bogus": 1}'), 400, 'bad_request'],
    ['/api/runs', post('<x/>', 'application/xml'), 415, 'unsupported_media_type'],
    ['/api/runs?pace=slow', yamlPost(SMALL), 400, 'bad_request'],
  ];
  for (const [path, init, status, code] of refused) assertErrorShape(await api(path, init), status, code);
});

test('caps: guests, duration, body size and concurrent runs get clear 4xx errors', async () => {
  const many = SMALL.replace('count: 2 }', 'count: 100 }');
  const g = await api('/api/runs', yamlPost(many));
  assertErrorShape(g, 422, 'limit_exceeded');
  assert.match(g.body.error.message, /simulates 400 guests; this service allows at most 100/);
  assertErrorShape(
    await api('/api/runs', yamlPost(SMALL.replace('duration: 2s', 'duration: 2h'))),
    422,
    'limit_exceeded',
  );
  const big = await api('/api/runs', yamlPost(`${SMALL}# ${'x'.repeat(70 * 1024)}\n`));
  assertErrorShape(big, 413, 'payload_too_large');
  // --max-runs 2: a third max-pace run waits queued, with its place; cancelling one starts it.
  const a = await api('/api/runs', yamlPost(BUSY));
  const b = await api('/api/runs', yamlPost(BUSY.replace('seed: 5', 'seed: 6')));
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  const c = await api('/api/runs', yamlPost(SMALL));
  assert.equal(c.status, 202);
  assert.equal(c.body.state, 'queued');
  assert.deepEqual(c.body.queue, { lane: 'max', position: 1 });
  const list = await api('/api/runs');
  const maxLane = list.body.queue.lanes.find((l: { lane: string }) => l.lane === 'max');
  assert.deepEqual(maxLane.queued, [c.body.id]);
  assert.deepEqual([...maxLane.running].sort(), [a.body.id, b.body.id].sort());
  for (const id of [a.body.id, b.body.id])
    assert.equal((await api(`/api/runs/${id}`, { method: 'DELETE' })).status, 202);
  for (const id of [a.body.id, b.body.id]) await waitFor(id, ['cancelled']);
  assert.equal((await waitFor(c.body.id, ['completed'])).summary.exitStatus, 0);
});

test('DELETE cancels a running run: partial results are kept and marked; finished runs answer 409', async () => {
  const post = await api('/api/runs?pace=realtime', yamlPost(LONG));
  assert.equal(post.status, 202);
  const early = await api(`/api/runs/${post.body.id}/results`);
  assertErrorShape(early, 409, 'not_finished');
  // Under way on its worker (a simulated second done), not only admitted: then a cancel has something to keep.
  await waitForSimulated(svc.url, post.body.id, 1);
  const del = await api(`/api/runs/${post.body.id}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
  const rec = await waitFor(post.body.id, ['cancelled']);
  assert.equal(rec.stopReason, 'cancelled');
  assert.equal(rec.partial, true);
  const res = await api(`/api/runs/${post.body.id}/results`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-vmexit-lab-partial'), 'true');
  const sim = res.body.variants[0].totals.simulatedSeconds;
  assert.ok(sim >= 1 && sim < 120, `partial: ${sim} simulated seconds`);
  // Who stopped it, in results.json and the record's summary alike.
  assert.match(
    res.body.partialReason,
    /^cancelled through the API \(DELETE \/api\/runs\/\{id\}\) at \d+( to \d+)? of 120 simulated seconds/,
  );
  assert.equal(rec.summary?.partialReason, res.body.partialReason);
  assertErrorShape(await api(`/api/runs/${post.body.id}`, { method: 'DELETE' }), 409, 'not_running');
  assertErrorShape(await api('/api/runs/nope', { method: 'DELETE' }), 404, 'not_found');
  assertErrorShape(await api('/api/runs/nope'), 404, 'not_found');
  assertErrorShape(await api('/api/nothing-here'), 404, 'not_found');
});

test('/metrics over HTTP: text by default, OpenMetrics when asked', async () => {
  const text = await api('/metrics');
  assert.match(text.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  // Posted YAML: the label is the service's (inline- and a digest), not the client's `name`.
  assert.match(text.text, /^vmexit_lab_vm_exits_total\{scenario="inline-[0-9a-f]{12}"/m);
  assert.doesNotMatch(text.text, /scenario="api-small"/);
  assert.match(text.text, /^vmexit_lab_pool_workers 2$/m);
  assert.match(text.text, /^process_cpu_seconds_total /m);
  const om = await api('/metrics', {
    headers: { Accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
  });
  assert.match(om.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
  assert.ok(om.text.endsWith('# EOF\n'));
});

test('tokens: VMEXIT_LAB_TOKEN writes (and reads); VMEXIT_LAB_READ_TOKEN only reads; health stays open', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, token: 's3cret', readToken: 'r3ad' });
  services.push(s);
  const auth = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });
  const noAuth = await api('/api/runs', yamlPost(SMALL), s.url);
  assertErrorShape(noAuth, 401, 'unauthorized');
  // The answers name the variables serve takes the tokens from (TOKEN_ENV, READ_TOKEN_ENV).
  assert.match(noAuth.body.error.message, new RegExp(`\\(${TOKEN_ENV}\\)$`));
  const noReadAuth = await api('/api/runs', {}, s.url);
  assert.match(noReadAuth.body.error.message, new RegExp(`\\(${READ_TOKEN_ENV} or ${TOKEN_ENV}\\)$`));
  assert.match(noAuth.headers.get('www-authenticate') ?? '', /^Bearer/);
  assertErrorShape(
    await api(
      '/api/runs',
      { ...yamlPost(SMALL), headers: { 'Content-Type': 'application/yaml', ...auth('wrong') } },
      s.url,
    ),
    401,
    'unauthorized',
  );
  assertErrorShape(
    await api(
      '/api/runs',
      { ...yamlPost(SMALL), headers: { 'Content-Type': 'application/yaml', ...auth('r3ad') } },
      s.url,
    ),
    403,
    'forbidden',
  );
  const ok = await api(
    '/api/runs',
    { ...yamlPost(SMALL), headers: { 'Content-Type': 'application/yaml', ...auth('s3cret') } },
    s.url,
  );
  assert.equal(ok.status, 202);
  // Before: history, results and /metrics were readable by anyone who reached the port (#18 item 7).
  for (const path of [`/api/runs/${ok.body.id}`, '/api/runs', '/metrics', '/api/scenarios'])
    assertErrorShape(await api(path, {}, s.url), 401, 'unauthorized');
  const page = await api('/', {}, s.url);
  assert.equal(page.status, 401);
  assert.match(page.headers.get('www-authenticate') ?? '', /^Basic/, 'pages challenge the browser');
  const basic = `Basic ${Buffer.from('any:r3ad').toString('base64')}`;
  assert.equal((await api('/', { headers: { Authorization: basic } }, s.url)).status, 200);
  assert.equal((await api(`/api/runs/${ok.body.id}`, { headers: auth('r3ad') }, s.url)).status, 200);
  assert.equal((await api('/metrics', { headers: auth('r3ad') }, s.url)).status, 200);
  assert.equal((await api('/api/runs', { headers: auth('s3cret') }, s.url)).status, 200, 'the write token reads');
  assert.equal((await api('/healthz', {}, s.url)).status, 200);
  assert.equal((await api('/readyz', {}, s.url)).status, 200);
  assertErrorShape(await api(`/api/runs/${ok.body.id}`, { method: 'DELETE' }, s.url), 401, 'unauthorized');
  assertErrorShape(
    await api(`/api/runs/${ok.body.id}`, { method: 'DELETE', headers: auth('r3ad') }, s.url),
    403,
    'forbidden',
  );
  await waitForState(s.url, ok.body.id, ['completed'], { headers: auth('r3ad') });
  await assert.rejects(
    startService({ port: 0, dataDir: dataDir(), workers: 1, token: 'same', readToken: 'same' }),
    /must differ/,
  );
});

test('binds loopback by default; another address needs a token; one service per data dir', async () => {
  assert.match(svc.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await assert.rejects(startService({ host: '0.0.0.0', port: 0, dataDir: dataDir() }), /without a token/);
  const d = dataDir();
  const s = await startService({ port: 0, dataDir: d, workers: 1 });
  services.push(s);
  await assert.rejects(startService({ port: 0, dataDir: d, workers: 1 }), /in use by process/);
});

test('pages for people: / lists runs, /runs/:id serves the HTML report once the run ends', async () => {
  const post = await api('/api/runs', yamlPost(SMALL.replace('name: api-small', 'name: api-page')));
  assert.equal(post.status, 202);
  const id = post.body.id as string;
  await waitFor(id, ['completed']);
  const index = await api('/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  assert.ok(index.text.includes(id) && index.text.includes('api-page'), 'the index names the run');
  const page = await api(`/runs/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /<canvas/, 'the run page is the report with its charts');
  assert.ok(page.text.includes('bhyve-tpr-v3'));
  assert.doesNotMatch(page.text, /<script[^>]+src="https?:/, 'self-contained');
  assert.equal((await api('/runs/nope')).status, 404);
});
