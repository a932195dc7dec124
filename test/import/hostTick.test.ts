/**
 * import and what-if --host-tick-hz (src/import/hostTick.ts; docs/IMPORT.md "The measured host's
 * tick"): the fit reads host-interrupt exits as the host's ticks that landed while the vCPU ran, so the
 * tick it assumes sets the running share it finds. Before, import took the model's 250 Hz Linux tick
 * for every KVM host, and a CONFIG_HZ=1000 host's report came out with a share 4x too high.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-host-tick-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const BCC = join(REPO_ROOT, 'test/fixtures/reports/kvmexit-pid-threads-bcc-2021.txt');
const IMPORT = ['import', 'kvmexit', BCC, '--cpu', 'xeon-e5-2667v4'];

interface FitJson {
  readonly profile: { readonly perGuestSecond: Record<string, number>; readonly source: Record<string, unknown> };
  readonly fit: readonly { reason: string; measured: number; simulated: number; errorPercent: number | null }[];
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = capture();
  const code = await main(args, io);
  return { code, stdout: io.stdout.join('\n'), stderr: io.stderr.join('\n') };
}

/** The share of the time the fitted profile's vCPU runs: its HLTs per wall second over those per guest-second. */
function share(j: FitJson): number {
  const hlt = j.fit.find((r) => r.reason === 'HLT')!;
  return hlt.simulated / j.profile.perGuestSecond.hlts;
}

describe('import --host-tick-hz', () => {
  test('a report fitted at 1000 Hz runs its vCPU ~4x less of the time than at the default 250 Hz', async () => {
    const at250 = await run([...IMPORT, '--json']);
    const at1000 = await run([...IMPORT, '--host-tick-hz', '1000', '--json']);
    assert.equal(at250.code, 0, at250.stderr);
    assert.equal(at1000.code, 0, at1000.stderr);
    const j250 = JSON.parse(at250.stdout) as FitJson;
    const j1000 = JSON.parse(at1000.stdout) as FitJson;
    const ratio = share(j250) / share(j1000);
    assert.ok(ratio > 3.2 && ratio < 4.8, `share ${share(j250)} at 250 Hz, ${share(j1000)} at 1000 Hz: ratio ${ratio}`);
    assert.equal(j1000.profile.source.hostTickHz, 1000);
    assert.equal(j250.profile.source.hostTickHz, undefined);
  });

  test("a tick the host kernel does not offer exits 2 with the scenario key's message", async () => {
    const bad = await run([...IMPORT, '--host-tick-hz', '999']);
    assert.equal(bad.code, 2);
    const said = 'is not a tick rate the linux kernel offers (policy kvm); one of 100, 250, 300, 1000 Hz';
    assert.match(bad.stderr, new RegExp(`--host-tick-hz 999 ${escapeRegExp(said)}`));
    // The same words as a scenario's host.tickHz (src/scenario/variants.ts).
    const scenario = join(dir, 'tick.yaml');
    writeFileSync(
      scenario,
      'name: t\nhost: { cpu: i7-6700K, tickHz: 999 }\nhypervisor: { policy: kvm }\n' +
        'guests:\n  - { os: ubuntu-18.04, phases: [{ phase: idle, duration: 1s }] }\nduration: 1s\n',
    );
    const validated = await run(['validate', scenario]);
    assert.equal(validated.code, 2);
    assert.ok(validated.stderr.includes(`host.tickHz 999 ${said}`), validated.stderr);
    const low = await run([...IMPORT, '--host-tick-hz', '5']);
    assert.equal(low.code, 2);
    assert.match(low.stderr, /--host-tick-hz: expected an integer 10\.\.10000, found "5"/);
    // FreeBSD takes any kern.hz: under bhyve 999 is a tick.
    const fbsd = await run([
      'import',
      'kvmexit',
      BCC,
      '--cpu',
      'xeon-e5-2667v4',
      '--policy',
      'bhyve-12.1',
      '--host-tick-hz',
      '999',
      '--sim-seconds',
      '1',
      '--max-error',
      '1000000',
    ]);
    assert.ok(!fbsd.stderr.includes('not a tick rate'), fbsd.stderr);
  });
});

describe('the miss at the 1 % running-share floor', () => {
  test('names the tick it simulated and the option that states the measured one', async () => {
    const ctrlc = join(REPO_ROOT, 'test/fixtures/reports/kvmexit-all-threads-ctrlc-bcc-2021.txt');
    const args = ['import', 'kvmexit', ctrlc, '--cpu', 'xeon-e5-2667v4', '--duration', '5s', '--json'];
    for (const [extra, hz] of [
      [[], 250],
      [['--host-tick-hz', '100'], 100],
    ] as const) {
      const r = await run([...args, ...extra]);
      assert.equal(r.code, 1);
      const miss = (JSON.parse(r.stdout) as { misses: string[] }).misses.find((m) =>
        m.startsWith('EXTERNAL_INTERRUPT'),
      );
      assert.ok(miss, r.stderr);
      assert.match(
        miss,
        new RegExp(`a slower tick than the ${hz} Hz simulated \\(give the measured host's: import --host-tick-hz\\)`),
      );
    }
  });
});

describe("what-if reads the measured host's tick from the profile", () => {
  test("the measured row reproduces the report's EXTERNAL_INTERRUPT at the profile's 1000 Hz", async () => {
    const profile = join(dir, 'bcc1000.yaml');
    const imported = await run([...IMPORT, '--host-tick-hz', '1000', '-o', profile]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(readFileSync(profile, 'utf8'), /hostTickHz: 1000/);
    const measured = JSON.parse((await run([...IMPORT, '--host-tick-hz', '1000', '--json'])).stdout) as FitJson;
    const ext = measured.fit.find((r) => r.reason === 'EXTERNAL_INTERRUPT')!;
    const w = await run(['what-if', profile, '--policy', 'kvm', '--sim-seconds', '5', '--json', '-q']);
    assert.equal(w.code, 0, w.stderr);
    const rows = (
      JSON.parse(w.stdout) as {
        rows: { isSource: boolean; exitsPerSecond: Record<string, number>; hostTickHz?: number }[];
      }
    ).rows;
    const src = rows.find((r) => r.isSource)!;
    const got = src.exitsPerSecond.EXTERNAL_INTERRUPT ?? 0;
    // At the default 250 Hz the same profile takes a quarter of them.
    assert.ok(Math.abs(got - ext.measured) / ext.measured < 0.25, `${got} against ${ext.measured} measured`);
    assert.equal(src.hostTickHz, 1000);
    // --host-tick-hz on what-if overrides the profile's, and is checked as import checks it.
    const at250 = await run([
      'what-if',
      profile,
      '--policy',
      'kvm',
      '--sim-seconds',
      '5',
      '--json',
      '-q',
      '--host-tick-hz',
      '250',
    ]);
    const got250 =
      (JSON.parse(at250.stdout) as { rows: { exitsPerSecond: Record<string, number> }[] }).rows[0].exitsPerSecond
        .EXTERNAL_INTERRUPT ?? 0;
    assert.ok(got250 < 0.5 * got, `${got250} at 250 Hz against ${got} at 1000 Hz`);
    const bad = await run(['what-if', profile, '--host-tick-hz', '999', '-q']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--host-tick-hz 999 is not a tick rate the linux kernel offers \(policy kvm\)/);
  });
});
