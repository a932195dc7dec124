/**
 * YAML nested deeper than MAX_YAML_DEPTH is refused before it is composed, with one message that
 * names where the level past the bound opens, the bound, and what to do. It was "YAML syntax error:
 * Maximum call stack size exceeded", the words of a JavaScript RangeError caught at the parser's
 * stack limit, where V8 may abort the process instead of throwing; then "YAML nested too deeply to
 * parse (the parser gave up here)", still found by running into the stack limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { TOO_DEEP } from '../../src/input/depth.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { capture } from '../support/cli.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-deep-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const deep = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

test('validate: flow collections 20,000 deep get one error where level 201 opens, the bound and what to do', async () => {
  const file = join(dir, 'deep.yaml');
  writeFileSync(file, `name: deep\ndescription: ${deep(20_000)}\n`);
  const io = capture();
  assert.equal(await main(['validate', file], io), 2);
  const err = io.stderr.join('');
  assert.doesNotMatch(err, /call stack/i, err);
  // Level 1 is the top mapping; `description: ` ends at column 13: its 200th `[` is level 201.
  assert.deepEqual(err.trim().split('\n'), [
    `${file}:2:213: error: YAML nested too deeply: a collection 201 levels deep opens here (nothing else was checked) (expected collections nested at most 200 levels deep (each [ or {, block mapping and block sequence is a level; scenarios and profiles need under 10): flatten it, or look for brackets left open)`,
    `${file}: 1 error`,
  ]);
});

test('a workload profile nested as deep says the same', () => {
  assert.throws(
    () => parseWorkloadProfile(`workloadProfile: 1\nname: ${deep(20_000)}\n`, 'deep-profile.yaml'),
    (e: unknown) =>
      e instanceof ScenarioError &&
      e.diagnostics.length === 1 &&
      e.diagnostics[0].message === TOO_DEEP.message &&
      e.diagnostics[0].line === 2,
  );
});

test('the CLI, as users run it: a 100,000-level document is refused, the process not aborted', () => {
  // A child process: an abort (V8 near the stack's end) must fail this test, not end the test run.
  const file = join(dir, 'deeper.yaml');
  writeFileSync(file, `name: deeper\nguests: ${deep(100_000)}\n`);
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  for (const command of ['validate', 'run']) {
    const r = spawnSync(process.execPath, [cli, command, file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, r.stderr.slice(0, 600));
    assert.equal(r.status, 2, `${command}: ${r.stderr.slice(0, 600)}`);
    assert.match(
      r.stderr,
      new RegExp(`^${escapeRegExp(file)}:2:208: error: ${escapeRegExp(TOO_DEEP.message)}`, 'm'),
      command,
    );
    assert.equal(r.stdout, '', command);
  }
});
