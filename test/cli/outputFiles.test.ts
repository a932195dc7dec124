/**
 * An output never replaces an input or another output. `run --out scenarios/seed/*.yaml` (the
 * results file name forgotten: the shell gives --out the first scenario) overwrote that scenario
 * with results.json; `run --out x.yaml x.yaml`, `rules --out x.yaml x.yaml` and
 * `merge --out shard.json shard.json` replaced their own input; `--out r.json --junit r.json`
 * kept only the JUnit file. Each is now exit 2, one line, before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-outputs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');

/** A fresh copy of a small shipped scenario in the test's directory. */
function scenarioCopy(name: string): string {
  const file = join(dir, name);
  copyFileSync(SOURCE, file);
  return file;
}

/** `args` exits 2 with one line on stderr that contains `says`, and prints nothing on stdout. */
async function refused(args: string[], says: string): Promise<void> {
  const io = capture();
  assert.equal(await main(args, io), 2, args.join(' '));
  assert.equal(io.stdout.join(''), '', `${args.join(' ')}: nothing ran`);
  const err = io.stderr.join('').replace(/\n$/, '');
  assert.equal(err.split('\n').length, 1, err);
  assert.ok(err.includes(says), `${args.join(' ')}: ${err}`);
}

test('run --out with a forgotten file name and a glob: the first scenario is not overwritten', async () => {
  const a = scenarioCopy('a.yaml');
  const b = scenarioCopy('b.yaml');
  const before = readFileSync(a, 'utf8');
  await refused(
    ['run', '--quiet', '--workers', '1', '--out', a, b],
    `--out ${a}: ${a} is a YAML file that is there (a scenario?)`,
  );
  assert.equal(readFileSync(a, 'utf8'), before);
});

test('run: an output that is the scenario itself (also through a symbolic link) is refused', async () => {
  const s = scenarioCopy('self.yaml');
  const before = readFileSync(s, 'utf8');
  await refused(['run', '--quiet', '--workers', '1', '--summary', s, s], `--summary ${s}:`);
  const link = join(dir, 'link.md');
  symlinkSync(s, link);
  await refused(['run', '--quiet', '--workers', '1', '--html', link, s], `--html ${link}: that is the input ${s}`);
  assert.equal(readFileSync(s, 'utf8'), before);
});

test('run: two outputs to one file are refused (--out and --junit, --out and --timeline)', async () => {
  const s = scenarioCopy('two.yaml');
  const r = join(dir, 'r.json');
  await refused(['run', '--quiet', '--out', r, '--junit', r, s], `--junit ${r}: that is where --out ${r} writes`);
  await refused(
    ['run', '--quiet', '--out', r, '--timeline', join(dir, '.', 'r.json'), s],
    `--timeline ${join(dir, 'r.json')}: that is where --out ${r} writes`,
  );
  await refused(
    ['run', '--quiet', '--out', r, '--out', `junit=${r}`, s],
    `--out junit=${r}: that is where --out ${r} writes`,
  );
  const h = join(dir, 'h.html');
  await refused(
    ['run', '--quiet', '--html', h, '--timeline', h, s],
    `--timeline ${h}: that is where --html ${h} writes`,
  );
  await refused(['run', '--quiet', '--out', `junit=${h}`, '--timeline', h, s], `--timeline ${h}: that is where `);
  await refused(['run', '--quiet', '--timeline', s, s], `--timeline ${s}: that is the input ${s}`);
  await refused(
    ['run', '--quiet', '--summary', h, '--html', h, '--timeline', h, s],
    `--html ${h}: that is where --summary ${h} writes`,
  );
  assert.equal(existsSync(r), false, 'nothing was written');
  assert.equal(existsSync(h), false, 'nothing was written');
});

test('rules, merge, what-if: --out that is an input is refused, the input kept', async () => {
  const s = scenarioCopy('rules.yaml');
  const before = readFileSync(s, 'utf8');
  await refused(['rules', '--out', s, s], `--out ${s}: that is the input ${s}`);
  assert.equal(readFileSync(s, 'utf8'), before);
  const shard = join(dir, 'shard.json');
  writeFileSync(shard, '{"kept": true}\n');
  await refused(['merge', '--out', shard, shard], `--out ${shard}: that is the input ${shard}`);
  assert.equal(readFileSync(shard, 'utf8'), '{"kept": true}\n');
  const profile = join(dir, 'profile.yaml');
  copyFileSync(join(REPO_ROOT, 'data', 'workloads', 'sysbench-kvm-2020.yaml'), profile);
  await refused(['what-if', '-o', profile, profile], `--out ${profile}: that is the input ${profile}`);
});
