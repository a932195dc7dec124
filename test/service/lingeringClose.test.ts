import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { LINGER_BYTES } from '../../src/service/body.js';
import { serviceFixture } from '../support/serviceFixture.js';

/**
 * An early refusal of a body the client is still sending (a 413 over the limit, no `Expect`).
 * The service closed the connection as soon as the 413 was written, under the rest of the upload:
 * the kernel reset the connection and the client, which reads only once its upload is done (curl
 * `--data-binary @3MB`), lost the answer (svc36). Now the rest of the body is read and thrown away
 * up to LINGER_BYTES, then the connection closes (src/service/body.ts, lingerAfterAnswer).
 */

const { shared } = serviceFixture('vmexit-lab-lingering-close-');

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
