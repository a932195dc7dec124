import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { parseScenario, loadScenarioFile } from '../../src/scenario/load.js';
import { loadModelData, REPO_ROOT } from '../../src/model/data.js';
import { assembleResults, runScenario } from '../../src/run/runScenario.js';
import { runHosts } from '../../src/run/simulate.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { runScenarioPooled } from '../../src/pool/pooledRun.js';
import { mergeTaskTotals } from '../../src/pool/mergeTotals.js';
import { SimPool } from '../../src/pool/pool.js';
import type { Scenario } from '../../src/scenario/types.js';
import type { RunResults } from '../../src/results/types.js';
import { shippedYamlFiles } from '../support/paths.js';

/**
 * Exact sums (issue #18 item 6): every accumulated quantity is a whole number (latencies and phase
 * times in whole ns since 59f080e), so adding hosts in any grouping and any order gives the same
 * bits, and results.json is byte-identical (wall-clock fields aside) for any worker count, any shard
 * split and any partition of the hosts into tasks. Before, a 37-host scenario's
 * `interruptLatency.sumNs` ended in ...16542 with 1 worker and ...16544 with 2.
 */

// 40 hosts: enough additions for fractional sums to round differently in another order.
const FLEET = parseScenario(
  `name: exact-sums-fleet
seed: 41
host: { cpu: i7-6700K, cores: 4, count: 40 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: boot, duration: 500ms }, { phase: idle }]
  - os: freebsd-12.1
    x2apic: true
    phases: [{ phase: idle }]
duration: 1s
hypervisor: { policy: bhyve-12.1 }
`,
  'exact-sums-fleet.yaml',
);

/** results.json as bytes, the wall-clock fields fixed. */
function canonical(r: RunResults): string {
  return JSON.stringify({ ...r, startedAt: '-', wallSeconds: 0 });
}

function assemble(s: Scenario, accs: readonly TotalsAccumulator[]): string {
  return canonical(assembleResults(s, accs, { startedAt: '-', wallSeconds: 0 }));
}

/** xorshift32: a reproducible stream of partitions. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** A random partition of [0, n) into contiguous ranges. */
function partition(n: number, next: () => number): [number, number][] {
  const cuts = new Set<number>();
  const k = 1 + Math.floor(next() * Math.min(12, n));
  while (cuts.size < k - 1) cuts.add(1 + Math.floor(next() * (n - 1)));
  const points = [0, ...[...cuts].sort((a, b) => a - b), n];
  return points.slice(1).map((b, i) => [points[i], b]);
}

const pools: SimPool[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

let reference: string | undefined;
const referenceBytes = (): string => (reference ??= canonical(runScenario(FLEET).results));

test('exact sums: random partitions of 40 hosts into tasks, merged in random orders, give byte-identical results.json', () => {
  const data = loadModelData();
  const next = rng(18);
  const variant = FLEET.variants[0];
  for (let trial = 0; trial < 6; trial++) {
    const ranges = partition(variant.host.count, next);
    const tasks = ranges.map(([a, b], index) => {
      const totals = new TotalsAccumulator();
      runHosts(FLEET, variant, data, a, b, totals);
      return { task: { index, variantIndex: 0, hostStart: a, hostEnd: b, scripted: false }, totals };
    });
    // Any order of merging: integer sums do not depend on it.
    const order = tasks.map((t) => ({ t, k: next() })).sort((x, y) => x.k - y.k);
    const merged = mergeTaskTotals(
      FLEET,
      order.map((o) => o.t),
      false,
    );
    assert.equal(assemble(FLEET, merged), referenceBytes(), `partition ${JSON.stringify(ranges)}`);
  }
});

test('exact sums: 1, 2 and 3 workers and 1 to 4 shards give byte-identical results.json (40-host fleet)', async () => {
  for (const workers of [1, 2, 3]) {
    const p = new SimPool({ workers, idleTimeoutMs: 5_000 });
    pools.push(p);
    const out = await runScenarioPooled(FLEET, { pool: p });
    assert.equal(out.stopped, false);
    assert.equal(canonical(out.results), referenceBytes(), `${workers} workers`);
  }
  for (const count of [1, 2, 3, 4]) {
    const accs = FLEET.variants.map(() => new TotalsAccumulator());
    for (let index = 1; index <= count; index++) {
      const shard = runScenario(FLEET, { shard: { index, count } });
      // As `vmexit-lab merge` does: the shard files' raw totals, back through JSON.
      shard.accumulators.forEach((a, vi) => accs[vi].merge(TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(a)))));
    }
    assert.equal(assemble(FLEET, accs), referenceBytes(), `${count} shards`);
  }
});

/** Paths of the non-integer numbers in `x` (array indices as []), but for what is not a sum. */
function fractions(x: unknown, path = '', out = new Set<string>()): Set<string> {
  if (typeof x === 'number') {
    if (!Number.isInteger(x)) out.add(path.replace(/\.\d+/g, '[]'));
  } else if (x !== null && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      // An exemplar's simulated time is the time of one observation (chosen, not added up).
      if (k === 'simTimeNs' && path.includes('latencyExemplars')) continue;
      fractions(v, `${path}.${k}`, out);
    }
  }
  return out;
}

/** The shipped scenarios, each with its file: the .yaml files below scenarios/ that load as one. */
function shippedScenarios(): { file: string; s: Scenario }[] {
  const out: { file: string; s: Scenario }[] = [];
  for (const file of shippedYamlFiles()) {
    try {
      out.push({ file, s: loadScenarioFile(file) });
    } catch {
      continue; // not a scenario (a workload profile, the schema's examples)
    }
  }
  return out;
}

test('exact sums: every accumulated quantity of every shipped scenario is a whole number', () => {
  // Event times carry fractions (exit debt) in some scenarios (crystaldiskmark-i7-4771,
  // win10-1909-install-tpr-shadowing); before 59f080e their latency sums did too, and a sum of
  // fractions depends on the order it is added in. Integers below 2^53 add exactly in any order.
  let checked = 0;
  for (const { file, s } of shippedScenarios()) {
    const run = runScenario({ ...s, duration: { kind: 'fixed', ns: 1e9 } });
    for (const a of run.accumulators) {
      const raw: unknown = JSON.parse(JSON.stringify(a));
      assert.deepEqual([...fractions(raw)], [], `${relative(REPO_ROOT, file)}: sums with fractions`);
      for (const n of [a.latencySumNs, a.guestNs, a.vcpuNs, a.events])
        assert.ok(n <= Number.MAX_SAFE_INTEGER, `${relative(REPO_ROOT, file)}: a sum beyond 2^53`);
    }
    checked++;
  }
  assert.ok(checked >= 10, `${checked} scenarios checked`);
});

test('exact sums: every shipped multi-host scenario (1 simulated second) is byte-identical on 1 and 3 workers', async () => {
  const one = new SimPool({ workers: 1, idleTimeoutMs: 5_000 });
  const three = new SimPool({ workers: 3, idleTimeoutMs: 5_000 });
  pools.push(one, three);
  let checked = 0;
  for (const { file, s } of shippedScenarios()) {
    if (!s.variants.some((v) => v.host.count > 1)) continue;
    const short: Scenario = { ...s, duration: { kind: 'fixed', ns: 1e9 }, pace: 'max' };
    const a = await runScenarioPooled(short, { pool: one });
    const b = await runScenarioPooled(short, { pool: three });
    assert.equal(canonical(b.results), canonical(a.results), relative(REPO_ROOT, file));
    checked++;
  }
  assert.ok(checked > 0, 'some shipped scenario has several hosts');
});
