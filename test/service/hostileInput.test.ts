import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib, { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { repeatedKey } from '../../src/service/request.js';
import { MAX_YAML_DEPTH } from '../../src/input/depth.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, runCount, tinyScenario as tiny, waitForState } from '../support/http.js';

/**
 * The hostile-input audit of docs/SERVICE.md ("Hostile input: what is checked"), one test per
 * finding, against loopback services: each test failed before the fix it names.
 */

const { dataDir, services } = serviceFixture('vmexit-lab-hostile-input-');

let open: ServiceHandle;
before(async () => {
  open = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000 });
  services.push(open);
});

test('cross-site writes: a page of another origin cannot start or cancel runs (text/plain POST needs no preflight)', async () => {
  const before = await runCount(open.url);
  const cases: Record<string, string>[] = [
    { Origin: 'http://evil.example' },
    { Origin: 'null' },
    { Origin: 'http://127.0.0.1:1' }, // another port of this host: another origin
    { 'Sec-Fetch-Site': 'cross-site' },
    { 'Sec-Fetch-Site': 'same-site', Origin: 'http://localhost:3000' },
  ];
  for (const h of cases) {
    const r = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'text/plain', ...h }, 'default');
    assert.equal(r.status, 403, `${JSON.stringify(h)}: ${r.text}`);
    assert.equal(r.body.error.code, 'forbidden');
    assert.match(r.body.error.message, /from a web page of another origin/);
    const d = await raw(open.url, 'DELETE', '/api/runs/00000000-0000-0000-0000-000000000000', h);
    assert.equal(d.status, 403, `DELETE ${JSON.stringify(h)}: ${d.text}`);
  }
  assert.equal(await runCount(open.url), before, 'no run was created');
  // Reads from other origins are not refused here (the browser keeps their answers from the page),
  // and API clients that send no Origin, or the service's own origin, still write.
  assert.equal((await raw(open.url, 'GET', '/api/runs', { Origin: 'http://evil.example' })).status, 200);
  const host = new URL(open.url).host;
  const own = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml', Origin: `http://${host}`, 'Sec-Fetch-Site': 'same-origin' },
    tiny('own-origin'),
  );
  assert.equal(own.status, 202, own.text);
  const curl = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, tiny('no-origin'));
  assert.equal(curl.status, 202, curl.text);
});

test('DNS rebinding: an open service answers only requests addressed to a loopback name', async () => {
  for (const host of ['evil.example', `evil.example:${new URL(open.url).port}`, '10.0.0.1', '127.0.0.1.evil.example']) {
    for (const path of ['/api/runs', '/metrics', '/', '/healthz']) {
      const r = await raw(open.url, 'GET', path, { Host: host });
      assert.equal(r.status, 403, `Host ${host} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, 'forbidden');
      assert.match(r.body.error.message, /addressed to 127\.0\.0\.1, localhost or \[::1\]/);
    }
  }
  for (const host of ['127.0.0.1', 'localhost:8080', 'LOCALHOST', 'app.localhost:1', '[::1]:8080', '127.1.2.3:9']) {
    const r = await raw(open.url, 'GET', '/healthz', { Host: host });
    assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
  }
  // With a token the page has no credential, and a proxy may forward other names: no Host check.
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, token: 'w-token' });
  services.push(s);
  const r = await raw(s.url, 'GET', '/api/runs', { Host: 'vmexit-lab.example', Authorization: 'Bearer w-token' });
  assert.equal(r.status, 200, r.text);
});

test('scenario names: at most 128 characters (a 1 MB name was kept and repeated by every list and page)', async () => {
  for (const name of ['x'.repeat(129), 'x'.repeat(1_000_000)]) {
    const r = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, tiny(name));
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.body.error.code, 'invalid_scenario');
    assert.equal(r.body.error.diagnostics[0].line, 1);
    assert.equal(r.body.error.diagnostics[0].column, 7);
    assert.match(
      r.body.error.message,
      /^request\.yaml:1:7: error: invalid name \(expected a name of 1 to 128 lower-case/,
    );
    assert.ok(r.text.length < 2_000 + name.length * 1.1, 'the answer does not repeat the name more than once');
  }
  const ok = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, tiny('y'.repeat(128)));
  assert.equal(ok.status, 202, ok.text.slice(0, 300));
});

test('security headers: no framing, no referrer, no sniffing; JSON is no document; pages load nothing from elsewhere', async () => {
  const post = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, tiny('headers'));
  assert.equal(post.status, 202, post.text);
  const paths = ['/healthz', '/api/runs', `/api/runs/${post.body.id}`, '/metrics', '/api/runs/none', '/nowhere'];
  for (const path of [...paths, '/', `/runs/${post.body.id}`]) {
    const r = await raw(open.url, 'GET', path);
    const h = r.headers;
    assert.equal(h['x-content-type-options'], 'nosniff', path);
    assert.equal(h['x-frame-options'], 'DENY', path);
    assert.equal(h['referrer-policy'], 'no-referrer', path);
    assert.equal(h['cross-origin-resource-policy'], 'same-origin', path);
    assert.equal(h['x-powered-by'], undefined, path);
    assert.equal(h['access-control-allow-origin'], undefined, `${path}: no CORS (docs/SERVICE.md)`);
    const csp = String(h['content-security-policy']);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.match(csp, /^default-src 'none'/, path);
    if (String(h['content-type']).startsWith('text/html')) {
      // The pages run their inline scripts and poll this service, and nothing else.
      assert.match(csp, /script-src 'unsafe-inline'/, path);
      assert.match(csp, /connect-src 'self'/, path);
      assert.doesNotMatch(csp, /https?:|\*/, path);
    } else assert.equal(csp, "default-src 'none'; frame-ancestors 'none'", path);
  }
  // No CORS: a preflight gets the path's Allow (204) but no Access-Control-* header, so a page of
  // another site sends nothing but simple requests.
  const preflight = await raw(open.url, 'OPTIONS', '/api/runs', {
    Origin: 'http://evil.example',
    'Access-Control-Request-Method': 'DELETE',
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  assert.equal(preflight.headers['access-control-allow-methods'], undefined);
});

test('the scenario catalogue parses a file once (GET /api/scenarios held the main thread 90 ms a call), and again when it changes', () => {
  const dir = join(dataDir(), 'scenarios');
  mkdirSync(dir);
  const file = join(dir, 'one.yaml');
  writeFileSync(file, tiny('one-a'));
  const catalog = new ScenarioCatalog(dir);
  const first = catalog.load('one');
  assert.equal(first.scenario.name, 'one-a');
  assert.equal(catalog.load('one'), first, 'the second load is the first one, not a new parse');
  assert.equal(catalog.list()[0].scenario, 'one-a');
  assert.equal(catalog.load('one'), first, 'listing reuses it too');
  // Same size, another content and time: read again.
  writeFileSync(file, tiny('one-b'));
  utimesSync(file, new Date(), new Date(Date.now() + 5_000));
  const second = catalog.load('one');
  assert.equal(second.scenario.name, 'one-b');
  assert.notEqual(second, first);
  assert.equal(catalog.list()[0].scenario, 'one-b');
  // A bad file is reported each time, and a fixed one loads.
  writeFileSync(file, 'name: broken\n');
  utimesSync(file, new Date(), new Date(Date.now() + 10_000));
  assert.throws(() => catalog.load('one'), /missing required key "guests"/);
  assert.equal(catalog.list()[0].valid, false);
});

/** [what, query, JSON body or undefined (a YAML body then), the message expected]. */
const NUMBERS: [string, string, string | undefined, RegExp][] = [
  ['seed 2^53+1 in the query', '?seed=9007199254740993', undefined, /seed .*, found 9007199254740993$/],
  [
    'seed 2^53+1 in JSON',
    '',
    '{"scenario":"default","seed":9007199254740993}',
    /seed .*, found 9007199254740992 \(as JSON reads it: integers above 2\^53 are not exact\)$/,
  ],
  ['seed 1e308 in JSON', '', '{"scenario":"default","seed":1e308}', /found 1e\+308 \(as JSON reads it/],
  ['seed -1 in JSON', '', '{"scenario":"default","seed":-1}', /seed must be an integer 0\.\.4294967295, found -1$/],
  ['seed "NaN"', '?seed=NaN', undefined, /seed must be an integer written in decimal digits, found "NaN"/],
  ['seed 1e3', '?seed=1e3', undefined, /decimal digits, found "1e3"/],
  ['timeLimitSeconds 0', '?timeLimitSeconds=0', undefined, /timeLimitSeconds must be a positive number, found 0$/],
  ['timeLimitSeconds -1 in JSON', '', '{"scenario":"default","timeLimitSeconds":-1}', /positive number, found -1$/],
  [
    'timeLimitSeconds of 400 digits',
    `?timeLimitSeconds=${'9'.repeat(400)}`,
    undefined,
    /must be a number, found 9{200}\.\.\. \(400 characters\)$/,
  ],
  ['timeLimitSeconds "Infinity"', '?timeLimitSeconds=Infinity', undefined, /decimal digits .*found "Infinity"/],
];

test('numbers in requests: refused with the number as written (1e308, -1, NaN, 2^53+1, 400 digits)', async () => {
  const before = await runCount(open.url);
  for (const [what, query, json, message] of NUMBERS) {
    const r =
      json === undefined
        ? await raw(open.url, 'POST', `/api/runs${query}`, { 'Content-Type': 'application/yaml' }, tiny('numbers'))
        : await raw(open.url, 'POST', `/api/runs${query}`, { 'Content-Type': 'application/json' }, json);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request', what);
    assert.match(r.body.error.message, message, what);
  }
  const limit = await raw(open.url, 'GET', '/api/runs?limit=99999999999999999999999');
  assert.equal(limit.status, 400);
  assert.match(limit.body.error.message, /limit must be an integer 1\.\.1000, found 99999999999999999999999$/);
  assert.equal(await runCount(open.url), before, 'nothing ran');
});

test('threshold labels: one series per label set, and no client number of any length in /metrics', async () => {
  const digits = '0'.repeat(20_000);
  const post = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml' },
    `${tiny('thresholds')}thresholds:
  exits_per_second{reason="HLT"}: ["< 1000", "< 1000", ">= 0"]
  exits_per_second{reason="CR_ACCESS"}: ["< 1.${digits}1", "< 1.${digits}2"]
`,
  );
  assert.equal(post.status, 202, post.text.slice(0, 300));
  // Its threshold series exist once it has completed (the loop that waited gave up after 300 polls and went on).
  await waitForState(open.url, post.body.id, ['completed']);
  for (const accept of ['text/plain', 'application/openmetrics-text; version=1.0.0']) {
    const text = (await raw(open.url, 'GET', '/metrics', { Accept: accept })).text;
    const lines = text
      .split('\n')
      .filter((l) => l.startsWith(`vmexit_lab_threshold_passed{scenario="${post.body.seriesLabel}"`));
    const series = lines.map((l) => l.slice(0, l.lastIndexOf(' ')));
    assert.equal(new Set(series).size, series.length, `${accept}: a label set twice:\n${series.join('\n')}`);
    // The label spells the number as the evaluator reads it (src/metrics/thresholdLabel.ts): both
    // 20,000-digit numbers are the bound 1, one threshold and one series.
    assert.equal(series.length, 3, `${accept}: "< 1000" once, ">= 0", and the two long ones as "< 1"`);
    for (const l of lines) assert.ok(l.length < 400, `${accept}: a ${l.length}-character line`);
    const long = lines.filter((l) => l.includes('CR_ACCESS'));
    assert.equal(long.length, 1);
    assert.match(long[0], /threshold="exits_per_second\{reason=\\"CR_ACCESS\\"\}: < 1"/);
  }
});

test('bodies: a gzip bomb is refused at the limit of its decoded bytes; JSON sent as YAML and YAML sent as JSON say what is wrong', async () => {
  // 485 KB on the wire, 500 MB decoded in the earlier audit; 4 MB here keeps the test quick. How
  // long the refusal takes is a figure of bench/hostile.ts (npm run bench:hostile), not asserted here.
  const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x61));
  // Memory: count what the service's gunzip (body-parser's zlib.createGunzip, in this process) puts
  // out, through a `push` on Gunzip's prototype for this request; decoding must stop at the body
  // limit (1 MiB by default), give or take zlib's buffers.
  let decoded = 0;
  const gunzips = new WeakSet<object>();
  let count = 0;
  const proto = zlib.Gunzip.prototype as unknown as {
    push: (this: object, chunk: Buffer | null, encoding?: BufferEncoding) => boolean;
  };
  const push = proto.push;
  Object.defineProperty(proto, 'push', {
    configurable: true,
    writable: true,
    value(this: object, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
      if (!gunzips.has(this)) {
        gunzips.add(this);
        count++;
      }
      if (chunk) decoded += chunk.length;
      return push.call(this, chunk, encoding);
    },
  });
  let b;
  try {
    b = await raw(
      open.url,
      'POST',
      '/api/runs',
      { 'Content-Type': 'application/yaml', 'Content-Encoding': 'gzip' },
      bomb,
    );
  } finally {
    delete (proto as { push?: unknown }).push;
  }
  assert.equal(b.status, 413, b.text);
  assert.equal(b.body.error.code, 'payload_too_large');
  assert.equal(count, 1, 'the body went through one gunzip of zlib (what this test counts)');
  assert.ok(decoded > 1024 * 1024, `decoded ${decoded} bytes: up to the limit`);
  assert.ok(
    decoded <= 1024 * 1024 + 128 * 1024,
    `decoded ${decoded} of 4 MiB: at most the 1 MiB limit + zlib's buffers`,
  );
  const gz = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml', 'Content-Encoding': 'gzip' },
    gzipSync(tiny('gzipped')),
  );
  assert.equal(gz.status, 202, `gzip, deflate and br are taken (docs/SERVICE.md): ${gz.text}`);
  const jsonAsYaml = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml' },
    '{"scenario":"default"}',
  );
  assert.equal(jsonAsYaml.status, 400);
  assert.equal(jsonAsYaml.body.error.code, 'invalid_scenario');
  assert.match(jsonAsYaml.body.error.message, /request\.yaml:1:2: error: unknown key "scenario"/);
  const yamlAsJson = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/json' }, tiny('as-json'));
  assert.equal(yamlAsJson.status, 400);
  assert.equal(yamlAsJson.body.error.code, 'bad_request');
  // Where it stopped ("name:" reads as a misspelt null), though V8 gives no position for an
  // unexpected token (src/input/jsonError.ts).
  assert.match(yamlAsJson.body.error.message, /^the JSON body does not parse: line 1, column 2: Unexpected token 'a'$/);
  const stray = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/json' },
    '{"scenario":\n default}',
  );
  assert.equal(stray.status, 400);
  assert.equal(stray.body.error.message, "the JSON body does not parse: line 2, column 2: Unexpected token 'd'");
  // JSON.parse keeps the last of a key given twice (and ran "b" here); other parsers keep the first.
  const twice: [string, string][] = [
    ['{"scenario":"nope","scenario":"default"}', 'scenario'],
    ['{"scenario":"default", "seed": 1, "s\\u0065ed": 2}', 'seed'],
    ['{"yaml":"{\\"scenario\\":1, \\"scenario\\":2}","timeLimitSeconds":1,"timeLimitSeconds":2}', 'timeLimitSeconds'],
  ];
  for (const [body, key] of twice) {
    const r = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/json' }, body);
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.equal(r.body.error.message, `"${key}" is given more than once in the JSON body`);
  }
  // Keys repeated inside a string value or a nested object are not the body's.
  const nested = await raw(
    open.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/json' },
    JSON.stringify({ yaml: `${tiny('nested-keys')}# "seed": 1, "seed": 2\n`, seed: 3 }),
  );
  assert.equal(nested.status, 202, nested.text);
});

test('docs/SERVICE.md "Hostile input": every fixed row names a test of this file or httpSemantics.test.ts or a test file that exists, and every test of both has a row', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const start = doc.indexOf('## Hostile input: what is checked');
  assert.ok(start > 0, 'the section exists');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| tried') && !l.startsWith('|---'));
  assert.ok(rows.length >= 20, `${rows.length} rows`);
  // The audit's findings are tested here and, those fixed after it, in httpSemantics.test.ts.
  const files = ['hostileInput.test.ts', 'httpSemantics.test.ts'].map((f) =>
    readFileSync(join(REPO_ROOT, 'test', 'service', f), 'utf8'),
  );
  const titles = files.flatMap((self) => [...self.matchAll(/^test\('([^']+)'/gm)].map((m) => m[1]));
  const named = new Set<string>();
  for (const row of rows) {
    const cells = row.split(' | ');
    const checkedBy = cells[cells.length - 1];
    const refs = [...checkedBy.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((r) => !/[./]/.test(r)); // file names are not titles
    for (const r of refs) {
      assert.ok(
        titles.some((t) => t.startsWith(r)),
        `"${r}" (${row.slice(0, 60)}...) is no test title of hostileInput.test.ts or httpSemantics.test.ts`,
      );
      named.add(r);
    }
    // A file named instead (a finding tested in a file of its own): it exists, in test/service/, test/ or a
    // folder of test/.
    const fileRefs = [...checkedBy.matchAll(/`([^`]+\.test\.ts)`/g)].map((m) => m[1]);
    for (const f of fileRefs)
      assert.ok(
        [
          join(REPO_ROOT, f),
          join(REPO_ROOT, 'test', f),
          ...readdirSync(join(REPO_ROOT, 'test')).map((d) => join(REPO_ROOT, 'test', d, f)),
        ].some((x) => existsSync(x)),
        `${f} (${row.slice(0, 60)}...) names no test file`,
      );
    if (/\*\*fixed\*\*/.test(row))
      assert.ok(refs.length + fileRefs.length > 0, `a fixed row names its test: ${row.slice(0, 80)}`);
  }
  for (const t of titles.filter((x) => !x.startsWith('docs/SERVICE.md')))
    assert.ok(
      [...named].some((r) => t.startsWith(r)),
      `test "${t}" has no row in the section`,
    );
});

test('repeatedKey: no key of JSON.stringify output is repeated; a top-level key given again is found, whatever the values hold', () => {
  const key = fc.string({ maxLength: 8 });
  const obj = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { minKeys: 1, maxKeys: 6 });
  fc.assert(
    fc.property(obj, (o) => {
      const text = JSON.stringify(o);
      assert.equal(repeatedKey(text), undefined, text);
      const k = Object.keys(o)[0];
      const again = `${text.slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(o[k])}}`;
      assert.equal(repeatedKey(again), k, again);
    }),
    { numRuns: 300 },
  );
});

/** Open a socket, write `first`, then `more` every 200 ms; resolves with what came back and when the server closed it. */
function trickle(base: string, first: string, more: string): Promise<{ seconds: number; answer: string }> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const t0 = Date.now();
    let answer = '';
    const s = connect(Number(u.port), u.hostname, () => s.write(first));
    const timer = setInterval(() => s.writable && s.write(more), 200);
    const give = setTimeout(() => s.destroy(new Error('still open after 20 s')), 20_000);
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('close', () => {
      clearInterval(timer);
      clearTimeout(give);
      ok({ seconds: (Date.now() - t0) / 1000, answer });
    });
    s.on('error', (e) => {
      clearInterval(timer);
      clearTimeout(give);
      if (answer === '') fail(e);
    });
  });
}

test('slow clients: trickled headers and bodies get 408 at their bound, not up to 30 s later (Node checks every 30 s by default)', async () => {
  const s = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    headersTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
  });
  services.push(s);
  const [headers, body] = await Promise.all([
    trickle(s.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-A: b\r\n'),
    trickle(
      s.url,
      'POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
      'a',
    ),
  ]);
  assert.match(headers.answer, /^HTTP\/1\.1 408 /);
  assert.match(body.answer, /^HTTP\/1\.1 408 /);
  assert.ok(headers.seconds >= 0.9 && headers.seconds < 4, `headers closed after ${headers.seconds} s (bound 1 s)`);
  assert.ok(body.seconds >= 1.9 && body.seconds < 5, `body closed after ${body.seconds} s (bound 2 s)`);
});

test('documents nested thousands of levels deep: 422 too_complex before composing, where the level past the bound opens, and the service lives', async () => {
  // Each under the 50,000 structure characters of the early bound. The last three nested 20,000
  // deep past the earlier bracket-and-indentation count (it counted 1, 0 and 0): `]` in quotes,
  // keys on one line, and yaml's recovery from stray `- -` nest all the same.
  const cases: [what: string, body: string, at: string][] = [
    ['flow sequences [[[...', `name: x\nguests: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, '2:208'],
    ['flow mappings {a: {a: ...', `name: x\nhost: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`, '2:803'],
    ['compact block sequences - - - x', `name: x\nguests:\n${'- '.repeat(20_000)}x\n`, '3:399'],
    ['complex keys ? ? ? x', `name: x\n${'? '.repeat(20_000)}x\n`, '2:401'],
    [
      'indentation, a level per line',
      Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
      '201:201',
    ],
    ['both: block inside flow', `name: x\nguests:\n- ${'['.repeat(250)}${']'.repeat(250)}\n`, '3:201'],
    ['quoted closing brackets', `name: x\nguests: ${'[ "]" '.repeat(20_000)}\n`, '2:1203'],
    ['keys on one line', `name: x\nhost: ${'a: '.repeat(20_000)}x\n`, '2:604'],
    ['stray dashes under empty keys', `name: x\n${': - -\na:\n'.repeat(5_000)}`, '400:5'],
  ];
  for (const [what, body, at] of cases) {
    const r = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, body);
    assert.equal(r.status, 422, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'too_complex', what);
    assert.match(
      r.body.error.message,
      new RegExp(
        `^request\\.yaml:${at}: error: YAML nested too deeply: a collection ${MAX_YAML_DEPTH + 1} levels deep opens here .*at most ${MAX_YAML_DEPTH} levels deep`,
      ),
      what,
    );
    // Inside the JSON form too.
    const j = await raw(
      open.url,
      'POST',
      '/api/runs',
      { 'Content-Type': 'application/json' },
      JSON.stringify({ yaml: body }),
    );
    assert.equal(j.status, 422, `${what} (JSON): ${j.text}`);
  }
  assert.equal((await raw(open.url, 'GET', '/healthz')).status, 200);
});

test('a deep document posted again and again does not abort the process (V8: RegExpCompiler Allocation failed)', () => {
  // The parser used to recurse to its validation thread's stack limit; there V8 may recompile one of
  // its regular expressions and abort the whole process ("FATAL ERROR: RegExpCompiler Allocation
  // failed - process out of memory"; the second post of this document did it, every time). A child process, so that the abort,
  // if it comes back, fails this test instead of ending the test run. Each document comes after
  // lines enough that the main thread's early look (EARLY_DEPTH_LEXEMES) does not reach its nesting:
  // the validation thread parses it.
  const validation = new URL('../../src/service/scenarioValidator.js', import.meta.url).href;
  const script = `
    const { ScenarioValidator, EARLY_DEPTH_LEXEMES, tooDeepEarly } = await import(${JSON.stringify(validation)});
    const v = new ScenarioValidator({ threads: 1, timeoutMs: 60_000 });
    const pre = Array.from({ length: EARLY_DEPTH_LEXEMES }, (_, i) => 'p' + i + ': 1').join('\\n') + '\\n';
    const bodies = ['a: ' + '['.repeat(5000) + ']'.repeat(5000), 'a: ' + '[ "]" '.repeat(20000), 'a: '.repeat(20000) + 'x'].map((b) => pre + b);
    if (bodies.some((b) => tooDeepEarly(b, 'request.yaml') !== undefined)) throw new Error('refused before the thread');
    const out = [];
    for (let i = 0; i < 6; i++) for (const body of bodies) out.push(await v.validate(body, 'request.yaml').then(() => 'ok', (e) => e.code));
    await v.close();
    console.log(out.join(' '));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, r.stderr.slice(0, 600));
  assert.equal(r.status, 0, r.stderr.slice(0, 600));
  assert.equal(r.stdout.trim(), Array(18).fill('too_complex').join(' '));
});
