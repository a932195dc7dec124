/**
 * Where a JSON text stops being JSON, for messages that name FILE:LINE:COLUMN. V8's JSON.parse says
 * "at position N" for most errors but not for an unexpected token ("Unexpected token 'x', "..." is
 * not valid JSON"), the commonest one (a stray word, a missing quote). Its offset is where the text
 * first stops being the start of some JSON text (`jsonPrefixEnd`): one pass over the characters
 * with a stack of the open arrays and objects, linear in the text and allocating nothing per
 * character, so a megabyte body costs the service a few milliseconds. It replaced a bisection over
 * prefixes (~log2(length) parses of an input already refused: 0.3 s for a megabyte of small
 * numbers, so the service told the place for bodies up to 16 KiB only); the tests keep that
 * bisection as the definition the scan is held to (test/input/jsonError.test.ts).
 */

/** The offset V8 gives ("at position N"), or undefined. */
function positionIn(message: string): number | undefined {
  const m = / at position (\d+)/.exec(message);
  return m === null ? undefined : Number(m[1]);
}

// What the scan expects next.
const VALUE = 0; // a value (after `[` or `,` in an array, `:`, or at the start)
const FIRST_VALUE = 1; // a value or `]` (after `[`)
const FIRST_KEY = 2; // a key or `}` (after `{`)
const KEY = 3; // a key (after `,` in an object)
const COLON = 4; // `:` after a key
const AFTER = 5; // `,` or the container's close; at the top level only white space
// Containers on the stack.
const ARRAY = 0;
const OBJECT = 1;

function isWhite(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Escapes after a backslash other than `u`: `" \ / b f n r t`. */
function isEscape(c: number): boolean {
  return c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;
}

/** The end of the string whose opening quote is at `i`: the offset past its closing quote, or -1 - (the offset of its first bad character); text.length when it is cut. */
function scanString(text: string, i: number): number {
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -1 - j;
    if (c !== 0x5c) continue;
    if (++j >= n) return n;
    const e = text.charCodeAt(j);
    if (e === 0x75) {
      for (let k = 0; k < 4; k++) {
        if (++j >= n) return n;
        if (!isHex(text.charCodeAt(j))) return -1 - j;
      }
    } else if (!isEscape(e)) return -1 - j;
  }
  return n;
}

/** The same for a number starting at `i` (`-` or a digit): past its last character, or -1 - (its first bad one). */
function scanNumber(text: string, i: number): number {
  const n = text.length;
  let j = i;
  if (text.charCodeAt(j) === 0x2d && ++j >= n) return n;
  const first = text.charCodeAt(j);
  if (!isDigit(first)) return -1 - j;
  j++;
  // After a leading 0 no digit may follow; V8 says "Unexpected number" there.
  if (first === 0x30) {
    if (j < n && isDigit(text.charCodeAt(j))) return -1 - j;
  } else while (j < n && isDigit(text.charCodeAt(j))) j++;
  if (j < n && text.charCodeAt(j) === 0x2e) {
    if (++j >= n) return n;
    if (!isDigit(text.charCodeAt(j))) return -1 - j;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  }
  if (j < n && (text.charCodeAt(j) | 0x20) === 0x65) {
    if (++j >= n) return n;
    const s = text.charCodeAt(j);
    if ((s === 0x2b || s === 0x2d) && ++j >= n) return n;
    if (!isDigit(text.charCodeAt(j))) return -1 - j;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  }
  return j;
}

/** The same for `true`, `false` or `null` starting at `i`. */
function scanWord(text: string, i: number, word: string): number {
  const n = text.length;
  for (let k = 0; k < word.length; k++) {
    if (i + k >= n) return n;
    if (text.charCodeAt(i + k) !== word.charCodeAt(k)) return -1 - (i + k);
  }
  return i + word.length;
}

/**
 * The offset of the first character of `text` that no JSON text can have there: the text up to it
 * is the start of some JSON text and the text up to and with it is not. `text.length` when the
 * whole text is such a start (a JSON text, or one cut short).
 */
export function jsonPrefixEnd(text: string): number {
  const n = text.length;
  // The open containers, ARRAY or OBJECT, in bytes grown by doubling (a JS array of a million
  // numbers took 0.2 s to push for a megabyte of `[`).
  let stack = new Uint8Array(64);
  let depth = 0;
  let state = VALUE;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWhite(c)) {
      i++;
      continue;
    }
    let end: number;
    if (state === AFTER) {
      if (depth === 0) return i; // after the top-level value only white space
      const top = stack[depth - 1];
      if (c === 0x2c) state = top === ARRAY ? VALUE : KEY;
      else if (c === (top === ARRAY ? 0x5d : 0x7d)) depth--;
      else return i;
      i++;
      continue;
    }
    if (state === COLON) {
      if (c !== 0x3a) return i;
      state = VALUE;
      i++;
      continue;
    }
    if (state === FIRST_KEY || state === KEY) {
      if (c === 0x7d && state === FIRST_KEY) {
        depth--;
        state = AFTER;
        i++;
        continue;
      }
      if (c !== 0x22) return i;
      end = scanString(text, i);
      if (end < 0) return -1 - end;
      state = COLON;
      i = end;
      continue;
    }
    // A value (or, after `[`, the `]` of an empty array).
    if (c === 0x5d && state === FIRST_VALUE) {
      depth--;
      state = AFTER;
      i++;
      continue;
    }
    if (c === 0x5b || c === 0x7b) {
      if (depth === stack.length) {
        const grown = new Uint8Array(2 * depth);
        grown.set(stack);
        stack = grown;
      }
      stack[depth++] = c === 0x5b ? ARRAY : OBJECT;
      state = c === 0x5b ? FIRST_VALUE : FIRST_KEY;
      i++;
      continue;
    }
    if (c === 0x22) end = scanString(text, i);
    else if (c === 0x2d || isDigit(c)) end = scanNumber(text, i);
    else if (c === 0x74) end = scanWord(text, i, 'true');
    else if (c === 0x66) end = scanWord(text, i, 'false');
    else if (c === 0x6e) end = scanWord(text, i, 'null');
    else return i;
    if (end < 0) return -1 - end;
    state = AFTER;
    i = end;
  }
  return n;
}

/** The character offset where JSON.parse(text) failed with `message`. */
export function jsonErrorOffset(text: string, message: string): number {
  const at = positionIn(message);
  if (at !== undefined) return at;
  if (message.startsWith('Unexpected end of JSON input')) return text.length;
  return jsonPrefixEnd(text);
}

/**
 * Line and column (1-based) of a character offset in a text, counted in one loop without copying
 * the text: splitting a megabyte of line breaks made a million strings, and indexOf per line took
 * 16 ms where this takes 5.
 */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++)
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      start = i + 1;
    }
  return { line, column: offset - start + 1 };
}

/**
 * Node's JSON.parse message on one line, without its position or its quoted excerpt (which spans
 * lines): the excerpt is cut at either end or both (`"...x"`, `"x"...`, `..."x"...`).
 */
export function jsonMessageOneLine(message: string): string {
  return message
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
}

/** Where and why a JSON text did not parse: line, column and the message on one line. */
export function jsonErrorAt(text: string, message: string): { line: number; column: number; message: string } {
  return { ...lineColumn(text, jsonErrorOffset(text, message)), message: jsonMessageOneLine(message) };
}
