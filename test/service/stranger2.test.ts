/**
 * The second stranger pass (2026-12-06): GET /api/scenarios, which the front page offers as the
 * list of shipped scenarios to run, said `"valid": true` of seed/win10-1909-install-tpr-shadowing
 * (7,200 simulated s), and posting it got 422 `limit_exceeded` (--max-duration 3600). Each entry now
 * names the caps of this service it is over, as a POST of it would be refused. Failed before the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { serviceLimits } from '../../src/service/caps.js';
import { idempotencyKey } from '../../src/service/idempotency.js';
import { ApiError } from '../../src/service/errors.js';

test('GET /api/scenarios: an entry over the service caps says which (overCaps), as its POST would be refused', () => {
  const catalog = new ScenarioCatalog();
  const caps = { limits: serviceLimits(undefined, 2), workers: 2, perGuest: false };
  const list = catalog.list(caps);
  const install = list.find((s) => s.name === 'seed/win10-1909-install-tpr-shadowing');
  assert.ok(install !== undefined);
  assert.equal(install.valid, true);
  assert.deepEqual(install.overCaps, [
    'the scenario lasts up to 7200 simulated seconds; this service allows at most 3600 (--max-duration)',
  ]);
  const cr8 = list.find((s) => s.name === 'seed/win10-1909-cr8-exits');
  assert.ok(cr8 !== undefined);
  assert.equal(cr8.overCaps, undefined);
  // With the cap raised, nothing is over it.
  const raised = catalog.list({ ...caps, limits: serviceLimits({ maxDurationSeconds: 7200 }, 2) });
  assert.equal(raised.find((s) => s.name === 'seed/win10-1909-install-tpr-shadowing')?.overCaps, undefined);
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
