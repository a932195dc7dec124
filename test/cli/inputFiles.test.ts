/**
 * An input file of import, what-if, replay and run --timeline that is not there, empty, or of
 * another kind (a results.json or an exit report given as the scenario): exit 2, one line naming
 * the file (FILE:LINE:COL where there is a place) and what was expected (docs/CLI.md, "Bad input:
 * what is checked"). test/cli/resultsFile.test.ts has compare's and merge's inputs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture, CR8_SCENARIO as SCENARIO, refused, SYSBENCH_REPORT as REPORT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-input-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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
