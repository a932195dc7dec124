import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shown } from '../../src/service/errors.js';
import { quoted, showInvisible } from '../../src/input/diagnostics.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, runCount, sendRaw, tinyScenario as tiny } from '../support/http.js';

/**
 * What the hostile pass of 2026-12-05 left (docs/SERVICE.md, "Hostile input: what is checked", the
 * rows that name this file): each test failed before the fix it names.
 */

const { shared: service } = serviceFixture('vmexit-lab-leftovers-');

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

test('one escape style, JSON’s, in the service and the CLI: a quoted text parses back to what was sent (bidi overrides were \\u{202E}, controls \\u0007)', async () => {
  const samples = [
    'a\u202eb',
    'bell\u0007 esc\u001b nul\u0000',
    'c1\u0085 del\u007f',
    'line\u2028para\u2029',
    'zw\u200b\u200f\u2066\ufeff',
    'tag\u{e0001}\u{e0041}',
    'tab\tnewline\n"quote" back\\slash \\u{202E} emoji 😀',
  ];
  for (const s of samples) {
    for (const [name, q] of [
      ['shown', shown(s)],
      ['quoted', quoted(s)],
    ]) {
      assert.equal(JSON.parse(q), s, `${name}(${JSON.stringify(s)}) = ${q}`);
      assert.doesNotMatch(
        q,
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        /[\p{Cf}\u0000-\u001f\u007f-\u009f\u2028\u2029]/u,
        `${name}: ${q}`,
      );
    }
  }
  assert.equal(shown('a"b\u202e\u0007'), '"a\\"b\\u202e\\u0007"');
  // The CLI's diagnostics: the same form, tab and newline as they are (a diagnostic is a line of its own).
  assert.equal(showInvisible('a\u202Eb\u0000c\u001bd\u2028'), 'a\\u202eb\\u0000c\\u001bd\\u2028');
  assert.equal(showInvisible('x\u{e0001}'), 'x\\udb40\\udc01');
  // The service's answers.
  const s = await service();
  const r = await raw(s.url, 'GET', '/api/runs/%E2%80%AEabc%07%E2%80%A8');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.message, 'no run "\\u202eabc\\u0007\\u2028"');
  assert.equal(JSON.parse(/^no run (.*)$/.exec(r.body.error.message)![1]), '\u202eabc\u0007\u2028');
});

test('Idempotency-Key: the same parameters spelt otherwise are the same request (%6Dax and another order were 422 key reused)', async () => {
  const s = await service();
  const post = (key: string, query: string, body: string, type = 'application/yaml') =>
    raw(s.url, 'POST', `/api/runs${query}`, { 'Content-Type': type, 'Idempotency-Key': key }, body);
  const yaml = tiny('idem-normal');
  const before = await runCount(s.url);
  const first = await post('n-1', '?pace=max&seed=7', yaml);
  assert.equal(first.status, 202, first.text);
  for (const [what, query, body, type] of [
    ['percent-encoded', '?pace=%6Dax&seed=7', yaml, 'application/yaml'],
    ['another order', '?seed=7&pace=max', yaml, 'application/yaml'],
    ['encoded names, empty parts', '?&%73eed=7&&pace=max', yaml, 'application/yaml'],
    ['the same YAML as another YAML type', '?seed=7&pace=max', yaml, 'text/plain; charset=utf-8'],
    ['the same as JSON', '', JSON.stringify({ yaml, seed: 7, pace: 'max' }), 'application/json'],
  ]) {
    const again = await post('n-1', query, body, type);
    assert.equal(again.status, 202, `${what}: ${again.text}`);
    assert.equal(again.body.id, first.body.id, what);
    assert.equal(again.headers['idempotent-replayed'], 'true', what);
  }
  // Another value, another body, another option: another request.
  for (const [what, query, body] of [
    ['another seed', '?pace=max&seed=8', yaml],
    ['a time limit more', '?pace=max&seed=7&timeLimitSeconds=5', yaml],
    ['another body', '?pace=max&seed=7', tiny('idem-normal', 2)],
  ]) {
    const other = await post('n-1', query, body);
    assert.equal(other.status, 422, `${what}: ${other.text}`);
    assert.equal(other.body.error.code, 'idempotency_key_reused', what);
  }
  assert.equal(await runCount(s.url), before + 1, 'one run');
  await s.manager.wait(first.body.id);
});

test('Accept on /api/: 406 for a client that takes no JSON (text/html and application/xml got JSON with 200); /metrics negotiates as before', async () => {
  const s = await service();
  const refused = [
    'text/html',
    'application/xml',
    'text/plain',
    'application/json;q=0',
    'text/html, */*;q=0',
    'application/yaml, text/csv',
  ];
  for (const accept of refused) {
    for (const [method, path] of [
      ['GET', '/api/runs'],
      ['GET', '/api/scenarios'],
      ['POST', '/api/runs'],
      ['GET', '/api/runs/nope/results'],
    ]) {
      const r = await raw(s.url, method, path, { Accept: accept });
      assert.equal(r.status, 406, `${accept} ${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, 'not_acceptable');
      assert.match(r.body.error.message, /application\/json/);
      assert.match(String(r.headers.vary), /Accept/);
    }
  }
  const taken = [
    undefined,
    '',
    '*/*',
    'application/*',
    'application/json',
    'application/json; charset=utf-8',
    'text/html, application/json;q=0.1',
    // A browser opening /api/runs.
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8',
  ];
  for (const accept of taken) {
    const r = await raw(s.url, 'GET', '/api/runs', accept === undefined ? {} : { Accept: accept });
    assert.equal(r.status, 200, `${JSON.stringify(accept)}: ${r.text.slice(0, 200)}`);
    assert.ok(Array.isArray(r.body.runs));
  }
  // Not a route, or another method: the 404 and the 405 as before; OPTIONS has no body to refuse.
  assert.equal((await raw(s.url, 'GET', '/api/nope', { Accept: 'text/html' })).status, 404);
  assert.equal((await raw(s.url, 'PUT', '/api/runs', { Accept: 'text/html' })).status, 405);
  assert.equal((await raw(s.url, 'OPTIONS', '/api/runs', { Accept: 'text/html' })).status, 204);
  // /metrics keeps its own negotiation.
  const text = await raw(s.url, 'GET', '/metrics', { Accept: 'application/xml' });
  assert.equal(text.status, 200);
  assert.match(String(text.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const om = await raw(s.url, 'GET', '/metrics', { Accept: 'application/openmetrics-text; version=1.0.0' });
  assert.equal(om.status, 200);
  assert.match(String(om.headers['content-type']), /^application\/openmetrics-text/);
});

test('GET /api/runs?scenario= with a value no scenario name can be is 400 (it matched nothing, 200 with no runs)', async () => {
  const s = await service();
  const yaml = { 'Content-Type': 'application/yaml' };
  const posted = await raw(s.url, 'POST', '/api/runs', yaml, tiny('filter-me'));
  assert.equal(posted.status, 202, posted.text);
  await s.manager.wait(posted.body.id);
  const found = await raw(s.url, 'GET', '/api/runs?scenario=filter-me');
  assert.equal(found.status, 200);
  assert.deepEqual(
    found.body.runs.map((r: { id: string }) => r.id),
    [posted.body.id],
  );
  // A name no run has: 200, no runs.
  const none = await raw(s.url, 'GET', '/api/runs?scenario=no-run-has-this');
  assert.equal(none.status, 200);
  assert.deepEqual(none.body.runs, []);
  const bad: [what: string, query: string, shows: RegExp][] = [
    ['empty', '?scenario=', /has no value/],
    ['no =', '?scenario', /has no value/],
    ['a space', '?scenario=+', /" " cannot be a scenario's name/],
    ['upper case', '?scenario=Filter-Me', /"Filter-Me" cannot be a scenario's name/],
    ['a path of scenarios/', '?scenario=seed/win10-1909-cr8-exits', /the `name:` in its YAML/],
    ['a NUL', '?scenario=filter-me%00', /"filter-me\\u0000" cannot be/],
    ['129 characters', `?scenario=${'a'.repeat(129)}`, /cannot be a scenario's name/],
  ];
  for (const [what, query, shows] of bad) {
    const r = await raw(s.url, 'GET', `/api/runs${query}`);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request', what);
    assert.match(r.body.error.message, shows, what);
  }
  assert.equal((await raw(s.url, 'GET', `/api/runs?scenario=${'a'.repeat(128)}`)).status, 200);
});
