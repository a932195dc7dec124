/**
 * A shard (`run --shard I/N`, N > 1) does not judge thresholds on its partial totals: it reports
 * each as not judged (text, results.json, JUnit `<skipped>`) and exits 0; `vmexit-lab merge` judges
 * them on the merged totals and exits 1 when one fails there. A shard with no host (more shards
 * than hosts) warns and still writes the empty results merge needs; `--shard 1/1` is the whole run
 * and judges as an unsharded run does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { allOutcomes, NOT_JUDGED_ON_SHARD } from '../../src/results/thresholds.js';
import type { RunResults } from '../../src/results/types.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-shard-verdict-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// 2 hosts in 3 shards: shard 1 holds none, shards 2 and 3 one each. Both thresholds fail on any
// host's totals and on the whole run's: an idle FreeBSD guest takes timer exits, about as many
// under either policy.
const scenario = join(dir, 'two-hosts.yaml');
writeFileSync(
  scenario,
  `name: two-hosts
seed: 3
host: { cpu: i7-2620M, cores: 2, count: 2 }
guests:
  - { os: freebsd-12.1, phases: [{ phase: idle }] }
duration: 1s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
thresholds:
  exits_total{variant="bhyve-tpr-v3"}: ["== 0"]
  ratio(exits_total, variant="bhyve-12.1", variant="bhyve-tpr-v3"): ["> 1000"]
`,
);

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const io = capture();
  const status = await main(args, io);
  return { status, stdout: io.stdout.join(''), stderr: io.stderr.join('\n') };
}

test('shards exit 0 with every threshold not judged; merge judges the merged totals and exits 1', async () => {
  const files: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const out = join(dir, `shard-${i}.json`);
    const junit = join(dir, `shard-${i}.xml`);
    files.push(out);
    const r = await run(['run', '--quiet', '--shard', `${i}/3`, '--out', out, '--junit', junit, scenario]);
    assert.equal(r.status, 0, `shard ${i}/3: ${r.stderr}`);
    // The summary table lists each threshold as not judged, with the reason.
    assert.equal(r.stdout.split('\n').filter((l) => l.includes(`- ${NOT_JUDGED_ON_SHARD}`)).length, 2, r.stdout);
    assert.doesNotMatch(r.stdout, /FAIL/);

    const results = JSON.parse(readFileSync(out, 'utf8')) as RunResults;
    const listed = allOutcomes(results);
    assert.equal(listed.length, 2);
    for (const t of listed)
      assert.deepEqual(
        { ...t, expr: '', metric: '' },
        {
          expr: '',
          metric: '',
          passed: true,
          value: null,
          message: NOT_JUDGED_ON_SHARD,
          judged: false,
        },
      );

    // JUnit: skipped cases with the message (grey in CI), no failure.
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuites [^>]*failures="0" errors="0" skipped="2"/);
    assert.equal([...xml.matchAll(/<skipped message="([^"]*)"\/>/g)].length, 2);
    assert.match(xml, /<skipped message="not judged on a shard: judged on the merged totals by `vmexit-lab merge`"\/>/);
    assert.doesNotMatch(xml, /<failure/);
  }
  // The shards with a host hold exits: on their own totals the thresholds would fail.
  const two = JSON.parse(readFileSync(files[1], 'utf8')) as RunResults;
  assert.ok(two.variants[1].totals.exitsTotal > 0);

  const merged = join(dir, 'merged.json');
  const mjunit = join(dir, 'merged.xml');
  const m = await run(['merge', '--out', merged, '--junit', mjunit, ...files]);
  assert.equal(m.status, 1, m.stderr);
  const r = JSON.parse(readFileSync(merged, 'utf8')) as RunResults;
  const judged = allOutcomes(r);
  assert.equal(judged.length, 2);
  for (const t of judged) {
    assert.equal(t.judged, undefined, 'the merge judges');
    assert.equal(t.passed, false, t.message);
    assert.equal(typeof t.value, 'number');
  }
  assert.match(m.stdout, /FAIL exits_total\{variant="bhyve-tpr-v3"\}: == 0/);
  const xml = readFileSync(mjunit, 'utf8');
  assert.match(xml, /<testsuites [^>]*failures="2" errors="0" time=/);
  assert.doesNotMatch(xml, /<skipped/);
});

test('a shard that holds no host warns on stderr, writes its empty results and exits 0', async () => {
  const out = join(dir, 'empty.json');
  const r = await run(['run', '--quiet', '--shard', '1/3', '--out', out, scenario]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /^vmexit-lab run: warning: shard 1\/3 of two-hosts holds no host: the scenario has 2 hosts per variant, and 3 shards is more than that\. .*'vmexit-lab merge' needs every shard.*the largest N that gives every shard a host is 2\.$/m,
  );
  const results = JSON.parse(readFileSync(out, 'utf8')) as RunResults;
  assert.deepEqual(results.shard, { index: 1, count: 3 });
  for (const v of results.variants) assert.equal(v.totals.guests, 0, v.name);

  // Shards that hold a host say nothing of the kind.
  // (With progress on: its verdict line says the same as the table, not "2 of 2 thresholds failed".)
  const two = await run(['run', '--shard', '2/3', scenario]);
  assert.equal(two.status, 0, two.stderr);
  assert.doesNotMatch(two.stderr, /warning|failed/);
  assert.match(
    two.stderr,
    /^two-hosts: 2 thresholds not judged on a shard: judged on the merged totals by `vmexit-lab merge`$/m,
  );
});

test('--shard 1/1 is the whole run: its thresholds are judged, a failing one exits 1', async () => {
  const out = join(dir, 'one-of-one.json');
  const junit = join(dir, 'one-of-one.xml');
  const r = await run(['run', '--quiet', '--shard', '1/1', '--out', out, '--junit', junit, scenario]);
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /warning/);
  const results = JSON.parse(readFileSync(out, 'utf8')) as RunResults;
  for (const t of allOutcomes(results)) {
    assert.equal(t.judged, undefined);
    assert.equal(t.passed, false);
  }
  assert.match(readFileSync(junit, 'utf8'), /<failure message=/);
});

test("a shard's metrics export no vmexit_lab_threshold_passed (it judged none) but the not-judged marker; the whole run's the reverse", async () => {
  const series = async (shard: string): Promise<{ thresholds: string[]; notJudged: string[]; exit: string[] }> => {
    const file = join(dir, `metrics-${shard.replace('/', '-of-')}.txt`);
    await run(['run', '--quiet', '--shard', shard, '--openmetrics', file, scenario]);
    const lines = readFileSync(file, 'utf8').split('\n');
    const of = (name: string): string[] => lines.filter((l) => l.startsWith(`${name}{`));
    return {
      thresholds: of('vmexit_lab_threshold_passed'),
      notJudged: of('vmexit_lab_run_last_not_judged'),
      exit: of('vmexit_lab_run_last_exit_status'),
    };
  };
  // The shard exits 0 (it judged nothing): the Grafana verdict must not read that as a pass.
  const shard = await series('2/3');
  assert.deepEqual(shard.thresholds, []);
  assert.equal(shard.exit.length, 1);
  assert.match(shard.exit[0], /^vmexit_lab_run_last_exit_status\{[^}]*scenario="two-hosts"[^}]*\} 0 /);
  assert.equal(shard.notJudged.length, 1);
  assert.match(shard.notJudged[0], /^vmexit_lab_run_last_not_judged\{[^}]*scenario="two-hosts"[^}]*\} 1 /);
  const whole = await series('1/1');
  assert.equal(whole.thresholds.length, 2);
  assert.deepEqual(whole.notJudged, []);
  assert.match(whole.exit[0], /\} 1 /);
});
