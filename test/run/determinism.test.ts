import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario, shardRange, assembleResults } from '../../src/run/runScenario.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { desktopFleet } from '../support/fleets.js';

const fleet = parseScenario(
  desktopFleet({
    name: 'det-fleet',
    seed: 42,
    cores: 4,
    hosts: 5,
    windowsBoot: '2s',
    ubuntuBoot: '1s',
    freebsd: true,
    duration: '3s',
    policies: ['bhyve-12.1', 'bhyve-tpr-v3', 'kvm'],
  }),
  'det-fleet.yaml',
);

test('shard ranges partition the hosts exactly, for any shard count', () => {
  for (const count of [1, 2, 5, 7, 100]) {
    for (let n = 1; n <= 6; n++) {
      const seen: number[] = [];
      for (let i = 1; i <= n; i++) {
        const [a, b] = shardRange(count, { index: i, count: n });
        for (let h = a; h < b; h++) seen.push(h);
      }
      assert.deepEqual(
        seen,
        Array.from({ length: count }, (_, h) => h),
        `${count} hosts in ${n} shards`,
      );
    }
  }
});

test('merging N shards equals the unsharded run bit for bit (N = 1..4)', () => {
  const whole = runScenario(fleet);
  const wholeJson = JSON.stringify(whole.accumulators.map((a) => a.toJSON()));
  for (let n = 1; n <= 4; n++) {
    const merged = fleet.variants.map(() => new TotalsAccumulator());
    for (let i = 1; i <= n; i++) {
      const part = runScenario(fleet, { shard: { index: i, count: n } });
      // through JSON, as shard files would travel
      part.accumulators.forEach((a, vi) =>
        merged[vi].merge(TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(a.toJSON())))),
      );
    }
    assert.equal(JSON.stringify(merged.map((a) => a.toJSON())), wholeJson, `${n} shards`);
    const a = assembleResults(fleet, merged, { startedAt: 'x', wallSeconds: 0 });
    assert.deepEqual(
      a.variants.map((v) => v.totals),
      whole.results.variants.map((v) => v.totals),
    );
  }
});

test('a different seed changes the counts; the same seed repeats them', () => {
  const a = JSON.stringify(runScenario(fleet).accumulators.map((x) => x.toJSON()));
  const b = JSON.stringify(runScenario(fleet).accumulators.map((x) => x.toJSON()));
  const c = JSON.stringify(runScenario({ ...fleet, seed: 43 }).accumulators.map((x) => x.toJSON()));
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('policies on the same seed differ only where the rules say: Linux/FreeBSD-only fleets are identical', () => {
  const linuxOnly = parseScenario(
    `name: linux-only
host: { cpu: i7-6700K, cores: 4, count: 2 }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, vcpus: 1, phases: [{ phase: idle }] }
duration: 3s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v1, bhyve-tpr-v3]
`,
    'linux-only.yaml',
  );
  const r = runScenario(linuxOnly);
  const [a, b, c] = r.accumulators.map((x) => JSON.stringify(x.toJSON()));
  assert.equal(a, b);
  assert.equal(a, c);
});

test('the exit time series sums to the totals and merges exactly across shards', () => {
  const whole = runScenario(fleet);
  for (const v of whole.results.variants) {
    assert.ok(v.series, `${v.name} has a series`);
    assert.equal(v.series.stepSeconds, 1);
    for (const [name, total] of Object.entries(v.totals.exits)) {
      assert.equal(
        v.series.exits[name].reduce((a, b) => a + b, 0),
        total,
        `${v.name} ${name}`,
      );
    }
  }
  const merged = fleet.variants.map(() => new TotalsAccumulator());
  for (let i = 1; i <= 3; i++)
    runScenario(fleet, { shard: { index: i, count: 3 } }).accumulators.forEach((a, vi) => merged[vi].merge(a));
  const again = assembleResults(fleet, merged, { startedAt: 'x', wallSeconds: 0 });
  assert.deepEqual(
    again.variants.map((v) => v.series),
    whole.results.variants.map((v) => v.series),
  );
});

test('exits by guest OS (the metrics os label) sum to the exits and merge exactly across shards', () => {
  const whole = runScenario(fleet);
  for (const acc of whole.accumulators) {
    assert.deepEqual([...acc.exitsByOs.keys()].sort(), ['freebsd-12.1', 'ubuntu-18.04', 'windows-10-1909']);
    const sum = new Float64Array(acc.exits.length);
    for (const e of acc.exitsByOs.values()) e.forEach((x, i) => (sum[i] += x));
    assert.deepEqual(Array.from(sum), Array.from(acc.exits));
  }
  const merged = fleet.variants.map(() => new TotalsAccumulator());
  for (let i = 1; i <= 2; i++)
    runScenario(fleet, { shard: { index: i, count: 2 } }).accumulators.forEach((a, vi) =>
      merged[vi].merge(TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(a.toJSON())))),
    );
  merged.forEach((m, vi) => {
    for (const [os, e] of whole.accumulators[vi].exitsByOs)
      assert.deepEqual(Array.from(m.exitsByOs.get(os)!), Array.from(e), os);
  });
});
