/**
 * An output that cannot be written is named with its option and the reason in words. After the run
 * (a full disk) the other outputs are still written and the exit status is 3; before it (a
 * directory that is not there) exit 2 says what to do. docs/CLI.md, "Bad input: what is checked",
 * has the rows; test/cli/outputFiles.test.ts has outputs that would replace an input.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { cli, CR8_SCENARIO as SCENARIO, IDLE_WINDOWS_SCENARIO as GOOD } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-output-failures-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'an output that cannot be written after the run (a full disk) is named with its option and reason, and the others are still written (it said "cannot write output: ENOSPC ..., write" and wrote none after it)',
  { skip: !existsSync('/dev/full') && 'no /dev/full' },
  async () => {
    const scenario = join(dir, 'out.yaml');
    writeFileSync(scenario, GOOD);
    const results = join(dir, 'results.json');
    const summary = join(dir, 'summary.md');
    const r = await cli(['run', '--quiet', '--junit', '/dev/full', '--out', results, '--summary', summary, scenario]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(
      r.stderr,
      /^vmexit-lab run: --junit \/dev\/full: cannot write JUnit XML there: no space left on device \(ENOSPC\); the file may be missing or cut short$/m,
    );
    assert.equal(JSON.parse(readFileSync(results, 'utf8')).scenario, 'first-user');
    assert.match(readFileSync(summary, 'utf8'), /first-user/);
    // merge writes its outputs the same way.
    const shard = join(dir, 'shard-1.json');
    assert.equal((await cli(['run', '--quiet', '--shard', '1/1', '--out', shard, scenario])).status, 0);
    const merged = join(dir, 'merged.json');
    const m = await cli(['merge', '--summary', '/dev/full', '--out', merged, shard]);
    assert.equal(m.status, 3, m.stderr);
    assert.match(
      m.stderr,
      /^vmexit-lab merge: --summary \/dev\/full: cannot write a Markdown summary there: no space left on device \(ENOSPC\)/m,
    );
    assert.ok(existsSync(merged), 'the merged results.json is written');
  },
);

test('an output file that cannot be written says what to do and ends there, without the --help pointer (the fix is a directory, not an option)', async () => {
  const r = await cli(['run', '-o', join(dir, 'nowhere', 'r.json'), SCENARIO]);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `vmexit-lab run: --out ${join(dir, 'nowhere', 'r.json')}: cannot write there: the directory ${join(dir, 'nowhere')} does not exist (create it first)`,
  );
});

test(
  "a command's one -o file that cannot be written after its work (what-if, import, validate-model, rules on a full disk): exit 3, the file, the reason in words (what-if, import and validate-model ended in an internal error with node's stack)",
  { skip: !existsSync('/dev/full') && 'no /dev/full' },
  async () => {
    const cases: [string, string[], string][] = [
      [
        'what-if',
        [
          'what-if',
          join(REPO_ROOT, 'data', 'workloads', 'sysbench-kvm-2020.yaml'),
          '--policy',
          'kvm',
          '--sim-seconds',
          '0.2',
          '-q',
        ],
        'the what-if tables',
      ],
      [
        'import',
        [
          'import',
          'bhyvectl',
          join(REPO_ROOT, 'test', 'fixtures', 'reports', 'bhyvectl-intel-2vcpu-constructed.txt'),
          '--cpu',
          'xeon-e5-2667v4',
          '--policy',
          'bhyve-12.1',
          '--duration',
          '60s',
          '--os',
          'windows-10-1909',
        ],
        'the workload profile',
      ],
      ['validate-model', ['validate-model', '--case', 'kvm-bcc-kvmexit-example-2021'], 'the comparison'],
      ['rules', ['rules', join(REPO_ROOT, 'scenarios', 'default.yaml')], 'the alerting rules'],
    ];
    for (const [command, args, what] of cases) {
      const r = await cli([...args, '-o', '/dev/full']);
      assert.equal(r.status, 3, `${command}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error| {4}at /, command);
      assert.equal(
        r.stderr.trimEnd().split('\n').at(-1),
        `vmexit-lab ${command}: --out /dev/full: cannot write ${what} there: no space left on device (ENOSPC); the file may be missing or cut short`,
      );
    }
  },
);

test(
  "run --timeline to a full disk: exit 3, said as the other outputs are (it printed node's 'ENOSPC: no space left on device, write')",
  { skip: !existsSync('/dev/full') && 'no /dev/full' },
  async () => {
    const scenario = join(dir, 'timeline.yaml');
    writeFileSync(scenario, GOOD);
    const r = await cli(['run', '--quiet', '--timeline', '/dev/full', scenario]);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(
      r.stderr.trimEnd().split('\n').at(-1),
      'vmexit-lab run: --timeline /dev/full: cannot write the timeline there: no space left on device (ENOSPC); the file may be missing or cut short',
    );
  },
);
