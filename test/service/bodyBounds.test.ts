/**
 * Bounds on a request's body that hold before it is read or parsed (src/service/body.ts,
 * request.ts): a body announced far over --body-limit is 413 at once and its connection closed,
 * and a JSON body with more structure than any request has is 400 before JSON.parse runs
 * (docs/SERVICE.md, "Hostile input: what is checked"). test/service/defaults.test.ts has the
 * default limit itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';

const { dataDir, services } = serviceFixture('vmexit-lab-body-bounds-');

/** What one connection got: the bytes, and whether the service closed it (rather than the test). */
interface Conversation {
  readonly stream: string;
  readonly closedByService: boolean;
}

/**
 * Send `head` (a request line and headers, and maybe a chunk-size line), then `bodyBytes` bytes of
 * body as fast as the service takes them, and no more: read until the service closes the
 * connection, or `waitMs` pass.
 */
function announce(base: string, head: string, bodyBytes: number, waitMs = 15_000): Promise<Conversation> {
  const u = new URL(base);
  return new Promise((ok) => {
    const c = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByService: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      ok({ stream: Buffer.concat(chunks).toString('latin1'), closedByService });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    c.on('data', (d: Buffer) => chunks.push(d));
    // Writing into a connection the service closed: EPIPE or ECONNRESET, after what it answered.
    c.on('error', () => finish(true));
    c.on('close', () => finish(true));
    c.write(head);
    const block = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (!done && sent < bodyBytes) {
        sent += block.length;
        if (!c.write(block)) return void c.once('drain', pump);
      }
    };
    pump();
  });
}

const POST = 'POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\n';

test('a body announced far over the limit (a chunk of 2^60 bytes, Content-Length 10^15) is 413 at once and the connection closes (it was read and thrown away until the request timeout, then 408)', async () => {
  // The request timeout is what the old reader answered at: short here, so the test ends either way.
  const s = await startService({
    port: 0,
    dataDir: dataDir(),
    workers: 1,
    headersTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
  });
  services.push(s);
  for (const [what, head] of [
    ['one chunk of 2^60 bytes', `${POST}Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n`],
    ['Content-Length 10^15', `${POST}Content-Length: 1000000000000000\r\n\r\n`],
    ['Content-Length 10^15, gzip', `${POST}Content-Encoding: gzip\r\nContent-Length: 1000000000000000\r\n\r\n`],
  ]) {
    // 2 MiB sent of what is announced: past the 1 MiB limit, far from the end of the body.
    const got = await announce(s.url, head, 2 * 1024 * 1024);
    assert.match(got.stream, /^HTTP\/1\.1 413 /, `${what}: ${got.stream.slice(0, 200)}`);
    assert.match(got.stream, /"code":"payload_too_large"/, what);
    assert.match(got.stream, /\r\nConnection: close\r\n/i, `${what}: the answer says the connection closes`);
    assert.ok(got.closedByService, `${what}: the service closed the connection`);
  }
  // A refusal before the body is read (here 405: /healthz takes no POST) closes the connection too,
  // rather than reading what the request announces.
  const early = await announce(
    s.url,
    'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000000\r\n\r\n',
    2 * 1024 * 1024,
  );
  assert.match(early.stream, /^HTTP\/1\.1 405 /, early.stream.slice(0, 200));
  assert.doesNotMatch(early.stream, / 408 /, 'closed after the 405, not at the request timeout');
  assert.match(early.stream, /\r\nConnection: close\r\n/i);
  assert.ok(early.closedByService);
  // Bodies within the limit are read as before, on a connection that stays open.
  const name = 'nope-no-such-scenario';
  const ok = await announce(
    s.url,
    `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${name.length}\r\n\r\n${name}`,
    0,
    1_500,
  );
  assert.match(ok.stream, /^HTTP\/1\.1 404 /, ok.stream.slice(0, 200));
  assert.doesNotMatch(ok.stream, /\r\nConnection: close\r\n/i);
  assert.equal(ok.closedByService, false);
});

test('a JSON body that cannot be a request (nested arrays, thousands of keys) is refused before it is parsed (JSON.parse held the main thread 1.2 s for 1 MB of nesting)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const post = async (body: string): Promise<{ status: number; code: string; message: string }> => {
    const r = await fetch(`${s.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const b = (await r.json()) as { error?: { code: string; message: string } };
    return { status: r.status, code: b.error?.code ?? '', message: b.error?.message ?? '' };
  };
  // Named as the parse would have named them: the field whose value nests, the first unknown one.
  for (const [body, first] of [
    [`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'the JSON body has more than 64'],
    [`{"scenario": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, '"scenario" must be a string or a number: the JSON'],
    [`{${Array.from({ length: 20_000 }, (_, i) => `"k${i}": 1`).join(', ')}}`, 'unknown field "k0" (expected'],
  ]) {
    const r = await post(body);
    assert.equal(r.status, 400, r.message);
    assert.equal(r.code, 'bad_request');
    assert.ok(r.message.startsWith(first), r.message);
    assert.match(
      r.message,
      /the JSON body has more than 64 of \{ \} \[ \] , : outside its strings.*nothing was parsed$/,
    );
  }
  // What a request holds is read as before: structure inside the YAML string counts nothing.
  const yaml = `name: json-yaml\nhost: { cpu: i7-6700K, cores: 2 }\nhypervisor: { policy: bhyve-12.1 }\nguests: [${Array.from({ length: 40 }, (_, i) => `{ name: g${i}, os: freebsd-12.1, phases: [{ phase: idle }] }`).join(', ')}]\nduration: 1s\n`;
  const ok = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ yaml, seed: 3, pace: 'max' }),
  });
  assert.equal(ok.status, 202, await ok.text());
  assert.deepEqual(await post('{"scenario": [1]}'), {
    status: 400,
    code: 'bad_request',
    message: '"scenario" must be a string (a name of scenarios/)',
  });
});
