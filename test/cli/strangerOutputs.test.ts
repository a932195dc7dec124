/**
 * A stranger's pass over import, what-if, replay and run --timeline (2026-12-06): every command of
 * docs/IMPORT.md, docs/REPLAY.md and docs/TIMELINE.md run as written, then each with a common
 * mistake. Every error says what was expected (FILE:LINE:COL where there is a file) and exits 2.
 * These are the ones that did not (docs/CLI.md, "Bad input", has the rows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-stranger-outputs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = join(REPO_ROOT, 'scenarios/seed/win10-1909-cr8-exits.yaml');
const REPORT = join(REPO_ROOT, 'test/fixtures/reports/perf-intel-sysbench-2020.txt');

async function refused(args: readonly string[]): Promise<string> {
  const io = capture();
  const status = await main([...args], io);
  const text = io.stderr.join('\n');
  assert.equal(status, 2, `${args.join(' ')}: ${text}`);
  assert.deepEqual(io.stdout, [], args.join(' '));
  return text;
}

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

test('a report or a profile that is not there says what file was expected', async () => {
  assert.match(
    await refused(['import', 'perf-kvm-stat', join(dir, 'report.txt'), '--cpu', 'i7-6700K', '--duration', '30s']),
    /report\.txt: no such file \(ENOENT\); expected the perf-kvm-stat report saved to a file/,
  );
  assert.match(
    await refused(['what-if', join(dir, 'web.yaml')]),
    /web\.yaml: no such file \(ENOENT\); expected a workload profile, which 'vmexit-lab import FORMAT REPORT --cpu ID -o FILE' writes/,
  );
});

test("what-if of an empty file (what 'import ... > web.yaml' leaves when the import fails) says so", async () => {
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  const text = await refused(['what-if', empty]);
  assert.match(text, /empty\.yaml:1:1: error: the file is empty \(expected a workload profile/);
  assert.match(text, /a failed 'vmexit-lab import \.\.\. > FILE' leaves FILE empty/);
});

test('replay and run --timeline: a missing scenario, a results.json or a report given as the scenario', async () => {
  const missing = await refused(['replay', join(dir, 'missing.yaml'), '--guest', '0', '--at', '1']);
  assert.match(missing, /missing\.yaml: error: cannot read the file: ENOENT, no such file \(expected a scenario file/);
  assert.doesNotMatch(missing, /stat '/);

  const results = join(dir, 'results.json');
  assert.equal(await main(['run', '-q', '--out', results, SCENARIO], capture()), 0);
  const r = await refused(['replay', results, '--guest', '0', '--at', '1']);
  assert.equal(r.split('\n').length, 1, r);
  assert.match(
    r,
    /results\.json:1:1: error: this is a results\.json \(of scenario "win10-1909-cr8-exits"\), not a scenario \(expected the scenario file it was run from/,
  );

  const t = await refused(['run', '-q', '--timeline', join(dir, 't.json'), REPORT]);
  assert.equal(t.split('\n').length, 1, t);
  assert.match(
    t,
    /perf-intel-sysbench-2020\.txt:1:1: error: this is a perf-kvm-stat report, not a scenario \(expected a scenario file; make the report a guest with 'vmexit-lab import perf-kvm-stat /,
  );
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
