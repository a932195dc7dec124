import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { LINGER_BYTES } from '../../src/service/body.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { api, busyScenario, waitForState, yamlPost } from '../support/http.js';

/**
 * An early refusal of a body the client is still sending (a 413 over the limit, no `Expect`).
 * The service closed the connection as soon as the 413 was written, under the rest of the upload:
 * the kernel reset the connection and the client, which reads only once its upload is done (curl
 * `--data-binary @3MB`), lost the answer (svc36). Now the rest of the body is read and thrown away
 * up to LINGER_BYTES, then the connection closes (src/service/body.ts, lingerAfterAnswer).
 */

const { shared } = serviceFixture('vmexit-lab-lingering-close-');
/** A service whose lingering close lasts 150 ms (LINGER_MS is 3 s): its time bound met in well under a second. */
const brief = serviceFixture('vmexit-lab-lingering-close-ms-', { linger: { ms: 150 } });

const HEAD = (length: number): string =>
  `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\nContent-Length: ${length}\r\n\r\n`;

test('a client that sends a 3 MB body and only then reads gets the 413', async () => {
  const { url } = await shared();
  const u = new URL(url);
  const body = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const answer = await new Promise<string>((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    // Read nothing while uploading, as curl does.
    c.pause();
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString('latin1')));
    c.on('end', () => ok(text));
    c.on('error', (e) =>
      fail(
        new Error(
          `the connection failed before its answer was read (${e.message}); read: ${JSON.stringify(text.slice(0, 80))}`,
        ),
      ),
    );
    c.write(HEAD(body.length));
    // In 64 KiB pieces, each after the one before is taken, as curl sends a file: the pieces after
    // the refusal reach the service after its answer, as they do from a client slower than loopback.
    let at = 0;
    const next = (e?: Error | null): void => {
      if (e) return;
      if (at >= body.length) return void c.resume();
      const piece = body.subarray(at, at + 64 * 1024);
      at += piece.length;
      setImmediate(() => c.write(piece, next));
    };
    next();
  });
  assert.match(answer, /^HTTP\/1\.1 413 /, answer.slice(0, 200));
  assert.match(answer, /\r\nConnection: close\r\n/i);
  assert.match(answer, /payload_too_large/);
});

test('a client that goes on sending past the bound is cut off', async () => {
  const { url } = await shared();
  const u = new URL(url);
  // A sender that never stops would write this much only if the service read it all.
  const ceiling = 128 * 1024 * 1024;
  assert.ok(LINGER_BYTES * 4 < ceiling, 'the kernel buffers and the bound together stay well under the ceiling');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const outcome = await new Promise<{ written: number; cut: boolean }>((ok) => {
    // Half-open: the 413's FIN alone must not stop this client's writes.
    const c = connect({ port: Number(u.port), host: u.hostname, allowHalfOpen: true });
    let written = 0;
    let done = false;
    const finish = (cut: boolean): void => {
      if (done) return;
      done = true;
      c.destroy();
      ok({ written, cut });
    };
    c.on('data', () => undefined);
    c.on('error', () => finish(true));
    c.on('close', () => finish(true));
    const pump = (): void => {
      while (!done && written < ceiling) {
        written += chunk.length;
        if (!c.write(chunk)) return void c.once('drain', pump);
      }
      if (written >= ceiling) finish(false);
    };
    c.write(HEAD(1_000_000_000_000_000));
    pump();
  });
  assert.ok(outcome.cut, `the service read ${outcome.written} bytes of an endless body and kept the connection`);
});

/** Connect half-open (the early answer's FIN must not end this side) and send `head`; resolves once a whole answer is read. */
function answeredHead(url: string, head: string): Promise<{ c: Socket; answer: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const c = connect({ port: Number(u.port), host: u.hostname, allowHalfOpen: true });
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      const cut = text.indexOf('\r\n\r\n');
      const length = /\r\nContent-Length: (\d+)/i.exec(text.slice(0, cut));
      if (cut < 0 || !length || text.length < cut + 4 + Number(length[1])) return;
      c.off('data', onData);
      c.on('data', () => undefined);
      ok({ c, answer: text });
    };
    c.on('data', onData);
    c.once('error', fail);
    c.write(head);
  });
}

/**
 * Write one byte every 10 ms, at most `most`, until the service closes the connection (a byte sent
 * to a closed socket is answered with a reset). Whether it was cut, and the bytes written.
 */
function trickleUntilCut(c: Socket, most: number): Promise<{ bytes: number; cut: boolean }> {
  return new Promise((ok) => {
    let bytes = 0;
    let done = false;
    const finish = (cut: boolean): void => {
      if (done) return;
      done = true;
      c.destroy();
      ok({ bytes, cut });
    };
    c.on('error', () => finish(true));
    c.on('close', () => finish(true));
    const trickle = (): void => {
      if (done) return;
      if (bytes >= most) return finish(false);
      bytes += 1;
      c.write('a');
      setTimeout(trickle, 10);
    };
    trickle();
  });
}

/**
 * The connection of a discarded body closes at the body's end (lingerAfterAnswer), but Node parses a
 * request sent after the body in the same read, and the app served it, to a connection whose
 * answers could no longer be sent: a DELETE there cancelled the run unseen. Such a request is
 * dropped unserved with its connection (closeUnreadBodies).
 */
test('a request pipelined behind a discarded body is not served', async () => {
  const { url } = await shared();
  const posted = await api(url, '/api/runs', yamlPost(busyScenario('lingering-pipelined')));
  assert.equal(posted.status, 202, posted.text);
  const id = posted.body.id as string;
  await waitForState(url, id, ['running']);
  // A route that reads no body answers at once; its 5 bytes are then read and thrown away.
  const { c, answer } = await answeredHead(
    url,
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\n',
  );
  assert.match(answer, /^HTTP\/1\.1 200 /, answer.slice(0, 200));
  assert.match(answer, /\r\nConnection: close\r\n/i);
  // The body and a request after it in one small write: one read, one pass of Node's parser.
  c.write(`helloDELETE /api/runs/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  // Cut: the service has closed the connection, so it has read (and parsed) what came before.
  assert.ok((await trickleUntilCut(c, 500)).cut, 'the connection closed after the discarded body');
  // A route answers a DELETE synchronously: had it been served, the run would be cancelled by now.
  const rec = (await api(url, `/api/runs/${id}`)).body;
  assert.equal(rec.state, 'running', JSON.stringify(rec));
  assert.equal(rec.stopReason, undefined, JSON.stringify(rec));
  assert.equal((await api(url, `/api/runs/${id}`, { method: 'DELETE' })).status, 202);
});

/**
 * LINGER_MS on its own: a client that keeps sending a byte at a time never passes LINGER_BYTES, never
 * ends its body and never half-closes, so only the time bound ends the lingering close; without it,
 * such a client held the connection for as long as it trickled.
 */
test('a client that trickles bytes under LINGER_BYTES is cut off at LINGER_MS', async () => {
  const { url } = await brief.shared();
  const { c, answer } = await answeredHead(url, HEAD(1_000_000_000_000_000));
  assert.match(answer, /^HTTP\/1\.1 413 /, answer.slice(0, 200));
  // 500 bytes 10 ms apart last at least 5 s, over 30 times this service's 150 ms.
  const sent = await trickleUntilCut(c, 500);
  assert.ok(sent.cut, `the service kept a connection that trickled ${sent.bytes} bytes of a discarded body`);
  assert.ok(sent.bytes < LINGER_BYTES, 'the byte bound played no part');
});
