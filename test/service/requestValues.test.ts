import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import {
  api as fetchApi,
  rawRequest as raw,
  runCount,
  tinyScenario as tiny,
  yamlPost as yaml,
  type FetchAnswer as Answer,
  assertErrorCode as assertError,
} from '../support/http.js';

/**
 * The values a request carries, read strictly (docs/SERVICE.md, HTTP API): a scenario's name and its
 * length, numbers as written (no `0x10`, `1e3`, rounding of 2^53+1 or 10^23 in the message),
 * parameters unknown or given twice, bodies that are not UTF-8, types and encodings not taken. From
 * the hostile-input audit and issue #18 (strict requests); each test failed before its fix.
 * docs/SERVICE.md "Hostile input" names each test of this file by its title (hostileInputTable.test.ts).
 */

const { dataDir, services } = serviceFixture('vmexit-lab-request-values-');

let open: ServiceHandle;
before(async () => {
  open = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000 });
  services.push(open);
});

const api = (path: string, init: RequestInit = {}): Promise<Answer> => fetchApi(open.url, path, init);

test('scenario names: at most 128 characters (a 1 MB name was kept and repeated by every list and page)', async () => {
  for (const name of ['x'.repeat(129), 'x'.repeat(1_000_000)]) {
    const r = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, tiny(name));
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.body.error.code, 'invalid_scenario');
    assert.equal(r.body.error.diagnostics[0].line, 1);
    assert.equal(r.body.error.diagnostics[0].column, 7);
    assert.match(
      r.body.error.message,
      /^request\.yaml:1:7: error: invalid name \(expected a name of 1 to 128 lower-case/,
    );
    assert.ok(r.text.length < 2_000 + name.length * 1.1, 'the answer does not repeat the name more than once');
  }
  const ok = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, tiny('y'.repeat(128)));
  assert.equal(ok.status, 202, ok.text.slice(0, 300));
});

/** [what, query, JSON body or undefined (a YAML body then), the message expected]. */
const NUMBERS: [string, string, string | undefined, RegExp][] = [
  ['seed 2^53+1 in the query', '?seed=9007199254740993', undefined, /seed .*, found 9007199254740993$/],
  [
    'seed 2^53+1 in JSON',
    '',
    '{"scenario":"default","seed":9007199254740993}',
    /seed .*, found 9007199254740992 \(as JSON reads it: integers above 2\^53 are not exact\)$/,
  ],
  ['seed 1e308 in JSON', '', '{"scenario":"default","seed":1e308}', /found 1e\+308 \(as JSON reads it/],
  ['seed -1 in JSON', '', '{"scenario":"default","seed":-1}', /seed must be an integer 0\.\.4294967295, found -1$/],
  ['seed "NaN"', '?seed=NaN', undefined, /seed must be an integer written in decimal digits, found "NaN"/],
  ['seed 1e3', '?seed=1e3', undefined, /decimal digits, found "1e3"/],
  ['timeLimitSeconds 0', '?timeLimitSeconds=0', undefined, /timeLimitSeconds must be a positive number, found 0$/],
  ['timeLimitSeconds -1 in JSON', '', '{"scenario":"default","timeLimitSeconds":-1}', /positive number, found -1$/],
  [
    'timeLimitSeconds of 400 digits',
    `?timeLimitSeconds=${'9'.repeat(400)}`,
    undefined,
    /must be a number, found 9{200}\.\.\. \(400 characters\)$/,
  ],
  ['timeLimitSeconds "Infinity"', '?timeLimitSeconds=Infinity', undefined, /decimal digits .*found "Infinity"/],
];

test('numbers in requests: refused with the number as written (1e308, -1, NaN, 2^53+1, 400 digits)', async () => {
  const before = await runCount(open.url);
  for (const [what, query, json, message] of NUMBERS) {
    const r =
      json === undefined
        ? await raw(open.url, 'POST', `/api/runs${query}`, { 'Content-Type': 'application/yaml' }, tiny('numbers'))
        : await raw(open.url, 'POST', `/api/runs${query}`, { 'Content-Type': 'application/json' }, json);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request', what);
    assert.match(r.body.error.message, message, what);
  }
  const limit = await raw(open.url, 'GET', '/api/runs?limit=99999999999999999999999');
  assert.equal(limit.status, 400);
  assert.match(limit.body.error.message, /limit must be an integer 1\.\.1000, found 99999999999999999999999$/);
  assert.equal(await runCount(open.url), before, 'nothing ran');
});

test('strict requests: limit 2.5, unknown or repeated parameters, hex numbers, bad UTF-8, 415 codes', async () => {
  assertError(await api('/api/runs?limit=2.5'), 400, 'bad_request');
  const typo = await api('/api/runs?tiemLimitSeconds=1', yaml(tiny('typo')));
  assertError(typo, 400, 'bad_request');
  assert.match(
    typo.body.error.message,
    /unknown query parameter "tiemLimitSeconds" \(did you mean "timeLimitSeconds"\?\)/,
  );
  assertError(await api('/api/runs?seed=0x10', yaml(tiny('hex'))), 400, 'bad_request');
  assertError(await api('/api/runs?seed=1&seed=2', yaml(tiny('twice'))), 400, 'bad_request');
  assertError(await api('/api/runs?bogus=1'), 400, 'bad_request');
  const bad = Buffer.concat([Buffer.from('name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
  const utf = await api('/api/runs', yaml(bad));
  assertError(utf, 400, 'bad_request');
  // Where, as the CLI says it of a file (polish40): the byte and its line and column.
  assert.match(
    utf.body.error.message,
    /not valid UTF-8 \(scenarios are UTF-8 text\) at line 1, column 10 \(expected UTF-8 text .*found the byte 0xE9, which is no UTF-8 character here\)$/,
  );
  assertError(await api('/api/runs', yaml('<x/>', 'application/xml')), 415, 'unsupported_media_type');
  assertError(await api('/api/runs', yaml(tiny('latin'), 'text/yaml; charset=latin1')), 415, 'unsupported_media_type');
  // A body in an encoding express does not take (it answers 415): the code says so, not bad_request.
  const gz = await new Promise<Answer>((ok, fail) => {
    const u = new URL(`${open.url}/api/runs`);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'Content-Type': 'application/yaml', 'Content-Encoding': 'x-unheard-of' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(text), text }));
      },
    );
    req.on('error', fail);
    req.end('xx');
  });
  assertError(gz, 415, 'unsupported_media_type');
});
