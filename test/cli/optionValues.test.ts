/**
 * An option's value the command cannot take: one line, `NAME: expected WHAT, found "TEXT"`, exit 2,
 * ending where the options are listed (src/cli/io.ts). A value left out at the end says what value
 * was expected; an option that took the scenario file as its value names itself; a value with a
 * unit where the option takes plain seconds, days or bytes says what it meant. docs/CLI.md, "Bad
 * input: what is checked", has the rows; test/cli/numberOptions.test.ts has the number forms.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import {
  capture,
  cli,
  CR8_SCENARIO as SCENARIO,
  IDLE_WINDOWS_SCENARIO as GOOD,
  importedProfile,
  refused,
  SYSBENCH_REPORT,
} from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-option-values-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const REPORT = SYSBENCH_REPORT;

test('run: an option that took the scenario as its value names itself (it said "no scenario file given")', async () => {
  const scenario = join(dir, 'opt.yaml');
  writeFileSync(scenario, GOOD);
  const rows: [args: string[], says: RegExp][] = [
    [
      ['--workers', scenario],
      /^vmexit-lab run: --workers: expected an integer 1\.\.256, found ".*opt\.yaml"; 'vmexit-lab run --help' lists the options$/,
    ],
    [
      ['--seed', scenario],
      /^vmexit-lab run: --seed: expected an integer 0\.\.4294967295, found ".*opt\.yaml"; 'vmexit-lab run --help' lists the options$/,
    ],
    [
      ['--shard', scenario],
      /^vmexit-lab run: --shard: expected I\/N .*found ".*opt\.yaml"; 'vmexit-lab run --help' lists the options$/,
    ],
    [
      ['--out', scenario],
      /^vmexit-lab run: --out .*opt\.yaml: .*opt\.yaml is a YAML file that is there \(a scenario\?\)/,
    ],
    // No file at all is still said so.
    [['--quiet'], /^vmexit-lab run: no scenario file given/],
  ];
  for (const [args, says] of rows) {
    const r = await cli(['run', ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, says, args.join(' '));
  }
  assert.equal(readFileSync(scenario, 'utf8'), GOOD, 'the scenario is untouched');
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

test('an option whose value is missing at the end says what value it expected', async () => {
  for (const [args, expected] of [
    [
      ['import', 'perf-kvm-stat', REPORT, '--cpu', 'i7-6700K', '--duration'],
      /--duration needs a value: --duration TIME, how long the report's recording lasted/,
    ],
    [
      ['import', 'perf-kvm-stat', REPORT, '--duration', '10s', '--cpu'],
      /--cpu needs a value: --cpu ID, CPU profile of the measured host/,
    ],
    [
      ['what-if', 'web.yaml', '--phase'],
      /--phase needs a value: --phase TIME, a phase that took TIME on the measured host/,
    ],
    [['replay', SCENARIO, '--guest', '0', '--at'], /--at needs a value: --at SECONDS, simulated time of interest/],
    // run's long options put the description on the next line.
    [
      ['run', SCENARIO, '--timeline', 't.json', '--timeline-window'],
      /--timeline-window needs a value: --timeline-window FROM\.\.TO, /,
    ],
  ] as const) {
    const text = await refused(args);
    assert.match(text, expected);
    assert.match(text, /'vmexit-lab [a-z-]+ --help' lists the options$/);
  }
});

test('run --timeline whose option took the scenario file as its value says so', async () => {
  const text = await refused(['run', '-q', '--timeline', join(dir, 't.json'), '--timeline-window', SCENARIO]);
  assert.match(
    text,
    /--timeline takes one scenario file, found none: --timeline-window took .*win10-1909-cr8-exits\.yaml" as its value \(give --timeline-window FROM\.\.TO/,
  );
  assert.match(
    await refused(['run', '-q', '--timeline', join(dir, 't.json')]),
    /--timeline takes one scenario file, found none/,
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

test("what-if: a misspelt or out-of-range --tunable is named with what it expected; --max-increase takes 5% as compare's --max-regression does", async () => {
  const profile = join(dir, 'web.yaml');
  const io = capture();
  assert.equal(
    await main(
      [
        'import',
        'perf-kvm-stat',
        REPORT,
        '--cpu',
        'xeon-e5-2667v4',
        '--duration',
        '10s',
        '--vcpus',
        '2',
        '-o',
        profile,
      ],
      io,
    ),
    0,
    io.stderr.join('\n'),
  );
  // Was "no target configuration accepts the given tunables" for both.
  assert.match(
    await refused(['what-if', profile, '--tunable', 'kvm_intel.enable_apiv=0']),
    /--tunable: unknown tunable "kvm_intel\.enable_apiv" \(did you mean "kvm_intel\.enable_apicv"\?\)/,
  );
  assert.match(
    await refused(['what-if', profile, '--tunable', 'kvm_intel.enable_apicv=2']),
    /--tunable: kvm_intel\.enable_apicv must be 0\.\.1, found 2/,
  );
  const gate = capture();
  assert.notEqual(
    await main(
      ['what-if', profile, '--cpu', 'i7-6700K', '--policy', 'kvm', '--sim-seconds', '1', '-q', '--max-increase', '5%'],
      gate,
    ),
    2,
    gate.stderr.join('\n'),
  );
});
