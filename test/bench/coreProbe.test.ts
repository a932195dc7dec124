/**
 * bench/coreProbe.ts: what two threads give over one on the machine's cores, the bound the service
 * bench sets the pool's 1-vs-2-worker speed-up against.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreProbe, pairBound, pairSkew, type CoreSample } from '../../bench/coreProbe.js';

test('the bound adds the two threads’ rates (the pool hands a faster core more tasks) and the skew is the slower’s shortfall', () => {
  const rows: [sample: CoreSample, bound: number, skew: number][] = [
    [{ single: 400, pair: [400, 400] }, 2, 0],
    // The project's machine, one run: the second core 29 % slower than the first (ceiling 284 M against 402 M).
    [{ single: 402, pair: [402, 284] }, 686 / 402, 1 - 284 / 402],
    [{ single: 400, pair: [300, 400] }, 1.75, 0.25],
    // One thread alone on the slow core: two threads give more than twice its rate.
    [{ single: 284, pair: [402, 284] }, 686 / 284, 1 - 284 / 402],
  ];
  for (const [sample, bound, skew] of rows) {
    assert.ok(Math.abs(pairBound(sample) - bound) < 1e-12, `bound of ${JSON.stringify(sample)}`);
    assert.ok(Math.abs(pairSkew(sample) - skew) < 1e-12, `skew of ${JSON.stringify(sample)}`);
  }
});

test('a probe samples real threads: finite positive rates, one alone and two at once', async () => {
  const probe = await CoreProbe.start();
  try {
    const s = await probe.sample(2_000_000);
    for (const r of [s.single, ...s.pair]) assert.ok(Number.isFinite(r) && r > 0, `rate ${r}`);
    assert.ok(pairBound(s) > 0 && pairSkew(s) >= 0 && pairSkew(s) < 1);
  } finally {
    await probe.close();
  }
});
