/**
 * compare and merge check the totals they read. A damaged results.json (`"totals": null`) ended
 * compare in "internal error: TypeError: Cannot read properties of null" with a stack trace of the
 * machine's paths and exit 3; `"exits": "x"` or a negative count was compared as if it were a
 * result (exit 0). And a variant only the OLD file has was labelled "new"; it is gone.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-compare-damaged-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const base = join(dir, 'base.json');

before(async () => {
  const io = capture();
  const scenario = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml');
  assert.equal(await main(['run', '--quiet', '--workers', '1', '--out', base, scenario], io), 0, io.stderr.join(''));
});

/** base.json with `damage` applied to its first variant, written as a new file. */
function damaged(name: string, damage: (variant: Record<string, any>, all: Record<string, any>) => void): string {
  const j = JSON.parse(readFileSync(base, 'utf8'));
  damage(j.variants[0], j);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(j));
  return file;
}

test('compare a damaged results.json: exit 2, one line naming the file, variant and field; no stack trace', async () => {
  const cases: [string, (v: Record<string, any>) => void, string][] = [
    ['totals-null', (v) => (v.totals = null), 'totals is not an object'],
    ['exits-string', (v) => (v.totals.exits = 'x'), 'totals.exits is not an object of numbers by name'],
    ['negative-total', (v) => (v.totals.exitsTotal = -1), 'totals.exitsTotal is -1 (expected a number >= 0)'],
    ['latency-missing', (v) => delete v.totals.interruptLatency, 'totals.interruptLatency is not an object'],
  ];
  for (const [name, damage, says] of cases) {
    const file = damaged(name, damage);
    for (const args of [
      ['compare', base, file],
      ['compare', '--json', file, base],
    ]) {
      const io = capture();
      assert.equal(await main(args, io), 2, `${name}: ${io.stderr.join('')}`);
      const err = io.stderr.join('').replace(/\n$/, '');
      assert.equal(err.split('\n').length, 1, err);
      assert.ok(err.startsWith(`vmexit-lab compare: ${file}: variant base: ${says}`), `${name}: ${err}`);
      assert.doesNotMatch(err, /TypeError|\bat \w+ \(|internal error/, name);
    }
  }
});

test('compare: a variant only OLD has is "gone", one only NEW has is "new"', async () => {
  const none = damaged('no-variants', (_v, all) => (all.variants = []));
  const gone = capture();
  assert.equal(await main(['compare', base, none], gone), 0);
  assert.match(gone.stdout.join(''), /^base +exits\/s \(all\) +[\d,]+ +- +gone$/m);
  const added = capture();
  assert.equal(await main(['compare', none, base], added), 0);
  assert.match(added.stdout.join(''), /^base +exits\/s \(all\) +- +[\d,]+ +new$/m);
});
