/**
 * The stop gate (src/pool/protocol.ts): a run's stop and its tasks' ends decided on one shared word,
 * so that a stop said to be accepted always ends the run stopped and a refused one never does
 * (test/service/deleteRace.test.ts has the DELETE as the service answers it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptStop, claimEnd, Control } from '../../src/pool/protocol.js';

const words = (): Int32Array => new Int32Array(new SharedArrayBuffer(Control.WORDS * 4));

test('stop gate: a stop before every task has claimed its end is accepted, once; the tasks after it cannot claim', () => {
  const c = words();
  assert.equal(claimEnd(c), true, 'the first of 3 tasks ran to its end');
  assert.equal(acceptStop(c, 3), 'accepted');
  assert.equal(acceptStop(c, 3), 'again', 'a second stop changes nothing');
  assert.equal(claimEnd(c), false, 'a task that ends after the stop answers as stopped');
  assert.equal(claimEnd(c), false);
  // The stop word itself is PooledRun.stop's to set, after the gate.
  assert.equal(Atomics.load(c, Control.STOP), 0);
});

test('stop gate: once every task has claimed its end a stop is too late, whichever stop it is', () => {
  const c = words();
  for (let i = 0; i < 3; i++) assert.equal(claimEnd(c), true);
  assert.equal(acceptStop(c, 3), 'too late');
  assert.equal(acceptStop(c, 3), 'too late', 'a later stop (the time limit, the drain) is too late as well');
  assert.equal(acceptStop(c, 4), 'accepted', 'with a fourth task still running it would not be');
});
