import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { serviceFixture } from '../support/serviceFixture.js';
import { sendRaw } from '../support/http.js';

/**
 * Headers past Node's 2,000th. Node's HTTP server passed only the first 2,000 to the app
 * (`server.maxHeadersCount`), while its parser framed the body by every header it read: a
 * `Transfer-Encoding: chunked` after 2,000 fillers gave a `GET /healthz` an endless body that no
 * check saw, so the connection was kept and the body read and thrown away until the request
 * timeout (300 MB in 1.2 s, svc38's hostile pass), and a second `Host` or a `Transfer-Encoding` the
 * service refuses went unseen. Now every header reaches the app (src/service/server.ts).
 */

const { shared } = serviceFixture('vmexit-lab-header-count-');

/** 2,000 header lines of no meaning, as many as Node passed on. */
const FILLERS = Array.from({ length: 2000 }, (_, i) => `x${i}: 1\r\n`).join('');

test('a Transfer-Encoding after 2,000 other headers: the unread body still closes the connection', async () => {
  const { url } = await shared();
  const u = new URL(url);
  const outcome = await new Promise<{ head: string; ended: boolean }>((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    let text = '';
    let ended = false;
    c.on('data', (d: Buffer) => (text += d.toString('latin1')));
    c.on('end', () => (ended = true));
    c.on('error', fail);
    // The server ends the connection (its FIN), or the client stops after 5 s of silence.
    c.on('close', () => ok({ head: text.slice(0, Math.max(0, text.indexOf('\r\n\r\n'))), ended }));
    c.setTimeout(5_000, () => c.destroy());
    c.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${FILLERS}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
  });
  assert.match(outcome.head, /^HTTP\/1\.1 200 /, outcome.head.slice(0, 200));
  assert.match(outcome.head, /\r\nConnection: close(\r\n|$)/i, outcome.head.slice(0, 400));
  assert.ok(outcome.ended, 'the server ended the connection after its answer');
});

test('a second Host, or a Transfer-Encoding other than chunked, after 2,000 other headers is refused as before them', async () => {
  const { url } = await shared();
  const host = await sendRaw(
    url,
    `GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n${FILLERS}Host: evil.example\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(host.status, 400, host.head.slice(0, 200));
  assert.match(host.body, /the request gives Host 2 times/);
  const te = await sendRaw(
    url,
    `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n${FILLERS}Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
  );
  assert.equal(te.status, 501, te.head.slice(0, 200));
});
