/**
 * `Expect: 100-continue` (RFC 9110 10.1.1): a client that asks before it uploads is told no without
 * being invited to send the body, when the request's head already says no. Node answered
 * `100 Continue` itself, before the service saw the request, so a client with no token, the read
 * token, a `Content-Length` over the limit or a type the service does not take was told to upload
 * (megabytes, for curl's large files) and got its 401, 403, 413 or 415 after. Now the service sends
 * `100 Continue` when it starts to read the body, after every check of the head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, tinyScenario } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-continue-');
const WRITE = 'continue-write-token';
const READ = 'continue-read-token';

let started: Promise<string> | undefined;
/** A service with both tokens and a 64 KiB body limit (one for the file). */
function service(): Promise<string> {
  started ??= startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    token: WRITE,
    readToken: READ,
    bodyLimitBytes: 65_536,
  }).then((s) => {
    services.push(s);
    return s.url;
  });
  return started;
}

interface Exchange {
  /** The status of the first answer to the head alone: 100, or the final status. */
  readonly first: number;
  /** With a 100: the final status once the body was sent. */
  readonly final?: number;
  /** The final answer's body. */
  readonly body: string;
}

/**
 * Send a request's head with `Expect: 100-continue` and wait, as curl and Node's client do: on
 * `100 Continue` send `body` and read the final answer; on anything else, that is the answer (the
 * body is never sent). Reads until the service closes the connection (`Connection: close` sent).
 */
function askFirst(base: string, head: string, body: string): Promise<Exchange> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    let first: number | undefined;
    let sentBody = false;
    const finish = (): void => {
      const text = buf.toString('utf8');
      if (first === undefined) return fail(new Error(`no answer: ${JSON.stringify(text)}`));
      const cut = text.indexOf('\r\n\r\n');
      if (first !== 100) return ok({ first, body: text.slice(cut + 4) });
      const final = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      ok({ first, final, body: text.slice(cut + 4) });
    };
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString('latin1');
      if (first === undefined) {
        const m = /^HTTP\/1\.1 (\d+)[^\r]*\r\n/.exec(text);
        if (!m) return;
        first = Number(m[1]);
      }
      if (first === 100 && !sentBody && text.includes('\r\n\r\n')) {
        // The interim answer is a head alone; the final one follows the body.
        buf = buf.subarray(text.indexOf('\r\n\r\n') + 4);
        sentBody = true;
        c.end(body);
      }
    });
    c.on('error', fail);
    c.on('close', finish);
    c.setTimeout(20_000, () => c.destroy(new Error('no answer in 20 s')));
    c.write(`${head.replace(/\n/g, '\r\n')}\r\n`);
  });
}

const yaml = tinyScenario('continue-run');
/** A POST head for the YAML body above, with `extra` header lines and the body's length unless given. */
const post = (extra: string[], path = '/api/runs', length = Buffer.byteLength(yaml)): string =>
  [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Expect: 100-continue', `Content-Length: ${length}`, ...extra, ''].join(
    '\n',
  );

const authorized = `Authorization: Bearer ${WRITE}`;
// Keep-alive asked for (rawRequest's own agent would ask to close), so that an early answer shows by its close.
const bearer = { Authorization: `Bearer ${WRITE}`, Connection: 'keep-alive' };
const asYaml = 'Content-Type: application/yaml';

test('Expect: 100-continue: refusals the head decides come first, with no 100 Continue and no upload', async () => {
  const base = await service();
  const cases: [string, string, number, string][] = [
    ['no token', post([asYaml]), 401, 'unauthorized'],
    ['a wrong token', post([asYaml, 'Authorization: Bearer nope']), 401, 'unauthorized'],
    ['the read token', post([asYaml, `Authorization: Bearer ${READ}`]), 403, 'forbidden'],
    ['from another site', post([asYaml, authorized, 'Sec-Fetch-Site: cross-site']), 403, 'forbidden'],
    ['Content-Length over the limit', post([asYaml, authorized], '/api/runs', 3_000_000), 413, 'payload_too_large'],
    ['a type it does not take', post(['Content-Type: text/html', authorized]), 415, 'unsupported_media_type'],
    [
      'a charset other than UTF-8',
      post(['Content-Type: text/yaml; charset=latin1', authorized]),
      415,
      'unsupported_media_type',
    ],
    [
      'an encoding it does not take',
      post([asYaml, authorized, 'Content-Encoding: compress']),
      415,
      'unsupported_media_type',
    ],
    ['an unknown query parameter', post([asYaml, authorized], '/api/runs?tiemLimitSeconds=1'), 400, 'bad_request'],
    ['a seed not in decimal', post([asYaml, authorized], '/api/runs?seed=0x10'), 400, 'bad_request'],
    ['a pace it does not take', post([asYaml, authorized], '/api/runs?pace=slow'), 400, 'bad_request'],
    ['an empty body (nothing to ask for)', post([asYaml, authorized], '/api/runs', 0), 400, 'bad_request'],
    ['a bad Idempotency-Key', post([asYaml, authorized, 'Idempotency-Key: ""']), 400, 'bad_request'],
    ['Accept without JSON', post([asYaml, authorized, 'Accept: text/html']), 406, 'not_acceptable'],
    ['a route that takes no POST', post([asYaml, authorized], '/healthz'), 405, 'method_not_allowed'],
  ];
  for (const [what, head, status, code] of cases) {
    const x = await askFirst(base, head, yaml);
    assert.equal(x.first, status, `${what}: the first answer`);
    assert.equal((JSON.parse(x.body) as { error: { code: string } }).error.code, code, what);
  }
});

test('Expect: 100-continue: a request the head admits gets 100 Continue, then its run', async () => {
  const base = await service();
  const x = await askFirst(base, post([asYaml, authorized, 'Connection: close']), yaml);
  assert.equal(x.first, 100);
  assert.equal(x.final, 202, x.body);
  assert.equal((JSON.parse(x.body) as { scenario: string }).scenario, 'continue-run');
  // A body that passes the limit as it arrives is still refused then (Content-Length not given).
  const chunked = [
    'POST /api/runs HTTP/1.1',
    'Host: 127.0.0.1',
    'Expect: 100-continue',
    'Transfer-Encoding: chunked',
    asYaml,
    authorized,
    '',
  ].join('\n');
  const big = 'a'.repeat(70_000);
  const y = await askFirst(base, chunked, `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
  assert.equal(y.first, 100);
  assert.equal(y.final, 413);
});

test('without Expect: a body of a type not taken is read, then refused, on a connection kept open (answered before the upload ended, the answer was lost to a reset)', async () => {
  const base = await service();
  const body = Buffer.alloc(60_000, 0x61);
  const r = await rawRequest(base, 'POST', '/api/runs', { 'Content-Type': 'text/html', ...bearer }, body);
  assert.equal(r.status, 415, r.text);
  assert.equal(r.headers.connection, 'keep-alive', 'the whole body was read before the answer');
  const q = await rawRequest(
    base,
    'POST',
    '/api/runs?seed=0x10',
    { 'Content-Type': 'application/yaml', ...bearer },
    body,
  );
  assert.equal(q.status, 400, q.text);
  assert.equal(q.headers.connection, 'keep-alive');
});
