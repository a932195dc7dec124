import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { sendRaw } from '../support/http.js';

/**
 * A Host field that is not a host and an optional port (RFC 9112 3.2: a server MUST answer 400).
 * `Host: evil.example@127.0.0.1` (a user part) was read by URL as 127.0.0.1 and passed the DNS
 * rebinding check of an open service, answered 200, where a proxy in front may have read another
 * name from it (svc35). Now a 400 naming it, token or not; the host forms that are one stay as
 * they were.
 */

const { dataDir, services, shared } = serviceFixture('vmexit-lab-host-header-');

const get = async (url: string, host: string, path = '/api/runs'): Promise<{ status: number; body: string }> =>
  sendRaw(url, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

test('a Host with a user part, a path or a query is a 400 naming it', async () => {
  const { url } = await shared();
  const port = new URL(url).port;
  for (const host of [
    'evil.example@127.0.0.1',
    `evil.example@127.0.0.1:${port}`,
    '127.0.0.1/x',
    '127.0.0.1?x',
    '127.0.0.1#x',
    '127.0.0.1\\x',
    '::1',
  ]) {
    const r = await get(url, host);
    assert.equal(r.status, 400, `${host}: ${r.body}`);
    assert.equal(
      JSON.parse(r.body).error.message,
      `Host ${JSON.stringify(host)} is not a host name or address with an optional port (RFC 9112 3.2: no user, path or query in it)`,
    );
  }
  // /healthz too: the rule is the field's, not a route's.
  assert.equal((await get(url, 'evil.example@127.0.0.1', '/healthz')).status, 400);
});

test('host forms that are one keep their answers: loopback 200, other names 403 on an open service, any name with a token', async () => {
  const { url } = await shared();
  const port = new URL(url).port;
  for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `[::1]:${port}`, '127.1', 'a.localhost'])
    assert.equal((await get(url, host)).status, 200, host);
  for (const host of ['evil.example', 'localhost.', '127.0.0.1.nip.io', '[::ffff:127.0.0.1]', ''])
    assert.equal((await get(url, host)).status, 403, host);
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, token: 'w-token' });
  services.push(s);
  const r = await sendRaw(
    s.url,
    'GET /api/runs HTTP/1.1\r\nHost: proxy.example:8443\r\nAuthorization: Bearer w-token\r\nConnection: close\r\n\r\n',
  );
  assert.equal(r.status, 200, r.body);
  const bad = await sendRaw(
    s.url,
    'GET /api/runs HTTP/1.1\r\nHost: evil@proxy.example\r\nAuthorization: Bearer w-token\r\nConnection: close\r\n\r\n',
  );
  assert.equal(bad.status, 400, bad.body);
});
