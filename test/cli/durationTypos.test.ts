/**
 * `duration: until_complete` (or untilComplete, "until complete"): one error, at the value, that
 * names until-complete. It used to say "expected a duration such as 500ms ... or a number of
 * seconds", as if until-complete did not exist, plus a second error that maxDuration needs
 * duration: until-complete, which the user had meant to write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-duration-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const scenario = (duration: string): string => `name: until
host: { cpu: i7-6700K }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    phases:
      - { phase: install, work: 1s }
duration: ${duration}
maxDuration: 10m
`;

test('a misspelt until-complete: one error at the value, naming until-complete; no maxDuration error', async () => {
  for (const typo of ['until_complete', 'untilComplete', 'until complete', 'Until-Complete']) {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, scenario(typo));
    const io = capture();
    assert.equal(await main(['validate', file], io), 2, typo);
    const lines = io.stderr.join('').trimEnd().split('\n');
    assert.deepEqual(
      lines,
      [
        `${file}:8:11: error: invalid duration for duration: "${typo}" (did you mean "until-complete"?) (expected a duration such as "60s" or until-complete)`,
        `${file}: 1 error`,
      ],
      typo,
    );
  }
});

test('a fixed duration with maxDuration still says maxDuration needs until-complete', async () => {
  const file = join(dir, 'fixed.yaml');
  writeFileSync(file, scenario('10s'));
  const io = capture();
  assert.equal(await main(['validate', file], io), 2);
  assert.match(io.stderr.join(''), /:9:1: error: maxDuration only applies with duration: until-complete/);
});
