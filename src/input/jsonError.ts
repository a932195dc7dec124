/**
 * Where a JSON text stops being JSON, for messages that name FILE:LINE:COLUMN. V8's JSON.parse says
 * "at position N" for most errors but not for an unexpected token ("Unexpected token 'x', "..." is
 * not valid JSON"), the commonest one (a stray word, a missing quote). Its offset is found from
 * prefixes of the text: a prefix that ends before the offending character fails only at its end
 * ("Unexpected end of JSON input", or "at position" its length) or parses, while one that includes
 * it fails before its end. So the offending character is the last one of the shortest prefix that
 * fails before its end, found by bisection: ~log2(length) parses of an input already refused, up to
 * 0.3 s for a megabyte of small numbers, which a caller answering strangers bounds (`bisectLimit`).
 */

/** The offset V8 gives ("at position N"), or undefined. */
function positionIn(message: string): number | undefined {
  const m = / at position (\d+)/.exec(message);
  return m === null ? undefined : Number(m[1]);
}

/** Does the first `k` characters' parse fail before their end? */
function failsBeforeEnd(text: string, k: number): boolean {
  try {
    JSON.parse(text.slice(0, k));
    return false;
  } catch (e) {
    const message = (e as Error).message;
    const at = positionIn(message);
    if (at !== undefined) return at < k;
    return !message.startsWith('Unexpected end of JSON input');
  }
}

/**
 * The character offset where JSON.parse(text) failed with `message`; undefined when only a
 * bisection over more than `bisectLimit` characters would tell.
 */
export function jsonErrorOffset(text: string, message: string, bisectLimit = Infinity): number | undefined {
  const at = positionIn(message);
  if (at !== undefined) return at;
  if (message.startsWith('Unexpected end of JSON input')) return text.length;
  if (text.length > bisectLimit) return undefined;
  let lo = 1; // the shortest prefix that may fail before its end
  let hi = text.length; // the whole text does
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (failsBeforeEnd(text, mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi - 1;
}

/** Line and column (1-based) of a character offset in a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
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

/**
 * Where and why a JSON text did not parse, the message on one line; no line and column when only a
 * bisection over more than `bisectLimit` characters would tell (jsonErrorOffset).
 */
export function jsonErrorAt(
  text: string,
  message: string,
  bisectLimit = Infinity,
): { line?: number; column?: number; message: string } {
  const offset = jsonErrorOffset(text, message, bisectLimit);
  return { ...(offset === undefined ? {} : lineColumn(text, offset)), message: jsonMessageOneLine(message) };
}
