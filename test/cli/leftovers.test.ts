/**
 * The second stranger pass's leftovers (polish32): what a user of `start` and of the command line
 * still met after it. Each test failed before its fix.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { cli, importedProfile, SYSBENCH_REPORT } from '../support/cli.js';
import { startThenSignal } from '../support/startProcess.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-leftovers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');

test("start: the line that says the scenario is running links its run's HTML page (it linked the JSON record only)", async () => {
  let page: Response | undefined;
  let json: Response | undefined;
  const { exit, out, err } = await startThenSignal(join(dir, 'start'), /\n {2}running .*\n/, ['SIGTERM'], async (o) => {
    const line = /\n {2}running (.*)\n/.exec(o)![1];
    const m = /: (http:\/\/\S+\/runs\/([0-9a-f-]{36})) \(its page; JSON: (http:\/\/\S+\/api\/runs\/\2)\)$/.exec(line);
    assert.ok(m !== null, line);
    page = await fetch(m[1], { headers: { Accept: 'text/html' } });
    json = await fetch(m[3]);
  });
  assert.deepEqual(exit, [0, null], `${out}${err}`);
  assert.equal(page?.status, 200);
  assert.match(page?.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(json?.status, 200);
  assert.match(json?.headers.get('content-type') ?? '', /^application\/json/);
});

test("a bad option value, on every command: one line, 'NAME: expected WHAT, found \"TEXT\"', ending where the options are listed (run, compare, cpus, import and what-if ended without it, and some said 'expects')", async () => {
  const profile = await importedProfile(join(dir, 'web.yaml'));
  const timeline = join(dir, 't.json');
  const rows: [args: string[], command: string, says: string][] = [
    [['run', '--workers', '0', SCENARIO], 'run', '--workers: expected an integer 1..256, found "0"'],
    [['run', '--seed', 'x', SCENARIO], 'run', '--seed: expected an integer 0..4294967295, found "x"'],
    [['run', '--shard', '3/2', SCENARIO], 'run', '--shard: expected I/N with 1 <= I <= N, found "3/2"'],
    [['run', '--metrics-listen', 'x', SCENARIO], 'run', '--metrics-listen: expected [HOST:]PORT, found "x"'],
    [['run', '--push', 'ftp://x', SCENARIO], 'run', `--push: expected the Pushgateway's http(s) URL, found "ftp://x"`],
    [
      ['run', '--openmetrics', join(dir, 'o.txt'), '--start-time', 'today', SCENARIO],
      'run',
      '--start-time: expected an ISO 8601 date-time with a zone, e.g. 2026-11-25T06:00:00Z, found "today"',
    ],
    [
      ['run', '--timeline', timeline, '--timeline-window', '5..1', SCENARIO],
      'run',
      '--timeline-window: expected FROM..TO in simulated seconds with FROM < TO, e.g. 2..2.05, found "5..1"',
    ],
    [
      ['run', '--timeline', timeline, '--timeline-guest', 'x', SCENARIO],
      'run',
      '--timeline-guest: expected a guest index (an integer >= 0), found "x"',
    ],
    [
      ['compare', '--max-regression', 'x', 'a.json', 'b.json'],
      'compare',
      '--max-regression: expected a percentage >= 0 (5 or 5%), found "x"',
    ],
    [['cpus', '--cores', '0'], 'cpus', '--cores: expected an integer >= 1, found "0"'],
    [
      ['import', 'perf-kvm-stat', SYSBENCH_REPORT, '--cpu', 'i7-6700K', '--vcpus', '0'],
      'import',
      '--vcpus: expected an integer 1..64, found "0"',
    ],
    [
      ['import', 'perf-kvm-stat', SYSBENCH_REPORT, '--cpu', 'i7-6700K', '--duration', 'soon'],
      'import',
      '--duration: expected ',
    ],
    [['what-if', profile, '--sim-seconds', '0'], 'what-if', '--sim-seconds: expected a number 0.1..3600, found "0"'],
    [['replay', SCENARIO, '--guest', '0', '--at', '1', '--only-guests', 'a'], 'replay', '--only-guests: expected '],
  ];
  for (const [args, command, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr.split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`vmexit-lab ${command}: ${says}`), `${args.join(' ')}:\n${r.stderr}`);
    assert.ok(
      r.stderr.endsWith(`; 'vmexit-lab ${command} --help' lists the options`),
      `${args.join(' ')}:\n${r.stderr}`,
    );
  }
});

test('an output file that cannot be written says what to do and ends there, without the --help pointer (the fix is a directory, not an option)', async () => {
  const r = await cli(['run', '-o', join(dir, 'nowhere', 'r.json'), SCENARIO]);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `vmexit-lab run: --out ${join(dir, 'nowhere', 'r.json')}: cannot write there: the directory ${join(dir, 'nowhere')} does not exist (create it first)`,
  );
});

test("cpus import: a file it cannot import is named as validate and run name a bad scenario, 'FILE:LINE:COL: error: ... (expected ..., found ...)', not after 'vmexit-lab cpus:'", async () => {
  const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'profiles');
  const cpuinfo = readFileSync(join(fixtures, 'cpuinfo-core-i7-6600u.txt'), 'utf8');
  assert.match(cpuinfo, / vmx /);
  // A guest without nested virtualization: README says cpus import names the missing flag.
  const noVmx = join(dir, 'cpuinfo-in-a-vm.txt');
  writeFileSync(noVmx, cpuinfo.replace(/ vmx /g, ' '));
  const dmesg = readFileSync(join(fixtures, 'freebsd-xeon-e5-2667v4.dmesg'), 'utf8');
  const badHex = join(dir, 'bad-hex.dmesg');
  writeFileSync(badHex, dmesg.replace(/VT-x: Basic Features=0x[0-9a-f]+/, 'VT-x: Basic Features=zz'));
  const neither = join(dir, 'notes.txt');
  writeFileSync(neither, 'hello\n');
  const profiles = join(dir, 'cpus');
  mkdirSync(profiles);
  writeFileSync(join(profiles, 'x.yaml'), 'id: x\nmodel: [\n');
  const rows: [args: string[], says: RegExp][] = [
    [
      ['cpus', 'import', noVmx],
      new RegExp(
        `^${escapeRegExp(noVmx)}:\\d+:1: error: cannot import this CPU \\(expected the "vmx" flag \\(VT-x\\) in the flags line, found no "vmx"\\)$`,
      ),
    ],
    [
      ['cpus', 'import', badHex],
      new RegExp(
        `^${escapeRegExp(badHex)}:\\d+:\\d+: error: cannot import this CPU \\(expected Basic Features=0x<1-8 hex digits>, found "Basic Features=zz`,
      ),
    ],
    [
      ['cpus', 'import', neither],
      new RegExp(
        `^${escapeRegExp(neither)}:1:1: error: not a CPU description cpus import reads \\(expected a FreeBSD verbose-boot dmesg with a "VT-x:" block, or a Linux /proc/cpuinfo\\)$`,
      ),
    ],
    [
      ['cpus', 'import', join(dir, 'dmesg.boot')],
      new RegExp(
        `^${escapeRegExp(join(dir, 'dmesg.boot'))}: error: cannot read the file: no such file \\(ENOENT\\); dmesg\\.boot is FreeBSD's boot log: on Linux give /proc/cpuinfo$`,
      ),
    ],
    [
      ['cpus', '--dir', profiles],
      new RegExp(`^${escapeRegExp(join(profiles, 'x.yaml'))}:3:1: error: document: expected valid YAML, found `),
    ],
  ];
  for (const [args, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr.trimEnd(), says, args.join(' '));
  }
});
