import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScript } from '../../src/core/script/runScript.js';
import { DESKTOP } from '../support/profiles.js';
import { buildMachine } from '../support/machines.js';

test('[SDM 26.6.1 "Activity State"] a halted vCPU executes no script instruction until an interrupt wakes it', () => {
  const m = buildMachine({ profile: DESKTOP, policy: 'bhyve-tpr-v3' });
  const steps = runScript(m, [
    { op: 'hlt', cpu: 0 },
    { op: 'write_cr8', cpu: 0, value: 5 },
    { op: 'interrupt', cpu: 0, vector: 0x51, level: false },
    { op: 'write_cr8', cpu: 0, value: 5 },
  ]);
  assert.deepEqual(
    steps[0].exits.map((e) => e.name),
    ['HLT'],
  );
  assert.match(steps[1].skipped ?? '', /halted/);
  assert.equal(steps[1].tpr, 0, 'the skipped MOV CR8 changed nothing');
  assert.deepEqual(steps[2].delivered, [0x51], 'the interrupt wakes the vCPU and is delivered');
  assert.equal(steps[3].skipped, undefined);
  assert.equal(steps[3].tpr, 0x50);
});
