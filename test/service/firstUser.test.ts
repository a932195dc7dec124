import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTES } from '../../src/service/app.js';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, runCount, tinyScenario as tiny } from '../support/http.js';

/**
 * What a first outside user of the service met (the new-user pass of 2026-12-05): each test failed
 * before the fix it names.
 */

const { shared: service, dataDir, services } = serviceFixture('vmexit-lab-first-user-');

test('Idempotency-Key compares the options a run takes: a default given or left out is one request (?pace=max and no pace were 422 key reused)', async () => {
  const s = await service();
  const post = (key: string, query: string, yaml: string) =>
    raw(s.url, 'POST', `/api/runs${query}`, { 'Content-Type': 'application/yaml', 'Idempotency-Key': key }, yaml);
  const max = tiny('idem-defaults', 7);
  // The same scenario, run at realtime pace unless a request says otherwise.
  const realtime = `${max}pace: realtime\n`;
  const before = await runCount(s.url);
  const ids: string[] = [];
  // Each row: the first request, then repeats under its key, each the same run (true) or another request (false).
  const rows: [what: string, yaml: string, first: string, repeats: [query: string, same: boolean][]][] = [
    [
      'defaults left out first',
      max,
      '',
      [
        ['?pace=max', true],
        ['?seed=7', true],
        ['?pace=max&seed=7', true],
        // The time limit defaults to the service's --max-run-time (3600 s) and is bounded by it.
        ['?timeLimitSeconds=3600', true],
        ['?timeLimitSeconds=100000', true],
        ['?pace=realtime', false],
        ['?seed=8', false],
        ['?timeLimitSeconds=60', false],
      ],
    ],
    [
      'defaults given first',
      max,
      '?pace=max&seed=7&timeLimitSeconds=3600',
      [
        ['', true],
        ['?seed=7', true],
        ['?pace=realtime', false],
      ],
    ],
    [
      'the scenario says pace: realtime',
      realtime,
      '?pace=max',
      [
        ['?pace=max', true],
        // No pace is the scenario's realtime: another run than the first's max.
        ['', false],
        ['?pace=realtime', false],
      ],
    ],
  ];
  for (const [i, [what, yaml, first, repeats]] of rows.entries()) {
    const key = `defaults-${i}`;
    const r = await post(key, first, yaml);
    assert.equal(r.status, 202, `${what}: ${r.text}`);
    ids.push(r.body.id);
    for (const [query, same] of repeats) {
      const again = await post(key, query, yaml);
      if (same) {
        assert.equal(again.status, 202, `${what}, then ${JSON.stringify(query)}: ${again.text}`);
        assert.equal(again.body.id, r.body.id, `${what}, then ${JSON.stringify(query)}`);
        assert.equal(again.headers['idempotent-replayed'], 'true');
      } else {
        assert.equal(again.status, 422, `${what}, then ${JSON.stringify(query)}: ${again.text}`);
        assert.equal(again.body.error.code, 'idempotency_key_reused');
      }
    }
  }
  assert.equal(await runCount(s.url), before + rows.length, 'one run per key');
  for (const id of ids) await s.manager.wait(id);
});

test('with a token set, an /api/ request without one is 401 whatever its Accept (a 406 came first, before the token check)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, token: 'w-token', readToken: 'r-token' });
  services.push(s);
  const api = ROUTES.filter((r) => r.includes(' /api/')).map((r) => {
    const [method, path] = r.split(' ') as [string, string];
    return { method, path: path.replace(':id', 'no-such-run'), writes: method !== 'GET' };
  });
  assert.equal(api.length, 6, 'every /api/ route');
  const html = { Accept: 'text/html' };
  for (const { method, path, writes } of api) {
    const what = `${method} ${path}`;
    const none = await raw(s.url, method, path, html);
    assert.equal(none.status, 401, `${what} without a token: ${none.text}`);
    assert.equal(none.body.error.code, 'unauthorized', what);
    // The read token on a write: 403, also before the Accept check.
    const reader = await raw(s.url, method, path, { ...html, Authorization: 'Bearer r-token' });
    assert.equal(reader.status, writes ? 403 : 406, `${what} with the read token: ${reader.text}`);
    // With the token its route needs, the Accept check answers.
    const writer = await raw(s.url, method, path, { ...html, Authorization: 'Bearer w-token' });
    assert.equal(writer.status, 406, `${what} with the write token: ${writer.text}`);
    assert.equal(writer.body.error.code, 'not_acceptable', what);
    assert.match(String(writer.headers.vary), /Accept/, what);
  }
});
