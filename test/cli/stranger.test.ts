/**
 * A stranger's mistakes on the command line (the stranger pass of 2026-12-06; docs/CLI.md, "Bad
 * input: what is checked", the rows that name this file): each test failed before its fix.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, importedProfile, SYSBENCH_REPORT as REPORT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-stranger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('import and what-if: a format, policy or OS spelt as people say it gets the right spelling, exit 2', async () => {
  const profile = await importedProfile(join(dir, 'web.yaml'));
  const rows: [args: string[], says: string][] = [
    [
      ['import', 'perf_kvm_stat', REPORT, '--cpu', 'i7-6700K'],
      'unknown format "perf_kvm_stat" (did you mean "perf-kvm-stat"?)',
    ],
    [['import', 'kvm_stat', REPORT, '--cpu', 'i7-6700K'], 'unknown format "kvm_stat" (did you mean "kvm-stat"?)'],
    [
      ['import', 'perf-kvm-stat', REPORT, '--cpu', 'i7-6700K', '--policy', 'KVM'],
      'unknown policy "KVM" (did you mean "kvm"?)',
    ],
    [
      ['import', 'perf-kvm-stat', REPORT, '--cpu', 'i7-6700K', '--os', 'Windows-10-1909'],
      'unknown --os "Windows-10-1909" (did you mean "windows-10-1909"?)',
    ],
    [
      ['what-if', profile, '--policy', 'kvm,Bhyve-TPR-v3'],
      'unknown policy "Bhyve-TPR-v3" (did you mean "bhyve-tpr-v3"?)',
    ],
    [['what-if', profile, '--from', 'i7-6700K:KVM'], 'unknown policy "KVM" (did you mean "kvm"?)'],
  ];
  for (const [args, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.ok(r.stderr.includes(says), `${args.join(' ')}:\n${r.stderr}`);
  }
});

test('compare --max-regression 5%: taken as 5 (it said \'expects a percentage >= 0, found "5%"\')', async () => {
  const scenario = join(dir, 'tiny.yaml');
  writeFileSync(
    scenario,
    `name: tiny
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, phases: [{ phase: idle }] }
duration: 1s
`,
  );
  const out = join(dir, 'tiny.json');
  assert.equal((await cli(['run', '-q', '--out', out, scenario])).status, 0);
  const r = await cli(['compare', '--max-regression', '5%', out, out]);
  assert.equal(r.status, 0, r.stderr);
  const bad = await cli(['compare', '--max-regression', '5%%', out, out]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--max-regression: expected a percentage >= 0 \(5 or 5%\), found "5%%"/);
});

test('compare given a scenario instead of results.json: says so and how to make one (it said "not valid JSON: Unexpected token \'#\'")', async () => {
  const scenario = join(dir, 'my-scenario.yaml');
  writeFileSync(
    scenario,
    `# yaml-language-server: $schema=scenarios/scenario.schema.json
name: tiny
host: { cpu: i7-6700K, cores: 2 }
guests:
  - { os: ubuntu-18.04 }
`,
  );
  const r = await cli(['compare', scenario, scenario]);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `vmexit-lab compare: ${scenario}:2:1: this is a scenario, not results.json: run it with 'vmexit-lab run --out FILE ${scenario}' and compare the FILEs (expected the results.json 'vmexit-lab run --out' writes)`,
  );
});

test('compare of a results.json that is not there: says how to make it', async () => {
  const r = await cli(['compare', join(dir, 'baseline.json'), join(dir, 'results.json')]);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /baseline\.json: cannot read: no such file \(expected the results\.json 'vmexit-lab run --out FILE SCENARIO' writes\)/,
  );
});

test('a guest\'s "phase:" for "phases:": did you mean "phases" (it said only that "phase" goes under a phase)', async () => {
  const scenario = join(dir, 'phase.yaml');
  writeFileSync(
    scenario,
    `name: phase-key
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - os: ubuntu-18.04
    phase:
      - { phase: idle }
duration: 1s
`,
  );
  const r = await cli(['validate', scenario]);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /phase\.yaml:6:5: error: unknown key "phase" \(did you mean "phases"\?\) in guests\[0\]: "phase" itself goes under a phase \(an item of a guest's phases\)/,
  );
});
