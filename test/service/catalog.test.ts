/**
 * src/service/scenarios.ts: a scenario asked for by a name that is not in scenarios/ gets the name
 * it may have meant, as the CLI's unknown names do (`DEFAULT`, a name with `.yaml` got none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../src/service/errors.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';

test('an unknown scenario name: 404 with a did-you-mean (case, a .yaml ending, a typo); none for a name far from all', () => {
  const catalog = new ScenarioCatalog();
  const rows: [asked: string, meant: string | undefined][] = [
    ['DEFAULT', 'default'],
    ['seed/win10-1909-cr8-exits.yaml', 'seed/win10-1909-cr8-exits'],
    ['seed/win10-1909-cr8-exit', 'seed/win10-1909-cr8-exits'],
    ['defualt', 'default'],
    ['zzzzzzzzzzzzzzzzzzzzzzzzzzzz', undefined],
  ];
  for (const [asked, meant] of rows)
    assert.throws(
      () => catalog.load(asked),
      (e: unknown) =>
        e instanceof ApiError &&
        e.status === 404 &&
        e.code === 'unknown_scenario' &&
        e.message ===
          `no scenario "${asked}" in scenarios/${meant === undefined ? '' : ` (did you mean "${meant}"?)`} (GET /api/scenarios lists them)`,
      asked,
    );
});
