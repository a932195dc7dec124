/**
 * A client that half-closes its side once its request is sent (`printf 'GET ...' | nc`, a raw-socket
 * probe, test/support/http.ts sendRaw) still gets its answer when the answer is built later than
 * the request is read: GET /metrics (renderShared) and the shared pages (src/service/shared.ts).
 * Node's HTTP server aborted such a request at the client's FIN unless `httpAllowHalfOpen` is set
 * (src/service/connections.ts answerHalfClosed): 31 of 40 half-closed GET /metrics got no answer on
 * 2026-12-06, and the absolute-form target test (now test/service/requestHeaders.test.ts) failed once
 * in CI on a /api/runs answer lost so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerHalfClosed } from '../../src/service/connections.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { sendRaw } from '../support/http.js';

const { shared: service } = serviceFixture('vmexit-lab-halfclose-');

const get = (path: string, host: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

test('the service answers a half-closed GET /metrics and GET /api/runs, every time', async () => {
  const s = await service();
  const host = new URL(s.url).host;
  for (const path of ['/metrics', '/api/runs']) {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await sendRaw(s.url, get(path, host))).status);
    assert.deepEqual(
      statuses.filter((x) => x !== 200),
      [],
      `${path}: ${statuses.filter((x) => x !== 200).length} of 30 half-closed requests had no answer`,
    );
  }
});

test('answerHalfClosed: an answer sent on a later turn reaches a client that half-closed', async () => {
  const server = createServer((_req, res) => {
    setTimeout(() => res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' }).end('late\n'), 20);
  });
  answerHalfClosed(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await sendRaw(url, get('/', new URL(url).host));
    assert.equal(r.status, 200);
    assert.equal(r.body, 'late\n');
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});
