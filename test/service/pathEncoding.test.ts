import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';

/**
 * A path parameter (a run id) that is not percent-encoded UTF-8. The router refused it with its own
 * words, "Failed to decode param '%ZZ...'", repeating the text whole and unquoted: a 10,000-character
 * id came back as a 10 KB answer, where every other echo of client text is quoted and cut at 200
 * characters (docs/SERVICE.md, HTTP API; svc35). Now the service's 400, in the words its query
 * parameters get.
 */

const { shared } = serviceFixture('vmexit-lab-path-encoding-');

test('a run id that is not percent-encoded UTF-8: a 400 naming the path, quoted and cut', async () => {
  const { url } = await shared();
  for (const [method, path] of [
    ['GET', '/api/runs/%ZZ'],
    ['GET', '/api/runs/%C0%AF/results'],
    ['DELETE', '/api/runs/a%E2%80'],
    ['GET', '/runs/%ZZ'],
  ]) {
    const r = await raw(url, method, path);
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request');
    assert.equal(
      r.body.error.message,
      `the path ${JSON.stringify(path)} is not valid percent-encoding: each % starts two hex digits, the bytes they give must be UTF-8 (%25 is a % itself)`,
    );
  }
  const long = `/api/runs/%ZZ${'a'.repeat(10_000)}`;
  const r = await raw(url, 'GET', long);
  assert.equal(r.status, 400);
  assert.match(
    r.body.error.message,
    /^the path "\/api\/runs\/%ZZa+"\.\.\. \(10013 characters\) is not valid percent-encoding/,
  );
  assert.ok(r.text.length < 1000, `a short answer (${r.text.length} characters)`);
});
