/**
 * docs/BEYOND.md's figures that follow from the code alone: the exit reasons a CPU vendor has
 * series for ("N VT-x or M SVM exit reasons", src/metrics/cardinality.ts reasonsOf) and the
 * over-budget message shown for default.yaml with 500 hosts per variant and per-guest metrics,
 * which is what `vmexit-lab run` prints for it (nothing runs: the count is computed first). Both
 * had gone stale when the model gained two VT-x exit kinds (15 -> 17 reasons).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { reasonsOf } from '../../src/metrics/cardinality.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'BEYOND.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-beyond-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the exit reasons per vendor BEYOND.md gives are the ones with series', () => {
  const m = /\((\d+) VT-x or (\d+) SVM exit reasons\)/.exec(DOC);
  assert.ok(m, 'docs/BEYOND.md says "(N VT-x or M SVM exit reasons)"');
  assert.deepEqual(
    [Number(m[1]), Number(m[2])],
    [
      reasonsOf({ vendor: 'intel', opaque: false, spins: false }),
      reasonsOf({ vendor: 'amd', opaque: false, spins: false }),
    ],
  );
});

test("BEYOND.md's over-budget message is what run prints for default.yaml at 500 hosts with per-guest metrics", async () => {
  const block = [...DOC.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)]
    .map((b) => b[1])
    .find((b) => b.includes('would create up to'));
  assert.ok(block, 'docs/BEYOND.md shows the over-budget message');
  const shown = block.replace(/\s+/g, ' ').trim();

  const yaml = readFileSync(join(REPO_ROOT, 'scenarios', 'default.yaml'), 'utf8');
  const at500 = yaml.replace(/count: \d+ \}/, 'count: 500 }');
  assert.notEqual(at500, yaml, 'scenarios/default.yaml states host.count as "count: N }"');
  const file = join(dir, 'default-500.yaml');
  writeFileSync(file, at500);
  const io = capture();
  assert.equal(await main(['run', '--quiet', '--per-guest', '--metrics-listen', '127.0.0.1:0', file], io), 2);
  assert.deepEqual(io.stdout, [], 'nothing ran');
  const printed = io.stderr
    .join(' ')
    .replace(/^vmexit-lab run: /, '')
    .replace(/\s+/g, ' ')
    .trim();
  assert.equal(printed, shown);
});
