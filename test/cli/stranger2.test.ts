/**
 * The second stranger pass (2026-12-06; docs/CLI.md, "Bad input: what is checked", the rows that
 * name this file): a new user's mistakes that still got node's words, a stack trace or a message
 * that named neither the file nor what it was. Each test failed before its fix.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { main } from '../../src/cli/main.js';
import { capture, cli, importedProfile } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-stranger2-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const aFile = join(dir, 'profile.yaml');
writeFileSync(aFile, 'id: x\n');
const emptyDir = join(dir, 'empty');
mkdirSync(emptyDir);
const SCENARIO = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');

test('cpus --dir, validate --cpus, validate-model --dir: a file or an empty directory is exit 2 with what was expected', async () => {
  const rows: [args: string[], says: RegExp][] = [
    // Was `vmexit-lab: internal error: Error: ENOTDIR: not a directory, scandir` with a stack trace, exit 3.
    [['cpus', '--dir', aFile], /--dir .*profile\.yaml: a file, not a directory \(expected a directory of CPU profiles/],
    // Was the table's header alone, exit 0.
    [['cpus', '--dir', emptyDir], /--dir .*empty: holds no \*\.yaml file \(expected a directory of CPU profiles/],
    [['cpus', 'show', 'i7-6700K', '--dir', emptyDir], /--dir .*empty: holds no \*\.yaml file/],
    // Was `cannot load the CPU profiles: ENOTDIR: not a directory, scandir 'FILE'`.
    [['validate', '--cpus', aFile, SCENARIO], /--cpus .*profile\.yaml: a file, not a directory \(expected a directory/],
    [['validate', '--cpus', emptyDir, SCENARIO], /--cpus .*empty: holds no \*\.yaml file/],
    // Was `cannot read FILE: ENOTDIR: ...` and, for an empty directory, `no case matches  (known: )`.
    [
      ['validate-model', '--dir', aFile],
      /--dir .*profile\.yaml: a file, not a directory \(expected a directory of validation cases/,
    ],
    [
      ['validate-model', '--dir', emptyDir],
      /--dir .*empty: holds no \*\.yaml file \(expected a directory of validation cases/,
    ],
    [
      ['cpus', '--dir', join(dir, 'nowhere')],
      /--dir .*nowhere: no such directory \(expected a directory of CPU profiles/,
    ],
  ];
  for (const [args, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says, args.join(' '));
    assert.doesNotMatch(r.stderr, /ENOTDIR|scandir|known: \)/, args.join(' '));
  }
});

test("compare and merge: the tool's other files (a service run record, JUnit, a profile, what-if --json) say what they are, FILE:1:1", async () => {
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const results = join(dir, 'results.json');
  const ran = await cli(['run', '--quiet', '--out', results, SCENARIO]);
  assert.equal(ran.status, 0, ran.stderr);
  // `curl .../api/runs/ID > results.json`: the run's record, not .../results (was: "results version undefined").
  const record = write(
    'record.json',
    JSON.stringify({
      id: 'f08f115b-1982-46e1-ac97-4fc5e635239d',
      scenario: 'my-windows-host',
      state: 'completed',
      variants: ['bhyve-12.1', 'bhyve-tpr-v3'],
      hasResults: true,
    }),
  );
  const list = write('runs.json', JSON.stringify({ runs: [] }));
  const junit = write('junit.xml', '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="vmexit-lab"/>\n');
  const profile = write(
    'web.yaml',
    '# vmexit-lab workload profile v1 (docs/IMPORT.md)\nworkloadProfile:\n  name: web\n',
  );
  const report = write(
    'report.txt',
    readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'reports', 'perf-intel-sysbench-2020.txt'), 'utf8'),
  );
  const whatIf = write('what-if.json', JSON.stringify({ profile: {}, rows: [], verdict: {} }));
  const compared = write('compare.json', JSON.stringify({ old: {}, new: {}, deltas: [], regressions: [] }));
  const html = write('report.html', '<!DOCTYPE html>\n<html><head><title>vmexit-lab</title></head></html>\n');
  const noVersion = write('noversion.json', JSON.stringify({ scenario: 's', variants: [] }));
  const rows: [file: string, says: RegExp][] = [
    [
      record,
      /record\.json:1:1: this is a service run record \(GET \/api\/runs\/ID\) of run f08f115b-.*, not its results\.json: GET \/api\/runs\/f08f115b-1982-46e1-ac97-4fc5e635239d\/results/,
    ],
    [list, /runs\.json:1:1: this is the service's list of runs \(GET \/api\/runs\)/],
    [junit, /junit\.xml:1:1: this is JUnit XML \('run --junit' writes it\), not results\.json/],
    [profile, /web\.yaml:1:1: this is a workload profile \('vmexit-lab import' writes it\), not results\.json/],
    [report, /report\.txt:1:1: this is a perf-kvm-stat report, not results\.json/],
    [whatIf, /what-if\.json:1:1: this is 'vmexit-lab what-if --json' output, not results\.json/],
    [compared, /compare\.json:1:1: this is 'vmexit-lab compare --json' output, not results\.json/],
    [html, /report\.html:1:1: this is an HTML report \('run --html' writes it\), not results\.json/],
    [noVersion, /noversion\.json: no "version" \(expected the results\.json/],
  ];
  for (const [file, says] of rows) {
    for (const args of [
      ['compare', file, results],
      ['merge', file],
    ]) {
      const r = await cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, says, args.join(' '));
      assert.doesNotMatch(r.stderr, /version undefined|Unexpected token/, args.join(' '));
    }
  }
});

test('validate warns when maxDuration or duration ends before a work phase starts (a bare number is seconds)', async () => {
  const file = join(dir, 'short.yaml');
  writeFileSync(
    file,
    [
      'name: short',
      'host: { cpu: i7-6700K, cores: 8 }',
      'hypervisor: { policy: bhyve-tpr-v3 }',
      'guests:',
      '  - os: windows-10-1909',
      '    vcpus: 2',
      '    phases:',
      '      - { phase: boot, duration: 10s }',
      '      - { phase: install, work: 20s }',
      'duration: until-complete',
      'maxDuration: 10',
      '',
    ].join('\n'),
  );
  const r = await cli(['validate', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /short\.yaml:11:1: warning: maxDuration \(10 s\) ends before the install phase of guest windows-10-1909 starts \(the phases before it last 10 s\): the run stops with install not done/,
  );
  assert.match(r.stderr, /a number without a unit is seconds: write 10m for minutes/);
  // run says it too, before it runs (its summary said only 'phases -' and no threshold named why).
  const ran = await cli(['run', '--quiet', file]);
  assert.match(ran.stderr, /short\.yaml:11:1: warning: maxDuration \(10 s\) ends before the install phase/);
  // Room for the work phase: no warning.
  writeFileSync(file, readFileSync(file, 'utf8').replace('maxDuration: 10', 'maxDuration: 10m'));
  const ok = await cli(['validate', file]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /warning/);
});

test('serve --data-dir FILE and start --scenario DIR: exit 2, what the option expects', async () => {
  // Was `cannot start the service: ENOTDIR: not a directory, open 'FILE/service.lock'`.
  const serve = await cli(['serve', '--port', '0', '--data-dir', aFile]);
  assert.equal(serve.status, 2, serve.stderr);
  assert.match(
    serve.stderr,
    /vmexit-lab serve: --data-dir .*profile\.yaml: a file, not a directory \(expected the directory that keeps the run history; it is made when missing\)/,
  );
  assert.doesNotMatch(serve.stderr, /ENOTDIR/);
  // Was `DIR: error: is a directory, not a scenario file`, nothing expected (run says it).
  const start = await cli(['start', '--port', '0', '--scenario', emptyDir]);
  assert.equal(start.status, 2, start.stderr);
  assert.match(
    start.stderr,
    /empty: error: is a directory, not a scenario file \(expected one scenario file, e\.g\. one of .*empty\/\*\.yaml\)/,
  );
});

test('an option in seconds, days or bytes given with a unit says its unit and the value it meant', async () => {
  const profile = await importedProfile(join(dir, 'w.yaml'));
  // Each was `--max-duration: expected an integer >= 1, found "1h"`, no unit named.
  const rows: [args: string[], says: string][] = [
    [['serve', '--port', '0', '--max-duration', '1h'], '--max-duration is in seconds, without a unit: 1h is 3600'],
    [['serve', '--port', '0', '--max-run-time', '10m'], '--max-run-time is in seconds, without a unit: 10m is 600'],
    [['start', '--port', '0', '--retire-after', '90s'], '--retire-after is in seconds, without a unit: 90s is 90'],
    [['serve', '--port', '0', '--keep-days', '7d'], '--keep-days is in days, without a unit: 7d is 7'],
    [['serve', '--port', '0', '--body-limit', '2MiB'], '--body-limit is in bytes, without a unit: 2MiB is 2097152'],
    [
      ['replay', SCENARIO, '--variant', 'base', '--guest', '0', '--at', '1s'],
      '--at is in seconds, without a unit: 1s is 1',
    ],
    [
      ['replay', SCENARIO, '--variant', 'base', '--guest', '0', '--at', '1', '--window', '500us'],
      '--window is in seconds, without a unit: 500us is 0.0005',
    ],
    [['what-if', profile, '--sim-seconds', '10s'], '--sim-seconds is in seconds, without a unit: 10s is 10'],
  ];
  for (const [args, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(says), `${args.join(' ')}: ${r.stderr}`);
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

test('npm start on a port in use says how to give npm the port (npm start -- --port N)', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address() as AddressInfo;
  try {
    const io = { ...capture(), env: { CI: 'true', npm_lifecycle_event: 'start' } };
    const status = await main(['start', '--port', String(port)], io);
    const stderr = io.stderr.join('\n');
    assert.equal(status, 2, stderr);
    // Was `port N is in use; pick another with --port (0 = any free port)`: `npm start --port 0` is npm's option, not ours.
    assert.match(
      stderr,
      new RegExp(`port ${port} is in use; pick another with --port \\(0 = any free port\\): npm start -- --port 8081`),
    );
  } finally {
    await new Promise((resolve) => busy.close(resolve));
  }
});
