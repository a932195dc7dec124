/**
 * The fit's host interrupts set the vCPU's running share (src/import/runningShare.ts shareFor, irqForShare;
 * docs/IMPORT.md "Host interrupts fit the running share"). Before, an EXTERNAL_INTERRUPT that
 * overshot with its driver at zero only cut the wake-up interrupt rate, and the best iterate was
 * the one before the cut: bcc's kvmexit example missed by +763 % and was called infeasible, Leo Yan's
 * live table missed five reasons by 6-8 %, and an idle Windows table read over 10 s had it 2x over.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const report = (name: string) => join(REPO_ROOT, 'test/fixtures/reports', name);

interface FitJson {
  readonly profile: { readonly interruptsPerSecond: number; readonly perGuestSecond: Record<string, number> };
  readonly fit: readonly { reason: string; measured: number; simulated: number; errorPercent: number | null }[];
  readonly misses: readonly string[];
}

async function fit(args: string[]): Promise<{ code: number; json: FitJson; stderr: string }> {
  const io = capture();
  const code = await main(['import', ...args, '--json'], io);
  return { code, json: JSON.parse(io.stdout.join('\n')) as FitJson, stderr: io.stderr.join('\n') };
}

function row(j: FitJson, reason: string) {
  const r = j.fit.find((x) => x.reason === reason);
  assert.ok(r, `no fit row for ${reason}`);
  return r;
}

describe('import: host interrupts fit the running share', () => {
  test("bcc kvmexit's example (Intel, 2 vCPUs, 5 s) fits EXTERNAL_INTERRUPT at a few per cent running share", async () => {
    const { code, json } = await fit([
      'kvmexit',
      report('kvmexit-pid-threads-bcc-2021.txt'),
      '--cpu',
      'xeon-e5-2667v4',
    ]);
    assert.equal(code, 0, json.misses.join('\n'));
    const ext = row(json, 'EXTERNAL_INTERRUPT');
    assert.ok(Math.abs(ext.errorPercent!) <= 5, `EXTERNAL_INTERRUPT ${ext.simulated} against ${ext.measured}`);
    for (const reason of ['MSR_WRITE', 'HLT', 'VMX_PREEMPTION_TIMER', 'EPT_MISCONFIG'])
      assert.ok(Math.abs(row(json, reason).errorPercent!) <= 5, `${reason} ${row(json, reason).errorPercent} %`);
    // The share the profile runs: HLTs per wall second over HLTs per second of guest execution.
    const share = row(json, 'HLT').simulated / json.profile.perGuestSecond.hlts;
    assert.ok(share > 0.02 && share < 0.15, `running share ${share}`);
    // Fewer wake-ups than the starting two per HLT, more than one per HLT.
    const hlt = row(json, 'HLT').measured;
    assert.ok(json.profile.interruptsPerSecond > hlt && json.profile.interruptsPerSecond < 1.5 * hlt);
  });

  test("Leo Yan's live table (1 s refresh) fits every reason within 5 %", async () => {
    const { code, json } = await fit([
      'perf-kvm-stat',
      report('perf-intel-live-leoyan-2023.txt'),
      '--cpu',
      'xeon-e5-2667v4',
      '--duration',
      '1s',
    ]);
    assert.equal(code, 0);
    for (const r of json.fit)
      if (r.errorPercent !== null) assert.ok(Math.abs(r.errorPercent) <= 5, `${r.reason} ${r.errorPercent} %`);
  });

  test("huataihuang's idle Windows table read as a 10 s recording: EXTERNAL_INTERRUPT is reached, not left 2x over", async () => {
    // The same counts over 10 s: every rate a tenth, the vCPU mostly halted (before: +114 %, a miss).
    const { json } = await fit([
      'perf-kvm-stat',
      report('perf-intel-live-win10-hpet-2018.txt'),
      '--cpu',
      'xeon-e5-2667v4',
      '--duration',
      '10s',
    ]);
    const ext = row(json, 'EXTERNAL_INTERRUPT');
    assert.ok(Math.abs(ext.errorPercent!) <= 5, `EXTERNAL_INTERRUPT ${ext.simulated} against ${ext.measured}`);
    assert.ok(!json.misses.some((m) => m.startsWith('EXTERNAL_INTERRUPT')), json.misses.join('\n'));
  });

  test('a vCPU that ran less than the 1 % a profile may run: the miss says so', async () => {
    const { code, json } = await fit([
      'kvmexit',
      report('kvmexit-all-threads-ctrlc-bcc-2021.txt'),
      '--cpu',
      'xeon-e5-2667v4',
      '--duration',
      '5s',
    ]);
    assert.equal(code, 1);
    const miss = json.misses.find((m) => m.startsWith('EXTERNAL_INTERRUPT'));
    assert.ok(miss, json.misses.join('\n'));
    assert.match(miss, /the vCPU runs 1\.0 % of the time here, the least a fitted profile may/);
    assert.doesNotMatch(miss, /infeasible for this configuration/);
  });
});
