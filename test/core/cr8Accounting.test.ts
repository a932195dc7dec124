/**
 * The %cr8 stream's books (src/core/guests/irql.ts cr8Stream). An interval of `wall` ns is split into
 * guest time and the exit time its accesses are predicted to cost; the accesses run as whole
 * raise/lower pairs (3 accesses), the fraction carried to the next interval; what the pairs really
 * cost beyond the prediction is exit debt. Over any run the exit time charged - the intervals'
 * predicted exit time plus the debt - is what the accesses that ran cost, no more: an interval too
 * short for a whole pair predicted exit time that no pair paid, and its accesses were charged again
 * when a later interval ran them (until the eighteenth session: a short interval's prediction was
 * kept, not credited). And a carry below 0 (a raised section's accesses taken ahead of the stream:
 * enterRaised) is repaid by the stream's own accesses, not written off by a negative pair count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Vf } from '../../src/core/engine/state.js';
import { cr8Stream } from '../../src/core/guests/irql.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import { idleWindows10Host } from '../support/hosts.js';

/**
 * Runs the stream over `walls` from a carry of `carry0`; returns the exit time charged (predicted +
 * debt), what the accesses that ran cost (c per access, bhyve-12.1: test/core/cr8FirstEstimate), and
 * the carry left.
 */
function books(walls: readonly number[], carry0: number) {
  const h = idleWindows10Host(); // bhyve-12.1: every %cr8 access exits
  const b = 0;
  const c = h.machine.exitCostNs[Slot.CR_ACCESS];
  const x = h.vf[b + Vf.CR8_PER_NS];
  h.vf[b + Vf.CARRY] = carry0;
  const debt0 = h.vf[b + Vf.DEBT];
  let predicted = 0;
  let guest = 0;
  for (const wall of walls) {
    h.cr8WallNs = wall;
    cr8Stream(h, 0, 0);
    predicted += wall - h.cr8GuestNs;
    guest += h.cr8GuestNs;
  }
  const carry = h.vf[b + Vf.CARRY];
  const ran = x * guest + carry0 - carry; // accesses run: the guest time's, less what the carry kept
  return { charged: predicted + h.vf[b + Vf.DEBT] - debt0, cost: c * ran, ran, carry, c };
}

test('%cr8 books: intervals too short for a pair are charged once, when their accesses run', () => {
  // 1,000 intervals of 100 ns (~0.1 access each at the idle density) then one of 1 us: before, the
  // short intervals' predicted exit time stayed charged and their accesses were charged again.
  const walls = [...Array.from({ length: 1000 }, () => 100), 1000];
  const r = books(walls, 0);
  assert.ok(r.ran > 50, `${r.ran} accesses ran`);
  assert.ok(Math.abs(r.charged - r.cost) <= 1e-6 * r.cost, `charged ${r.charged} ns, the accesses cost ${r.cost} ns`);
});

test('%cr8 books: a negative carry is repaid, not written off', () => {
  // A raised section took 3 accesses ahead (carry -3); a 100-ns interval adds ~0.1: still owed.
  const r = books([100], -3);
  assert.ok(r.carry < 0, `carry ${r.carry}: the 3 accesses taken ahead were written off`);
  assert.ok(Math.abs(r.ran) < 1e-9, `${r.ran} accesses ran`);
});

test('%cr8 books (property): exit time charged = what the accesses that ran cost, for any intervals and carry', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 60 }),
      fc.constantFrom(0, -3, -6, 1.5),
      (walls, carry0) => {
        const r = books(walls, carry0);
        const tolerance = 1e-6 * (r.cost + r.c);
        assert.ok(
          Math.abs(r.charged - r.cost) <= tolerance,
          `charged ${r.charged} ns, the accesses cost ${r.cost} ns (walls ${walls.length}, carry ${carry0})`,
        );
        assert.ok(r.carry < 3, `carry ${r.carry}: a whole pair left unrun`);
      },
    ),
    { numRuns: 100 },
  );
});
