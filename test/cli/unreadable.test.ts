/**
 * A scenario, report or profile the user may not read (mode 000): exit 2, the file named once and
 * why in words. run, validate and start printed node's `cannot read the file: EACCES: permission
 * denied, open 'x.yaml'` (the file twice), import and what-if the same after `cannot read x.yaml:`,
 * the scenario loader the same for a workload profile.
 * Root reads any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so as root the commands run without
 * those two capabilities (util-linux's setpriv, in every Debian): as nobody they could not read a
 * clone under a private temporary directory, which is where CI runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const root = process.getuid?.() === 0;

const NO_DAC_OVERRIDE = ['--bounding-set', '-dac_override,-dac_read_search'];

function cli(cwd: string, args: string[]): { status: number | null; stderr: string; error?: Error } {
  const command = root ? 'setpriv' : process.execPath;
  const argv = root ? [...NO_DAC_OVERRIDE, process.execPath, MAIN, ...args] : [MAIN, ...args];
  const r = spawnSync(command, argv, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: 'true' } });
  return { status: r.status, stderr: r.stderr, error: r.error };
}

test('an unreadable input file: exit 2, "permission denied (EACCES)" after the file named once', (t) => {
  if (process.platform === 'win32') return t.skip('no file modes');
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-unreadable-'));
  try {
    chmodSync(dir, 0o755);
    for (const f of ['s.yaml', 'report.txt', 'p.yaml']) {
      writeFileSync(join(dir, f), 'name: x\n');
      chmodSync(join(dir, f), 0o000);
    }
    // A readable scenario whose workload profile is not: the loader says it as the CLI does.
    writeFileSync(
      join(dir, 'w.yaml'),
      'name: x\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3 }\nguests:\n  - workload: p.yaml\n',
    );
    const probe = cli(dir, ['--version']);
    if (probe.error !== undefined || probe.status !== 0) {
      const why = `cannot run the CLI without root's file access here: ${probe.error?.message ?? probe.stderr}`;
      if (process.env.CI === 'true') assert.fail(why);
      return t.skip(why);
    }
    const cases: [string[], string][] = [
      [['run', '--quiet', 's.yaml'], 's.yaml: error: cannot read the file: permission denied (EACCES)'],
      [['validate', 's.yaml'], 's.yaml: error: cannot read the file: permission denied (EACCES)\ns.yaml: 1 error'],
      [
        ['start', '--scenario', 's.yaml', '--port', '0'],
        's.yaml: error: cannot read the file: permission denied (EACCES)',
      ],
      [
        ['import', 'perf-kvm-stat', 'report.txt', '--cpu', 'i7-6700K', '--duration', '30s'],
        'vmexit-lab import: cannot read report.txt: permission denied (EACCES)',
      ],
      [['what-if', 'p.yaml'], 'vmexit-lab what-if: cannot read p.yaml: permission denied (EACCES)'],
      [
        ['validate', 'w.yaml'],
        'w.yaml:5:15: error: guests[0].workload: invalid workload profile p.yaml:\n' +
          'cannot read it: permission denied (EACCES)\nw.yaml: 1 error',
      ],
    ];
    for (const [args, line] of cases) {
      const r = cli(dir, args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd(), line, args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
