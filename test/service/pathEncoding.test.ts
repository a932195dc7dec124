import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';
import { parseExposition, sumOf } from '../metrics/support.js';

/**
 * A path parameter (a run id) that is not percent-encoded UTF-8. The router refused it with its own
 * words, "Failed to decode param '%ZZ...'", repeating the text whole and unquoted: a 10,000-character
 * id came back as a 10 KB answer, where every other echo of client text is quoted and cut at 200
 * characters (docs/SERVICE.md, HTTP API; svc35). Now the service's 400, in the words its query
 * parameters get.
 */

const { shared, dataDir, services } = serviceFixture('vmexit-lab-path-encoding-');

test('a run id that is not percent-encoded UTF-8: a 400 naming the path, quoted and cut', async () => {
  const { url } = await shared();
  for (const [method, path] of [
    ['GET', '/api/runs/%ZZ'],
    ['GET', '/api/runs/%C0%AF/results'],
    ['DELETE', '/api/runs/a%E2%80'],
    ['GET', '/runs/%ZZ'],
  ]) {
    const r = await raw(url, method, path);
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request');
    assert.equal(
      r.body.error.message,
      `the path ${JSON.stringify(path)} is not valid percent-encoding: each % starts two hex digits, the bytes they give must be UTF-8 (%25 is a % itself)`,
    );
  }
  const long = `/api/runs/%ZZ${'a'.repeat(10_000)}`;
  const r = await raw(url, 'GET', long);
  assert.equal(r.status, 400);
  assert.match(
    r.body.error.message,
    /^the path "\/api\/runs\/%ZZa+"\.\.\. \(10013 characters\) is not valid percent-encoding/,
  );
  assert.ok(r.text.length < 1000, `a short answer (${r.text.length} characters)`);
});

/**
 * With a token set, the token is checked before the path is decoded: a client without the token a
 * route needs gets its 401 (or the read token on a write, 403), as on any other path of the route,
 * not a 400 about the path (the router decoded the path's parameters before any route's token check
 * ran: the order the threat model says, 401 first, was not kept).
 */
test('a run id that is not percent-encoded UTF-8, with a token set: 401 without the token, 403 with the read token on a write, 400 with the token', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, token: 'pe-write', readToken: 'pe-read' });
  services.push(s);
  const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });
  for (const [method, path, challenge] of [
    ['GET', '/api/runs/%ZZ', 'Bearer realm="vmexit-lab"'],
    ['GET', '/api/runs/%C0%AF/results', 'Bearer realm="vmexit-lab"'],
    ['DELETE', '/api/runs/a%E2%80', 'Bearer realm="vmexit-lab"'],
    ['GET', '/runs/%ZZ', 'Basic realm="vmexit-lab", charset="UTF-8"'],
  ]) {
    for (const headers of [{}, bearer('wrong')]) {
      const r = await raw(s.url, method, path, headers);
      assert.equal(r.status, 401, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, 'unauthorized');
      assert.equal(r.headers['www-authenticate'], challenge);
    }
    const read = await raw(s.url, method, path, bearer('pe-read'));
    assert.equal(read.status, method === 'DELETE' ? 403 : 400, `${method} ${path} (read token): ${read.text}`);
    const write = await raw(s.url, method, path, bearer('pe-write'));
    assert.equal(write.status, 400, `${method} ${path} (write token): ${write.text}`);
    assert.match(write.body.error.message, /is not valid percent-encoding/);
  }
  // The refusals before the router are counted under the route asked for, not as `unmatched`.
  const scrape = await raw(s.url, 'GET', '/metrics', bearer('pe-read'));
  const counted = sumOf(parseExposition(scrape.text), 'vmexit_lab_http_request_duration_seconds_count', {
    route: '/runs/:id',
    method: 'GET',
    code: '401',
  });
  assert.equal(counted, 2);
});

/**
 * OPTIONS, and a method a path of the table does not take, are answered from the table: what the
 * path takes, whatever its run id. The router decoded the id for every route whose pattern matched,
 * whatever the method, so these were the 400 of the id (`OPTIONS /api/runs/%ZZ` 400 where `OPTIONS
 * /api/runs/no-such-run` is 204); with a token set, `PUT /api/runs/%ZZ` was that 400 where a path
 * or method no route serves is 404 or 405 (docs/SERVICE.md, Threat model). GET and DELETE, which a
 * route serves, still decode it: 400 (above).
 */
test('OPTIONS and a method the path does not take, on a run id that is not percent-encoding: 204 and 405 with Allow, as for any id', async () => {
  const { url } = await shared();
  const guarded = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    token: 'pe-write',
    readToken: 'pe-read',
  });
  services.push(guarded);
  const rows: [method: string, path: string, status: number, allow: string][] = [
    ['OPTIONS', '/api/runs/%ZZ', 204, 'GET, HEAD, DELETE, OPTIONS'],
    ['OPTIONS', '/api/runs/no-such-run', 204, 'GET, HEAD, DELETE, OPTIONS'],
    ['OPTIONS', '/api/runs/%C0%AF/results', 204, 'GET, HEAD, OPTIONS'],
    ['OPTIONS', '/runs/%ZZ', 204, 'GET, HEAD, OPTIONS'],
    ['PUT', '/api/runs/%ZZ', 405, 'GET, HEAD, DELETE, OPTIONS'],
    ['POST', '/api/runs/a%E2%80/results', 405, 'GET, HEAD, OPTIONS'],
    ['DELETE', '/runs/%ZZ', 405, 'GET, HEAD, OPTIONS'],
  ];
  // Without a token set, and with one set but not sent: no route, no token asked for.
  for (const base of [url, guarded.url]) {
    for (const [method, path, status, allow] of rows) {
      const r = await raw(base, method, path);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.equal(r.headers.allow, allow, `${method} ${path}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      if (status === 405) assert.equal(r.body.error.code, 'method_not_allowed');
    }
  }
  // A preflight as a browser sends it (Origin, Access-Control-Request-Method): the same 204, no CORS.
  const preflight = await raw(url, 'OPTIONS', '/api/runs/%ZZ', {
    Origin: 'http://evil.example',
    'Access-Control-Request-Method': 'DELETE',
  });
  assert.equal(preflight.status, 204);
  assert.deepEqual(
    Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-')),
    [],
  );
});
