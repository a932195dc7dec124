/**
 * The seed's figures as tests: every scenario under scenarios/seed/ runs to completion and all of
 * its thresholds pass (the thresholds encode the claims, with their tolerances), and a few facts
 * are asserted directly so a failure says which claim broke.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { exitStatusOf } from '../../src/results/exitStatus.js';
import { REPO_ROOT } from '../../src/model/data.js';
import type { RunResults, VariantResult } from '../../src/results/types.js';

const seedDir = join(REPO_ROOT, 'scenarios', 'seed');
const results = new Map<string, RunResults>();

function run(file: string): RunResults {
  let r = results.get(file);
  if (!r) {
    r = runScenario(loadScenarioFile(join(seedDir, file))).results;
    results.set(file, r);
  }
  return r;
}

function variant(r: RunResults, name: string): VariantResult {
  const v = r.variants.find((x) => x.name === name);
  assert.ok(v, `variant ${name}`);
  return v;
}

function failedThresholds(r: RunResults): string[] {
  return [
    ...r.variants.flatMap((v) =>
      v.thresholds.filter((t) => !t.passed).map((t) => `${v.name}: ${t.metric} ${t.expr} (value ${t.value})`),
    ),
    ...r.crossVariantThresholds.filter((t) => !t.passed).map((t) => `${t.metric} ${t.expr} (value ${t.value})`),
  ];
}

for (const file of readdirSync(seedDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  test(`seed scenario ${file}: every threshold passes and the exit status is 0`, () => {
    const r = run(file);
    assert.deepEqual(failedThresholds(r), []);
    assert.equal(exitStatusOf(r), 0);
    assert.ok(
      r.variants.every((v) => v.thresholds.length > 0) || r.crossVariantThresholds.length > 0,
      'the scenario encodes its claim as thresholds',
    );
  });
}

test('seed: Windows 10 1909 under bhyve-12.1 on an i7-2620M exits on every %cr8 access (~68,000/s)', () => {
  const v = variant(run('win10-1909-cr8-exits.yaml'), 'base');
  const perSecond = v.totals.cr8Accesses / v.totals.guestSeconds;
  assert.ok(Math.abs(perSecond - 68_000) / 68_000 <= 0.1, `cr8 accesses/s ${perSecond}`);
  assert.equal(v.totals.exits.CR_ACCESS, v.totals.cr8Accesses, 'every access is a CR_ACCESS exit');
});

test('seed: install takes ~2280 s without and ~370 s with TPR shadowing (i7-2620M)', () => {
  const r = run('win10-1909-install-tpr-shadowing.yaml');
  const slow = variant(r, 'bhyve-12.1').totals.phaseSeconds.install;
  const fast = variant(r, 'bhyve-tpr-v1').totals.phaseSeconds.install;
  assert.ok(Math.abs(slow - 2280) / 2280 <= 0.15, `bhyve-12.1 install ${slow} s`);
  assert.ok(Math.abs(fast - 370) / 370 <= 0.15, `bhyve-tpr-v1 install ${fast} s`);
  assert.ok(Math.abs(slow / fast - 2280 / 370) / (2280 / 370) <= 0.1, `ratio ${slow / fast}`);
  assert.equal(variant(r, 'bhyve-tpr-v1').totals.exits.CR_ACCESS ?? 0, 0);
});

test('seed: TPR thresholds (v2, v3) make the install a further 5-8 % faster than v1', () => {
  const r = run('win10-1909-install-tpr-threshold.yaml');
  const v1 = variant(r, 'bhyve-tpr-v1').totals.phaseSeconds.install;
  for (const name of ['bhyve-tpr-v2', 'bhyve-tpr-v3']) {
    const t = variant(r, name).totals.phaseSeconds.install;
    const gain = 1 - t / v1;
    assert.ok(gain >= 0.05 && gain <= 0.08, `${name} is ${(gain * 100).toFixed(2)} % faster`);
    assert.ok((variant(r, name).totals.exits.TPR_BELOW_THRESHOLD ?? 0) > 0, `${name} takes TPR-below-threshold exits`);
  }
});

test('seed: Linux and FreeBSD guests do not change between policies (+-2 %)', () => {
  const r = run('linux-freebsd-unaffected.yaml');
  const base = variant(r, 'bhyve-12.1').totals;
  for (const name of ['bhyve-tpr-v1', 'bhyve-tpr-v3']) {
    const t = variant(r, name).totals;
    assert.ok(Math.abs(t.phaseSeconds.build / base.phaseSeconds.build - 1) <= 0.02);
    assert.ok(Math.abs(t.exitsTotal / base.exitsTotal - 1) <= 0.02);
  }
  assert.equal(base.cr8Accesses, 0);
});

test('seed: the E5-2667 v4 with VID panics under v2 ("ISR and isrvec_stk out of sync") and not under v3', () => {
  for (const file of ['e5-2667v4-apicv-panic.yaml', 'e5-2667v4-apicv-panic-script.yaml']) {
    const r = run(file);
    const v2 = variant(r, 'bhyve-tpr-v2').totals.violations;
    assert.ok(v2.length > 0, `${file}: v2 reports the violation`);
    for (const viol of v2) {
      assert.equal(viol.check, 'isr_isrvec_stk_out_of_sync');
      assert.equal(viol.message, 'ISR and isrvec_stk out of sync');
      assert.ok(viol.step > 0);
      assert.ok(Array.isArray(viol.state.isr) && (viol.state.isr as number[]).length > 0, 'a vector is in service');
      assert.deepEqual(viol.state.isrvecStk, [], 'the CPU delivered it: bhyve never pushed its stack');
      assert.equal(viol.expected, true);
    }
    assert.deepEqual(variant(r, 'bhyve-tpr-v3').totals.violations, []);
  }
});

test('seed install scenarios use the calibrated installer work of the Windows model', async () => {
  const { loadModelData } = await import('../../src/model/data.js');
  const calibrated = loadModelData().guestModels.get('windows-10-1909')!.install.cpuWorkNs;
  for (const file of ['win10-1909-install-tpr-shadowing.yaml', 'win10-1909-install-tpr-threshold.yaml']) {
    const s = loadScenarioFile(join(seedDir, file));
    for (const v of s.variants) {
      for (const g of v.guests) {
        if (g.kind === 'modelled') assert.equal(g.phases.find((p) => p.phase === 'install')?.work, calibrated, file);
      }
    }
  }
});
