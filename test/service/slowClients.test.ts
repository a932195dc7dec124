import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';

/**
 * Slow clients: headers or a body trickled a byte at a time get their 408 at the service's bounds,
 * checked every second (docs/SERVICE.md, "Hostile input"). From the hostile-input audit; the test
 * failed before its fix.
 * docs/SERVICE.md "Hostile input" names each test of this file by its title (hostileInputTable.test.ts).
 */

const { dataDir, services } = serviceFixture('vmexit-lab-slow-clients-');

/** Open a socket, write `first`, then `more` every 200 ms; resolves with what came back and when the server closed it. */
function trickle(base: string, first: string, more: string): Promise<{ seconds: number; answer: string }> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const t0 = Date.now();
    let answer = '';
    const s = connect(Number(u.port), u.hostname, () => s.write(first));
    const timer = setInterval(() => s.writable && s.write(more), 200);
    const give = setTimeout(() => s.destroy(new Error('still open after 20 s')), 20_000);
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('close', () => {
      clearInterval(timer);
      clearTimeout(give);
      ok({ seconds: (Date.now() - t0) / 1000, answer });
    });
    s.on('error', (e) => {
      clearInterval(timer);
      clearTimeout(give);
      if (answer === '') fail(e);
    });
  });
}

test('slow clients: trickled headers and bodies get 408 at their bound, not up to 30 s later (Node checks every 30 s by default)', async () => {
  const s = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    headersTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
  });
  services.push(s);
  const [headers, body] = await Promise.all([
    trickle(s.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-A: b\r\n'),
    trickle(
      s.url,
      'POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
      'a',
    ),
  ]);
  assert.match(headers.answer, /^HTTP\/1\.1 408 /);
  assert.match(body.answer, /^HTTP\/1\.1 408 /);
  assert.ok(headers.seconds >= 0.9 && headers.seconds < 4, `headers closed after ${headers.seconds} s (bound 1 s)`);
  assert.ok(body.seconds >= 1.9 && body.seconds < 5, `body closed after ${body.seconds} s (bound 2 s)`);
});
