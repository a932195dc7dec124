/**
 * compare and merge read results.json files (src/cli/resultsFile.ts). Given another file, they say
 * in one line what it is and what writes a results.json: a scenario, the service's run record or
 * list of runs, JUnit XML, a workload profile, an exit report, what-if or compare output, a file
 * that is not there. docs/CLI.md, "Bad input: what is checked", has the rows;
 * test/cli/compareDamaged.test.ts and mergeDamaged.test.ts have damaged results.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, CR8_SCENARIO as SCENARIO, IDLE_WINDOWS_SCENARIO as GOOD } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-results-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('compare and merge of a file that is not JSON (a scenario): one line (the excerpt of its first bytes, newlines and all, was kept)', async () => {
  const scenario = join(dir, 'not-results.yaml');
  // Node quotes the first 10 characters: a short first line puts its newline in them.
  writeFileSync(scenario, GOOD.replace('first-user', 'x'));
  for (const args of [
    ['compare', scenario, scenario],
    ['merge', scenario],
  ]) {
    const r = await cli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 1, r.stderr);
    // Since the stranger pass (the next test here) it names what the file is.
    assert.match(
      r.stderr,
      /not-results\.yaml:1:1: this is a scenario, not results\.json: .* \(expected the results\.json/,
    );
    assert.doesNotMatch(r.stderr, /"name: x/, 'no excerpt');
  }
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
