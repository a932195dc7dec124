/**
 * The benches' order statistics (bench/stats.ts): the median of a few runs or rounds (bench/run.ts,
 * ab.ts, runCost.ts) and the figures of a latency sample (service.ts, realtime.ts, hostile.ts,
 * metricsCeiling.ts), each as the bench printed it before they shared one file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atFraction, median, medianP95Max } from '../../bench/stats.js';

test("the median of runs or rounds: the middle one, the two middle ones' mean for an even count", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
  const xs = [5, 1, 4];
  median(xs);
  assert.deepEqual(xs, [5, 1, 4], 'the caller keeps its order');
});

test("a latency sample's figures are observed values: p50 the upper middle one, p95 by nearest rank", () => {
  assert.deepEqual(medianP95Max([4, 1, 3, 2]), { median: 3, p95: 4, max: 4 });
  const twenty = Array.from({ length: 20 }, (_, k) => 20 - k); // 20 .. 1
  // Nearest rank: the 19th of 20 (95 % of the sample at or below it), not the max.
  assert.deepEqual(medianP95Max(twenty), { median: 11, p95: 19, max: 20 });
  const none = medianP95Max([]);
  assert.ok(Number.isNaN(none.median) && Number.isNaN(none.p95) && Number.isNaN(none.max));
});

test('atFraction(sorted, q) is sorted[floor(q n)], the last one at most (hostile.ts p50 and p99, metricsCeiling.ts p50)', () => {
  const hundred = Array.from({ length: 100 }, (_, k) => k + 1);
  assert.equal(atFraction(hundred, 0.5), 51);
  assert.equal(atFraction(hundred, 0.99), 100);
  assert.equal(atFraction([1, 2, 3], 0.5), 2);
  assert.equal(atFraction([1, 2, 3], 1), 3);
});
