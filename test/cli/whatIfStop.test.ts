/**
 * Ctrl-C and SIGTERM during `what-if`: the configurations that ran to their end are printed (table or
 * --json) with the ones not run named, exit 130 / 143 as `run`; before the measured configuration
 * ran there is nothing to compare, and it says so. what-if ran its configurations on the main thread,
 * where no signal handler runs: Ctrl-C killed it with nothing printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { CLI } from '../support/startProcess.js';

const PROFILE = join('data', 'workloads', 'sysbench-kvm-2020.yaml');
/** Eight configurations; two run at a time, so when the first is done most are still to run. */
const ARGS = ['what-if', PROFILE, '--cpu', 'all', '--policy', 'kvm'];

interface Stopped {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run what-if for `simSeconds` a configuration and send `sig` at the first progress line that `when` matches. */
function stopWhatIf(simSeconds: number, extra: string[], sig: NodeJS.Signals, when: RegExp): Promise<Stopped> {
  const child = spawn(process.execPath, [CLI, ...ARGS, '--sim-seconds', String(simSeconds), ...extra], {
    cwd: REPO_ROOT,
    env: { ...process.env },
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (!sent && when.test(stderr)) {
      sent = true;
      child.kill(sig);
    }
  });
  // Bounded: a what-if that never stops is killed and fails below.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.on('close', (status, signal) => {
      clearTimeout(guard);
      resolve({ status, signal, stdout, stderr });
    }),
  );
}

/** The first configuration (the measured one) done: the progress line moved past [1/8]. */
const MEASURED_DONE = /\[[2-8]\/8\]/;

test('Ctrl-C in what-if --json: exit 130, the configurations that ran to their end on stdout, the others named in notRun', async () => {
  const r = await stopWhatIf(60, ['--json'], 'SIGINT', MEASURED_DONE);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 130, r.stderr);
  assert.match(
    r.stderr,
    /vmexit-lab what-if: interrupted: stopping; the configurations that ran to their end are shown/,
  );
  const json = JSON.parse(r.stdout) as { rows: { variant: string; isSource: boolean }[]; notRun: string[] };
  assert.ok(json.rows.length >= 1 && json.rows.length < 8, r.stdout);
  assert.equal(json.rows.length + json.notRun.length, 8);
  assert.equal(json.rows[0].isSource, true);
  assert.equal(json.rows[0].variant, 'kvm/xeon-e5-2667v4');
  for (const v of json.notRun) assert.ok(!json.rows.some((row) => row.variant === v), v);
  assert.match(
    r.stderr,
    new RegExp(
      `interrupted \\(Ctrl-C, SIGINT\\): ${json.rows.length} of 8 configurations ran to their end and are shown; not run: ${json.notRun.join(', ')} \\(exit status 130\\)`,
    ),
  );
});

test('SIGTERM in what-if: exit 143, the table of the configurations that ran, and a line that names those not run', async () => {
  const r = await stopWhatIf(60, [], 'SIGTERM', MEASURED_DONE);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 143, r.stderr);
  assert.match(r.stdout, /^kvm\/xeon-e5-2667v4 +[\d,.]+ +measured/m);
  // The line as printed, its 100-column wrap undone.
  const text = r.stdout.replace(/\n {2}/g, ' ');
  const line =
    /^terminated \(SIGTERM\): (\d) of 8 configurations ran to their end and are shown; not run: (.+) \(exit status 143\)\.$/m.exec(
      text,
    );
  assert.ok(line, r.stdout);
  for (const v of line[2].split(', '))
    assert.doesNotMatch(r.stdout, new RegExp(`^${v.replace(/[/.]/g, '\\$&')} `, 'm'));
});

test('Ctrl-C in what-if before the measured configuration ran to its end: exit 130, nothing on stdout, and why', async () => {
  const r = await stopWhatIf(3600, [], 'SIGINT', /\[\d\/8\]/);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 130, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /vmexit-lab what-if: interrupted \(Ctrl-C, SIGINT\) before the measured configuration \(kvm\/xeon-e5-2667v4\) ran to its end: nothing to compare the others against/,
  );
});
