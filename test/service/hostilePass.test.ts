import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SHOWN, shown } from '../../src/service/errors.js';
import { parseQuery } from '../../src/service/request.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { ScenarioValidator, EARLY_DEPTH_LEXEMES, tooDeepEarly } from '../../src/service/scenarioValidator.js';
import validateInWorker from '../../src/service/validateWorker.js';
import { MAX_YAML_DEPTH, tooDeepWithin } from '../../src/input/depth.js';
import { rawRequest as raw, runCount, sendRaw, tinyScenario as tiny } from '../support/http.js';

/**
 * The hostile pass of 2026-12-05 (docs/SERVICE.md, "Hostile input: what is checked", the rows that
 * name this file): each test failed before the fix it names.
 */

/** Documents nested past the bound from their start (hostileInput.test.ts has where each is refused). */
const DEEP: [what: string, body: string][] = [
  ['flow sequences', `name: x\nguests: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
  ['flow mappings', `name: x\nhost: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`],
  ['compact block sequences', `name: x\nguests:\n${'- '.repeat(20_000)}x\n`],
  ['indentation, a level per line', Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
  ['quoted closing brackets', `name: x\nguests: ${'[ "]" '.repeat(20_000)}\n`],
  ['keys on one line', `name: x\nhost: ${'a: '.repeat(20_000)}x\n`],
  ['stray dashes under empty keys', `name: x\n${': - -\na:\n'.repeat(5_000)}`],
];

/** Lines enough that what follows them is past the main thread's lexemes. */
const PREFIX = `${Array.from({ length: EARLY_DEPTH_LEXEMES }, (_, i) => `p${i}: 1`).join('\n')}\n`;

test('deep documents are refused on the main thread, not on a validation slot: with every slot taken they were 503 busy', async () => {
  const v = new ScenarioValidator({ threads: 1, maxPending: 0, timeoutMs: 300_000 });
  try {
    // The one slot is taken as soon as validate() is called (it counts before its first await).
    const held = v.validate(tiny('held'), 'held.yaml');
    assert.equal(v.inFlight, 1);
    for (const [what, body] of DEEP) {
      await assert.rejects(v.validate(body, 'request.yaml'), (e: any) => {
        assert.equal(e.status, 422, `${what}: ${e.message}`);
        assert.equal(e.code, 'too_complex', what);
        assert.match(e.message, /^request\.yaml:\d+:\d+: error: YAML nested too deeply/, what);
        return true;
      });
    }
    assert.equal(v.inFlight, 1, 'no deep document took a slot');
    // Past the main thread's lexemes the thread refuses it: with the slot taken, busy.
    await assert.rejects(v.validate(`${PREFIX}${DEEP[0][1]}`, 'request.yaml'), (e: any) => e.code === 'busy');
    await held;
  } finally {
    await v.close();
  }
});

test('the main thread refuses a deep document in the validation thread’s words and place; past its lexemes the thread does', async () => {
  const v = new ScenarioValidator({ threads: 1, timeoutMs: 300_000 });
  try {
    for (const [what, body] of DEEP) {
      const thread = validateInWorker({ yaml: body, file: 'request.yaml' });
      assert.ok(!thread.ok, what);
      const early = tooDeepEarly(body, 'request.yaml');
      assert.ok(early !== undefined, `${what}: found within ${EARLY_DEPTH_LEXEMES} lexemes`);
      assert.equal(early.message, thread.message, what);
      assert.deepEqual(
        early.body().error.diagnostics,
        thread.diagnostics.map((d) => ({ ...d, text: early.message })),
        what,
      );
      // The same document after the prefix: not found early, refused by the thread, further down.
      const late = `${PREFIX}${body}`;
      assert.equal(tooDeepEarly(late, 'request.yaml'), undefined, `${what}: past the early lexemes`);
      await assert.rejects(v.validate(late, 'request.yaml'), (e: any) => {
        assert.equal(e.code, 'too_complex', `${what}: ${e.message}`);
        assert.match(e.message, new RegExp(`levels deep opens here .*at most ${MAX_YAML_DEPTH} levels deep`), what);
        return true;
      });
    }
    // What the shipped scenarios hold is never refused, and the bound is in lexemes, not bytes.
    assert.equal(
      tooDeepWithin('a: [[[]]]\n', EARLY_DEPTH_LEXEMES, () => undefined),
      undefined,
    );
    assert.equal(
      tooDeepWithin('['.repeat(MAX_YAML_DEPTH), EARLY_DEPTH_LEXEMES, () => undefined),
      undefined,
    );
    assert.equal(
      tooDeepWithin('['.repeat(MAX_YAML_DEPTH + 1), EARLY_DEPTH_LEXEMES, () => undefined),
      MAX_YAML_DEPTH,
    );
  } finally {
    await v.close();
  }
});

const { shared: service } = serviceFixture('vmexit-lab-hostile-pass-');

test('query strings: malformed percent-encoding, a parameter without a value, object syntax are 400 naming the parameter (were read lossily or ignored)', async () => {
  const s = await service();
  const yaml = { 'Content-Type': 'application/yaml' };
  const cases: [what: string, method: string, path: string, status: number, message?: RegExp][] = [
    // Before: 200 with the value read as "\uFFFD/" and "%ZZ" (a filter matching nothing), 400 found "\uFFFD".
    [
      'no UTF-8',
      'GET',
      '/api/runs?scenario=%C0%AF',
      400,
      /^query parameter "scenario": its value "%C0%AF" is not valid percent-encoding/,
    ],
    [
      'not hex',
      'GET',
      '/api/runs?state=%ZZ',
      400,
      /^query parameter "state": its value "%ZZ" is not valid percent-encoding/,
    ],
    ['cut short', 'GET', '/api/runs?scenario=default%E2%80', 400, /its value "default%E2%80" is not valid/],
    [
      'in the name',
      'GET',
      '/api/runs?li%ZZmit=1',
      400,
      /^the query parameter name "li%ZZmit" is not valid percent-encoding/,
    ],
    ['in a POST', 'POST', '/api/runs?pace=%FF', 400, /^query parameter "pace": its value "%FF"/],
    ['a route without parameters', 'GET', '/api/scenarios?x=%ZZ', 400, /name|value/],
    // Before: 200, as if not given.
    ['an empty value', 'GET', '/api/runs?limit=', 400, /^query parameter "limit" has no value: give limit=VALUE/],
    ['no =', 'GET', '/api/runs?scenario', 400, /^query parameter "scenario" has no value/],
    ['an empty seed', 'POST', '/api/runs?seed=', 400, /"seed" has no value/],
    ['object syntax', 'GET', '/api/runs?limit[b]=1', 400, /unknown query parameter "limit\[b\]" .*plain names only/],
    ['array syntax', 'GET', '/api/runs?state[]=running', 400, /plain names only/],
    ['given twice', 'GET', '/api/runs?limit=1&limit=2', 400, /"limit" is given more than once/],
    // What is well formed is read as written.
    ['percent-encoded digits', 'GET', '/api/runs?limit=%31%30', 200],
    // Read as "a b", which no scenario's name can be (leftovers.test.ts): 400 showing the space.
    ['a space as +', 'GET', '/api/runs?scenario=a+b', 400, /^scenario: "a b" cannot be a scenario's name/],
    ['empty parts', 'GET', '/api/runs?&limit=2&&', 200],
    ['routes without parameters ignore them', 'GET', '/healthz?x=%ZZ', 200],
    ['/metrics too', 'GET', '/metrics?x=%ZZ&x', 200],
  ];
  for (const [what, method, path, status, message] of cases) {
    const r = await raw(s.url, method, path, method === 'POST' ? yaml : {}, method === 'POST' ? tiny('q') : undefined);
    assert.equal(r.status, status, `${what}: ${path}: ${r.text.slice(0, 300)}`);
    if (message) {
      assert.equal(r.body.error.code, 'bad_request', what);
      assert.match(r.body.error.message, message, what);
    }
  }
  assert.equal((await raw(s.url, 'GET', '/api/runs?limit=%31%30')).body.runs.length <= 10, true);
  // The parser itself: names and values decoded, lists kept for checkQuery, no prototype.
  assert.deepEqual({ ...parseQuery('a=1&b=x+y&a=2&c&%70ace=max') }, { a: ['1', '2'], b: 'x y', c: '', pace: 'max' });
  assert.equal(Object.getPrototypeOf(parseQuery('__proto__=1')), null);
  assert.deepEqual({ ...parseQuery(null) }, {});
});

test('client text in answers: invisible characters escaped, long text cut (a right-to-left override was repeated as sent, a 1 MB name whole)', async () => {
  const s = await service();
  const json = { 'Content-Type': 'application/json' };
  const cases: [what: string, method: string, path: string, body: string | undefined, status: number, shows: RegExp][] =
    [
      ['a run id', 'GET', '/api/runs/%E2%80%AEabc%07', undefined, 404, /^no run "\\u202eabc\\u0007"$/],
      ['a run’s results', 'GET', '/api/runs/%E2%80%AE/results', undefined, 404, /^no run "\\u202e"$/],
      ['a cancel', 'DELETE', '/api/runs/%E2%80%8Fx', undefined, 404, /^no run "\\u200fx"$/],
      ['a line separator', 'GET', '/api/runs/a%E2%80%A8b', undefined, 404, /^no run "a\\u2028b"$/],
      ['a C1 control', 'GET', '/api/runs/a%C2%85b', undefined, 404, /^no run "a\\u0085b"$/],
      ['a path of 405', 'PUT', '/api/runs/%E2%80%AE', undefined, 405, /^"\/api\/runs\/%E2%80%AE" does not take PUT/],
      [
        'a query parameter',
        'GET',
        '/api/runs?li%E2%80%AEmit=1',
        undefined,
        400,
        /^unknown query parameter "li\\u202emit"/,
      ],
      ['a JSON field', 'POST', '/api/runs', '{"pa\\u202ece":1}', 400, /^unknown field "pa\\u202ece"/],
      [
        'a scenario name',
        'POST',
        '/api/runs',
        '{"scenario":"de\\u202efault"}',
        400,
        /^"de\\u202efault" is not a scenario name/,
      ],
      ['a pace', 'POST', '/api/runs', '{"scenario":"default","pace":"m\\u2066ax"}', 400, /found "m\\u2066ax"$/],
    ];
  for (const [what, method, path, body, status, shows] of cases) {
    const r = await raw(s.url, method, path, body === undefined ? {} : json, body);
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.match(r.body.error.message, shows, what);
    assert.doesNotMatch(
      r.text,
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      /[\u0000-\u0008\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u,
      what,
    );
  }
  // Long text: its start and its length, once (and no did-you-mean over a megabyte: 3.4 s of the main thread).
  const long = 'k'.repeat(1_000_000);
  const longCases: [
    what: string,
    method: string,
    path: string,
    body: string | undefined,
    status: number,
    code: string,
  ][] = [
    ['a 1 MB scenario name', 'POST', '/api/runs', JSON.stringify({ scenario: long }), 400, 'unknown_scenario'],
    [
      'a 256-character one',
      'POST',
      '/api/runs',
      JSON.stringify({ scenario: long.slice(0, 256) }),
      400,
      'unknown_scenario',
    ],
    ['a 1 MB JSON field', 'POST', '/api/runs', JSON.stringify({ [long]: 1 }), 400, 'bad_request'],
    [
      'a 1 MB seed of digits',
      'POST',
      '/api/runs',
      JSON.stringify({ scenario: 'default', seed: '9'.repeat(1_000_000) }),
      400,
      'bad_request',
    ],
    ['a 10,000-character run id', 'GET', `/api/runs/${long.slice(0, 10_000)}`, undefined, 404, 'not_found'],
    ['a 10,000-character parameter', 'GET', `/api/runs?${long.slice(0, 10_000)}=1`, undefined, 400, 'bad_request'],
  ];
  for (const [what, method, path, body, status, code] of longCases) {
    const r = await raw(s.url, method, path, body === undefined ? {} : json, body);
    assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
    assert.equal(r.body.error.code, code, what);
    assert.ok(r.text.length < 1_000, `${what}: ${r.text.length} bytes`);
    assert.match(
      r.body.error.message,
      new RegExp(`"?${'[k9]'.repeat(MAX_SHOWN)}"?\\.\\.\\. \\(\\d+ characters\\)`),
      what,
    );
  }
  // A name of 255 characters is still looked up.
  const r = await raw(s.url, 'POST', '/api/runs', json, JSON.stringify({ scenario: long.slice(0, 255) }));
  assert.equal(r.status, 404, r.text.slice(0, 200));
  // The helper: quoted as JSON, not cut inside a surrogate pair.
  assert.equal(shown('a"b\u202e'), '"a\\"b\\u202e"');
  assert.equal(
    shown(`${'x'.repeat(MAX_SHOWN - 1)}😀${'y'.repeat(10)}`),
    `"${'x'.repeat(MAX_SHOWN - 1)}"... (${MAX_SHOWN + 11} characters)`,
  );
});

test('headers: Host, Content-Type or Authorization twice is 400 (Node kept the first: two Content-Types started a run), a Transfer-Encoding other than chunked 501, OPTIONS * 204', async () => {
  const s = await service();
  const host = `Host: 127.0.0.1\r\nConnection: close\r\n`;
  const body = '{"scenario":"no-such-scenario"}';
  const post = (headers: string, b = body): string =>
    `POST /api/runs HTTP/1.1\r\n${headers}Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
  const cases: [what: string, request: string, status: number, shows?: RegExp][] = [
    [
      'two Content-Types',
      post(`${host}Content-Type: application/json\r\nContent-Type: application/yaml\r\n`),
      400,
      /^the request gives Content-Type 2 times \("application\/json", "application\/yaml"\); send it once$/,
    ],
    ['two Hosts', `GET /api/runs HTTP/1.1\r\n${host}Host: evil.example\r\n\r\n`, 400, /gives Host 2 times/],
    [
      'two Hosts, the other first',
      `GET /healthz HTTP/1.1\r\nHost: evil.example\r\n${host}\r\n`,
      400,
      /gives Host 2 times/,
    ],
    [
      'two Authorizations',
      `GET /api/runs HTTP/1.1\r\n${host}Authorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n`,
      400,
      /gives Authorization 2 times/,
    ],
    [
      'gzip, chunked',
      `POST /api/runs HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      501,
      /^Transfer-Encoding "gzip, chunked" is not taken: only chunked/,
    ],
    // Chunked alone is read: the body names a scenario there is none of.
    [
      'chunked',
      `POST /api/runs HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      404,
      /no scenario "no-such-scenario"/,
    ],
    ['one of each', post(`${host}Content-Type: application/json\r\n`), 404, /no scenario/],
    ['OPTIONS *', `OPTIONS * HTTP/1.1\r\n${host}\r\n`, 204],
  ];
  const before = await runCount(s.url);
  for (const [what, request, status, shows] of cases) {
    const r = await sendRaw(s.url, request);
    assert.equal(r.status, status, `${what}: ${r.head}\n${r.body.slice(0, 300)}`);
    if (shows) assert.match(JSON.parse(r.body).error.message, shows, what);
    if (what === 'OPTIONS *') assert.match(r.head, /\r\nAllow: GET, HEAD, POST, DELETE, OPTIONS\r\n/i, what);
  }
  assert.equal(await runCount(s.url), before, 'no run started');
});
