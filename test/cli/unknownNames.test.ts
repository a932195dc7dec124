/**
 * A name the command line gives that the tool does not know (a format, policy, CPU, OS, tunable,
 * kind, variant, validation case) ends as every other command-line problem does, with where the
 * options are listed (src/cli/io.ts usageProblem): `unknown policy "KVM" (did you mean "kvm"?):
 * expected one of ...` ended there in import and what-if, and the others each their own way. A
 * name spelt as people say it gets the right spelling; a command that is an option of another
 * (`report`, `html`, `diff`, `check`) says where it is.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { cli, importedProfile, SYSBENCH_REPORT as REPORT } from '../support/cli.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-unknown-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic-script.yaml');

test("an unknown name on the command line: exit 2, one line naming it, ending with the command's --help", async () => {
  const profile = await importedProfile(join(dir, 'web.yaml'));
  const imp = ['import', 'perf-kvm-stat', REPORT, '--cpu', 'xeon-e5-2667v4', '--duration', '30s'];
  const rows: [args: string[], says: string][] = [
    [['import', 'perf_kvm_stat', REPORT, '--cpu', 'i7-6700K'], 'unknown format "perf_kvm_stat" (did you mean'],
    [['import', 'perf-kvm-stat', REPORT, '--cpu', 'xeon-e5-2667'], 'unknown CPU profile "xeon-e5-2667"'],
    [['import', 'perf-kvm-stat', REPORT], '--cpu is required'],
    [[...imp, '--policy', 'KVM'], 'unknown policy "KVM" (did you mean "kvm"?): expected one of '],
    [[...imp, '--os', 'Windows-10-1909'], 'unknown --os "Windows-10-1909" (did you mean "windows-10-1909"?)'],
    [[...imp, '--tunable', 'kvm_intel.enable_apiv=0'], '--tunable: unknown tunable "kvm_intel.enable_apiv"'],
    [[...imp, '--tunable', 'kvm_intel.enable_apicv=2'], '--tunable: kvm_intel.enable_apicv must be 0..1, found 2'],
    [[...imp, '--host-tick-hz', '999'], '--host-tick-hz 999 is not a tick rate the linux kernel offers'],
    [['import', 'bhyvectl', REPORT, '--cpu', 'xeon-e5-2667v4'], '--policy is required for bhyvectl reports'],
    [['what-if', profile, '--policy', 'kvm,Bhyve-TPR-v3'], 'unknown policy "Bhyve-TPR-v3" (did you mean'],
    [['what-if', profile, '--from', 'xeon-e5-2667v4:KVM'], 'unknown policy "KVM" (did you mean "kvm"?)'],
    [['what-if', profile, '--from', 'xeon-e5-2667:kvm'], 'unknown CPU profile "xeon-e5-2667"'],
    [['what-if', profile, '--cpu', 'i7-6700K,epyc'], 'unknown CPU profile "epyc"'],
    [['what-if', profile, '--tunable', 'kvm_amd.avc=1'], '--tunable: unknown tunable "kvm_amd.avc"'],
    [['what-if', profile, '--host-tick-hz', '999'], '--host-tick-hz 999 is not a tick rate'],
    [['list', 'polices'], 'unknown kind "polices"'],
    [['cpus', 'show', 'xeon-e5-2667'], 'unknown CPU profile "xeon-e5-2667"'],
    [['trace', SCRIPT, '--variant', 'bhyve-tpr-v4'], 'unknown variant "bhyve-tpr-v4"'],
    [['validate-model', '--case', 'no-such-case'], 'no case matches no-such-case'],
  ];
  const wrong: string[] = [];
  for (const [args, says] of rows) {
    const r = await cli(args);
    const command = args[0];
    const line = new RegExp(
      `^vmexit-lab ${command}: ${escapeRegExp(says)}.*; 'vmexit-lab ${command} --help' lists the options$`,
    );
    if (r.status !== 2 || !line.test(r.stderr))
      wrong.push(`${args.slice(0, 2).join(' ')} ... -> ${r.status}: ${r.stderr}`);
  }
  assert.deepEqual(wrong, []);
});

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

test('a command that is an option of another (report, html, diff, check) says where it is, not a look-alike', async () => {
  // `report` was offered "import"; `html`, `diff` and `check` nothing.
  const rows: [command: string, says: string][] = [
    ['report', 'unknown command "report": the reports are options of run: \'vmexit-lab run --html report.html'],
    ['html', 'unknown command "html": the reports are options of run: \'vmexit-lab run --html report.html'],
    ['diff', 'unknown command "diff": \'vmexit-lab compare OLD.json NEW.json\' compares two results.json files'],
    ['check', 'unknown command "check": \'vmexit-lab validate FILE...\' checks scenario files without running them'],
  ];
  for (const [command, says] of rows) {
    const r = await cli([command, 'results.json']);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(says), r.stderr);
    assert.doesNotMatch(r.stderr, /did you mean "import"/);
  }
});
