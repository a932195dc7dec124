/**
 * A body whose bytes are not what its Content-Encoding says (gzip, deflate, br) is a 400 that says
 * so. It answered zlib's words alone, "incorrect header check" or "unexpected end of file", which
 * named neither the body nor its encoding.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, runCount } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-body-encoding-');

let svc: ServiceHandle;
before(async () => {
  svc = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000 });
  services.push(svc);
});

test('a body that does not decode as its Content-Encoding: 400 naming the encoding, nothing runs', async () => {
  const before = await runCount(svc.url);
  const cut = gzipSync(Buffer.from('default')).subarray(0, 12);
  for (const [encoding, body] of [
    ['gzip', Buffer.from('default')],
    ['deflate', Buffer.from('not deflate')],
    ['gzip', cut],
  ] as const) {
    const r = await rawRequest(
      svc.url,
      'POST',
      '/api/runs',
      {
        'Content-Type': 'text/plain',
        'Content-Encoding': encoding,
      },
      body,
    );
    assert.equal(r.status, 400, `${encoding}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request');
    assert.match(
      r.body.error.message,
      new RegExp(`^the body does not decode as its Content-Encoding \\(${encoding}\\) says: \\S`),
      r.text,
    );
  }
  assert.equal(await runCount(svc.url), before, 'nothing ran');
});
