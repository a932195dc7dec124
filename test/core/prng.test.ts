/** detLog vs Math.log and RandomStreams reproducibility (src/core/engine/prng.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStreams, detLog, deriveSeed } from '../../src/core/engine/prng.js';
import { SEED } from '../support/randomCases.js';

test('[prng.ts detLog: ln from IEEE basic arithmetic] within 1e-15 relative of Math.log on (0, 1]', () => {
  const check = (x: number): void => {
    const want = Math.log(x);
    const got = detLog(x);
    if (want === 0) assert.equal(got, 0, `x=${x}`);
    else assert.ok(Math.abs(got - want) <= 1e-15 * Math.abs(want), `x=${x}: ${got} vs ${want}`);
  };
  for (const x of [
    1,
    0.5,
    0.25,
    0.75,
    1 - 2 ** -53,
    1 - 2 ** -30,
    2 ** -1022,
    Number.MIN_VALUE,
    1e-300,
    0.1,
    0.9999,
    0.5000000001,
    0.4999999999,
  ])
    check(x);
  fc.assert(
    fc.property(fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }), (x) => {
      check(x);
    }),
    { seed: SEED, numRuns: 5000 },
  );
  // uniform() values: the only inputs the engine passes.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => {
      check((u + 0.5) / 4294967296);
    }),
    { seed: SEED, numRuns: 5000 },
  );
});

/** detLog as it was before its series stopped early: every one of the 21 terms added (the reference). */
function fullSeriesLog(x: number): number {
  let k = 0;
  while (x < 0.5) {
    x *= 2;
    k--;
  }
  const z = (x - 1) / (x + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  for (let n = 1; n <= 41; n += 2) {
    sum += term / n;
    term *= z2;
  }
  return 2 * sum + k * 0.6931471805599453;
}

test('[prng.ts detLog: the series stops at the first term that leaves the sum unchanged] bit for bit the 21-term sum', () => {
  const same = (x: number): void => {
    const got = detLog(x);
    const want = fullSeriesLog(x);
    assert.ok(Object.is(got, want), `x=${x}: ${got} vs ${want} (the 21-term sum)`);
  };
  for (const x of [1, 0.5, 0.75, 1 - 2 ** -53, 0.5 + 2 ** -53, 2 ** -1022, Number.MIN_VALUE, 1 / 3, 2 / 3]) same(x);
  // uniform() values, the engine's only inputs: a sweep over the 2^32 draws, then random ones.
  for (let u = 0; u <= 0xffffffff; u += 4093) same((u + 0.5) / 4294967296);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (u) => {
      same((u + 0.5) / 4294967296);
    }),
    { seed: SEED, numRuns: 20000 },
  );
  fc.assert(
    fc.property(fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }), (x) => {
      same(x);
    }),
    { seed: SEED, numRuns: 20000 },
  );
});

test('[prng.ts RandomStreams: xoshiro128** seeded through splitmix32] the same seed repeats the same sequence; uniform in (0,1); below(n) in [0,n)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 1000 }),
      (seed, streams, n) => {
        const a = new RandomStreams(streams);
        const b = new RandomStreams(streams);
        for (let s = 0; s < streams; s++) {
          a.seed(s, deriveSeed(seed, s));
          b.seed(s, deriveSeed(seed, s));
        }
        for (let i = 0; i < 50; i++) {
          const s = i % streams;
          assert.equal(a.nextU32(s), b.nextU32(s));
          const u = a.uniform(s);
          assert.equal(u, b.uniform(s));
          assert.ok(u > 0 && u < 1);
          const k = a.below(s, n);
          assert.equal(k, b.below(s, n));
          assert.ok(Number.isInteger(k) && k >= 0 && k < n);
          assert.equal(a.exponentialNs(s, 1000), b.exponentialNs(s, 1000));
        }
        assert.deepEqual(Array.from(a.state), Array.from(b.state));
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
  // Re-seeding restarts the stream.
  const r = new RandomStreams(1);
  r.seed(0, 42);
  const first = [r.nextU32(0), r.nextU32(0), r.nextU32(0)];
  r.seed(0, 42);
  assert.deepEqual([r.nextU32(0), r.nextU32(0), r.nextU32(0)], first);
  r.seed(0, 43);
  assert.notDeepEqual([r.nextU32(0), r.nextU32(0), r.nextU32(0)], first);
});

test('[prng.ts exponentialNs and exponentialDraw: uniform and detLog computed inline, no boxed fraction] equal Math.round(-detLog(uniform) * mean) draw for draw; nextU32 is the uint32 of the same draw', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.double({ min: 1e-3, max: 1e12, noNaN: true }),
      (seed, mean) => {
        const a = new RandomStreams(1);
        const b = new RandomStreams(1);
        const c = new RandomStreams(1);
        a.seed(0, seed);
        b.seed(0, seed);
        c.seed(0, seed);
        for (let i = 0; i < 64; i++) {
          const want = Math.round(-detLog(b.uniform(0)) * mean);
          // Odd draws as the workload guests make them: the mean through the field (meanNs).
          if (i % 2 === 0) assert.equal(a.exponentialNs(0, mean), want);
          else {
            a.meanNs = mean;
            assert.equal(a.exponentialDraw(0), want);
          }
          const u = c.nextU32(0);
          assert.ok(Number.isInteger(u) && u >= 0 && u <= 0xffffffff);
        }
        // uniform is (nextU32 + 0.5) / 2^32 of the same stream position.
        assert.equal(b.uniform(0), (c.nextU32(0) + 0.5) / 4294967296);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});

test('[prng.ts uniformBelow, belowBound, scaledBelowBound and below: the draw computed inline, only a boolean or an integer returned] equal uniform(s) * scale < bound, uniform(s) < bound, uniform(s) * scale < bound and Math.floor(uniform(s) * n) draw for draw', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 1e-3, max: 1e9, noNaN: true }),
      fc.integer({ min: 1, max: 1 << 30 }),
      (seed, fraction, scale, n) => {
        const a = new RandomStreams(1);
        const b = new RandomStreams(1);
        a.seed(0, seed);
        b.seed(0, seed);
        for (let i = 0; i < 64; i++) {
          assert.equal(a.uniformBelow(0, fraction, 1), b.uniform(0) < fraction);
          assert.equal(a.uniformBelow(0, fraction * scale, scale), b.uniform(0) * scale < fraction * scale);
          assert.equal(a.below(0, n), Math.floor(b.uniform(0) * n));
          a.bound = fraction;
          assert.equal(a.belowBound(0), b.uniform(0) < fraction);
          a.bound = fraction * scale;
          a.scale = scale;
          assert.equal(a.scaledBelowBound(0), b.uniform(0) * scale < fraction * scale);
        }
        assert.deepEqual(Array.from(a.state), Array.from(b.state));
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});
