/**
 * A JSON number too large for a double (`{"timeLimitSeconds": 1e400}`, `{"seed": 1e400}`) is
 * refused saying so. JSON.parse reads it as Infinity, and the message printed that with
 * JSON.stringify: "timeLimitSeconds must be a number, found null", a value the client never sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { submitRequest } from '../../src/service/request.js';
import { ApiError } from '../../src/service/errors.js';

function jsonPost(body: string): Request {
  return {
    query: {},
    body: Buffer.from(body),
    headers: { 'content-type': 'application/json' },
  } as unknown as Request;
}

function refusal(body: string): ApiError {
  try {
    submitRequest(jsonPost(body));
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    return e;
  }
  assert.fail(`${body} was accepted`);
}

test('JSON numbers beyond a double: refused as too large, never "found null"', () => {
  for (const [body, message] of [
    [
      '{"scenario":"default","timeLimitSeconds":1e400}',
      'timeLimitSeconds must be a number, found a number too large to represent',
    ],
    ['{"scenario":"default","seed":1e400}', 'seed must be an integer, found a number too large to represent'],
    ['{"scenario":"default","seed":-1e400}', 'seed must be an integer, found a number too large to represent'],
  ] as const) {
    const e = refusal(body);
    assert.equal(e.status, 400, body);
    assert.equal(e.code, 'bad_request', body);
    assert.equal(e.message, message, body);
    assert.doesNotMatch(e.message, /null/, body);
  }
});

test('numbers a double holds are still judged by their range, as before', () => {
  assert.equal(refusal('{"scenario":"default","seed":2.5}').message, 'seed must be an integer, found 2.5');
  assert.equal(
    refusal('{"scenario":"default","seed":1e300}').message,
    'seed must be an integer 0..4294967295, found 1e+300 (as JSON reads it: integers above 2^53 are not exact)',
  );
  assert.deepEqual(submitRequest(jsonPost('{"scenario":"default","timeLimitSeconds":2.5,"seed":7}')), {
    name: 'default',
    timeLimitSeconds: 2.5,
    seed: 7,
  });
});
