/**
 * Deterministic randomness: xoshiro128** streams (Blackman & Vigna, "Scrambled Linear Pseudorandom
 * Number Generators", 2018) seeded through splitmix32, using only 32-bit integer operations, and an
 * exponential variate built from IEEE-754 basic arithmetic only (+ - * /), so a (seed, stream) pair
 * gives the same numbers bit for bit on any machine and JavaScript engine (Math.log is not
 * guaranteed to round identically everywhere).
 *
 * Many streams live in one Uint32Array (4 words each) so a host's vCPUs need no objects.
 */
import type { Carver } from '../vcpu/arena.js';

/** splitmix32-style 32-bit mixer (a finalizer of MurmurHash3). */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Derive a stream seed from a run seed and a path of integers (host, guest, vCPU, purpose). */
export function deriveSeed(seed: number, a: number, b = 0, c = 0): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(a + 1, 0x27d4eb2d));
  h = mix32(h ^ Math.imul(b + 1, 0x165667b1));
  h = mix32(h ^ Math.imul(c + 1, 0xd3a2646c));
  return h;
}

export class RandomStreams {
  readonly state: Uint32Array;

  /** Four words per stream, carved with the host's arrays when `c` is given (vcpu/arena.ts). */
  constructor(count: number, c?: Carver) {
    this.state = c === undefined ? new Uint32Array(count * 4) : c.u32(count * 4);
  }

  seed(stream: number, seed: number): void {
    let x = seed >>> 0;
    const o = stream * 4;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.state[o + i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.state[o] | this.state[o + 1] | this.state[o + 2] | this.state[o + 3]) === 0) this.state[o] = 1;
  }

  /** Next uint32 of a stream (xoshiro128**). */
  nextU32(stream: number): number {
    return this.nextI32(stream) >>> 0;
  }

  /**
   * nextU32's draw as a signed int32 (the same 32 bits): V8 passes a signed int32 as a small
   * integer, where a uint32 of 2^31 or more returned from a call that is not inlined is boxed (an
   * allocation per draw on the engine's hot path).
   */
  private nextI32(stream: number): number {
    const s = this.state;
    const o = stream * 4;
    const s0 = s[o],
      s1 = s[o + 1],
      s2 = s[o + 2],
      s3 = s[o + 3];
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = (s1 << 9) >>> 0;
    let n2 = (s2 ^ s0) >>> 0;
    let n3 = (s3 ^ s1) >>> 0;
    const n1 = (s1 ^ n2) >>> 0;
    const n0 = (s0 ^ n3) >>> 0;
    n2 = (n2 ^ t) >>> 0;
    n3 = rotl(n3, 11);
    s[o] = n0;
    s[o + 1] = n1;
    s[o + 2] = n2;
    s[o + 3] = n3;
    return r;
  }

  /**
   * Uniform in (0, 1), 32 bits of resolution, never 0 or 1. The definition the engine's draws are
   * held to (test/core/prng.test.ts), as `detLog` is: `uniformBelow`, `below` and `exponentialNs`
   * compute it inline, and the guests call those, since a fraction returned by a call V8 does not
   * inline is boxed.
   */
  uniform(stream: number): number {
    return ((this.nextI32(stream) >>> 0) + 0.5) / 4294967296;
  }

  /**
   * The mean of the draw in progress (exponentialNs), ns: a double from the start. A caller whose mean
   * is computed sets it and calls exponentialDraw itself: TurboFan leaves even exponentialNs out at a
   * call site rare when the caller was optimized (belowBound says why), and boxes the mean there.
   * guests/workloadGuest.ts workloadInterrupt's mean, inlined into the engine's dispatch, was boxed at
   * every device interrupt of a workload vCPU (the twenty-first session,
   * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
   */
  meanNs = 0.5;

  /**
   * Exponential variate with the given mean, rounded to an integer (nanoseconds). Small enough
   * (under the 27 bytes of bytecode below which TurboFan always inlines) to be inlined at every call
   * site, so the mean, a double, goes to the field in the caller's code and only the stream crosses
   * the call to the series: a double passed to a call V8 does not inline is boxed (an allocation per
   * draw), and whether TurboFan inlines the large `exponentialDraw` depends on the feedback it read
   * (docs/perf/history.md#twelfth-session-a-boxed-double-per-event-in-1-process-of-300-found-and-removed-16).
   */
  exponentialNs(stream: number, meanNs: number): number {
    this.meanNs = meanNs;
    return this.exponentialDraw(stream);
  }

  /** exponentialNs' draw, of mean `this.meanNs` (set by the caller just before: a field, not an argument). */
  exponentialDraw(stream: number): number {
    const meanNs = this.meanNs;
    // Math.round(-detLog(this.uniform(stream)) * meanNs), the uniform and the logarithm computed here,
    // operation for operation as in uniform and detLog: a call that is not inlined and returns a
    // fraction returns it boxed (an allocation per draw on the engine's hot path), and only this
    // function's integer result crosses a call. test/core/prng.test.ts holds them equal.
    // Duplicated on purpose (the duplicates tool pairs these lines with detLog's): the shared form,
    // Math.round(-detLog(u) * meanNs), was measured on Node 20 (bench/allocSites.js --case idle-fleet
    // --seconds 30, 3 runs): in one run V8 did not inline detLog into burstBoundary and 14.7 % of the
    // sampled bytes were detLog's boxed results; none in the 2 others nor in 2 runs of this form. No
    // helper can share the series and return only an integer, since detLog's result is a fraction;
    // sharing it through a Float64Array cell (operand and result, no boxing) cost 6,577 instructions
    // per engine event against this form's 6,552 (bench/instructions.js --predictable --case
    // idle-fleet --seconds 60), so it stays written out.
    let x = ((this.nextI32(stream) >>> 0) + 0.5) / 4294967296;
    let k = 0;
    while (x < 0.5) {
      x *= 2;
      k--;
    }
    const z = (x - 1) / (x + 1);
    const z2 = z * z;
    let term = z;
    let sum = 0;
    // Stops at the first term that leaves the sum unchanged: the 21-term sum bit for bit (detLog).
    for (let n = 1; n <= 41; n += 2) {
      const next = sum + term / n;
      if (next === sum) break;
      sum = next;
      term *= z2;
    }
    return Math.round(-(2 * sum + k * LN2) * meanNs);
  }

  /**
   * Whether `uniform(stream) * scale < bound`: the draw is compared here and only the boolean crosses
   * the call. The engine's guests use this, never `uniform` itself: a fraction returned by a call V8
   * does not inline is boxed (an allocation per draw), and whether TurboFan inlines `uniform` into a
   * caller depends on the feedback it read (the sampled bytes of some processes, docs/PERF.md).
   * `scale` 1 compares the draw itself (x * 1 is x in IEEE arithmetic).
   */
  uniformBelow(stream: number, bound: number, scale: number): boolean {
    return (((this.nextI32(stream) >>> 0) + 0.5) / 4294967296) * scale < bound;
  }

  /**
   * belowBound's bound, set by the caller just before the call: a field, not an argument. A double
   * passed to a call V8 does not inline is boxed, and TurboFan leaves out even a small callee at a call
   * site that was rare when the caller was optimized (its frequency under min_inlining_frequency, V8's
   * src/compiler/js-inlining-heuristic.cc): guests/irql.ts enterRaised's draw, rare on the idle fleet,
   * boxed the guest model's raisedFraction at every raise of a running vCPU on the overcommitted host
   * that followed it in one process (the twenty-first session,
   * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16). A double from the start.
   */
  bound = 0.5;

  /** Whether `uniform(stream) < this.bound`: uniformBelow(stream, bound, 1), the bound from the field. */
  belowBound(stream: number): boolean {
    return ((this.nextI32(stream) >>> 0) + 0.5) / 4294967296 < this.bound;
  }

  /** scaledBelowBound's scale, set by the caller with `bound` just before the call (a field, as `bound`). */
  scale = 1.5;

  /**
   * Whether `uniform(stream) * this.scale < this.bound`: uniformBelow(stream, bound, scale), both
   * doubles from the fields. guests/workloadGuest.ts workloadDynOp's HLT-or-IPI draw passed the HLT
   * rate and the sum of the rates: where TurboFan inlined workloadDynOp into the engine's dispatch
   * and left uniformBelow out (a call site rare when dispatch was optimized on the idle fleet), the
   * sum, computed there, was boxed at every HLT or IPI of a workload vCPU (the twenty-first session,
   * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
   */
  scaledBelowBound(stream: number): boolean {
    return (((this.nextI32(stream) >>> 0) + 0.5) / 4294967296) * this.scale < this.bound;
  }

  /** Integer in [0, n): uniform's draw computed here, so only the integer crosses the call. */
  below(stream: number, n: number): number {
    return Math.floor((((this.nextI32(stream) >>> 0) + 0.5) / 4294967296) * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const LN2 = 0.6931471805599453;

/**
 * Natural logarithm for x in (0, 1] from basic IEEE arithmetic only: scale x into [0.5, 1) by
 * exact powers of two, then ln(m) = 2 atanh((m-1)/(m+1)) by its series (|z| <= 1/3, 21 terms give
 * full double precision). Deterministic everywhere.
 *
 * The sum stops at the first term that leaves it unchanged: that term is at most half an ulp of the
 * sum (rounding to nearest); every later one is smaller (|z2| <= 1/9, larger n) and of the same sign,
 * so the sum's magnitude, and its ulp, never shrink: under half an ulp, none changes the sum either.
 * The result is the 21-term sum's bit for bit (test/core/prng.test.ts), with about half the divisions
 * for a uniform draw. exponentialDraw stops the same way.
 */
export function detLog(x: number): number {
  let k = 0;
  while (x < 0.5) {
    x *= 2;
    k--;
  }
  const z = (x - 1) / (x + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  // Stops at the first term that leaves the sum unchanged: the 21-term sum bit for bit (detLog).
  for (let n = 1; n <= 41; n += 2) {
    const next = sum + term / n;
    if (next === sum) break;
    sum = next;
    term *= z2;
  }
  return 2 * sum + k * LN2;
}
