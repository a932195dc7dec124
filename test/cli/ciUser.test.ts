/**
 * A CI user's pass (polish32): vmexit-lab wired into CI with README, docs/CLI.md and docs/RESULTS.md
 * only - thresholds that pass and fail, JUnit and results.json, shards and merge, compare with
 * --max-regression. Each test failed before its fix.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-ci-user-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Six hosts of three guests for 2 simulated seconds, under two policies: three shards of two hosts. */
const FLEET = `name: ci-fleet
host: { cpu: i7-6700K, cores: 8, count: 6 }
guests:
  - { os: windows-10-1909, count: 2, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, count: 1, vcpus: 2, phases: [{ phase: idle }] }
duration: 2s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
thresholds:
  exits_per_second{variant="bhyve-12.1"}: ["< 1000"]
`;

/** The three shards of FLEET, written as `run --shard I/3 --out shard-I.json` writes them. */
async function shards(): Promise<string[]> {
  const scenario = join(dir, 'fleet.yaml');
  writeFileSync(scenario, FLEET);
  const files: string[] = [];
  for (const i of [1, 2, 3]) {
    const file = join(dir, `shard-${i}.json`);
    const r = await cli(['run', '--quiet', '--workers', '1', '--shard', `${i}/3`, '--out', file, scenario]);
    assert.equal(r.status, 0, r.stderr);
    files.push(file);
  }
  return files;
}

test('merge without every shard once (a shard job failed, or a glob caught one twice) names the shards missing and the ones given twice (it said "need shards 1, 2, 3 of 3, got 1, 1, 3")', async () => {
  const [one, two, three] = await shards();
  const rows: [files: string[], says: string][] = [
    [
      [one, two],
      `vmexit-lab merge: shard 3 of 3 is missing (given: 1, 2); merge needs each of shards 1..3 once, as 'run --shard I/3 --out FILE' writes them`,
    ],
    [
      [one, one, three],
      `vmexit-lab merge: shard 2 of 3 is missing, shard 1 is given twice (${one}, ${one}) (given: 1, 1, 3); merge needs each of shards 1..3 once, as 'run --shard I/3 --out FILE' writes them`,
    ],
  ];
  for (const [files, says] of rows) {
    const r = await cli(['merge', ...files]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, says);
  }
  const whole = await cli(['merge', one, two, three]);
  assert.equal(whole.status, 1, whole.stderr);
});

test("merge with no file: the command line's line, ending where the options are listed (it was 'vmexit-lab merge: no shard files given' alone)", async () => {
  const r = await cli(['merge']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "vmexit-lab merge: no shard files given; 'vmexit-lab merge --help' lists the options");
});

test('compare --max-regression ends on its verdict, passed or failed, with how many metrics it judged (a gate that passed printed nothing that said so, and one that failed ended on its last regression row)', async () => {
  const base = join(dir, 'base.yaml');
  writeFileSync(base, FLEET);
  const more = join(dir, 'more.yaml');
  // One more Windows guest a host: more CR_ACCESS exits per guest-second under bhyve-12.1.
  writeFileSync(more, FLEET.replace('count: 2, vcpus', 'count: 3, vcpus'));
  const old = join(dir, 'old.json');
  const now = join(dir, 'new.json');
  assert.ok((await cli(['run', '--quiet', '--workers', '1', '--out', old, base])).status <= 1);
  assert.ok((await cli(['run', '--quiet', '--workers', '1', '--out', now, more])).status <= 1);
  const same = await cli(['compare', '--max-regression', '5', old, old]);
  assert.equal(same.status, 0, same.stderr);
  assert.match(
    same.stdout,
    /\n--max-regression 5 %: passed, no metric got more than 5 % worse \(\d+ judged in 2 variants\)$/,
  );
  const worse = await cli(['compare', '--max-regression', '5', old, now]);
  assert.equal(worse.status, 1, worse.stderr);
  const rows = worse.stdout.split('\n').filter((l) => l.startsWith('regression: ')).length;
  assert.ok(rows > 0, worse.stdout);
  assert.match(
    worse.stdout,
    new RegExp(
      `\\n--max-regression 5 %: FAILED, ${rows} of \\d+ judged metrics in 2 variants got more than 5 % worse \\(exit 1\\)$`,
    ),
  );
  // Without a gate, nothing is judged and no verdict is printed.
  assert.doesNotMatch((await cli(['compare', old, now])).stdout, /--max-regression/);
});

test('merge of a shard that stopped early (Ctrl-C, SIGTERM: "partial": true) gives partial results, exit 3, as docs/CLI.md says (they merged as a whole run: no "partial", its thresholds judged, exit 1)', async () => {
  const [one, two, three] = await shards();
  const stopped = join(dir, 'shard-2-stopped.json');
  const reason = 'terminated (SIGTERM) at 1 of 2 simulated seconds, 0 of 4 hosts done.';
  // As run --shard 2/3 writes a shard it was stopped in (src/pool/pooledRun.ts adds the two fields).
  writeFileSync(
    stopped,
    JSON.stringify({ ...(JSON.parse(readFileSync(two, 'utf8')) as object), partial: true, partialReason: reason }),
  );
  const out = join(dir, 'merged.json');
  const r = await cli(['merge', '--out', out, one, stopped, three]);
  assert.equal(r.status, 3, r.stderr);
  const says = `shard 2 of 3 (${stopped}) is partial: ${reason}`;
  assert.ok(
    r.stderr.includes(`vmexit-lab merge: ${says} The merged results are partial too: run shard 2/3 again`),
    r.stderr,
  );
  const merged = JSON.parse(readFileSync(out, 'utf8')) as { partial?: boolean; partialReason?: string };
  assert.equal(merged.partial, true);
  assert.equal(merged.partialReason, says);
  assert.match(r.stdout, /^partial results: shard 2 of 3 /m);
});

test('compare of a results.json that stopped early ("partial": true) says so, and --max-regression gives no verdict on it, exit 3 (it said "every difference is the change" and judged the part that ran as a whole run)', async () => {
  const scenario = join(dir, 'fleet.yaml');
  writeFileSync(scenario, FLEET);
  const full = join(dir, 'full.json');
  assert.ok((await cli(['run', '--quiet', '--workers', '1', '--out', full, scenario])).status <= 1);
  const stopped = join(dir, 'stopped.json');
  const reason = 'interrupted (Ctrl-C, SIGINT) at 1 of 2 simulated seconds, 0 of 12 hosts done.';
  writeFileSync(
    stopped,
    JSON.stringify({ ...(JSON.parse(readFileSync(full, 'utf8')) as object), partial: true, partialReason: reason }),
  );
  const note = `note: NEW (${stopped}) is partial: ${reason} Its figures cover only the part that ran: a difference is not the change alone`;
  const plain = await cli(['compare', full, stopped]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.ok(plain.stdout.split('\n').includes(note), plain.stdout);
  const gated = await cli(['compare', '--max-regression', '5', full, stopped]);
  assert.equal(gated.status, 3, gated.stderr);
  assert.match(
    gated.stdout,
    /\n--max-regression 5 %: no verdict, NEW is partial \(run it again to its end\) \(exit 3\)$/,
  );
});
