/**
 * Simulated-time metrics (docs/BEYOND.md): per-second thresholds divide by simulated guest
 * seconds, never wall time, so their verdict is the same at pace max (seconds simulated in a
 * fraction of a wall second) and at pace realtime (one simulated second per wall second), for any
 * worker count. The worker-count half is also in test/pool/pool.test.ts; pace was untested.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenarioPooled } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';

const scenario = parseScenario(
  `name: per-second-verdicts
seed: 3
host: { cpu: i7-2620M, cores: 4, count: 3 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
duration: 2s
thresholds:
  exits_per_second{reason="CR_ACCESS"}: [">= 50000", "<= 150000", "< 1000"]
  cr8_accesses_per_second: [">= 50000"]
  interrupts_delivered_per_second: ["> 50"]
`,
  'per-second.yaml',
);

const pools: SimPool[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

test('per-second thresholds: the same values and verdicts at pace max and realtime, with 1 and 2 workers', async () => {
  const runs = [];
  for (const [pace, workers] of [
    ['max', 1],
    ['realtime', 2],
    ['max', 2],
  ] as const) {
    const pool = new SimPool({ workers, idleTimeoutMs: 5_000 });
    pools.push(pool);
    const out = await runScenarioPooled(scenario, { pool, pace });
    assert.equal(out.error, undefined);
    runs.push({ pace, workers, results: out.results });
  }
  const [ref, ...others] = runs;
  const t = ref.results.variants[0].totals;
  const verdicts = ref.results.variants[0].thresholds;
  // The value is per simulated guest-second: exits / guestSeconds (3 hosts x 2 s).
  assert.equal(t.guestSeconds, 6);
  assert.equal(verdicts[0].value, t.exits.CR_ACCESS / t.guestSeconds);
  assert.deepEqual(
    verdicts.map((v) => v.passed),
    [true, true, false, true, true],
  );
  for (const o of others) {
    assert.deepEqual(o.results.variants[0].thresholds, verdicts, `pace ${o.pace}, ${o.workers} workers`);
    assert.deepEqual(o.results.variants[0].totals, t);
  }
  // Realtime took at least the simulated time in wall time; the verdicts did not notice.
  assert.ok(runs[1].results.wallSeconds >= 1.9, `realtime wall ${runs[1].results.wallSeconds} s`);
});
