/**
 * `duration: until_complete` (or untilComplete, "until complete"): one error, at the value, that
 * names until-complete. It used to say "expected a duration such as 500ms ... or a number of
 * seconds", as if until-complete did not exist, plus a second error that maxDuration needs
 * duration: until-complete, which the user had meant to write. And a maxDuration or duration that
 * ends before a work phase starts (`maxDuration: 10` meant as minutes) is warned of at the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture, cli } from '../support/cli.js';

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

test('validate warns when maxDuration or duration ends before a work phase starts (a bare number is seconds)', async () => {
  const file = join(dir, 'short.yaml');
  writeFileSync(
    file,
    [
      'name: short',
      'host: { cpu: i7-6700K, cores: 8 }',
      'hypervisor: { policy: bhyve-tpr-v3 }',
      'guests:',
      '  - os: windows-10-1909',
      '    vcpus: 2',
      '    phases:',
      '      - { phase: boot, duration: 10s }',
      '      - { phase: install, work: 20s }',
      'duration: until-complete',
      'maxDuration: 10',
      '',
    ].join('\n'),
  );
  const r = await cli(['validate', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /short\.yaml:11:1: warning: maxDuration \(10 s\) ends before the install phase of guest windows-10-1909 starts \(the phases before it last 10 s\): the run stops with install not done/,
  );
  assert.match(r.stderr, /a number without a unit is seconds: write 10m for minutes/);
  // run says it too, before it runs (its summary said only 'phases -' and no threshold named why).
  const ran = await cli(['run', '--quiet', file]);
  assert.match(ran.stderr, /short\.yaml:11:1: warning: maxDuration \(10 s\) ends before the install phase/);
  // Room for the work phase: no warning.
  writeFileSync(file, readFileSync(file, 'utf8').replace('maxDuration: 10', 'maxDuration: 10m'));
  const ok = await cli(['validate', file]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /warning/);
});
