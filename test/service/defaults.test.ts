/**
 * The service's request body limit by default: one constant (src/service/server.ts
 * DEFAULT_BODY_LIMIT_BYTES), the bound a service started without `bodyLimitBytes` applies, and the
 * default docs/SERVICE.md's option table gives for `--body-limit`.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { DEFAULT_BODY_LIMIT_BYTES, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { api, yamlPost } from '../support/http.js';

const { shared } = serviceFixture('vmexit-lab-defaults-');

let svc: ServiceHandle;
before(async () => {
  svc = await shared(); // no bodyLimitBytes: the default
});

/** A scenario that does not load (no host, guests or duration), padded by a comment to `bytes`. */
function bodyOf(bytes: number): string {
  const head = 'name: body-limit\n# ';
  return `${head}${'x'.repeat(bytes - head.length - 1)}\n`;
}

test('a body of DEFAULT_BODY_LIMIT_BYTES is read; one byte more is 413 payload_too_large', async () => {
  assert.equal(DEFAULT_BODY_LIMIT_BYTES, 1024 * 1024);
  const at = await api(svc.url, '/api/runs', yamlPost(bodyOf(DEFAULT_BODY_LIMIT_BYTES)), 60_000);
  assert.equal(at.status, 400, JSON.stringify(at.body).slice(0, 300));
  assert.equal(at.body.error.code, 'invalid_scenario');
  const over = await api(svc.url, '/api/runs', yamlPost(bodyOf(DEFAULT_BODY_LIMIT_BYTES + 1)), 60_000);
  assert.equal(over.status, 413, JSON.stringify(over.body).slice(0, 300));
  assert.equal(over.body.error.code, 'payload_too_large');
});

test("docs/SERVICE.md's option table gives DEFAULT_BODY_LIMIT_BYTES as --body-limit's default", () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const row = /^\| `--body-limit BYTES` \| (\d+) \|/m.exec(doc);
  assert.ok(row, 'docs/SERVICE.md has a --body-limit row');
  assert.equal(Number(row[1]), DEFAULT_BODY_LIMIT_BYTES);
});
