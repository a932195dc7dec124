/**
 * Query strings are read strictly (src/service/request.ts parseQuery, checkQuery): malformed
 * percent-encoding, a parameter without a value, object or array syntax, a parameter twice, and a
 * `scenario` filter no scenario's name can be are 400 naming the parameter (docs/SERVICE.md,
 * "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../src/service/request.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, tinyScenario as tiny } from '../support/http.js';

const { shared: service } = serviceFixture('vmexit-lab-query-strings-');

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
    // Read as "a b", which no scenario's name can be (the next test): 400 showing the space.
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

test('GET /api/runs?scenario= with a value no scenario name can be is 400 (it matched nothing, 200 with no runs)', async () => {
  const s = await service();
  const yaml = { 'Content-Type': 'application/yaml' };
  const posted = await raw(s.url, 'POST', '/api/runs', yaml, tiny('filter-me'));
  assert.equal(posted.status, 202, posted.text);
  await s.manager.wait(posted.body.id);
  const found = await raw(s.url, 'GET', '/api/runs?scenario=filter-me');
  assert.equal(found.status, 200);
  assert.deepEqual(
    found.body.runs.map((r: { id: string }) => r.id),
    [posted.body.id],
  );
  // A name no run has: 200, no runs.
  const none = await raw(s.url, 'GET', '/api/runs?scenario=no-run-has-this');
  assert.equal(none.status, 200);
  assert.deepEqual(none.body.runs, []);
  const bad: [what: string, query: string, shows: RegExp][] = [
    ['empty', '?scenario=', /has no value/],
    ['no =', '?scenario', /has no value/],
    ['a space', '?scenario=+', /" " cannot be a scenario's name/],
    ['upper case', '?scenario=Filter-Me', /"Filter-Me" cannot be a scenario's name/],
    ['a path of scenarios/', '?scenario=seed/win10-1909-cr8-exits', /the `name:` in its YAML/],
    ['a NUL', '?scenario=filter-me%00', /"filter-me\\u0000" cannot be/],
    ['129 characters', `?scenario=${'a'.repeat(129)}`, /cannot be a scenario's name/],
  ];
  for (const [what, query, shows] of bad) {
    const r = await raw(s.url, 'GET', `/api/runs${query}`);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'bad_request', what);
    assert.match(r.body.error.message, shows, what);
  }
  assert.equal((await raw(s.url, 'GET', `/api/runs?scenario=${'a'.repeat(128)}`)).status, 200);
});
