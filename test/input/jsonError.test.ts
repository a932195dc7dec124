/**
 * Where a JSON text stops being JSON (src/input/jsonError.ts): V8 says "at position N" for most
 * errors but not for an unexpected token, whose offset a linear scan finds (`jsonPrefixEnd`). The
 * bisection over prefixes it replaced is kept here as the definition it is held to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonErrorAt, jsonErrorOffset, jsonPrefixEnd, lineColumn } from '../../src/input/jsonError.js';

/** V8's position in a message, if it gives one. */
function positionIn(message: string): number | undefined {
  const m = / at position (\d+)/.exec(message);
  return m === null ? undefined : Number(m[1]);
}

/**
 * The reference: the offending character is the last one of the shortest prefix whose parse fails
 * before its end (a prefix that ends before it fails only at its end, or parses), by bisection.
 */
function bisected(text: string): number {
  const failsBeforeEnd = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (e) {
      const message = (e as Error).message;
      const at = positionIn(message);
      return at !== undefined ? at < k : !message.startsWith('Unexpected end of JSON input');
    }
  };
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (failsBeforeEnd(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi - 1;
}

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

test('jsonErrorAt: an unexpected token is placed in a body of a megabyte too (the service limited it to 16 KiB)', () => {
  // What the service refused to place before (JSON_ERROR_BISECT_LIMIT): a body at the 1 MiB limit.
  const string = `{"yaml": "${'a'.repeat(1024 * 1024 - 30)}", "seed": x}`;
  assert.deepEqual(jsonErrorAt(string, messageOf(string)), {
    line: 1,
    column: string.length - 1,
    message: "Unexpected token 'x'",
  });
  const lines = `{"yaml": "a", "seed":${'\n'.repeat(1024 * 1024 - 30)}  x}`;
  assert.deepEqual(jsonErrorAt(lines, messageOf(lines)), {
    line: 1024 * 1024 - 29,
    column: 3,
    message: "Unexpected token 'x'",
  });
  // A megabyte of nesting (the CLI's compare/merge read such files; the service refuses it earlier).
  const nested = `${'['.repeat(1024 * 1024)}x`;
  assert.equal(jsonErrorOffset(nested, messageOf(nested)), 1024 * 1024);
  const positioned = `[${'1,'.repeat(100)}1 1]`;
  assert.deepEqual(jsonErrorAt(positioned, messageOf(positioned)), {
    line: 1,
    column: 204,
    message: "Expected ',' or ']' after array element",
  });
});

test('jsonPrefixEnd: where each kind of token first goes wrong', () => {
  const cases: [text: string, offset: number][] = [
    ['{"a": 1}', 8],
    ['{"a": [1, {"b": null}]', 22], // cut short: still a start
    ['trux', 3],
    ['[nulx]', 4],
    ['[fals]', 5],
    ['[.5]', 1],
    ['[1,]', 3],
    ['{"a":1,}', 7],
    ['[01]', 2],
    ['[-x]', 2],
    ['[1.x]', 3],
    ['[1e+]', 4],
    ['[1E5, -0.5e-3]', 14],
    ['"\\x"', 2],
    ['["\\u12x4"]', 6],
    ['"a\u0001"', 2],
    ['1 x', 2],
    ['[] ]', 3],
    ['{"a" 1}', 5],
    ['{,}', 1],
    ['\ufeff{}', 0], // a byte order mark is no JSON white space
    ['\u00a0[]', 0],
    [' \t\r\n[]', 6],
    ['[}', 1],
    ['{]', 1],
    ['{"a": [}', 7],
  ];
  for (const [text, offset] of cases) {
    assert.equal(jsonPrefixEnd(text), offset, JSON.stringify(text));
    // Held to V8: where it names a position it names this one, else the bisection finds it.
    if (offset === text.length) continue;
    const message = messageOf(text);
    assert.equal(positionIn(message) ?? bisected(text), offset, `${JSON.stringify(text)}: ${message}`);
  }
});

test('lineColumn: lines end at \\n only; the offset of a line break is on its line', () => {
  assert.deepEqual(lineColumn('ab\ncd', 0), { line: 1, column: 1 });
  assert.deepEqual(lineColumn('ab\ncd', 2), { line: 1, column: 3 });
  assert.deepEqual(lineColumn('ab\ncd', 3), { line: 2, column: 1 });
  assert.deepEqual(lineColumn('ab\r\ncd', 4), { line: 2, column: 1 });
  assert.deepEqual(lineColumn('\n\n\nx', 3), { line: 4, column: 1 });
  assert.deepEqual(lineColumn('abc', 3), { line: 1, column: 4 });
});

/** One edit of a text: a character put in, taken out or replaced at `at`. */
const EDIT_CHARS = [...'{}[],:"\\-+.eE0123456789tfnulrx \n\u0001\u00e9'];
function edited(text: string, at: number, op: number, c: string): string {
  const k = at % (text.length + 1);
  if (op === 0) return text.slice(0, k) + c + text.slice(k);
  if (op === 1) return text.slice(0, k) + text.slice(k + 1);
  return text.slice(0, k) + c + text.slice(k + 1);
}

test('property: the scan finds where V8 says, or where the bisection over prefixes finds, after one edit of valid JSON', () => {
  const texts = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.json({ maxDepth: 2, stringUnit: 'binary' }),
    fc.string({ unit: fc.constantFrom(...EDIT_CHARS) }),
  );
  fc.assert(
    fc.property(texts, fc.nat(), fc.nat(2), fc.constantFrom(...EDIT_CHARS), (json, at, op, c) => {
      const text = edited(json, at, op, c);
      let message: string;
      try {
        JSON.parse(text);
        assert.equal(jsonPrefixEnd(text), text.length, `${JSON.stringify(text)} parses`);
        return;
      } catch (e) {
        message = (e as Error).message;
      }
      const expected = message.startsWith('Unexpected end of JSON input')
        ? text.length
        : (positionIn(message) ?? bisected(text));
      assert.equal(jsonPrefixEnd(text), expected, `${JSON.stringify(text)}: ${message}`);
      assert.equal(jsonErrorOffset(text, message), expected);
    }),
    { numRuns: 2000 },
  );
});

test('property: every prefix of valid JSON is a start of JSON (the scan runs to its end)', () => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 4 }), fc.nat(), (json, cut) => {
      const text = json.slice(0, cut % (json.length + 1));
      assert.equal(jsonPrefixEnd(text), text.length, JSON.stringify(text));
    }),
    { numRuns: 500 },
  );
});

test('property: a control character put into valid JSON is found where it was put', () => {
  // U+0001 is invalid everywhere in JSON (raw in a string too), so the text fails first at `k`;
  // where V8 names no position the scan must find exactly `k`.
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
