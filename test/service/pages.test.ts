/**
 * The service's pages as a first-time visitor meets them (src/report/servicePages.ts): the runs
 * index says what a run is and how to start one, and an until-complete run that ended before its
 * cap reads as done. test/report/servicePages.test.ts has the rest of the pages' words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressText, renderRunsIndex } from '../../src/report/servicePages.js';

test('an until-complete run that ended before its cap reads as done, not "100 %, 196 of 600 simulated s"', () => {
  const done = { fraction: 1, simSeconds: 196, limitSeconds: 600, tasksDone: 2, tasksTotal: 2 };
  assert.equal(progressText(done), '100 %, done at 196 simulated s (at most 600)');
  // A fixed duration, run to its end, as before.
  assert.equal(progressText({ ...done, simSeconds: 600 }), '100 %, 600 of 600 simulated s');
  // Still running: the cap is what it runs towards.
  assert.equal(
    progressText({ ...done, fraction: 0.18, tasksDone: 0 }),
    '18 %: 0 of 2 tasks done, the least advanced at 196 of 600 simulated s',
  );
});

test('the index says what a run is and how to start one, with links to the API and /metrics (it had a table of ids only)', () => {
  const page = renderRunsIndex([
    {
      id: 'r1',
      scenario: 'default-mixed-fleet',
      state: 'running',
      progress: { fraction: 0.5 },
      startedAt: '2026-12-06T10:00:00Z',
    },
  ]);
  assert.match(page, /<p class="note" id="runs-intro">/);
  assert.match(page, /POST \/api\/runs/);
  assert.match(page, /<a href="metrics">\/metrics<\/a>/);
  assert.match(page, /<a href="api\/scenarios">/);
  // A page without the service behind it (no live updates) has no API to point at.
  assert.doesNotMatch(renderRunsIndex([], { pollUrl: null }), /id="runs-intro"/);
});
