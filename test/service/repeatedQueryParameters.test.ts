import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../src/service/request.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';

/**
 * A query parameter given again and again. parseQuery kept every value of a repeated name,
 * copying the list at each repeat: a 14 KB `?a&a&a...` (7,000 repeats, under Node's 16 KB header
 * bound) made 7,000 lists of up to 7,000 values, 0.4 - 0.9 s of the main thread per request, and
 * 4 clients sending it held /healthz at p50 0.9 s (svc35). A repeated name is refused anyway, so
 * two values are kept: the work is one pass over the query, whatever it repeats.
 */

const { shared } = serviceFixture('vmexit-lab-repeated-query-');

test('parseQuery keeps the first two values of a name given many times, not every one', () => {
  const q = parseQuery('a&'.repeat(7000));
  assert.deepEqual(q.a, ['', '']);
  assert.deepEqual({ ...parseQuery('limit=1&limit=2&limit=3&state=x&limit=4') }, { limit: ['1', '2'], state: 'x' });
  // Every part is still decoded: a bad one after the repeats is found.
  assert.throws(() => parseQuery(`${'a=1&'.repeat(3000)}b=%ZZ`), /query parameter "b": its value "%ZZ"/);
});

test('a 14 KB query of one name repeated is a 400 naming the name once', async () => {
  const { url } = await shared();
  for (const path of ['/api/runs', '/api/scenarios']) {
    const r = await raw(url, 'GET', `${path}?${'limit=1&'.repeat(1800)}`);
    assert.equal(r.status, 400, r.text);
    assert.match(
      r.body.error.message,
      path === '/api/runs' ? /^query parameter "limit" is given more than once$/ : /^unknown query parameter "limit"/,
    );
    assert.ok(r.text.length < 1000, `a short answer (${r.text.length} characters)`);
  }
});
