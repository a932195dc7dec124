/**
 * An IPI send's kept interned state (src/core/vcpu/tabulated.ts rehintIpi): once a comparison found
 * the sender's key words unchanged after a send from (state, target, vector, target halted or not),
 * the same send from that state keeps the vCPU's id without comparing (docs/perf/engine30.md, E4,
 * built again as E14 on the hints in the machine's words).
 *
 * What a trusted id looks like from outside: the words written behind the machine's back (a state
 * the hint discipline never lets through) keep the id after the same send, where a comparison would
 * drop it (internedState -1). Any other send compares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { F } from '../../src/core/vcpu/layout.js';
import { buildMachine } from '../support/machines.js';
import { DESKTOP } from '../support/profiles.js';

const VECTOR = 0x41;

/** vCPU 0 of a 3-vCPU machine in an interned state, after one IPI to vCPU 1 that kept it. */
function sent(defer = true): { m: Machine; id: number } {
  const m = buildMachine({ profile: DESKTOP, policy: 'bhyve-12.1', vcpus: 3 });
  m.deferIpis = defer; // as the engine runs (engine/state.ts)
  m.launch();
  m.writeCr8(0, 3);
  const id = m.internedState(0);
  assert.ok(id >= 0, 'a tabulated operation left an id');
  m.sendIpi(0, 1, VECTOR);
  assert.equal(m.internedState(0), id, 'the send left the key words alone: compared, kept');
  m.s[F.TIMER_DIVIDE] ^= 1; // behind the machine's back: the words differ from the id now
  return { m, id };
}

test('the same send from the same state keeps the id without comparing', () => {
  const { m, id } = sent();
  m.sendIpi(0, 1, VECTOR);
  assert.equal(m.internedState(0), id);
});

test('another vector, target or target halt state is compared', () => {
  for (const [what, send] of [
    ['vector', (m: Machine) => m.sendIpi(0, 1, VECTOR + 1)],
    ['target', (m: Machine) => m.sendIpi(0, 2, VECTOR)],
    [
      'target halted',
      (m: Machine) => {
        m.hlt(1);
        m.sendIpi(0, 1, VECTOR);
      },
    ],
  ] as const) {
    const { m } = sent();
    send(m);
    assert.equal(m.internedState(0), -1, `${what}: compared, the words differ`);
  }
});

test('without deferred IPIs the send is compared every time', () => {
  const { m } = sent(false);
  m.sendIpi(0, 1, VECTOR);
  assert.equal(m.internedState(0), -1);
});
