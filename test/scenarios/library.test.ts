/**
 * Every scenario shipped in scenarios/ validates and runs (the seed scenarios also have their own
 * assertions in test/seed). Runs use the scenario as written, so a library file that grows too slow
 * for CI shows up here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { scenarioFiles } from '../../src/cli/commands/list.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { exitStatusOf } from '../../src/results/exitStatus.js';
import { REPO_ROOT } from '../../src/model/data.js';

const files = scenarioFiles().filter((f) => !relative(REPO_ROOT, f).startsWith('scenarios/seed/'));

test('the scenario library is not empty and covers fleets, x2APIC, AMD, a ping-pong and the default', () => {
  const names = files.map((f) => relative(REPO_ROOT, f));
  for (const expected of [
    'scenarios/default.yaml',
    'scenarios/library/mixed-fleet-every-cpu.yaml',
    'scenarios/library/x2apic-guests.yaml',
    'scenarios/library/amd-avic.yaml',
    'scenarios/library/linux-pipe-ping-pong.yaml',
  ]) {
    assert.ok(names.includes(expected), expected);
  }
});

for (const file of files) {
  test(`${relative(REPO_ROOT, file)} validates, runs, and passes its thresholds`, () => {
    const scenario = loadScenarioFile(file);
    const { results } = runScenario(scenario);
    assert.equal(results.variants.length, scenario.variants.length);
    for (const v of results.variants) assert.ok(v.totals.guestSeconds > 0, `${v.name} simulated something`);
    const failed = [...results.variants.flatMap((v) => v.thresholds), ...results.crossVariantThresholds].filter(
      (t) => !t.passed,
    );
    assert.deepEqual(failed, []);
    assert.equal(exitStatusOf(results), 0);
  });
}

test('the mixed fleet on every CPU: desktop Intel uses the TPR shadow, APICv Xeons deliver without injection exits', () => {
  const { results } = runScenario(loadScenarioFile(files.find((f) => f.endsWith('mixed-fleet-every-cpu.yaml'))!));
  const v = (name: string) => results.variants.find((x) => x.name === name)!.totals;
  assert.equal(v('i7-2620M').exits.CR_ACCESS ?? 0, 0, 'TPR shadow: no CR8 exits');
  assert.ok(
    (v('i7-2620M').exits.EXTERNAL_INTERRUPT ?? 0) > (v('xeon-e5-2667v4').exits.EXTERNAL_INTERRUPT ?? 0),
    'posted interrupts save kick exits',
  );
  assert.ok(
    v('xeon-e5-2667v4').interruptsInjected < v('i7-2620M').interruptsInjected,
    'virtual-interrupt delivery replaces injection',
  );
  assert.equal(v('epyc-7281').exits.VMEXIT_CR8_WRITE ?? 0, 0, 'bhyve never intercepts CR8 on SVM');
});

test('x2APIC guests: v3 turns TPR shadowing off in x2APIC mode only, Windows stays in xAPIC mode', () => {
  const { results } = runScenario(loadScenarioFile(files.find((f) => f.endsWith('x2apic-guests.yaml'))!), {
    perGuest: true,
  });
  const v3 = results.variants.find((x) => x.name === 'bhyve-tpr-v3')!;
  const ubuntu = v3.perGuest!.find((g) => g.os === 'ubuntu-18.04')!;
  const windows = v3.perGuest!.find((g) => g.os === 'windows-10-1909')!;
  assert.ok((ubuntu.exits.MSR_WRITE ?? 0) > 0, 'Linux EOIs by x2APIC MSR write');
  assert.equal(windows.exits.MSR_WRITE ?? 0, 0, 'Windows never touches x2APIC MSRs');
  assert.equal(windows.exits.CR_ACCESS ?? 0, 0, 'Windows is in xAPIC mode, so v3 keeps its TPR shadow');
  assert.ok(windows.cr8Accesses > 0);
});

test('pipe ping-pong: 4 MSR writes a halt on a desktop CPU, 3 with APICv (the EOI virtualized, the ICR write still exits)', () => {
  const { results } = runScenario(loadScenarioFile(files.find((f) => f.endsWith('linux-pipe-ping-pong.yaml'))!));
  const perHalt = (name: string): number => {
    const exits = results.variants.find((x) => x.name === name)!.totals.exits;
    return (exits.MSR_WRITE ?? 0) / (exits.HLT ?? 1);
  };
  // ICR write, EOI, tick restart at idle exit, timer arm at idle entry; a few ticks' re-arms besides.
  assert.ok(Math.abs(perHalt('i7-6700K') - 4) < 0.05, `i7-6700K: ${perHalt('i7-6700K')} MSR writes per HLT`);
  assert.ok(
    Math.abs(perHalt('xeon-e5-2667v4') - 3) < 0.05,
    `xeon-e5-2667v4: ${perHalt('xeon-e5-2667v4')} MSR writes per HLT`,
  );
});
