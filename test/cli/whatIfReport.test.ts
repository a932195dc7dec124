/**
 * what-if as a hypervisor developer with a report in hand reads it: which figures are the report's
 * and which the model's (the measured row is a simulation too), the report's own rates beside the
 * configurations', and a report given where a profile belongs named as such, with the command that
 * makes the profile; `import` given another tool's report says which format it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-whatif-report-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const REPORTS = join(REPO_ROOT, 'test', 'fixtures', 'reports');

async function run(args: string[], status = 0): Promise<{ out: string; err: string }> {
  const io = capture();
  assert.equal(await main(args, io), status, io.stderr.join('\n'));
  return { out: io.stdout.join(''), err: io.stderr.join('\n') };
}

/** The row `label` of the reason table, as cells by column name. */
function reasonRow(text: string, label: string): Record<string, string> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('exits per vCPU-second by reason')) + 1;
  const head = lines[at].trim().split(/\s+/);
  const row = lines.slice(at + 2).find((l) => l.startsWith(`${label} `));
  assert.ok(row, text);
  return Object.fromEntries(head.map((h, i) => [h, row.trim().split(/\s+/)[i]]));
}

test("what-if says the report's figures from the model's, and lists the report's rates under the same names", async () => {
  const profile = join(dir, 'sysbench.yaml');
  const report = join(REPORTS, 'perf-intel-sysbench-2020.txt');
  const imported = await run([
    'import',
    'perf-kvm-stat',
    report,
    ...['--cpu', 'xeon-e5-2667v4', '--duration', '10s', '--vcpus', '2', '-o', profile],
  ]);
  assert.equal(imported.out, '');
  const args = ['what-if', profile, '--policy', 'kvm,bhyve-12.1', '--sim-seconds', '2', '-q'];
  const { out } = await run(args);
  const prose = out.replace(/\n {2}/g, ' ');
  // 25,898 exits over 10 s of 2 vCPUs.
  assert.match(
    prose,
    /source of the figures: the report \(perf-kvm-stat perf-intel-sysbench-2020\.txt\) measured 1,295 exits per vCPU-second \(its row 'report' below, from the profile's fit: section\); every figure of the tables is the model's, kvm\/xeon-e5-2667v4 too: the profile simulated on the measured host \(the fit's worst reason off by 0\.\d+ %\)\./,
  );
  // MSR_WRITE 9,167 over 20 vCPU-seconds; the report has no exit bhyve lacks a name for.
  assert.equal(reasonRow(out, 'report').msr, '458');
  assert.equal(reasonRow(out, 'report').timer, '286');
  const json = JSON.parse((await run([...args, '--json'])).out) as {
    report: { exitsPerSecondTotal: number; exitsPerSecondByCommonName: Record<string, number>; from: string };
  };
  assert.ok(Math.abs(json.report.exitsPerSecondTotal - 25898 / 20) < 0.01, String(json.report.exitsPerSecondTotal));
  assert.ok(Math.abs(json.report.exitsPerSecondByCommonName.msr - 9167 / 20) < 1e-3);
  assert.equal(json.report.from, "the profile's fit: section");
});

test("the report's rows without a model exit kind are in the profile's fit: section and in what-if's report row", async () => {
  const profile = join(dir, 'bhyve.yaml');
  const report = join(REPORTS, 'bhyvectl-intel-2vcpu-constructed.txt');
  await run(
    ['import', 'bhyvectl', report, '--cpu', 'xeon-e5-2667v4', '--policy', 'bhyve-12.1', '--duration', '60s'].concat([
      '--sim-seconds',
      '2',
      '-o',
      profile,
    ]),
  );
  // Every policy on the Xeon E5-2667 v4: bhyve-tpr-v2's guest stops there (exit 3, test/cli/whatIfGate.test.ts).
  const json = JSON.parse((await run(['what-if', profile, '--sim-seconds', '1', '-q', '--json'], 3)).out) as {
    report: { exitsPerSecond: Record<string, number>; exitsPerSecondTotal: number; worstFitErrorPercent: number };
  };
  // Those rows are -100 % by definition: said apart, not as the fit's worst error (which took their 100 %).
  const fit = (
    parse(readFileSync(profile, 'utf8')) as { fit: Record<string, { driver: string; errorPercent: number }> }
  ).fit;
  const fitted = Object.values(fit).filter((r) => r.driver !== 'unknown reason');
  assert.equal(json.report.worstFitErrorPercent, Math.max(...fitted.map((r) => Math.abs(r.errorPercent ?? 0))));
  assert.ok(Object.values(fit).some((r) => r.driver === 'unknown reason' && r.errorPercent === -100));
  const { out } = await run(['what-if', profile, '--sim-seconds', '1', '-q'], 3);
  assert.match(
    out.replace(/\n {2}/g, ' '),
    /\(the fit's worst reason off by [\d.]+ %; 85\.28 of the report's exits per vCPU-second have no exit kind in the model and are in 'report' only\)\./,
  );
  // Every exit of 'total number of vm exits' (118,867 + 83,202) over 60 s of 2 vCPUs, the 10,234 without
  // a counter of their own included.
  assert.ok(Math.abs(json.report.exitsPerSecondTotal - (118867 + 83202) / 120) < 0.01, JSON.stringify(json.report));
  assert.ok(
    Math.abs(json.report.exitsPerSecond["exits counted only in 'total number of vm exits'"] - 10234 / 120) < 1e-3,
  );
});

test("a profile written by hand: what-if says every figure is the model's", async () => {
  const profile = join(dir, 'hand.yaml');
  writeFileSync(
    profile,
    'workloadProfile: 1\nname: hand\nos: ubuntu-18.04\nvcpus: 1\nperGuestSecond: { hlts: 100, msrWrites: 500 }\ninterruptsPerSecond: 200\nsource: { cpu: i7-6700K, policy: kvm }\n',
  );
  const args = ['what-if', profile, '--policy', 'kvm', '--sim-seconds', '1', '-q'];
  const { out } = await run(args);
  assert.match(
    out.replace(/\n {2}/g, ' '),
    /source of the figures: every one is the model's \(the profile has no fit: section from 'vmexit-lab import', so no report to hold kvm\/i7-6700K against\)\./,
  );
  assert.doesNotMatch(out, /^report /m);
  assert.equal((JSON.parse((await run([...args, '--json'])).out) as { report: unknown }).report, null);
});

test('a report given to what-if, or to import as another format, is named with the command to use', async () => {
  const report = join(REPORTS, 'perf-intel-sysbench-2020.txt');
  const { err } = await run(['what-if', report], 2);
  assert.equal(
    err,
    `vmexit-lab what-if: ${report} is a perf-kvm-stat report, not a workload profile: make one with 'vmexit-lab import perf-kvm-stat ${report} --cpu ID ...' (docs/IMPORT.md), then ask what-if about it`,
  );
  const once = join(REPORTS, 'kvm_stat-once-intel-constructed.txt');
  const wrong = await run(['import', 'perf-kvm-stat', once, '--cpu', 'xeon-e5-2667v4', '--duration', '10s'], 2);
  const lines = wrong.err.split('\n');
  assert.match(
    lines[0],
    /^vmexit-lab import: .*kvm_stat-once-intel-constructed\.txt:2:1: expected the 'Analyze events/,
  );
  assert.equal(lines[1], `${once} reads as a kvm-stat report: vmexit-lab import kvm-stat ${once} ...`);
});

test('a --tunable that changes nothing the model uses on a target is said so, not left as a silent +0 %', async () => {
  const profile = join(dir, 'apicv.yaml');
  writeFileSync(
    profile,
    'workloadProfile: 1\nname: apicv\nos: ubuntu-18.04\nvcpus: 1\nperGuestSecond: { hlts: 100, msrWrites: 500 }\ninterruptsPerSecond: 200\nsource: { cpu: xeon-e5-2667v4, policy: kvm }\n',
  );
  const args = ['what-if', profile, '--cpu', 'epyc-7763,xeon-e5-2667v4', '--policy', 'kvm'];
  args.push('--tunable', 'kvm_intel.enable_apicv=0', '--sim-seconds', '1', '-q');
  const { out } = await run(args);
  const notes = out.replace(/\n {2}/g, ' ').split('\n');
  // The AMD CPU has no kvm_intel; the Xeon's APICv is what the tunable turns off.
  assert.ok(
    notes.includes(
      "note: kvm/epyc-7763: --tunable kvm_intel.enable_apicv=0 changes nothing the model uses here (the CPU profile lacks the feature, the tunable is the other vendor's module's, or the value is the default): the row is the policy's default configuration",
    ),
    out,
  );
  const json = JSON.parse((await run([...args, '--json'])).out) as {
    rows: { variant: string; tunablesWithoutEffect: string[] }[];
  };
  const effect = Object.fromEntries(json.rows.map((r) => [r.variant, r.tunablesWithoutEffect]));
  assert.deepEqual(effect, {
    'kvm/xeon-e5-2667v4': [],
    'kvm/epyc-7763': ['kvm_intel.enable_apicv=0'],
    'kvm/xeon-e5-2667v4 kvm_intel.enable_apicv=0': [],
  });
  // The default value is no change either.
  const same = await run([...args.slice(0, 6), '--tunable', 'kvm_intel.enable_apicv=1', '--sim-seconds', '1', '-q']);
  assert.match(same.out.replace(/\n {2}/g, ' '), /kvm\/epyc-7763: --tunable kvm_intel\.enable_apicv=1 changes nothing/);
});
