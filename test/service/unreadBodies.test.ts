import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { serviceFixture } from '../support/serviceFixture.js';

/**
 * A request that announces a body its route never reads. Only refusals (a 413, a 401 or 405 to a
 * POST) closed the connection after their answer; a route that answered (`GET /healthz` 200) left it
 * open, and Node read and discarded the announced body, `Content-Length: 10^15` or an endless
 * chunked one, as fast as it came until the 60 s request timeout: 4 clients pushed 1.2 GB through
 * the main thread in 5 s (svc35, docs/SERVICE.md "Hostile input"). Now any answer written while
 * its request's body is unread closes the connection (src/service/body.ts, closeUnreadBodies).
 */

const { shared } = serviceFixture('vmexit-lab-unread-bodies-');

/** Send `head` and a few bytes of body, then nothing more; the answer's head and whether the server ended the connection. */
function askAndHold(url: string, head: string): Promise<{ head: string; ended: boolean }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    let text = '';
    let answered: string | undefined;
    const timer = setTimeout(() => {
      c.destroy();
      if (answered === undefined) fail(new Error(`no answer to ${head.split('\r\n')[0]}`));
      else ok({ head: answered, ended: false });
    }, 5_000);
    c.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (answered === undefined && text.includes('\r\n\r\n')) answered = text.slice(0, text.indexOf('\r\n\r\n'));
    });
    // The server closing its side: the answer was the connection's last.
    c.on('end', () => {
      clearTimeout(timer);
      c.destroy();
      ok({ head: answered ?? text, ended: true });
    });
    c.on('error', fail);
    c.write(`${head}\r\n\r\n${head.includes('chunked') ? '5\r\nhello\r\n' : 'hello'}`);
  });
}

test('an answer to a request whose announced body is unread closes the connection, whatever the route and status', async () => {
  const { url } = await shared();
  const host = 'Host: 127.0.0.1';
  const huge = 'Content-Length: 1000000000000000';
  const cases: [request: string, status: number][] = [
    [`GET /healthz HTTP/1.1\r\n${host}\r\n${huge}`, 200],
    [`GET /healthz HTTP/1.1\r\n${host}\r\nTransfer-Encoding: chunked`, 200],
    [`GET /metrics HTTP/1.1\r\n${host}\r\n${huge}`, 200],
    [`GET /api/runs HTTP/1.1\r\n${host}\r\n${huge}`, 200],
    [`GET / HTTP/1.1\r\n${host}\r\n${huge}`, 200],
    [`HEAD /readyz HTTP/1.1\r\n${host}\r\n${huge}`, 200],
    [`OPTIONS /api/runs HTTP/1.1\r\n${host}\r\n${huge}`, 204],
    [`DELETE /api/runs/none HTTP/1.1\r\n${host}\r\n${huge}`, 404],
    [`POST /healthz HTTP/1.1\r\n${host}\r\n${huge}`, 405],
  ];
  for (const [request, status] of cases) {
    const a = await askAndHold(url, request);
    const what = request.split('\r\n')[0];
    assert.match(a.head, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${a.head}`);
    assert.match(a.head, /\r\nConnection: close(\r\n|$)/i, `${what}: ${a.head}`);
    assert.ok(a.ended, `${what}: the server ended the connection after its answer`);
  }
});

test('a request without a body, or with one read to its end, keeps its connection', async () => {
  const { url } = await shared();
  const get = await fetch(`${url}/healthz`);
  assert.equal(get.headers.get('connection'), 'keep-alive');
  await get.text();
  // A POST whose body the route reads: refused for its content, not for an unread body.
  const post = await fetch(`${url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"scenario": "no-such-scenario"}',
  });
  assert.equal(post.status, 404);
  assert.equal(post.headers.get('connection'), 'keep-alive');
  await post.text();
});
