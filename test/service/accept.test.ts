/**
 * Accept on the API's routes: a client that takes no JSON gets 406 `not_acceptable`, after the
 * token check (401 and 403 come first); /metrics keeps its own negotiation (docs/SERVICE.md,
 * "HTTP API" and "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTES } from '../../src/service/routeTable.js';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';

const { shared: service, dataDir, services } = serviceFixture('vmexit-lab-accept-');

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

test('with a token set, an /api/ request without one is 401 whatever its Accept (a 406 came first, before the token check)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, token: 'w-token', readToken: 'r-token' });
  services.push(s);
  const api = ROUTES.filter((r) => r.includes(' /api/')).map((r) => {
    const [method, path] = r.split(' ') as [string, string];
    return { method, path: path.replace(':id', 'no-such-run'), writes: method !== 'GET' };
  });
  assert.equal(api.length, 6, 'every /api/ route');
  const html = { Accept: 'text/html' };
  for (const { method, path, writes } of api) {
    const what = `${method} ${path}`;
    const none = await raw(s.url, method, path, html);
    assert.equal(none.status, 401, `${what} without a token: ${none.text}`);
    assert.equal(none.body.error.code, 'unauthorized', what);
    // The read token on a write: 403, also before the Accept check.
    const reader = await raw(s.url, method, path, { ...html, Authorization: 'Bearer r-token' });
    assert.equal(reader.status, writes ? 403 : 406, `${what} with the read token: ${reader.text}`);
    // With the token its route needs, the Accept check answers.
    const writer = await raw(s.url, method, path, { ...html, Authorization: 'Bearer w-token' });
    assert.equal(writer.status, 406, `${what} with the write token: ${writer.text}`);
    assert.equal(writer.body.error.code, 'not_acceptable', what);
    assert.match(String(writer.headers.vary), /Accept/, what);
  }
});
