/**
 * A gate's figure never reads as its limit when it is not the limit: compare printed
 * `(+5 %, over --max-regression 5 %)` for a change of +5.0007 %, import `misses X by 5.00 % (more
 * than --max-error 5 %)` for 5.004 %. The digits that tell them apart are added
 * (src/results/figures.ts changeAgainstText, as thresholdFigures does for a threshold and its bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { missText } from '../../src/cli/importText.js';
import { changeAgainstText, changeText } from '../../src/results/figures.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import type { RunResults } from '../../src/results/types.js';
import { capture } from '../support/cli.js';

test('changeAgainstText: the change as changeText prints it unless that reads as the limit', () => {
  const cases: [percent: number, limit: number, text: string][] = [
    [5.0007, 5, '+5.0007 %'],
    [4.9996, 5, '+4.9996 %'],
    [5, 5, '+5 %'],
    [23.6, 5, '+23.6 %'],
    [5.04, 5, '+5.04 %'],
    [100.4, 100, '+100.4 %'],
    [-0.0001, 0, '-0.0001 %'],
    [0.30000000000000004, 0.3, '+0.30000000000000004 %'],
  ];
  for (const [p, limit, text] of cases) assert.equal(changeAgainstText(p, limit), text, `${p} against ${limit}`);
  assert.equal(changeText(5.0007), '+5 %', 'what the gate printed');
  assert.equal(missText(5.004, 5), '5.004');
  assert.equal(missText(5.0000001, 5), '5.0000001');
  assert.equal(missText(7.126, 5), '7.13', 'two decimals where they read apart');
});

test('compare --max-regression 5 on a change of +5.0007 %: the regression line and the table say +5.0007 %, not +5 %', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-gate-figures-'));
  try {
    const base = runScenario(
      parseScenario(
        'name: gate\nhost: { cpu: i7-6700K, cores: 4 }\nhypervisor: { policy: kvm }\n' +
          'guests:\n  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle }] }\nduration: 1s\n',
        'gate.yaml',
      ),
    ).results;
    const v = base.variants[0];
    const t = { ...v.totals, exitsTotal: 1_000_000 };
    // 50,007 exits more: +5.0007 %, which rounds to +5 % at three significant digits.
    const exitsTotal = 1_050_007;
    const pct = ((exitsTotal - t.exitsTotal) / t.exitsTotal) * 100;
    assert.ok(pct > 5 && changeText(pct) === '+5 %', `the case: ${pct}`);
    const before: RunResults = { ...base, variants: [{ ...v, totals: t }] };
    const patched: RunResults = { ...base, variants: [{ ...v, totals: { ...t, exitsTotal } }] };
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify(before));
    writeFileSync(b, JSON.stringify(patched));
    const io = capture();
    assert.equal(await main(['compare', '--metric', 'exits/s (all)', '--max-regression', '5', a, b], io), 1);
    const out = io.stdout.join('\n');
    const shown = changeAgainstText(pct, 5);
    assert.notEqual(shown, '+5 %');
    assert.match(
      out,
      new RegExp(`^regression: base exits/s \\(all\\) .* \\(\\${shown}, over --max-regression 5 %\\)$`, 'm'),
    );
    assert.match(out, new RegExp(`^base +exits/s \\(all\\) .* \\${shown}$`, 'm'));
    assert.doesNotMatch(out, /\+5 %/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
