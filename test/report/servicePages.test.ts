/**
 * The words of the service's pages (src/report/servicePages.ts, docs/SERVICE.md "Pages"): a run's
 * badge says why it stopped or where it waits in the queue, its progress does not read as further
 * on than it is, a variant with no guest time yet has no exit rate, an until-complete run that ended
 * before its cap reads as done, and the runs index says what a run is and how to start one.
 * test/report/browser.test.ts has the same pages in a browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRunPage, renderRunsIndex, runBadge, progressText } from '../../src/report/servicePages.js';

test('a stopped run says why on its badge, in the list as on its page: a wall-clock limit is not a user cancel', () => {
  assert.equal(runBadge('cancelled', { exitStatus: 3 }, 'time_limit').text, 'cancelled: wall-clock limit');
  assert.equal(runBadge('cancelled', { exitStatus: 3 }, 'shutdown').text, 'cancelled: service shut down');
  assert.equal(runBadge('cancelled', { exitStatus: 3 }, 'cancelled').text, 'cancelled');
  assert.equal(runBadge('failed', null, 'failed').text, 'failed');
  const index = renderRunsIndex([
    {
      id: 'r1',
      scenario: 's',
      state: 'cancelled',
      stopReason: 'time_limit',
      progress: { fraction: 0 },
      startedAt: null,
      summary: { exitStatus: 3 },
    },
  ]);
  assert.match(index, /data-state="cancelled" data-exit-status="3">cancelled: wall-clock limit<\/span>/);
  const page = renderRunPage({
    id: 'r1',
    scenario: 's',
    state: 'cancelled',
    stopReason: 'time_limit',
    progress: { fraction: 0 },
    summary: { exitStatus: 3 },
  });
  assert.match(page, />cancelled: wall-clock limit<\/span>/);
  assert.doesNotMatch(page, /\(time_limit\)/, 'the reason once, in words');
});

test('a run of many tasks: its progress does not read as 73 % done and 0 simulated seconds in', () => {
  // A max-pace run of 16 tasks, 12 done, 4 not started yet (src/pool/runProgress.ts runProgress()).
  const p = {
    fraction: 0.73,
    simSeconds: 0,
    limitSeconds: 30,
    hostsDone: 73,
    hostsTotal: 100,
    tasksDone: 12,
    tasksTotal: 16,
  };
  assert.equal(progressText(p), '73 %: 12 of 16 tasks done, the least advanced at 0 of 30 simulated s');
  // One task, or all done: as before.
  assert.equal(progressText({ ...p, tasksDone: 0, tasksTotal: 1 }), '73 %, 0 of 30 simulated s');
  assert.equal(
    progressText({ fraction: 1, simSeconds: 30, limitSeconds: 30, tasksDone: 16, tasksTotal: 16 }),
    '100 %, 30 of 30 simulated s',
  );
  assert.equal(progressText({ fraction: 0.5 }), '50 %');
});

test('the "So far" table: a variant whose tasks have not started has no exit rate yet ("-", not 0)', () => {
  const page = renderRunPage({
    id: 'r1',
    scenario: 's',
    state: 'running',
    progress: { fraction: 0.28 },
    live: [
      { name: 'a', simSeconds: 30, exitsTotal: 139_525_066, exitsPerGuestSecond: 40_940.2, topExits: [] },
      { name: 'b', simSeconds: 0, exitsTotal: 0, exitsPerGuestSecond: 0, topExits: [] },
    ],
  });
  const rows = [...page.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>/g)].map(
    (m) => m.slice(1),
  );
  assert.deepEqual(rows, [
    ['a', '30', '139,525,066', '40,940'],
    ['b', '0', '0', '-'],
  ]);
});

test("the run page's guest count says it is all variants' (2 guests of a 1-guest scenario with 2 variants read as 2 per variant)", () => {
  const page = renderRunPage({ id: 'r1', scenario: 's', state: 'running', guests: 2, variants: ['0', '200000'] });
  assert.match(page, /<th scope="row">guests \(all variants\)<\/th><td>2<\/td>/);
});

test('a queued run says its place in the queue, in the list as on its page', () => {
  const queue = { lane: 'max', position: 2 };
  assert.equal(runBadge('queued', null, undefined, queue).text, 'queued: 2 in the max lane');
  assert.equal(
    runBadge('queued', null, undefined, { lane: 'realtime', position: 1 }).text,
    'queued: next in the realtime lane',
  );
  assert.equal(runBadge('running', null, undefined, undefined).text, 'running');
  const index = renderRunsIndex([{ id: 'q', scenario: 's', state: 'queued', progress: null, startedAt: null, queue }]);
  assert.match(index, /data-state="queued">queued: 2 in the max lane<\/span>/);
  const page = renderRunPage({ id: 'q', scenario: 's', state: 'queued', progress: null, queue });
  assert.match(page, /data-state="queued">queued: 2 in the max lane<\/span>/);
});

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
