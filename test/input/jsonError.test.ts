/**
 * Where a JSON text stops being JSON (src/input/jsonError.ts): V8 says "at position N" for most
 * errors but not for an unexpected token, whose offset is found by bisecting prefixes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonErrorAt, jsonErrorOffset } from '../../src/input/jsonError.js';

function messageOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${JSON.stringify(text)} parses`);
}

test('jsonErrorAt: line, column and a one-line message, with or without V8 position', () => {
  const cases: [text: string, line: number, column: number, message: string][] = [
    ['garbage', 1, 1, "Unexpected token 'g'"],
    ['  garbage', 1, 3, "Unexpected token 'g'"],
    ['{"a": 1,\n  "b": x}', 2, 8, "Unexpected token 'x'"],
    ['{\n  "version": 1,\n  "variants": [oops]\n}\n', 3, 16, "Unexpected token 'o'"],
    ['[1, 2 3]', 1, 7, "Expected ',' or ']' after array element"],
    ['{"a": 1,', 1, 9, 'Expected double-quoted property name'],
    ['', 1, 1, 'Unexpected end of JSON input'],
    ['[1,\n', 2, 1, 'Unexpected end of JSON input'],
    [`{"yaml": "${'a'.repeat(5000)}", "seed": x}`, 1, 5022, "Unexpected token 'x'"],
  ];
  for (const [text, line, column, message] of cases) {
    assert.deepEqual(jsonErrorAt(text, messageOf(text)), { line, column, message }, JSON.stringify(text.slice(0, 40)));
  }
});

test('jsonErrorAt: past the bisection limit an unexpected token has no line and column; a V8 position still has', () => {
  const word = `[${'1,'.repeat(100)}x]`;
  assert.deepEqual(jsonErrorAt(word, messageOf(word), 100), { message: "Unexpected token 'x'" });
  assert.equal(jsonErrorOffset(word, messageOf(word)), 201);
  const positioned = `[${'1,'.repeat(100)}1 1]`;
  assert.deepEqual(jsonErrorAt(positioned, messageOf(positioned), 100), {
    line: 1,
    column: 204,
    message: "Expected ',' or ']' after array element",
  });
});

test('property: a control character put into valid JSON is found where it was put', () => {
  // U+0001 is invalid everywhere in JSON (raw in a string too), so the text fails first at `k`;
  // where V8 names no position the bisection must find exactly `k`.
  fc.assert(
    fc.property(fc.json({ maxDepth: 3 }), fc.nat(), (json, cut) => {
      const k = cut % (json.length + 1);
      const text = `${json.slice(0, k)}\u0001${json.slice(k)}`;
      const message = messageOf(text);
      if (/ at position \d+/.test(message)) return;
      assert.equal(jsonErrorOffset(text, message), k, `${JSON.stringify(text)}: ${message}`);
    }),
    { numRuns: 500 },
  );
});
