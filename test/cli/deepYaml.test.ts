/**
 * YAML nested deeper than the parser's stack (`[[[[...` a few thousand levels, 2 bytes each) is
 * refused with a message that says so and what was expected. It said "YAML syntax error: Maximum
 * call stack size exceeded", the words of a JavaScript RangeError, and expected nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-deep-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const deep = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

test('validate: flow collections 20,000 deep get one error naming the nesting and what was expected', async () => {
  const file = join(dir, 'deep.yaml');
  writeFileSync(file, `name: deep\ndescription: ${deep(20_000)}\n`);
  const io = capture();
  assert.equal(await main(['validate', file], io), 2);
  const err = io.stderr.join('');
  assert.doesNotMatch(err, /call stack/i, err);
  assert.match(
    err,
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: error: YAML nested too deeply to parse \\(the parser gave up here\\) \\(expected collections nested a few levels deep \\(scenarios and profiles need under 10\\)\\)$`,
      'm',
    ),
    err,
  );
});

test('a workload profile nested as deep says the same', () => {
  assert.throws(
    () => parseWorkloadProfile(`workloadProfile: 1\nname: ${deep(20_000)}\n`, 'deep-profile.yaml'),
    (e: unknown) =>
      e instanceof ScenarioError &&
      e.diagnostics.some((d) => d.message === 'YAML nested too deeply to parse (the parser gave up here)') &&
      !/call stack/i.test(e.message),
  );
});
