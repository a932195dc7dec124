/**
 * until-complete progress counts the fixed-work phases' own progress (src/run/workShare.ts,
 * src/cli/progressView.ts). Before, it counted the guest's CPU seconds against the phases' CPU work: a
 * boot phase's CPU and the install's other threads counted as install work, and README's
 * my-scenario.yaml printed `99% ... sim 98s (until complete, work 99%)` for a variant that ended at 196 s.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { startPooledRun, type PooledRun } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';
import { runScenario } from '../../src/run/runScenario.js';
import { variantFraction, viewOfPooledRun, viewOfScenarioProgress } from '../../src/cli/progressView.js';

/** README's scenario, one variant, a tenth of the install: a boot of 10 s, then install work. */
const SCENARIO = parseScenario(
  `name: boot-then-install
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases:
      - { phase: boot, duration: 10s }
      - { phase: install, work: 2s }
duration: until-complete
maxDuration: 10m
`,
  'boot-then-install.yaml',
);

const pool = new SimPool({ workers: 1, idleTimeoutMs: 5_000 });
after(() => pool.close());

/** Each update's simulated second and the fraction the line shows for the variant. */
function check(seen: readonly { sim: number; fraction: number }[], end: number): void {
  assert.ok(seen.length > 5, `${seen.length} updates`);
  const bootEnd = 10e9;
  for (const s of seen) {
    if (s.fraction >= 1) continue;
    // Through the boot no install work is done.
    if (s.sim <= bootEnd) assert.equal(s.fraction, 0, `at ${s.sim / 1e9} s (booting): ${s.fraction}`);
    // In the install, the share of it done tracks the share of its time gone (its steps are alike),
    // within 15 points: not the 99 % the guest's CPU gave halfway.
    else {
      const timeShare = (s.sim - bootEnd) / (end - bootEnd);
      assert.ok(
        Math.abs(s.fraction - timeShare) <= 0.15,
        `at ${s.sim / 1e9} s of ${end / 1e9} s: work ${s.fraction}, install time ${timeShare.toFixed(3)}`,
      );
    }
  }
}

/**
 * The scenario through the pool, each update's figure as `read` takes it from the run (undefined: none
 * taken), and the simulated seconds the variant ended at.
 */
async function pooledFigures(
  read: (run: PooledRun) => { sim: number; fraction: number } | undefined,
): Promise<{ seen: { sim: number; fraction: number }[]; end: number }> {
  const seen: { sim: number; fraction: number }[] = [];
  const run = startPooledRun(SCENARIO, {
    pool,
    pace: 'max',
    postIntervalMs: 0,
    onUpdate: (r) => {
      const figure = read(r);
      if (figure !== undefined) seen.push(figure);
    },
  });
  const out = await run.done;
  return { seen, end: out.results.variants[0].totals.simulatedSeconds * 1e9 };
}

test('pooled run (vmexit-lab run): 0 % through the boot, then the install steps done', async () => {
  const { seen, end } = await pooledFigures((r) => {
    const v = viewOfPooledRun(r).variants[0];
    return { sim: v.simNs, fraction: variantFraction(SCENARIO, 0, v) };
  });
  assert.ok(end > 20e9, `the install takes a while (${end / 1e9} s)`);
  check(seen, end);
});

test("the service's progress (PooledRun.progress, a run record's progress): the same figure", async () => {
  // It read the simulated seconds over maxDuration: 2 % through the boot, and "51 %: 136 of 3600
  // simulated s" for an install barely begun (the second stranger pass).
  const { seen, end } = await pooledFigures((r) => {
    const p = r.progress();
    return p.tasksDone < p.tasksTotal ? { sim: p.simSeconds * 1e9, fraction: p.fraction } : undefined;
  });
  check(seen, end);
});

test('sequential run (runScenario): the same figure', () => {
  const seen: { sim: number; fraction: number }[] = [];
  const results = runScenario(SCENARIO, {
    onProgress: (p) => {
      const v = viewOfScenarioProgress(p).variants[0];
      if (!v.done) seen.push({ sim: v.simNs, fraction: variantFraction(SCENARIO, 0, v) });
    },
  }).results;
  check(seen, results.variants[0].totals.simulatedSeconds * 1e9);
});
