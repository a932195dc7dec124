import { GZIP_EXPECTED, notUtf8 } from '../input/utf8.js';
import type { Request } from 'express';
import { closest } from '../input/diagnostics.js';
import { RUN_STATES, type RunState } from '../history/records.js';
import { ApiError, shown, shownValue } from './errors.js';
import type { SubmitRequest } from './runRequest.js';
import { isScenarioName } from './scenarios.js';
import { tooComplex } from './scenarioValidator.js';
import { MAX_NAME_LENGTH, SCENARIO_NAME_RE } from '../scenario/limits.js';
import { jsonErrorAt } from '../input/jsonError.js';

/**
 * What a request may say, checked strictly (docs/SERVICE.md, "HTTP API"): unknown query parameters
 * and JSON fields are refused with a did-you-mean (a misspelt `timeLimitSeconds` used to run with
 * the default of an hour), numbers are plain decimals (no `0x10`, `1e3`, `Infinity`), counts are
 * integers, a parameter given twice is refused, and bodies must be UTF-8 (no silently replaced
 * bytes).
 */

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

/**
 * What a form's 415 adds: curl's -d and --data-binary send a form unless a Content-Type is given,
 * so README's POST without its -H got a refusal that did not say which header (2026-12-05, the
 * fresh-eyes pass). --data-binary, because -d @FILE drops the file's line breaks (request.yaml's
 * one-line note, src/service/scenarioValidator.ts).
 */
const FORM_HINT =
  ": curl sends that with -d or --data-binary when no Content-Type is given; for a file, -H 'Content-Type: application/yaml' --data-binary @FILE";

/**
 * The did-you-mean of a name the route does not take; none for a word far longer than any it
 * takes (the edit distance of a 1 MB JSON field name to each held the main thread 0.5 s).
 */
function guessFor(word: string, allowed: readonly string[]): string | undefined {
  const longest = Math.max(0, ...allowed.map((a) => a.length));
  return word.length > 2 * longest ? undefined : closest(word, allowed);
}

const DECIMAL = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const INTEGER = /^(?:0|[1-9][0-9]*)$/;

/** What percent-encoding must be, said by every 400 that refuses it (a query's parts, a path's). */
export const PERCENT_RULE = 'each % starts two hex digits, the bytes they give must be UTF-8 (%25 is a % itself)';

/** One part of a query string (`+` is a space, as in a form), or a 400 saying what is wrong with it. */
function decodeQueryPart(text: string, key: string | undefined): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new ApiError(
      400,
      'bad_request',
      `${key === undefined ? `the query parameter name ${shown(text)}` : `query parameter ${shown(key)}: its value ${shown(text)}`} is not valid percent-encoding: ${PERCENT_RULE}`,
    );
  }
}

/**
 * The app's query parser (express's "query parser" setting, src/service/app.ts), strict: `name=value`
 * pairs split at `&`, each name and value percent-decoded as UTF-8, a name given twice kept as a
 * list of its first two values (checkQuery refuses it), a name without `=` read as an empty value
 * (refused too). Neither of express's own: "simple" (node:querystring) kept `%ZZ` as the text `%ZZ`
 * and read `%C0%AF` (no UTF-8) as U+FFFD, so a filter silently matched nothing; "extended" (qs)
 * makes objects and arrays of `a[b]=1` and `a[]=1`, which no route takes. A malformed part is a 400 naming the parameter;
 * it is thrown where a route reads `req.query` (checkQuery), so the routes that take no parameters
 * and ignore them (`/metrics`, `/healthz`, `/readyz`, the pages) still do.
 */
export function parseQuery(text: string | null | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  // No `?` in the URL: express passes null.
  for (const part of (text ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeQueryPart(eq < 0 ? part : part.slice(0, eq), undefined);
    const value = eq < 0 ? '' : decodeQueryPart(part.slice(eq + 1), key);
    // A name given again is refused (checkQuery), so its first two values are all there is to keep:
    // copying the list at each repeat was quadratic, and a 14 KB query of `a&a&...` (7,000 repeats)
    // held the main thread 0.4 - 0.9 s a request (/healthz p50 0.9 s under 4 such clients, svc35).
    const had = out[key];
    if (had === undefined) out[key] = value;
    else if (!Array.isArray(had)) out[key] = [had, value];
  }
  return out;
}

/** Refuse query parameters other than `allowed` (and any given twice, or without a value). */
export function checkQuery(req: Request, allowed: readonly string[]): Record<string, string> {
  const q = req.query as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    if (!allowed.includes(k)) {
      const guess = guessFor(k, allowed);
      throw new ApiError(
        400,
        'bad_request',
        `unknown query parameter ${shown(k)}${guess ? ` (did you mean "${guess}"?)` : ''}; ${
          allowed.length > 0 ? `this route takes ${allowed.join(', ')}` : 'this route takes none'
        }${/[[\]]/.test(k) ? ' (plain names only: no object or array syntax)' : ''}`,
      );
    }
    if (typeof v !== 'string')
      throw new ApiError(400, 'bad_request', `query parameter ${shown(k)} is given more than once`);
    if (v === '')
      throw new ApiError(
        400,
        'bad_request',
        `query parameter ${shown(k)} has no value: give ${k}=VALUE, or leave it out for its default`,
      );
    out[k] = v;
  }
  return out;
}

/** A number written as a plain decimal (a JSON number, or a string of digits with an optional fraction). */
function decimal(v: unknown, name: string, integer: boolean): number | undefined {
  if (v === undefined || v === '') return undefined;
  const re = integer ? INTEGER : DECIMAL;
  const kind = integer ? 'an integer' : 'a number';
  if (typeof v === 'number') {
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify prints as null ("found null").
    if (!Number.isFinite(v))
      throw new ApiError(400, 'bad_request', `${name} must be ${kind}, found a number too large to represent`);
    if (integer && !Number.isInteger(v))
      throw new ApiError(400, 'bad_request', `${name} must be ${kind}, found ${shownValue(v)}`);
    return v;
  }
  if (typeof v !== 'string' || !re.test(v))
    throw new ApiError(
      400,
      'bad_request',
      `${name} must be ${kind} written in decimal digits${integer ? '' : ' (e.g. 30 or 2.5)'}, found ${shownValue(v)}`,
    );
  const n = Number(v);
  // 400 nines are decimal digits too, and Number() makes them Infinity.
  if (!Number.isFinite(n))
    throw new ApiError(400, 'bad_request', `${name} must be ${kind}, found ${shownValue(v, true)}`);
  return n;
}

/**
 * A number as the client wrote it, for messages: a query parameter's text (Number() would print
 * 2^53+1 as 9007199254740992 and 10^23 as 1e+23), or a JSON number as JSON.parse read it.
 */
function asWritten(v: unknown, n: number): string {
  if (typeof v === 'string') return shownValue(v, true);
  return Number.isInteger(n) && !Number.isSafeInteger(n)
    ? `${n} (as JSON reads it: integers above 2^53 are not exact)`
    : String(n);
}

function optionalPace(v: unknown): 'max' | 'realtime' | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'max' || v === 'realtime') return v;
  throw new ApiError(400, 'bad_request', `pace must be "max" or "realtime", found ${shownValue(v)}`);
}

function optionalSeed(v: unknown): number | undefined {
  const n = decimal(v, 'seed', true);
  if (n !== undefined && (n < 0 || n > 0xffffffff))
    throw new ApiError(400, 'bad_request', `seed must be an integer 0..4294967295, found ${asWritten(v, n)}`);
  return n;
}

function options(src: Record<string, unknown>): Omit<SubmitRequest, 'yaml' | 'name'> {
  const pace = optionalPace(src.pace);
  const seed = optionalSeed(src.seed);
  const limit = decimal(src.timeLimitSeconds, 'timeLimitSeconds', false);
  if (limit !== undefined && !(limit > 0))
    throw new ApiError(
      400,
      'bad_request',
      `timeLimitSeconds must be a positive number, found ${asWritten(src.timeLimitSeconds, limit)}`,
    );
  return {
    ...(pace ? { pace } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(limit !== undefined ? { timeLimitSeconds: limit } : {}),
  };
}

const POST_QUERY = ['scenario', 'pace', 'seed', 'timeLimitSeconds'];
const JSON_FIELDS = ['scenario', 'yaml', 'pace', 'seed', 'timeLimitSeconds'];

/** The body as UTF-8 text; 400 on bytes that are not UTF-8, where the CLI says it of a file (src/input/utf8.ts). */
function utf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    const at = notUtf8(body);
    // A gzip stream sent without its Content-Encoding: how to send it, not the file's gunzip.
    const expected =
      at?.expected === GZIP_EXPECTED ? 'UTF-8 text, or a gzip stream sent with Content-Encoding: gzip' : at?.expected;
    const where =
      at === undefined ? '' : ` at line ${at.line}, column ${at.column} (expected ${expected}, found ${at.found})`;
    throw new ApiError(400, 'bad_request', `the request body is not valid UTF-8 (scenarios are UTF-8 text)${where}`);
  }
}

/** The media type of the request (no parameters), lower case; '' without a body. */
function mediaType(req: Request): { type: string; charset: string | undefined } {
  const h = req.headers['content-type'] ?? '';
  const [type, ...params] = h.split(';').map((s) => s.trim());
  const charsets = params.filter((p) => /^charset=/i.test(p));
  // `charset=utf-8; charset=latin1`: which one the client meant is anyone's guess (the first was
  // taken, and the body read as UTF-8); said as a header given twice is.
  if (charsets.length > 1)
    throw new ApiError(
      415,
      'unsupported_media_type',
      `the Content-Type gives charset ${charsets.length} times (${charsets
        .slice(0, 2)
        .map((c) => shown(c.slice(c.indexOf('=') + 1)))
        .join(', then ')}${charsets.length > 2 ? ', ...' : ''}): give it once, charset=utf-8`,
    );
  const cs = charsets[0];
  return {
    type: type.toLowerCase(),
    charset: cs
      ?.slice(cs.indexOf('=') + 1)
      .replace(/"/g, '')
      .toLowerCase(),
  };
}

/**
 * The first key a JSON object text (valid JSON) gives twice at its top level. JSON.parse keeps the
 * last silently, so `{"scenario": "a", "scenario": "b"}` ran b; other parsers keep the first.
 * One linear pass over the text: after `{` or a top-level `,` the next string is a key.
 */
export function repeatedKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && keyNext) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        keyNext = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      keyNext = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) keyNext = true;
  }
  return undefined;
}

/**
 * Structure characters (`{ } [ ] , :`) a JSON body may have outside its strings: an object of the
 * five JSON_FIELDS has 12 at most, with room for a few unknown ones to be named.
 */
export const MAX_JSON_STRUCTURE = 64;

/**
 * A JSON body that cannot be a request, found by a linear scan of its bytes before JSON.parse,
 * which takes the main thread 1.2 s for 1 MB of nested arrays and 0.4 s for 90,000 keys (2026-12-06,
 * the fifth pass, docs/SERVICE.md "Hostile input"): more than MAX_JSON_STRUCTURE structure
 * characters outside its strings (the scenario's YAML is a string, validated apart). The refusal
 * names what the parse would have named: the first unknown field, else the field whose value
 * nests. Undefined: parse it.
 */
export function jsonBodyTooComplex(body: Uint8Array): ApiError | undefined {
  let n = 0;
  let depth = 0;
  let inString = false;
  let start = 0;
  let keyNext = false;
  let lastKey: string | undefined;
  let unknown: string | undefined;
  let nested: string | undefined;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next byte
      else if (c === 0x22) {
        inString = false;
        if (depth === 1 && keyNext) {
          keyNext = false;
          try {
            lastKey = JSON.parse(Buffer.from(body.subarray(start, i + 1)).toString('utf8')) as string;
          } catch {
            return undefined; // not JSON: the parse says where
          }
          if (unknown === undefined && !JSON_FIELDS.includes(lastKey)) unknown = lastKey;
        }
      }
      continue;
    }
    if (c === 0x22) {
      inString = true;
      start = i;
      continue;
    }
    // { [ } ] , :
    if (c === 0x7b || c === 0x5b) {
      if (depth === 1) nested ??= lastKey;
      depth++;
      keyNext = depth === 1 && c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c) keyNext = depth === 1;
    else if (c !== 0x3a) continue;
    if (++n > MAX_JSON_STRUCTURE) break;
  }
  if (n <= MAX_JSON_STRUCTURE) return undefined;
  const what = `the JSON body has more than ${MAX_JSON_STRUCTURE} of { } [ ] , : outside its strings`;
  const rule = `it must be one object of string and number fields, {"scenario": "NAME"} or {"yaml": "..."} with ${JSON_FIELDS.filter((f) => f !== 'scenario' && f !== 'yaml').join(', ')}; nothing was parsed`;
  const guess = unknown === undefined ? undefined : guessFor(unknown, JSON_FIELDS);
  if (unknown !== undefined)
    return new ApiError(
      400,
      'bad_request',
      `unknown field ${shown(unknown)}${guess ? ` (did you mean "${guess}"?)` : ''} (expected ${JSON_FIELDS.join(', ')}): ${what}, and ${rule}`,
    );
  if (nested !== undefined)
    return new ApiError(400, 'bad_request', `${shown(nested)} must be a string or a number: ${what}, and ${rule}`);
  return new ApiError(400, 'bad_request', `${what}: ${rule}`);
}

/** Whether the body's Content-Type is JSON; 415 for a body of a type or charset the route does not take. */
function bodyType(req: Request, hasBody: boolean): { isJson: boolean } {
  const { type, charset } = mediaType(req);
  const isJson = type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
  if (hasBody && !isJson && !YAML_TYPES.includes(type))
    throw new ApiError(
      415,
      'unsupported_media_type',
      `send scenario YAML as ${YAML_TYPES.join(', ')}, or JSON as application/json (found ${type === '' ? 'no Content-Type' : `"${type}"`})${type === 'application/x-www-form-urlencoded' ? FORM_HINT : ''}`,
    );
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    throw new ApiError(415, 'unsupported_media_type', `the body must be UTF-8 (found charset=${charset})`);
  return { isJson };
}

/**
 * POST /api/runs, what its head alone decides (the query's names and values, the body's type and charset), checked
 * before a client that sends `Expect: 100-continue` is invited to send its body (src/service/body.ts
 * continueWhenRead, awaitsContinue). A body is announced by a Content-Length above 0
 * or a Transfer-Encoding (a chunked body may still turn out empty).
 */
export function checkSubmitHead(req: Request): void {
  // The options given in the query, by their values too (`?seed=0x10`, `?pace=slow`).
  options(checkQuery(req, POST_QUERY));
  const length = req.headers['content-length'];
  bodyType(req, req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0));
}

/** POST /api/runs: YAML text (options in the query), a scenario name as text, or JSON. */
export function submitRequest(req: Request): SubmitRequest {
  const q = checkQuery(req, POST_QUERY);
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const { isJson } = bodyType(req, body.length > 0);
  // A YAML body over the early bound is refused before it is even decoded (#18 item 1).
  const early = isJson ? undefined : tooComplex(body, 'request.yaml');
  if (early) throw early;
  const shape = isJson ? jsonBodyTooComplex(body) : undefined;
  if (shape) throw shape;
  const text = utf8(body);
  if (isJson) {
    for (const k of Object.keys(q))
      if (k !== 'pace' && k !== 'seed' && k !== 'timeLimitSeconds')
        throw new ApiError(400, 'bad_request', `with a JSON body, give ${shown(k)} in the JSON, not in the query`);
    let b: unknown;
    try {
      b = JSON.parse(text);
    } catch (e) {
      // Where, for any body up to the limit: one linear scan, a few ms for a megabyte (jsonError.ts).
      const at = jsonErrorAt(text, (e as Error).message);
      throw new ApiError(
        400,
        'bad_request',
        `the JSON body does not parse: line ${at.line}, column ${at.column}: ${at.message}`,
      );
    }
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      throw new ApiError(
        400,
        'bad_request',
        'the JSON body must be an object: {"scenario": "NAME"} or {"yaml": "..."}',
      );
    const twice = repeatedKey(text);
    if (twice !== undefined)
      throw new ApiError(400, 'bad_request', `${shown(twice)} is given more than once in the JSON body`);
    const o = b as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!JSON_FIELDS.includes(k)) {
        const guess = guessFor(k, JSON_FIELDS);
        throw new ApiError(
          400,
          'bad_request',
          `unknown field ${shown(k)}${guess ? ` (did you mean "${guess}"?)` : ''} (expected ${JSON_FIELDS.join(', ')})`,
        );
      }
      if (q[k] !== undefined)
        throw new ApiError(400, 'bad_request', `${shown(k)} is given both in the query and the JSON`);
    }
    if (o.scenario !== undefined && typeof o.scenario !== 'string')
      throw new ApiError(400, 'bad_request', '"scenario" must be a string (a name of scenarios/)');
    if (o.yaml !== undefined && typeof o.yaml !== 'string')
      throw new ApiError(400, 'bad_request', '"yaml" must be a string');
    return {
      ...(o.scenario !== undefined ? { name: o.scenario } : {}),
      ...(o.yaml !== undefined ? { yaml: o.yaml } : {}),
      ...options({ ...q, ...o }),
    };
  }
  const name = q.scenario;
  const trimmed = text.trim();
  // A one-line body that is a scenario name (no YAML mapping in it) names a scenario of scenarios/.
  if (
    name === undefined &&
    trimmed !== '' &&
    !trimmed.includes('\n') &&
    !trimmed.includes(':') &&
    isScenarioName(trimmed)
  )
    return { name: trimmed, ...options(q) };
  if (name !== undefined && trimmed !== '')
    throw new ApiError(400, 'bad_request', 'give either ?scenario=NAME or a YAML body, not both');
  return { ...(name !== undefined ? { name } : { yaml: text }), ...options(q) };
}

/** GET /api/runs filters. */
export function listRequest(req: Request): { limit?: number; state?: RunState; scenario?: string } {
  const q = checkQuery(req, ['state', 'scenario', 'limit']);
  if (q.state !== undefined && !(RUN_STATES as readonly string[]).includes(q.state))
    throw new ApiError(400, 'bad_request', `state must be one of ${RUN_STATES.join(', ')}`);
  // A value no run's scenario can have was 200 with no runs, as if there were none yet.
  if (q.scenario !== undefined && !SCENARIO_NAME_RE.test(q.scenario))
    throw new ApiError(
      400,
      'bad_request',
      `scenario: ${shown(q.scenario)} cannot be a scenario's name, so it matches no run: runs are filtered by the \`name:\` in its YAML (1 to ${MAX_NAME_LENGTH} lower-case letters, digits, ".", "_" or "-"${q.scenario.includes('/') ? '; not the path below scenarios/ that POST takes' : ''})`,
    );
  const limit = decimal(q.limit, 'limit', true);
  if (limit !== undefined && (limit < 1 || limit > 1000))
    throw new ApiError(400, 'bad_request', `limit must be an integer 1..1000, found ${asWritten(q.limit, limit)}`);
  return {
    ...(q.state !== undefined ? { state: q.state as RunState } : {}),
    ...(q.scenario !== undefined ? { scenario: q.scenario } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}
