/**
 * The engine's event queue (src/core/engine/heap.ts), in both its forms (the binary heap and the
 * scan): after any sequence of inserts, re-keys (of the root, which the engine does after every
 * event, and of any other entry) and removals, the root is the entry with the least (time, id) - the
 * order results depend on - and the two forms answer every call alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventHeap, SCAN_MAX } from '../../src/core/engine/heap.js';

type Op = readonly [kind: 'set' | 'setRoot' | 'remove', id: number, time: number];

const FORMS = [
  ['heap', false],
  ['scan', true],
] as const;

for (const [form, scan] of FORMS) {
  test(`[engine/heap.ts] ${form}: the root is the least (time, id) after any inserts, re-keys (the root or another) and removals`, () => {
    const n = 7;
    const opArb: fc.Arbitrary<Op> = fc.tuple(
      fc.constantFrom('set' as const, 'setRoot' as const, 'remove' as const),
      fc.integer({ min: 0, max: n - 1 }),
      fc.integer({ min: 0, max: 12 }), // few distinct times: ties are common, as in the engine
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const heap = new EventHeap(n, undefined, scan);
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

  test(`[engine/heap.ts] ${form}: keepsRoot: the root, given a new time, stays the root exactly when it is still the least (time, id)`, () => {
    const n = 7;
    const entry = fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: 12 }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), fc.integer({ min: 0, max: 12 }), (entries, time) => {
        const heap = new EventHeap(n, undefined, scan);
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
}

/**
 * The engine's calls, as host.ts makes them: re-key an id at a time written in key[] first (the root
 * after its event, or another: a wake-up, a share change), remove one, and fold (foldWakeUp: the root
 * given a new time asks keepsRoot, and is re-keyed when the answer is no). `pop` is runEvents' step:
 * the root run and re-keyed later.
 */
type EngineOp = readonly [
  kind: 'rekey' | 'rekeyRoot' | 'fold' | 'remove' | 'pop' | 'asksOther',
  id: number,
  time: number,
];

test('[engine/heap.ts] the scan and the heap pop the same sequence under any re-keys, removals and keepsRoot questions, ties included', () => {
  const engineOp = (n: number): fc.Arbitrary<EngineOp> =>
    fc.tuple(
      fc.constantFrom(
        'rekey' as const,
        'rekeyRoot' as const,
        'fold' as const,
        'remove' as const,
        'pop' as const,
        'asksOther' as const,
      ),
      fc.integer({ min: 0, max: n - 1 }),
      fc.integer({ min: 0, max: 9 }), // few distinct times: ties are common, as in the engine
    );
  const run = (n: number, ops: readonly EngineOp[]): void => {
    const heap = new EventHeap(n, undefined, false);
    const scan = new EventHeap(n, undefined, true);
    let now = 0; // times only move forward from the root's, as in the engine
    const popped: number[][] = [[], []];
    for (const [step, [kind, id, dt]] of ops.entries()) {
      const at = `step ${step} (${kind} ${id} +${dt})`;
      const root = heap.peek();
      if (kind === 'rekey' || (root < 0 && kind !== 'remove')) {
        heap.key[id] = now + dt;
        scan.key[id] = now + dt;
        heap.rekey(id);
        scan.rekey(id);
      } else if (kind === 'remove') {
        heap.remove(id);
        scan.remove(id);
      } else if (kind === 'asksOther') {
        const other = (root + 1 + (id % n)) % n;
        heap.key[other] = now + dt;
        scan.key[other] = now + dt;
        assert.equal(scan.keepsRoot(other), heap.keepsRoot(other), at);
        heap.rekey(other); // a question answered no leaves a re-key to do
        scan.rekey(other);
      } else {
        now = heap.key[root];
        heap.key[root] = now + dt;
        scan.key[root] = now + dt;
        if (kind === 'fold') {
          const keeps = heap.keepsRoot(root);
          assert.equal(scan.keepsRoot(root), keeps, at);
          if (!keeps) {
            heap.rekey(root);
            scan.rekey(root);
          }
        } else {
          if (kind === 'pop') {
            popped[0].push(root);
            popped[1].push(scan.peek());
          }
          heap.rekey(root);
          scan.rekey(root);
        }
      }
      assert.equal(scan.size, heap.size, at);
      assert.equal(scan.peek(), heap.peek(), at);
      if (heap.size > 0) assert.equal(scan.key[scan.peek()], heap.key[heap.peek()], at);
    }
    assert.deepEqual(popped[1], popped[0]);
  };
  for (const n of [1, 2, 7, SCAN_MAX, 40]) {
    fc.assert(
      fc.property(fc.array(engineOp(n), { maxLength: 300 }), (ops) => run(n, ops)),
      { seed: 0x5ca7 + n, numRuns: 300 },
    );
  }
});

test('[engine/heap.ts] the form follows the host: a scan up to SCAN_MAX ids, the heap above', () => {
  assert.equal(new EventHeap(1).scan, true);
  assert.equal(new EventHeap(SCAN_MAX).scan, true);
  assert.equal(new EventHeap(SCAN_MAX + 1).scan, false);
  assert.equal(new EventHeap(256).scan, false);
});
