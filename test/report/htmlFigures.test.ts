/**
 * The service pages' badge of a run whose results fail (issue #17, item 6).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRunPage, renderRunsIndex, runBadge } from '../../src/report/servicePages.js';
import { syntheticResults } from './fixtures.js';

test('service pages: a completed run whose results fail is red and says why, never a green "completed"', () => {
  assert.deepEqual(runBadge('completed', { exitStatus: 0 }), {
    text: 'completed',
    cls: 'badge state state-completed',
    exitStatus: 0,
  });
  assert.deepEqual(runBadge('completed', { exitStatus: 1 }), {
    text: 'completed: threshold failed',
    cls: 'badge state state-completed fail',
    exitStatus: 1,
  });
  assert.equal(runBadge('completed', { exitStatus: 3 }).text, 'completed: invariant violation');
  assert.equal(runBadge('completed', undefined).cls, 'badge state state-completed');
  const runs = [
    { id: 'ok', scenario: 's', state: 'completed', summary: { exitStatus: 0 } },
    { id: 'bad', scenario: 's', state: 'completed', summary: { exitStatus: 1 } },
    { id: 'panic', scenario: 's', state: 'completed', summary: { exitStatus: 3 } },
  ];
  const index = renderRunsIndex(runs);
  assert.match(
    index,
    /<tr data-run-id="ok"><td>.*<span class="badge state state-completed" data-state="completed" data-exit-status="0">completed<\/span>/,
  );
  assert.match(
    index,
    /<tr data-run-id="bad" class="fail"><td>.*<span class="badge state state-completed fail" data-state="completed" data-exit-status="1">completed: threshold failed<\/span>/,
  );
  assert.match(index, /<tr data-run-id="panic" class="fail">.*completed: invariant violation/);
  const page = renderRunPage(runs[1], syntheticResults());
  assert.match(
    page,
    /<span id="run-state" class="badge state state-completed fail" data-state="completed" data-exit-status="1">completed: threshold failed<\/span>/,
  );
  // The CSS makes such a badge red: .badge.state.fail outranks .badge.state-completed.
  assert.match(page, /\.badge\.state\.fail\{background:var\(--fail\)\}/);
});
