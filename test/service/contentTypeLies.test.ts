/**
 * A body whose head says one thing and whose bytes another (the polish44 pass). A `Content-Type`
 * with `charset` twice (`charset=utf-8; charset=latin1`) ran its scenario, the first charset taken;
 * now 415 naming both, as a header given twice is refused. A gzip stream sent without
 * `Content-Encoding` was a 400 advising iconv for a Latin-1 file; now it says the body is a gzip
 * stream and how to send one. The CLI says of a gzipped file that it is one (src/input/utf8.ts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { notUtf8 } from '../../src/input/utf8.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, runCount } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-content-type-lies-');

let svc: ServiceHandle;
before(async () => {
  svc = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000 });
  services.push(svc);
});

test('charset given twice in the Content-Type: 415 naming both, nothing runs', async () => {
  const before = await runCount(svc.url);
  for (const [type, found] of [
    ['text/plain; charset=utf-8; charset=latin1', '("utf-8", then "latin1")'],
    ['application/json; charset=utf-8; CHARSET=utf-8', '("utf-8", then "utf-8")'],
  ] as const) {
    const body = type.startsWith('application/json') ? '{"scenario": "default"}' : 'default';
    const r = await rawRequest(svc.url, 'POST', '/api/runs', { 'Content-Type': type }, Buffer.from(body));
    assert.equal(r.status, 415, r.text);
    assert.equal(r.body.error.code, 'unsupported_media_type');
    assert.equal(r.body.error.message, `the Content-Type gives charset 2 times ${found}: give it once, charset=utf-8`);
  }
  assert.equal(await runCount(svc.url), before, 'nothing ran');
});

test('a gzip stream sent without Content-Encoding: 400 saying it is one and how to send it', async () => {
  const r = await rawRequest(
    svc.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/json' },
    gzipSync(Buffer.from('{"scenario": "default"}')),
  );
  assert.equal(r.status, 400, r.text);
  assert.equal(
    r.body.error.message,
    'the request body is not valid UTF-8 (scenarios are UTF-8 text) at line 1, column 1 (expected UTF-8 text, or a gzip stream sent with Content-Encoding: gzip, found a gzip stream (its first bytes 0x1F 0x8B))',
  );
});

test('a gzipped file read as text is said to be one, at line 1, column 1', () => {
  assert.deepEqual(notUtf8(gzipSync(Buffer.from('name: x\n'))), {
    line: 1,
    column: 1,
    expected: 'UTF-8 text (gunzip the file first)',
    found: 'a gzip stream (its first bytes 0x1F 0x8B)',
  });
});
