/**
 * merge checks each shard's raw accumulators before adding them up. A damaged shard file (a CI
 * artifact cut or edited: `"exits": "x"`, a short list, a negative bucket, 1e308 guests) was merged
 * silently into wrong results (exit 0 or 1), or failed with JavaScript's words ("Cannot convert
 * undefined or null to object"). Now exit 2 naming the file, the variant and the field.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { rawTotalsProblem } from '../../src/run/rawTotalsCheck.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-merge-damaged-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = join(REPO_ROOT, 'scenarios', 'library', 'amd-avic.yaml');
const shard = (i: number): string => join(dir, `shard-${i}.json`);

before(async () => {
  for (const i of [1, 2]) {
    const io = capture();
    const status = await main(
      ['run', '--quiet', '--workers', '1', '--shard', `${i}/2`, '--out', shard(i), SCENARIO],
      io,
    );
    assert.ok(status === 0 || status === 1, io.stderr.join(''));
  }
});

test('intact shards merge; their raw accumulators pass the check', async () => {
  for (const i of [1, 2]) {
    const j = JSON.parse(readFileSync(shard(i), 'utf8'));
    for (const v of j.variants) assert.equal(rawTotalsProblem(v.raw), undefined, `shard ${i} ${v.name}`);
  }
  const io = capture();
  const status = await main(['merge', shard(1), shard(2)], io);
  assert.ok(status === 0 || status === 1, io.stderr.join(''));
});

test('a damaged shard: exit 2 naming the file, the variant and the field; nothing merged', async () => {
  const damages: [string, (raw: Record<string, unknown>) => void, string][] = [
    ['a string for a list', (r) => (r.exits = 'x'), 'raw.exits is not a list (expected'],
    ['null', (r) => (r.exits = null), 'raw.exits is not a list (expected'],
    ['a short list', (r) => (r.exits = [1]), 'raw.exits has 1 entries (expected'],
    [
      'a negative bucket',
      (r) => ((r.latency as number[])[0] = -5),
      'raw.latency[0] is -5 (expected a non-negative integer)',
    ],
    ['1e308 guests', (r) => (r.guests = 1e308), 'raw.guests is 1e+308 (expected a non-negative integer)'],
    ['a fraction', (r) => (r.events = 0.5), 'raw.events is 0.5 (expected a non-negative integer)'],
    ['records that are not', (r) => (r.violations = 'oops'), 'raw.violations is not a list of records'],
  ];
  const intact = readFileSync(shard(1), 'utf8');
  for (const [what, damage, says] of damages) {
    const j = JSON.parse(intact);
    damage(j.variants[0].raw);
    const file = join(dir, 'damaged.json');
    writeFileSync(file, JSON.stringify(j));
    const io = capture();
    assert.equal(await main(['merge', file, shard(2)], io), 2, what);
    assert.equal(io.stdout.join(''), '', `${what}: nothing printed`);
    const err = io.stderr.join('');
    assert.ok(err.startsWith(`vmexit-lab merge: ${file}: variant ${j.variants[0].name}: ${says}`), `${what}: ${err}`);
    assert.doesNotMatch(err, /Cannot convert|undefined/, what);
  }
});
