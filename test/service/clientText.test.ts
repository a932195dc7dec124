/**
 * Client text repeated in an answer (a run id, a path, a parameter, a field, a name) goes through
 * one helper (src/service/errors.ts shown): invisible characters escaped in JSON's one style, the
 * CLI's too (showInvisible, quoted), and long text cut to its start and length (docs/SERVICE.md,
 * "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SHOWN, shown } from '../../src/service/errors.js';
import { quoted, showInvisible } from '../../src/input/diagnostics.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';

const { shared: service } = serviceFixture('vmexit-lab-client-text-');

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

test('one escape style, JSON’s, in the service and the CLI: a quoted text parses back to what was sent (bidi overrides were \\u{202E}, controls \\u0007)', async () => {
  const samples = [
    'a\u202eb',
    'bell\u0007 esc\u001b nul\u0000',
    'c1\u0085 del\u007f',
    'line\u2028para\u2029',
    'zw\u200b\u200f\u2066\ufeff',
    'tag\u{e0001}\u{e0041}',
    'tab\tnewline\n"quote" back\\slash \\u{202E} emoji 😀',
  ];
  for (const s of samples) {
    for (const [name, q] of [
      ['shown', shown(s)],
      ['quoted', quoted(s)],
    ]) {
      assert.equal(JSON.parse(q), s, `${name}(${JSON.stringify(s)}) = ${q}`);
      assert.doesNotMatch(
        q,
        // eslint-disable-next-line no-control-regex -- matching control characters is the point
        /[\p{Cf}\u0000-\u001f\u007f-\u009f\u2028\u2029]/u,
        `${name}: ${q}`,
      );
    }
  }
  assert.equal(shown('a"b\u202e\u0007'), '"a\\"b\\u202e\\u0007"');
  // The CLI's diagnostics: the same form, tab and newline as they are (a diagnostic is a line of its own).
  assert.equal(showInvisible('a\u202Eb\u0000c\u001bd\u2028'), 'a\\u202eb\\u0000c\\u001bd\\u2028');
  assert.equal(showInvisible('x\u{e0001}'), 'x\\udb40\\udc01');
  // The service's answers.
  const s = await service();
  const r = await raw(s.url, 'GET', '/api/runs/%E2%80%AEabc%07%E2%80%A8');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.message, 'no run "\\u202eabc\\u0007\\u2028"');
  assert.equal(JSON.parse(/^no run (.*)$/.exec(r.body.error.message)![1]), '\u202eabc\u0007\u2028');
});
