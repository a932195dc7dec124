import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';

/**
 * A JSON body that does not parse gets its line and column at any size up to the body limit. V8
 * names no position for an unexpected token; the service found it by bisecting prefixes for bodies
 * up to 16 KiB only (a megabyte took 0.3 s of the event loop), so a larger one got the message
 * alone. Now one linear scan places it (src/input/jsonError.ts, `jsonPrefixEnd`).
 */

const { shared } = serviceFixture('vmexit-lab-json-body-errors-');

const post = async (body: string): Promise<string> => {
  const { url } = await shared();
  const r = await raw(url, 'POST', '/api/runs', { 'Content-Type': 'application/json' }, body);
  assert.equal(r.status, 400, r.text.slice(0, 300));
  assert.equal(r.body.error.code, 'bad_request');
  return r.body.error.message as string;
};

test('a JSON body at the body limit with an unexpected token: its line and column', async () => {
  const head = '{"yaml": "';
  const tail = '", "seed": oops}';
  const body = `${head}${'a'.repeat(DEFAULT_BODY_LIMIT_BYTES - head.length - tail.length)}${tail}`;
  assert.equal(Buffer.byteLength(body), DEFAULT_BODY_LIMIT_BYTES);
  assert.equal(
    await post(body),
    `the JSON body does not parse: line 1, column ${body.length - 4}: Unexpected token 'o'`,
  );
});

test('just past the old 16 KiB bound, over lines: the line of the stray word', async () => {
  const body = `{\n  "scenario": "default",\n${'  \n'.repeat(6000)}  "seed": seven\n}\n`;
  assert.ok(body.length > 16 * 1024);
  assert.equal(await post(body), "the JSON body does not parse: line 6003, column 11: Unexpected token 's'");
});

test('a character that cannot start a value, after a long string with escapes', async () => {
  const body = `{"yaml": "${'\\u0041\\n'.repeat(50_000)}", "pace": 'max'}`;
  assert.equal(
    await post(body),
    `the JSON body does not parse: line 1, column ${body.indexOf("'") + 1}: Unexpected token '''`,
  );
});
