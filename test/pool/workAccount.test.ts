import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountWorkers } from '../../src/pool/workAccount.js';

// Two workers over a run from t = 1000 to t = 1100 ms: worker 1 runs three tasks with gaps of 2 and
// 3 ms and ends at 1090; worker 2 runs two tasks back to back and ends at 1099.
const work = [
  { threadId: 2, startMs: 1001, endMs: 1050, osThreadId: 22 },
  { threadId: 1, startMs: 1032, endMs: 1060 }, // given out of order: the account sorts by start
  { threadId: 1, startMs: 1000.5, endMs: 1030 },
  { threadId: 2, startMs: 1050, endMs: 1099 },
  { threadId: 1, startMs: 1063, endMs: 1090 },
];

test('accountWorkers: per worker, its time in tasks and its idle time before, between and after them', () => {
  const [w1, w2] = accountWorkers(work, 1000, 1100);
  assert.deepEqual(w1, { threadId: 1, tasks: 3, inTasksMs: 29.5 + 28 + 27, beforeMs: 0.5, gapsMs: 2 + 3, tailMs: 10 });
  assert.deepEqual(w2, { threadId: 2, osThreadId: 22, tasks: 2, inTasksMs: 98, beforeMs: 1, gapsMs: 0, tailMs: 1 });
  // Every worker's wall time is accounted: in tasks + idle = the run.
  for (const w of [w1, w2]) assert.equal(w.inTasksMs + w.beforeMs + w.gapsMs + w.tailMs, 100);
});

test('accountWorkers: no tasks, no workers; a task that overlaps the next (clock skew) gives no negative gap', () => {
  assert.deepEqual(accountWorkers([], 0, 10), []);
  const [w] = accountWorkers(
    [
      { threadId: 1, startMs: 0, endMs: 5 },
      { threadId: 1, startMs: 4.9, endMs: 10 },
    ],
    0,
    10,
  );
  assert.equal(w.gapsMs, 0);
});
