/**
 * Request lines and headers read strictly: Host, Content-Type or Authorization given twice is 400,
 * a Transfer-Encoding other than chunked 501, `OPTIONS *` 204; an absolute-form target's authority
 * is what the rebinding and origin checks read, not Host (docs/SERVICE.md, "Hostile input: what is
 * checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFixture } from '../support/serviceFixture.js';
import { runCount, sendRaw } from '../support/http.js';

const { shared: service } = serviceFixture('vmexit-lab-request-headers-');

test('headers: Host, Content-Type or Authorization twice is 400 (Node kept the first: two Content-Types started a run), a Transfer-Encoding other than chunked 501, OPTIONS * 204', async () => {
  const s = await service();
  const host = `Host: 127.0.0.1\r\nConnection: close\r\n`;
  const body = '{"scenario":"no-such-scenario"}';
  const post = (headers: string, b = body): string =>
    `POST /api/runs HTTP/1.1\r\n${headers}Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
  const cases: [what: string, request: string, status: number, shows?: RegExp][] = [
    [
      'two Content-Types',
      post(`${host}Content-Type: application/json\r\nContent-Type: application/yaml\r\n`),
      400,
      /^the request gives Content-Type 2 times \("application\/json", "application\/yaml"\); send it once$/,
    ],
    ['two Hosts', `GET /api/runs HTTP/1.1\r\n${host}Host: evil.example\r\n\r\n`, 400, /gives Host 2 times/],
    [
      'two Hosts, the other first',
      `GET /healthz HTTP/1.1\r\nHost: evil.example\r\n${host}\r\n`,
      400,
      /gives Host 2 times/,
    ],
    [
      'two Authorizations',
      `GET /api/runs HTTP/1.1\r\n${host}Authorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n`,
      400,
      /gives Authorization 2 times/,
    ],
    [
      'gzip, chunked',
      `POST /api/runs HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      501,
      /^Transfer-Encoding "gzip, chunked" is not taken: only chunked/,
    ],
    // Chunked alone is read: the body names a scenario there is none of.
    [
      'chunked',
      `POST /api/runs HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      404,
      /no scenario "no-such-scenario"/,
    ],
    ['one of each', post(`${host}Content-Type: application/json\r\n`), 404, /no scenario/],
    ['OPTIONS *', `OPTIONS * HTTP/1.1\r\n${host}\r\n`, 204],
  ];
  const before = await runCount(s.url);
  for (const [what, request, status, shows] of cases) {
    const r = await sendRaw(s.url, request);
    assert.equal(r.status, status, `${what}: ${r.head}\n${r.body.slice(0, 300)}`);
    if (shows) assert.match(JSON.parse(r.body).error.message, shows, what);
    if (what === 'OPTIONS *') assert.match(r.head, /\r\nAllow: GET, HEAD, POST, DELETE, OPTIONS\r\n/i, what);
  }
  assert.equal(await runCount(s.url), before, 'no run started');
});

test('absolute-form request targets: the authority they name is checked, not Host (evil.example with a loopback Host was answered)', async () => {
  const s = await service();
  const here = new URL(s.url).host;
  const get = (target: string, host: string, extra = ''): string =>
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;
  const cases: [what: string, request: string, status: number, shows?: RegExp][] = [
    ['a foreign authority, a loopback Host', get('http://evil.example/api/runs', here), 403, /not "evil\.example"/],
    ['with its port', get('http://evil.example:8080/healthz', here), 403, /not "evil\.example:8080"/],
    [
      'a loopback-looking prefix',
      get(`http://127.0.0.1.evil.example/api/runs`, here),
      403,
      /127\.0\.0\.1\.evil\.example/,
    ],
    ['userinfo that looks like loopback', get('http://127.0.0.1@evil.example/api/runs', here), 403, /evil\.example/],
    ['https, a foreign authority', get('https://evil.example/api/runs', here), 403, /evil\.example/],
    // RFC 9112 3.2.2: the target's authority counts, the Host header is ignored.
    ['a loopback authority, a foreign Host', get(`http://${here}/api/runs`, 'evil.example'), 200],
    ['localhost', get('http://localhost/healthz', 'evil.example'), 200],
    ['origin-form, a loopback Host', get('/api/runs', here), 200],
    ['origin-form, a foreign Host', get('/api/runs', 'evil.example'), 403, /not "evil\.example"/],
    [
      'another scheme',
      get('ftp://evil.example/api/runs', here),
      400,
      /request target "ftp:\/\/evil\.example\/api\/runs" is neither/,
    ],
    ['another scheme, loopback', get('x://127.0.0.1/healthz', here), 400, /is neither a path/],
    // Node's parser refuses a target that is no URL itself.
    ['no scheme', get('evil.example/api/runs', here), 400],
  ];
  for (const [what, request, status, shows] of cases) {
    const r = await sendRaw(s.url, request);
    assert.equal(r.status, status, `${what}: ${r.head}\n${r.body.slice(0, 300)}`);
    if (shows) assert.match(JSON.parse(r.body).error.message, shows, what);
  }
  // A write whose Origin is this service, addressed in absolute form: the origin is compared with the target's authority.
  const body = '{"scenario":"no-such-scenario"}';
  const post = (target: string, host: string, origin: string): string =>
    `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  const before = await runCount(s.url);
  const same = await sendRaw(s.url, post(`http://${here}/api/runs`, `localhost:1`, `http://${here}`));
  assert.equal(same.status, 404, same.body);
  const cross = await sendRaw(s.url, post(`http://${here}/api/runs`, `localhost:1`, 'http://localhost:1'));
  assert.equal(cross.status, 403, cross.body);
  assert.match(JSON.parse(cross.body).error.message, /another origin \("http:\/\/localhost:1"\)/);
  assert.equal(await runCount(s.url), before, 'no run started');
});
