import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, runCount } from '../support/http.js';
import { waitUntil } from '../support/wait.js';
import { HistoryStore } from '../../src/history/store.js';
import { startService } from '../../src/service/server.js';
import Database from 'better-sqlite3';

/**
 * The fresh-eyes pass of 2026-12-05 (docs/SERVICE.md, "Hostile input: what is checked", the rows
 * that name this file): each test failed before the fix it names.
 */

const { shared: service, dataDir, services } = serviceFixture('vmexit-lab-fresh-');

/** Every status line of a raw HTTP/1.1 answer stream (an answer starts right after the body before it). */
const statuses = (stream: string): number[] => [...stream.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/**
 * Write `text` on one connection, keep reading until the service closes it or `quietMs` pass
 * without a byte, and return what came back.
 */
function converse(base: string, text: string, quietMs = 1_500): Promise<string> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    const done = (): void => {
      c.destroy();
      ok(Buffer.concat(chunks).toString('utf8'));
    };
    let quiet = setTimeout(done, quietMs);
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    });
    c.on('error', fail);
    c.on('close', () => {
      clearTimeout(quiet);
      done();
    });
    c.write(text);
  });
}

test('pipelined requests: one sent before the answer to the one before it is 429 pipelined and the connection closes (each was served whole: 300 connections x 20 pipelined results took the service from 0.15 to 3.2 GB and /healthz 8.5 s)', async () => {
  const s = await service();
  const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  // 50 requests in one write: Node parses them all and calls the app for each before the first
  // answer is sent, holding each answer whole until the ones before it are.
  const stream = await converse(s.url, get('/api/runs?limit=1000').repeat(50));
  const got = statuses(stream);
  assert.equal(got[0], 200, `the first request is answered: ${stream.slice(0, 300)}`);
  assert.equal(got.filter((c) => c === 200).length, 1, `one request served, not ${got.length}: ${got.join(' ')}`);
  assert.ok(got.includes(429), `the second is refused: ${got.join(' ')}`);
  const refusal = stream.slice(stream.indexOf('HTTP/1.1 429'));
  assert.match(refusal, /\r\nConnection: close\r\n/i, 'and the connection closes after it');
  const body = JSON.parse(refusal.slice(refusal.indexOf('\r\n\r\n') + 4, refusal.indexOf('}}') + 2));
  assert.equal(body.error.code, 'pipelined');
  assert.match(body.error.message, /before the answer to the request before it/);

  // A keep-alive client that waits for each answer is not pipelining: both answered on one connection.
  const u = new URL(s.url);
  const sequential = await new Promise<number[]>((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    let all = '';
    let sent = 1;
    c.on('data', (d: Buffer) => {
      all += d.toString('utf8');
      const answers = statuses(all).length;
      // The first answer is whole (its body ends the stream so far): send the second.
      if (sent === 1 && answers === 1 && all.endsWith('}')) {
        sent = 2;
        c.write(get('/healthz'));
      } else if (answers === 2 && all.endsWith('}')) {
        c.destroy();
        ok(statuses(all));
      }
    });
    c.on('error', fail);
    c.write(get('/api/runs'));
  });
  assert.deepEqual(sequential, [200, 200]);
  // And the service answers as before.
  assert.equal((await rawRequest(s.url, 'GET', '/healthz')).status, 200);
  assert.equal(await runCount(s.url), 0);
});

/** README.md's "Write a scenario" block: my-scenario.yaml, as a new user saves it. */
function readmeScenario(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('```yaml', readme.indexOf('## Write a scenario'));
  return readme.slice(readme.indexOf('\n', at) + 1, readme.indexOf('\n```', at) + 1);
}

test("curl's defaults: -d/--data-binary without a Content-Type (a form) is 415 saying which header to add; -d @FILE's one line says curl dropped the line breaks (it said found nothing)", async () => {
  const s = await service();
  const yaml = readmeScenario();
  // curl -d @my-scenario.yaml and curl --data-binary @my-scenario.yaml: a form, unless told otherwise.
  const form = await rawRequest(
    s.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    yaml,
  );
  assert.equal(form.status, 415, form.text);
  assert.match(form.body.error.message, /found "application\/x-www-form-urlencoded"/);
  assert.match(form.body.error.message, /curl sends that .*-H 'Content-Type: application\/yaml' --data-binary @FILE/);

  // curl -H 'Content-Type: application/yaml' -d @my-scenario.yaml: curl strips the file's line breaks.
  const oneLine = yaml.replace(/[\r\n]/g, '');
  const cut = await rawRequest(s.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, oneLine);
  assert.equal(cut.status, 400, cut.text);
  assert.equal(cut.body.error.code, 'invalid_scenario');
  assert.match(
    cut.body.error.message,
    new RegExp(
      `the body is one line of ${oneLine.length} characters: .*curl -d.*drops .*line breaks.*--data-binary @FILE`,
    ),
  );
  // The same scenario with its line breaks runs; a bad one of several lines gets no such note.
  const bad = await rawRequest(
    s.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml' },
    yaml.replace('name:', 'nme:'),
  );
  assert.equal(bad.status, 400, bad.text);
  assert.doesNotMatch(bad.body.error.message, /one line/);
  assert.equal(await runCount(s.url), 0, 'nothing ran');
});

test('a client that never reads a large answer holds its connection only until the response timeout (two such clients held both connections of --max-connections 2 for ever: /healthz was refused)', async () => {
  const d = dataDir();
  // A finished run whose results.json is larger than the kernel's socket buffers take (a few MB on
  // loopback), so its answer cannot be handed off whole: 16 MB (a 20,000-guest run with a violation
  // per guest writes about 7 MB, its page more).
  {
    const { store } = HistoryStore.open(d);
    store.create({
      id: 'big',
      scenario: 'big',
      source: { kind: 'inline' },
      createdAt: new Date().toISOString(),
      options: { pace: 'max', seed: 1, workers: 1 },
      guests: 1,
      variants: ['base'],
      yaml: 'name: big\n',
      seriesLabel: 'big',
    });
    store.started('big', new Date().toISOString());
    const results = {
      version: 1,
      scenario: 'big',
      variants: [],
      crossVariantThresholds: [],
      padding: 'x'.repeat(16 << 20),
    };
    store.finish('big', { state: 'completed', at: new Date().toISOString(), results: results as any, partial: false });
    store.close();
  }
  // Not a literal: the option did not exist before the fix, and the test must compile without it.
  const options = { port: 0, dataDir: d, workers: 1, maxConnections: 2, responseTimeoutMs: 1_000 };
  const s = await startService(options);
  services.push(s);
  const u = new URL(s.url);
  const readers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const c = connect(Number(u.port), u.hostname);
    c.on('error', () => undefined);
    c.pause();
    c.write('GET /api/runs/big/results HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    readers.push(c);
  }
  try {
    // Both connections are taken (a third is closed unanswered) until the stalled answers are dropped.
    const healthy = await waitUntil(
      '/healthz answered with both connections held by clients that do not read',
      async () => {
        try {
          return (await rawRequest(s.url, 'GET', '/healthz')).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(healthy, true);
  } finally {
    for (const c of readers) c.destroy();
  }
});

test('a history holding results the metrics cannot read back (cut short, or of another shape) still starts: those runs come back without their thresholds, named in a note (the service would not start: "results.crossVariantThresholds is not iterable")', async () => {
  const d = dataDir();
  {
    const { store } = HistoryStore.open(d);
    const finished = (id: string, results: unknown): void => {
      store.create({
        id,
        scenario: id,
        source: { kind: 'inline' },
        createdAt: new Date().toISOString(),
        options: { pace: 'max', seed: 1, workers: 1 },
        guests: 1,
        variants: ['base'],
        yaml: `name: ${id}\n`,
        seriesLabel: id,
      });
      store.started(id, new Date().toISOString());
      store.finish(id, {
        state: 'completed',
        at: new Date().toISOString(),
        results: results as any,
        partial: false,
        summary: { exitStatus: 1, variants: [], crossVariantThresholdsFailed: 0 },
      });
    };
    finished('other-shape', { version: 1, scenario: 'other-shape', variants: [] });
    finished('cut', { version: 1, scenario: 'cut', variants: [], crossVariantThresholds: [] });
    finished('fine', {
      version: 1,
      scenario: 'fine',
      variants: [{ name: 'base', thresholds: [{ metric: 'exits_per_second', expr: '< 1', passed: false }] }],
      crossVariantThresholds: [],
    });
    store.close();
    // A results.json cut short (a disk that filled, a copy interrupted).
    const db = new Database(join(d, 'history.sqlite'));
    db.prepare("UPDATE results SET json = substr(json, 1, 20) WHERE run_id = 'cut'").run();
    db.close();
  }
  const s = await startService({ port: 0, dataDir: d, workers: 1 });
  services.push(s);
  assert.deepEqual(
    [...((s as unknown as { notes?: readonly string[] }).notes ?? [])].sort(),
    [
      'run other-shape: its results.json could not be read back into the metrics (results.crossVariantThresholds is not iterable); its run state, times and exit status are restored, its threshold outcomes are not',
      'run cut: its results.json could not be read back into the metrics (it is not valid JSON: Unterminated string in JSON at position 20); its run state, times and exit status are restored, its threshold outcomes are not',
    ].sort(),
  );
  const metrics = (await rawRequest(s.url, 'GET', '/metrics')).text;
  assert.match(metrics, /vmexit_lab_run_last_exit_status\{scenario="other-shape"\} 1/);
  assert.match(metrics, /vmexit_lab_run_last_exit_status\{scenario="cut"\} 1/);
  assert.match(
    metrics,
    /vmexit_lab_threshold_passed\{scenario="fine",variant="base",threshold="exits_per_second: < 1"\} 0/,
  );
  // Their pages say what is wrong, in HTML, with where the record and the stored file are (it was
  // the JSON "internal error: Cannot read properties of undefined (reading 'replace')").
  for (const id of ['other-shape', 'cut']) {
    const page = await rawRequest(s.url, 'GET', `/runs/${id}`, { Accept: 'text/html' });
    assert.equal(page.status, 500, id);
    assert.match(String(page.headers['content-type']), /^text\/html/, `${id}: ${page.text.slice(0, 200)}`);
    assert.match(page.text, /its results\.json could not be shown \(/, id);
    assert.match(page.text, new RegExp(`href="/api/runs/${id}/results"`), id);
  }
  // The API says what a results.json cut short is, as the page does (it was 200 application/json
  // with the 20 characters: a client's JSON parser failed on the service's "success"); one of
  // another shape is still JSON, served as stored.
  const cut = await rawRequest(s.url, 'GET', '/api/runs/cut/results');
  assert.equal(cut.status, 500, cut.text);
  assert.equal(cut.body.error.code, 'damaged_results');
  assert.match(
    cut.body.error.message,
    /^run cut: its stored results\.json is not valid JSON \(Unterminated string in JSON at position 20\): cut short or damaged after it was written/,
  );
  const other = await rawRequest(s.url, 'GET', '/api/runs/other-shape/results');
  assert.equal(other.status, 200, other.text);
  assert.equal(other.body.scenario, 'other-shape');
});

test('a posted scenario whose merge key reaches its own mapping is 400 invalid_scenario at the alias (it was 500 internal: "Maximum call stack size exceeded")', async () => {
  const s = await service();
  const before = await runCount(s.url);
  const yaml =
    'name: t\nhost: &h { cpu: i7-6700K, cores: 8, <<: *h }\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }]\n';
  const r = await rawRequest(s.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, yaml);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'invalid_scenario');
  assert.deepEqual(
    r.body.error.diagnostics.map((d: { line: number; column: number; message: string }) => [
      d.line,
      d.column,
      d.message,
    ]),
    [[2, 41, 'the merge key "<<" of host merges its own mapping (*h)']],
  );
  assert.equal(await runCount(s.url), before, 'nothing ran');
});
