/**
 * No lost results: a `run` of two scenarios whose second one's simulation worker dies mid-run wrote
 * nothing (`not written: results.json (the run failed)`, exit 3), so the first scenario's complete
 * results and the second's finished hosts were lost. Now every asked file is written: the first
 * whole, the second `"partial": true` with a partialReason that says it failed, why and which hosts
 * are missing, its thresholds not judged; JUnit fails it; the exit status stays 3 (docs/CLI.md).
 *
 * The install is a copy of the built tree whose bundled worker is test/fixtures/workers/diesOnDemand.ts
 * (as test/cli/workerStart.test.ts): the production paths are the ones under test.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import type { RunResults } from '../../src/results/types.js';

const install = mkdtempSync(join(tmpdir(), 'vmexit-lab-dies-'));
after(() => rmSync(install, { recursive: true, force: true }));

mkdirSync(join(install, 'dist', 'test', 'fixtures'), { recursive: true });
cpSync(join(REPO_ROOT, 'dist', 'src'), join(install, 'dist', 'src'), { recursive: true });
cpSync(join(REPO_ROOT, 'dist', 'test', 'fixtures', 'workers'), join(install, 'dist', 'test', 'fixtures', 'workers'), {
  recursive: true,
});
cpSync(join(REPO_ROOT, 'package.json'), join(install, 'package.json'));
for (const d of ['node_modules', 'data', 'scenarios']) symlinkSync(join(REPO_ROOT, d), join(install, d));
cpSync(join(REPO_ROOT, 'test', 'fixtures', 'scenarios', 'lost'), join(install, 'lost'), { recursive: true });
// Written after the copy, so it is newer than every file tsc wrote: the pool loads it (pool.ts workerFile).
writeFileSync(
  join(install, 'dist', 'src', 'bundle', 'worker.js'),
  "export { default } from '../../test/fixtures/workers/diesOnDemand.js';\n",
);

/** The CLI of the install, from its root; one worker, so lost-second's task 1 (its second variant) runs after task 0. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [join('dist', 'src', 'cli', 'main.js'), 'run', '-q', '--workers', '1', ...args],
    {
      cwd: install,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CI: 'true', VMEXIT_LAB_TEST_DIE_IN: 'lost-second', VMEXIT_LAB_TEST_DIE_TASK: '1' },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const run = cli(
  '-o',
  'results.json',
  '--junit',
  'junit.xml',
  '--summary',
  'summary.md',
  'lost/first.yaml',
  'lost/second.yaml',
);

test('a failed scenario: exit 3, and stderr says what was written and that its results are partial', () => {
  assert.equal(run.status, 3, `exit status (null: killed, hung)\n${run.stderr}`);
  assert.match(run.stderr, /^vmexit-lab run: lost-second: task 1 \(variant bhyve-tpr-v1, hosts 0\.\.1\) failed: /m);
  assert.doesNotMatch(run.stderr, /not written/);
  assert.match(
    run.stderr,
    /^vmexit-lab run: lost-second failed: its results are partial \(2 of 4 hosts done\); written with the 1 scenario that completed: results\.json, junit\.xml, summary\.md$/m,
  );
});

test('results.json holds the completed scenario whole and the failed one partial, with why and which hosts', () => {
  const all = JSON.parse(readFileSync(join(install, 'results.json'), 'utf8')) as RunResults[];
  assert.deepEqual(
    all.map((r) => r.scenario),
    ['lost-first', 'lost-second'],
  );
  const [first, second] = all;
  assert.equal(first.partial, undefined);
  assert.deepEqual(
    first.variants[0].thresholds.map((t) => [t.passed, t.judged]),
    [[true, undefined]],
  );
  assert.equal(second.partial, true);
  assert.match(
    second.partialReason ?? '',
    /^stopped because a task failed \(task 1 \(variant bhyve-tpr-v1, hosts 0\.\.1\) failed: .*\) .*, 2 of 4 hosts done\.$/,
  );
  // The variant that ran is whole; the failed task's hosts count nothing.
  assert.equal(second.variants[0].totals.guests, 2);
  assert.equal(second.variants[1].totals.guests, 0);
  // Thresholds on totals that lack hosts: not judged, said why (a pass there would read as whole).
  for (const t of [...second.variants.flatMap((v) => v.thresholds), ...second.crossVariantThresholds]) {
    assert.equal(t.judged, false);
    assert.equal(t.value, null);
    assert.match(t.message ?? '', /^not judged: the run failed/);
  }
});

test('JUnit fails the failed scenario and passes the completed one', () => {
  const xml = readFileSync(join(install, 'junit.xml'), 'utf8');
  assert.match(xml, /<testsuite name="lost-first\/base" tests="1" failures="0"/);
  assert.match(xml, /<testsuite name="lost-second\/run" tests="1" failures="1"/);
  assert.match(xml, /<failure message="partial results: stopped because a task failed \(task 1 /);
  assert.match(xml, /<testsuite name="lost-second\/bhyve-tpr-v1" tests="1" failures="0" errors="0" skipped="1"/);
});

test('the Markdown summary marks the failed scenario partial and its thresholds not judged', () => {
  const md = readFileSync(join(install, 'summary.md'), 'utf8');
  assert.match(md, /### vmexit-lab: lost-second\n\n> \*\*partial results: stopped because a task failed/);
  assert.match(md, /^Thresholds not judged: the run failed/m);
  assert.doesNotMatch(md.slice(md.indexOf('lost-second')), /\| pass \|/);
});

test('stdout shows the failed scenario partial, its thresholds skipped', () => {
  assert.match(
    run.stdout,
    /^partial results: stopped because a task failed \(task 1 .* 2 of 4 hosts done\. Thresholds not judged: the run failed\.$/m,
  );
  assert.match(run.stdout, /^ {2}skip exits_total: > 0 {2}- not judged: the run failed/m);
});

test('the scenarios after a failed one still run, and are written whole', () => {
  const r = cli('-o', 'after.json', '--html', 'after.html', 'lost/second.yaml', 'lost/first.yaml');
  assert.equal(r.status, 3, r.stderr);
  assert.match(
    r.stderr,
    /lost-second failed: its results are partial \(2 of 4 hosts done\); written with the 1 scenario that completed: after\.json, after\.html$/m,
  );
  const all = JSON.parse(readFileSync(join(install, 'after.json'), 'utf8')) as RunResults[];
  assert.deepEqual(
    all.map((x) => [x.scenario, x.partial]),
    [
      ['lost-second', true],
      ['lost-first', undefined],
    ],
  );
  const html = readFileSync(join(install, 'after.html'), 'utf8');
  assert.match(
    html,
    /data-exit-status="3"><span class="badge fail">FAIL<\/span> partial results: stopped because a task failed .* No verdict: the run failed \(/,
  );
});
