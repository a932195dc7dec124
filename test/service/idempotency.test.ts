/**
 * `Idempotency-Key` (src/service/idempotency.ts): a retried POST is the same request when the run
 * it asks for is the same, whatever the spelling of its parameters and whether a default is given
 * or left out; an empty key says it is empty (docs/SERVICE.md, "Hostile input: what is checked").
 * test/service/httpSemantics.test.ts has the key's scope, window and pending state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idempotencyKey } from '../../src/service/idempotency.js';
import { ApiError } from '../../src/service/errors.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw, runCount, tinyScenario as tiny } from '../support/http.js';

const { shared: service } = serviceFixture('vmexit-lab-idempotency-');

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

test('Idempotency-Key: the same parameters spelt otherwise are the same request (%6Dax and another order were 422 key reused)', async () => {
  const s = await service();
  const post = (key: string, query: string, body: string, type = 'application/yaml') =>
    raw(s.url, 'POST', `/api/runs${query}`, { 'Content-Type': type, 'Idempotency-Key': key }, body);
  const yaml = tiny('idem-normal');
  const before = await runCount(s.url);
  const first = await post('n-1', '?pace=max&seed=7', yaml);
  assert.equal(first.status, 202, first.text);
  for (const [what, query, body, type] of [
    ['percent-encoded', '?pace=%6Dax&seed=7', yaml, 'application/yaml'],
    ['another order', '?seed=7&pace=max', yaml, 'application/yaml'],
    ['encoded names, empty parts', '?&%73eed=7&&pace=max', yaml, 'application/yaml'],
    ['the same YAML as another YAML type', '?seed=7&pace=max', yaml, 'text/plain; charset=utf-8'],
    ['the same as JSON', '', JSON.stringify({ yaml, seed: 7, pace: 'max' }), 'application/json'],
  ]) {
    const again = await post('n-1', query, body, type);
    assert.equal(again.status, 202, `${what}: ${again.text}`);
    assert.equal(again.body.id, first.body.id, what);
    assert.equal(again.headers['idempotent-replayed'], 'true', what);
  }
  // Another value, another body, another option: another request.
  for (const [what, query, body] of [
    ['another seed', '?pace=max&seed=8', yaml],
    ['a time limit more', '?pace=max&seed=7&timeLimitSeconds=5', yaml],
    ['another body', '?pace=max&seed=7', tiny('idem-normal', 2)],
  ]) {
    const other = await post('n-1', query, body);
    assert.equal(other.status, 422, `${what}: ${other.text}`);
    assert.equal(other.body.error.code, 'idempotency_key_reused', what);
  }
  assert.equal(await runCount(s.url), before + 1, 'one run');
  await s.manager.wait(first.body.id);
});

test('an empty Idempotency-Key (docs/SERVICE.md\'s "$(uuidgen)" where uuidgen is not installed) says it is empty', () => {
  // Was: Idempotency-Key must be one key of 1 to 255 visible ASCII characters ...; got "\"\"".
  for (const header of ['""', ''])
    assert.throws(
      () => idempotencyKey(header),
      (e: unknown) =>
        e instanceof ApiError &&
        e.status === 400 &&
        e.message.startsWith(
          'Idempotency-Key is empty (expected one key of 1 to 255 visible ASCII characters, a UUID say',
        ) &&
        e.message.includes('did the command that makes it, such as $(uuidgen), print nothing?'),
      header,
    );
  assert.equal(idempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
});
