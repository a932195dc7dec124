import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, runCount, tinyScenario as tiny } from '../support/http.js';

/**
 * What a browser can be made to do to the service: a page of another site writing (no CORS
 * preflight for a text/plain POST), DNS rebinding (a page made same-origin with the service), and
 * the headers that keep answers from being framed, sniffed or loaded by other sites (docs/SERVICE.md,
 * "Threat model", Browsers). From the hostile-input audit; each test failed before its fix.
 * docs/SERVICE.md "Hostile input" names each test of this file by its title (hostileInputTable.test.ts).
 */

const { dataDir, services } = serviceFixture('vmexit-lab-browser-');

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
