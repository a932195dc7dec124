/**
 * The repeat memo's interned ids (src/core/vcpu/repeatMemo.ts W.STATE_ID): a vCPU comes back to one
 * fixed point in several interned states (they differ in dead isrvec_stk entries only), and a lookup
 * from a state whose id the entry keeps trusts it without comparing the words. The install's vCPUs come
 * back in up to four such states in turn (docs/perf/engine30.md, E2): the entry keeps the last four, so
 * none of them is compared again, and the id kept longest makes room for a fifth.
 *
 * What a trusted id looks like from outside: memoLookup finds the entry even when the words passed
 * differ from the fixed point (a state the hint discipline never lets through), where a comparison
 * would answer -1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../../src/core/vcpu/layout.js';
import { memoKey, memoLookup, memoStore } from '../../src/core/vcpu/repeatMemo.js';

const OP = 1;
const EPOCH = 1;

/** A fixed point kept for vCPU 0 of a new machine, reached in interned state `first`. */
function kept(first: number): { machine: number; s: Int32Array } {
  const machine = memoKey();
  const s = new Int32Array(F.STRIDE);
  s[F.STK_TOP] = -1;
  memoStore(machine, 0, OP, 0, 0, s, 0, new Int32Array(16), 0, 0, first, EPOCH);
  return { machine, s };
}

/** memoLookup from words `s` of vCPU 0 in interned state `id` (verify off, as the engine runs). */
function lookup(machine: number, s: Int32Array, id: number): number {
  return memoLookup(machine, 0, OP, 0, 0, s, 0, id, EPOCH, false);
}

/** Words the memo compares, changed: only a trusted id finds the entry from them. */
function other(s: Int32Array): Int32Array {
  const o = s.slice();
  o[0] ^= 1;
  return o;
}

test('a fixed point reached in four interned states trusts each of them', () => {
  const { machine, s } = kept(10);
  for (const id of [11, 12, 13]) assert.ok(lookup(machine, s, id) >= 0, `state ${id}: equal words, found`);
  for (const id of [10, 11, 12, 13]) assert.ok(lookup(machine, other(s), id) >= 0, `state ${id}: trusted`);
  assert.equal(lookup(machine, other(s), 14), -1, 'an id never seen is compared');
});

test('a fifth state pushes out the one kept longest', () => {
  const { machine, s } = kept(10);
  for (const id of [11, 12, 13, 14]) assert.ok(lookup(machine, s, id) >= 0);
  assert.equal(lookup(machine, other(s), 10), -1, 'state 10 was pushed out: compared');
  for (const id of [11, 12, 13, 14]) assert.ok(lookup(machine, other(s), id) >= 0, `state ${id}: trusted`);
});

test('a new generation of the tables trusts none of the old ids', () => {
  const { machine, s } = kept(10);
  lookup(machine, s, 11);
  assert.equal(memoLookup(machine, 0, OP, 0, 0, other(s), 0, 10, EPOCH + 1, false), -1);
  assert.equal(memoLookup(machine, 0, OP, 0, 0, other(s), 0, 11, EPOCH + 1, false), -1);
});
