/**
 * One-letter options: `-o` for `--out` on every command that writes one file, `run -q` for
 * `--quiet`; an unknown one is matched to the long options of its letter (docs/CLI.md, "Bad input:
 * what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

test('short options: run, merge and rules take -o for --out as import, what-if and validate-model do, run -q for --quiet; an unknown short option is matched to the long ones of its letter (-o was taken for -h)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-fresh-short-'));
  try {
    const out = join(dir, 'r.json');
    const io = capture();
    assert.equal(
      await main(['run', '-q', '-o', out, 'scenarios/seed/win10-1909-cr8-exits.yaml'], io),
      0,
      io.stderr.join(''),
    );
    assert.equal(io.stderr.join(''), '', 'quiet');
    assert.match(readFileSync(out, 'utf8'), /"scenario": "win10-1909-cr8-exits"/);
    const rules = join(dir, 'rules.yml');
    assert.equal(await main(['rules', '-o', rules, 'scenarios/default.yaml'], capture()), 0);
    assert.match(readFileSync(rules, 'utf8'), /^groups:/m);
    const bad = capture();
    assert.equal(await main(['compare', '-o', 'x', 'a.json', 'b.json'], bad), 2);
    assert.equal(
      bad.stderr.join(''),
      `vmexit-lab compare: unknown option -o (this command has no -o; it has no option starting with "o"); 'vmexit-lab compare --help' lists the options`,
    );
    const near = capture();
    assert.equal(await main(['run', '-p', 'x.yaml'], near), 2);
    assert.match(
      near.stderr.join(''),
      /unknown option -p \(did you mean one of --per-guest, --perf-table, --push, --push-job, --push-label\?\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
