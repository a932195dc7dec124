/**
 * The fifth hostile pass (2026-12-06, docs/SERVICE.md "Hostile input: what is checked", the rows
 * that name this file): each test failed before the fix it names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from '../support/wait.js';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { allAtOnce } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-fifth-');

/** What one connection got: the bytes, and whether the service closed it (rather than the test). */
interface Conversation {
  readonly stream: string;
  readonly closedByService: boolean;
}

/**
 * Send `head` (a request line and headers, and maybe a chunk-size line), then `bodyBytes` bytes of
 * body as fast as the service takes them, and no more: read until the service closes the
 * connection, or `waitMs` pass.
 */
function announce(base: string, head: string, bodyBytes: number, waitMs = 15_000): Promise<Conversation> {
  const u = new URL(base);
  return new Promise((ok) => {
    const c = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByService: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      ok({ stream: Buffer.concat(chunks).toString('latin1'), closedByService });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    c.on('data', (d: Buffer) => chunks.push(d));
    // Writing into a connection the service closed: EPIPE or ECONNRESET, after what it answered.
    c.on('error', () => finish(true));
    c.on('close', () => finish(true));
    c.write(head);
    const block = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (!done && sent < bodyBytes) {
        sent += block.length;
        if (!c.write(block)) return void c.once('drain', pump);
      }
    };
    pump();
  });
}

const POST = 'POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n';

test('a body announced far over the limit (a chunk of 2^60 bytes, Content-Length 10^15) is 413 at once and the connection closes (it was read and thrown away until the request timeout, then 408)', async () => {
  // The request timeout is what the old reader answered at: short here, so the test ends either way.
  const s = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    headersTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
  });
  services.push(s);
  for (const [what, head] of [
    ['one chunk of 2^60 bytes', `${POST}Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n`],
    ['Content-Length 10^15', `${POST}Content-Length: 1000000000000000\r\n\r\n`],
    ['Content-Length 10^15, gzip', `${POST}Content-Encoding: gzip\r\nContent-Length: 1000000000000000\r\n\r\n`],
  ]) {
    // 2 MiB sent of what is announced: past the 1 MiB limit, far from the end of the body.
    const got = await announce(s.url, head, 2 * 1024 * 1024);
    assert.match(got.stream, /^HTTP\/1\.1 413 /, `${what}: ${got.stream.slice(0, 200)}`);
    assert.match(got.stream, /"code":"payload_too_large"/, what);
    assert.match(got.stream, /\r\nConnection: close\r\n/i, `${what}: the answer says the connection closes`);
    assert.ok(got.closedByService, `${what}: the service closed the connection`);
  }
  // A refusal before the body is read (here 405: /healthz takes no POST) closes the connection too,
  // rather than reading what the request announces.
  const early = await announce(
    s.url,
    'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000000\r\n\r\n',
    2 * 1024 * 1024,
  );
  assert.match(early.stream, /^HTTP\/1\.1 405 /, early.stream.slice(0, 200));
  assert.doesNotMatch(early.stream, / 408 /, 'closed after the 405, not at the request timeout');
  assert.match(early.stream, /\r\nConnection: close\r\n/i);
  assert.ok(early.closedByService);
  // Bodies within the limit are read as before, on a connection that stays open.
  const name = 'nope-no-such-scenario';
  const ok = await announce(
    s.url,
    `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${name.length}\r\n\r\n${name}`,
    0,
    1_500,
  );
  assert.match(ok.stream, /^HTTP\/1\.1 404 /, ok.stream.slice(0, 200));
  assert.doesNotMatch(ok.stream, /\r\nConnection: close\r\n/i);
  assert.equal(ok.closedByService, false);
});

const renders = (metrics: string): number =>
  Number(/^vmexit_lab_metrics_render_seconds_count\{format="text"\} (\d+)$/m.exec(metrics)?.[1] ?? NaN);

test('scrapes that arrive together share one render of /metrics (each rendered it anew: 500 at once held /healthz 13 s)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const scrape = async (): Promise<string> => (await fetch(`${s.url}/metrics`)).text();
  await scrape(); // the render histogram has its first sample from the next scrape on
  const before = renders(await scrape());
  const n = 40;
  const answers = await allAtOnce(s.url, n, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  for (const a of answers) assert.match(a, /^HTTP\/1\.1 200 /);
  const bodies = answers.map((a) => a.slice(a.indexOf('\r\n\r\n') + 4));
  assert.ok(
    bodies.every((b) => b.includes('vmexit_lab_build_info')),
    'every answer is the exposition',
  );
  // The scrape above was rendered on its own (before); the 40 sent at once: a few renders at most,
  // each request's taken after it arrived (counted by the render histogram, which counts renders).
  const done = renders(await scrape()) - before - 1;
  assert.ok(done >= 1 && done <= n / 4, `${done} renders for ${n} scrapes sent at once`);
  // A render taken after a request arrived: a scrape still sees what changed before it (liveView.test.ts).
  const distinct = new Set(bodies.map((b) => b.replace(/^(process|nodejs)_.*$/gm, ''))).size;
  assert.ok(distinct <= done, `${distinct} distinct bodies, at most one per render`);
});

test('a history database SQLite finds damaged: the service does not start, and says which file and what to do (it said only "database disk image is malformed")', async () => {
  const dir = dataDir();
  const s = await startService({ port: 0, dataDir: dir, workers: 1 });
  await s.close();
  // Past the file header (100 bytes), the first page's b-tree header and all after it overwritten.
  const file = join(dir, 'history.sqlite');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(statSync(file).size - 100, 0xff), 0, undefined, 100);
  closeSync(fd);
  await assert.rejects(startService({ port: 0, dataDir: dir, workers: 1 }), (e: Error) => {
    assert.ok(e.message.includes(`the history database ${file} is damaged (SQLite: `), e.message);
    assert.match(e.message, /move it and any .*-wal and -shm beside it elsewhere \(or give another --data-dir\)/);
    return true;
  });
  // Moved aside, as the message says: the service starts with an empty history.
  renameSync(file, `${file}.damaged`);
  for (const x of ['-wal', '-shm']) rmSync(`${file}${x}`, { force: true });
  const again = await startService({ port: 0, dataDir: dir, workers: 1 });
  services.push(again);
  assert.deepEqual(again.manager.list({}), []);
});

test('tagged values the scenario cannot take say what they are (a timestamp, !!binary data: they were "found a object value")', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const scenario = (seed: string, directive = ''): string =>
    `${directive}name: tags\nseed: ${seed}\nhost: { cpu: i7-6700K, cores: 2 }\nhypervisor: { policy: bhyve-12.1 }\nguests: [{ os: freebsd-12.1, phases: [{ phase: idle }] }]\nduration: 1s\n`;
  for (const [yaml, line, found] of [
    [scenario('!!binary aGVsbG8='), 2, 'binary data (!!binary)'],
    [scenario('!!timestamp 2001-12-14'), 2, 'a timestamp (2001-12-14)'],
    // YAML 1.1, asked for: its date form is a timestamp (YAML 1.2, the default, reads a string).
    [scenario('2001-12-14', '%YAML 1.1\n---\n'), 4, 'a timestamp (2001-12-14)'],
  ] as const) {
    const r = await fetch(`${s.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/yaml' },
      body: yaml,
    });
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 400, body.error.message);
    assert.equal(body.error.code, 'invalid_scenario');
    assert.match(body.error.message, new RegExp(`^request\\.yaml:${line}:\\d+: error: wrong type for seed`));
    assert.ok(body.error.message.endsWith(`found ${found})`), body.error.message);
  }
});

test('the threshold label has no invisible character (U+2028 and U+FEFF the grammar trims as white space were kept in /metrics as written)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const yaml = `name: invisible
seed: 1
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests: [{ os: freebsd-12.1, phases: [{ phase: idle }] }]
duration: 1s
thresholds:
  "exits_per_second{reason=\\"CR_ACCESS\\"}\\u2028": ["< 1000\\ufeff"]
`;
  const r = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: yaml,
  });
  const rec = (await r.json()) as { seriesLabel: string };
  assert.equal(r.status, 202, JSON.stringify(rec));
  const gauge = `vmexit_lab_threshold_passed{scenario="${rec.seriesLabel}"`;
  const metrics = await waitUntil('the threshold gauge', async () => {
    const m = await (await fetch(`${s.url}/metrics`)).text();
    return m.includes(gauge) ? m : undefined;
  });
  assert.equal(
    metrics.split('\n').find((l) => l.startsWith(gauge)),
    // The label is spelled from the parsed threshold (src/metrics/thresholdLabel.ts): the white
    // space the grammar trims is not in it at all (it was, as escapes, before one spelling).
    `${gauge},variant="base",threshold="exits_per_second{reason=\\"CR_ACCESS\\"}: < 1000"} 1`,
  );
  assert.doesNotMatch(metrics, /[\u2028\u2029\ufeff]/u, 'no invisible character left in /metrics');
});

test('a JSON body that cannot be a request (nested arrays, thousands of keys) is refused before it is parsed (JSON.parse held the main thread 1.2 s for 1 MB of nesting)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const post = async (body: string): Promise<{ status: number; code: string; message: string }> => {
    const r = await fetch(`${s.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const b = (await r.json()) as { error?: { code: string; message: string } };
    return { status: r.status, code: b.error?.code ?? '', message: b.error?.message ?? '' };
  };
  // Named as the parse would have named them: the field whose value nests, the first unknown one.
  for (const [body, first] of [
    [`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'the JSON body has more than 64'],
    [`{"scenario": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, '"scenario" must be a string or a number: the JSON'],
    [`{${Array.from({ length: 20_000 }, (_, i) => `"k${i}": 1`).join(', ')}}`, 'unknown field "k0" (expected'],
  ]) {
    const r = await post(body);
    assert.equal(r.status, 400, r.message);
    assert.equal(r.code, 'bad_request');
    assert.ok(r.message.startsWith(first), r.message);
    assert.match(
      r.message,
      /the JSON body has more than 64 of \{ \} \[ \] , : outside its strings.*nothing was parsed$/,
    );
  }
  // What a request holds is read as before: structure inside the YAML string counts nothing.
  const yaml = `name: json-yaml\nhost: { cpu: i7-6700K, cores: 2 }\nhypervisor: { policy: bhyve-12.1 }\nguests: [${Array.from({ length: 40 }, (_, i) => `{ name: g${i}, os: freebsd-12.1, phases: [{ phase: idle }] }`).join(', ')}]\nduration: 1s\n`;
  const ok = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ yaml, seed: 3, pace: 'max' }),
  });
  assert.equal(ok.status, 202, await ok.text());
  assert.deepEqual(await post('{"scenario": [1]}'), {
    status: 400,
    code: 'bad_request',
    message: '"scenario" must be a string (a name of scenarios/)',
  });
});

test('--per-guest-metrics: a guest name past 128 characters is refused at load with its position (the sixth pass; before the fifth, a 300,000-character name made each per-guest line 300 KB, and the label bound, clientLabel, stays)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, perGuestMetrics: true });
  services.push(s);
  const name = `g${'x'.repeat(300_000)}`;
  const yaml = `name: long-guest\nseed: 1\nhost: { cpu: i7-6700K, cores: 2 }\nhypervisor: { policy: bhyve-12.1 }\nguests:\n  - { name: ${name}, os: freebsd-12.1, phases: [{ phase: idle }] }\nduration: 1s\n`;
  const r = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: yaml,
  });
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(r.status, 400, JSON.stringify(body).slice(0, 300));
  assert.equal(body.error.code, 'invalid_scenario');
  assert.match(
    body.error.message,
    /^request\.yaml:6:13: error: invalid guests\[0\]\.name \(expected a name of 1 to 128 letters/,
  );
});
