/**
 * `validate-model` with a bad case in the corpus prints what `run` prints for a bad scenario: one
 * `FILE:LINE:COL: error: ...` line per problem, nothing before it, exit 2 (docs/CLI.md, "Bad input").
 * It printed "vmexit-lab validate-model: " and an empty line before the diagnostics (casewriter round 1).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-validate-model-bad-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('validate-model: a bad case prints FILE:LINE:COL: error: lines only, exit 2', async () => {
  const id = 'kvm-sysbench-blog-2020';
  const good = readFileSync(join(REPO_ROOT, 'data', 'validation', `${id}.yaml`), 'utf8');
  const bad = good.replace('real: 0.354', 'real: 35.4');
  assert.notEqual(bad, good, 'the case no longer holds "real: 0.354": pick another line to break');
  // A second problem in another file: each is its own line, in file order.
  const other = 'kvm-idle-droplet-vmtop-2024';
  const otherBad = readFileSync(join(REPO_ROOT, 'data', 'validation', `${other}.yaml`), 'utf8').replace(
    /^title: /m,
    'titel: ',
  );
  writeFileSync(join(dir, `${id}.yaml`), bad);
  writeFileSync(join(dir, `${other}.yaml`), otherBad);
  copyFileSync(join(REPO_ROOT, 'data', 'validation', 'before.json'), join(dir, 'before.json'));
  const io = capture();
  assert.equal(await main(['validate-model', '--dir', dir], io), 2);
  assert.deepEqual(io.stdout, []);
  const lines = io.stderr.join('\n').split('\n');
  assert.ok(lines.length >= 2, io.stderr.join('\n'));
  for (const line of lines)
    assert.match(line, /^\/.*\.yaml:\d+:\d+: error: \S/, `every line is a diagnostic:\n${io.stderr.join('\n')}`);
  assert.match(lines[0], new RegExp(`/${other}\\.yaml:\\d+:1: error: unknown key "titel"`));
  assert.ok(
    lines.some((l) =>
      new RegExp(`/${id}\\.yaml:\\d+:\\d+: error: an exit_share is a fraction of the exits, not a percentage`).test(l),
    ),
    io.stderr.join('\n'),
  );
});
