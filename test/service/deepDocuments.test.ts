/**
 * Documents nested past the bound (MAX_YAML_DEPTH) are refused on the main thread within its first
 * lexemes (src/service/scenarioValidator.ts tooDeepEarly), in the validation thread's words and
 * place, so they never take a validation slot (docs/SERVICE.md, "Why nesting is checked on the main
 * thread too"). test/service/nestedDocuments.test.ts has where each shape is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioValidator, EARLY_DEPTH_LEXEMES, tooDeepEarly } from '../../src/service/scenarioValidator.js';
import validateInWorker from '../../src/service/validateWorker.js';
import { MAX_YAML_DEPTH, tooDeepWithin } from '../../src/input/depth.js';
import { tinyScenario as tiny } from '../support/http.js';

/** Documents nested past the bound from their start (nestedDocuments.test.ts has where each is refused). */
const DEEP: [what: string, body: string][] = [
  ['flow sequences', `name: x\nguests: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
  ['flow mappings', `name: x\nhost: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`],
  ['compact block sequences', `name: x\nguests:\n${'- '.repeat(20_000)}x\n`],
  ['indentation, a level per line', Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
  ['quoted closing brackets', `name: x\nguests: ${'[ "]" '.repeat(20_000)}\n`],
  ['keys on one line', `name: x\nhost: ${'a: '.repeat(20_000)}x\n`],
  ['stray dashes under empty keys', `name: x\n${': - -\na:\n'.repeat(5_000)}`],
];

/** Lines enough that what follows them is past the main thread's lexemes. */
const PREFIX = `${Array.from({ length: EARLY_DEPTH_LEXEMES }, (_, i) => `p${i}: 1`).join('\n')}\n`;

test('deep documents are refused on the main thread, not on a validation slot: with every slot taken they were 503 busy', async () => {
  const v = new ScenarioValidator({ threads: 1, maxPending: 0, timeoutMs: 300_000 });
  try {
    // The one slot is taken as soon as validate() is called (it counts before its first await).
    const held = v.validate(tiny('held'), 'held.yaml');
    assert.equal(v.inFlight, 1);
    for (const [what, body] of DEEP) {
      await assert.rejects(v.validate(body, 'request.yaml'), (e: any) => {
        assert.equal(e.status, 422, `${what}: ${e.message}`);
        assert.equal(e.code, 'too_complex', what);
        assert.match(e.message, /^request\.yaml:\d+:\d+: error: YAML nested too deeply/, what);
        return true;
      });
    }
    assert.equal(v.inFlight, 1, 'no deep document took a slot');
    // Past the main thread's lexemes the thread refuses it: with the slot taken, busy.
    await assert.rejects(v.validate(`${PREFIX}${DEEP[0][1]}`, 'request.yaml'), (e: any) => e.code === 'busy');
    await held;
  } finally {
    await v.close();
  }
});

test('the main thread refuses a deep document in the validation thread’s words and place; past its lexemes the thread does', async () => {
  const v = new ScenarioValidator({ threads: 1, timeoutMs: 300_000 });
  try {
    for (const [what, body] of DEEP) {
      const thread = validateInWorker({ yaml: body, file: 'request.yaml' });
      assert.ok(!thread.ok, what);
      const early = tooDeepEarly(body, 'request.yaml');
      assert.ok(early !== undefined, `${what}: found within ${EARLY_DEPTH_LEXEMES} lexemes`);
      assert.equal(early.message, thread.message, what);
      assert.deepEqual(
        early.body().error.diagnostics,
        thread.diagnostics.map((d) => ({ ...d, text: early.message })),
        what,
      );
      // The same document after the prefix: not found early, refused by the thread, further down.
      const late = `${PREFIX}${body}`;
      assert.equal(tooDeepEarly(late, 'request.yaml'), undefined, `${what}: past the early lexemes`);
      await assert.rejects(v.validate(late, 'request.yaml'), (e: any) => {
        assert.equal(e.code, 'too_complex', `${what}: ${e.message}`);
        assert.match(e.message, new RegExp(`levels deep opens here .*at most ${MAX_YAML_DEPTH} levels deep`), what);
        return true;
      });
    }
    // What the shipped scenarios hold is never refused, and the bound is in lexemes, not bytes.
    assert.equal(
      tooDeepWithin('a: [[[]]]\n', EARLY_DEPTH_LEXEMES, () => undefined),
      undefined,
    );
    assert.equal(
      tooDeepWithin('['.repeat(MAX_YAML_DEPTH), EARLY_DEPTH_LEXEMES, () => undefined),
      undefined,
    );
    assert.equal(
      tooDeepWithin('['.repeat(MAX_YAML_DEPTH + 1), EARLY_DEPTH_LEXEMES, () => undefined),
      MAX_YAML_DEPTH,
    );
  } finally {
    await v.close();
  }
});
