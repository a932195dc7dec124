import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GuestCounter } from '../../src/core/engine/host.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { finishTotals } from '../../src/run/finishTotals.js';

/**
 * Nanosecond sums past 2^53 (src/run/totals.ts, two limbs): 2,000 two-vCPU guests for an hour are
 * 1.4e16 vCPU-ns, beyond where a Float64 addition is exact. The parts of a variant (hosts, pool
 * tasks, shards) must add up to the same bits in any grouping and order, and to the exact sum
 * rounded once.
 */

const HOST_NS = fc.bigInt({ min: 0n, max: 2n ** 58n }).map((b) => Number(b)); // integers; above 2^53 even ones
const hostParts = fc.array(fc.tuple(HOST_NS, HOST_NS, HOST_NS), { minLength: 2, maxLength: 40 });

function hostAcc([vcpu, latency, hostNs]: [number, number, number]): TotalsAccumulator {
  const a = new TotalsAccumulator();
  a.addVcpuNs(vcpu);
  a.addGuestNs(vcpu);
  a.addLatencyNs(latency);
  a.exits[3] = 1; // results.json lists host time only for reasons with exits
  a.addExitHostNs(3, hostNs);
  a.addGuestCounter(GuestCounter.GUEST_CPU_NS, vcpu);
  a.addPhaseNs(0, latency);
  a.phaseCount[0] = 1;
  return a;
}

/** Merge hosts in the given order, in groups cut at `cuts` (as pool tasks or shards would). */
function mergeGrouped(hosts: TotalsAccumulator[], order: number[], cuts: Set<number>): TotalsAccumulator {
  const groups: TotalsAccumulator[] = [];
  let cur = new TotalsAccumulator();
  order.forEach((h, i) => {
    if (cuts.has(i) && i > 0) {
      groups.push(cur);
      cur = new TotalsAccumulator();
    }
    cur.merge(hosts[h]);
  });
  groups.push(cur);
  const total = new TotalsAccumulator();
  // Through JSON, as a worker's message or a shard's `raw` travels.
  for (const g of groups.reverse()) total.merge(TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(g.toJSON()))));
  return total;
}

const exact = (xs: number[]): number => Number(xs.reduce((s, x) => s + BigInt(x), 0n));

test('wide sums: any grouping and order of parts gives the exact sum rounded once', () => {
  fc.assert(
    fc.property(
      hostParts,
      fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
      fc.array(fc.nat({ max: 39 }), { maxLength: 8 }),
      (parts, keys, cutList) => {
        const hosts = parts.map(hostAcc);
        const order = parts.map((_, i) => i).sort((x, y) => keys[x] - keys[y] || x - y);
        const t = finishTotals(mergeGrouped(hosts, order, new Set(cutList)), []);
        const inOrder = finishTotals(
          mergeGrouped(
            hosts,
            parts.map((_, i) => i),
            new Set(),
          ),
          [],
        );
        assert.deepEqual(t, inOrder);
        assert.equal(t.vcpuSeconds, exact(parts.map((p) => p[0])) / 1e9);
        assert.equal(t.guestCpuSeconds, exact(parts.map((p) => p[0])) / 1e9);
        assert.equal(t.interruptLatency.sumNs, exact(parts.map((p) => p[1])));
        assert.deepEqual(Object.values(t.hostSecondsInExits), [exact(parts.map((p) => p[2])) / 1e9]);
      },
    ),
    { numRuns: 300 },
  );
});

test('wide sums: the parts of the property above do round differently when added as plain Float64', () => {
  // Shows the test data reaches the regime that needs the limbs: without them, order matters.
  const xs = [2 ** 53, 1, 1];
  assert.notEqual(xs[0] + xs[1] + xs[2], xs[1] + xs[2] + xs[0]);
  const a = new TotalsAccumulator();
  const b = new TotalsAccumulator();
  for (const x of xs) a.merge(hostAcc([x, 0, 0]));
  for (const x of [...xs].reverse()) b.merge(hostAcc([x, 0, 0]));
  assert.equal(a.vcpuNsTotal, b.vcpuNsTotal);
  assert.equal(a.vcpuNsTotal, 2 ** 53 + 2);
});

test('wide sums: below 2^52 ns nothing is carried and the JSON form is the one it always was', () => {
  const a = hostAcc([2 ** 52 - 1, 5, 7]);
  const j = a.toJSON();
  assert.equal(j.wideHi, undefined);
  assert.equal(j.vcpuNs, 2 ** 52 - 1);
  a.addVcpuNs(1);
  assert.ok(a.toJSON().wideHi !== undefined, 'at 2^52 the high limb is used and travels');
  assert.equal(a.vcpuNsTotal, 2 ** 52);
});
