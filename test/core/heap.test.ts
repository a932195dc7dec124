/**
 * The engine's event heap (src/core/engine/heap.ts): after any sequence of inserts, re-keys (of the
 * root, which the engine does after every event, and of any other entry) and removals, the root is
 * the entry with the least (time, id) - the order results depend on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventHeap } from '../../src/core/engine/heap.js';

type Op = readonly [kind: 'set' | 'setRoot' | 'remove', id: number, time: number];

test('[engine/heap.ts] the root is the least (time, id) after any inserts, re-keys (the root or another) and removals', () => {
  const n = 7;
  const opArb: fc.Arbitrary<Op> = fc.tuple(
    fc.constantFrom('set' as const, 'setRoot' as const, 'remove' as const),
    fc.integer({ min: 0, max: n - 1 }),
    fc.integer({ min: 0, max: 12 }), // few distinct times: ties are common, as in the engine
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
      const heap = new EventHeap(n);
      const ref = new Map<number, number>();
      for (const [kind, id, time] of ops) {
        if (kind === 'remove') {
          heap.remove(id);
          ref.delete(id);
        } else {
          const target = kind === 'setRoot' && heap.size > 0 ? heap.peek() : id;
          heap.set(target, time);
          ref.set(target, time);
        }
        let best = -1;
        for (const [i, t] of ref) if (best < 0 || t < ref.get(best)! || (t === ref.get(best)! && i < best)) best = i;
        assert.equal(heap.size, ref.size);
        assert.equal(heap.peek(), best);
        if (best >= 0) assert.equal(heap.key[heap.peek()], ref.get(best));
      }
    }),
    { seed: 0x4ea9, numRuns: 500 },
  );
});

test('[engine/heap.ts] keepsRoot: the root, given a new time, stays the root exactly when it is still the least (time, id)', () => {
  const n = 7;
  const entry = fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: 12 }));
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 30 }), fc.integer({ min: 0, max: 12 }), (entries, time) => {
      const heap = new EventHeap(n);
      const ref = new Map<number, number>();
      for (const [id, t] of entries) {
        heap.set(id, t);
        ref.set(id, t);
      }
      if (heap.size === 0) return;
      const root = heap.peek();
      for (const id of ref.keys()) if (id !== root) assert.equal(heap.keepsRoot(id), false, 'not the root');
      heap.key[root] = time;
      let least = true;
      for (const [id, t] of ref) if (id !== root && (t < time || (t === time && id < root))) least = false;
      assert.equal(heap.keepsRoot(root), least);
      // When it stays, the heap holds as it is: re-keying moves nothing.
      if (least) {
        heap.rekey(root);
        assert.equal(heap.peek(), root);
      }
    }),
    { seed: 0x600d, numRuns: 500 },
  );
});
