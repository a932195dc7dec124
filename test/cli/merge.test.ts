/**
 * Shards are exact: running a mixed fleet as N real child processes (`run --shard I/N`) and merging
 * them gives the unsharded run's totals bit for bit, histograms bucket for bucket, for N = 1..4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../../src/model/data.js';

const cli = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-merge-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const scenario = join(dir, 'fleet.yaml');
writeFileSync(
  scenario,
  `name: shard-fleet
seed: 11
host: { cpu: i7-2620M, cores: 4, count: 7 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: boot, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, phases: [{ phase: idle }] }
duration: 2s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v2]
thresholds:
  exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v2"}: ["== 0"]
`,
);

function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function totals(file: string): unknown {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  return r.variants.map((v: { name: string; totals: unknown; thresholds: unknown }) => ({
    name: v.name,
    totals: v.totals,
    thresholds: v.thresholds,
  }));
}

test('merging N shard processes equals the unsharded run exactly, N = 1..4', async () => {
  const whole = join(dir, 'whole.json');
  const r = await node(['run', '--quiet', '--out', whole, 'fleet.yaml']);
  assert.equal(r.code, 0, r.stderr);
  for (let n = 1; n <= 4; n++) {
    const files: string[] = [];
    const runs = [];
    for (let i = 1; i <= n; i++) {
      const f = join(dir, `shard-${n}-${i}.json`);
      files.push(f);
      runs.push(node(['run', '--quiet', '--shard', `${i}/${n}`, '--out', f, 'fleet.yaml']));
    }
    for (const x of await Promise.all(runs)) assert.equal(x.code, 0, x.stderr);
    const merged = join(dir, `merged-${n}.json`);
    const m = await node(['merge', '--out', merged, ...files.reverse()]);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(totals(merged), totals(whole), `${n} shards`);
  }
});

test('merge refuses incomplete or mixed shard sets with exit status 2', async () => {
  const a = join(dir, 'only-1-of-3.json');
  assert.equal((await node(['run', '--quiet', '--shard', '1/3', '--out', a, 'fleet.yaml'])).code, 0);
  const r = await node(['merge', a]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /shards 2, 3 of 3 are missing \(given: 1\)/);
  const whole = join(dir, 'whole.json');
  const r2 = await node(['merge', whole]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /not a shard result/);
});
