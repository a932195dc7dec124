import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

function load(tunables: string, matrix = ''): { ok: true; haltPollNs: number[] } | { ok: false; messages: string[] } {
  const text = [
    'name: t',
    'host: { cpu: i7-6700K, cores: 4 }',
    `hypervisor: { policy: kvm${tunables === '' ? '' : `, tunables: { ${tunables} }`} }`,
    'guests:',
    '  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle, duration: 1s }] }',
    'duration: 1s',
    ...(matrix === '' ? [] : [`matrix: { ${matrix} }`]),
  ].join('\n');
  try {
    const s = parseScenario(text, 't.yaml');
    return { ok: true, haltPollNs: s.variants.map((v) => v.hypervisor.tunables['kvm.halt_poll_ns'] ?? -1) };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { ok: false, messages: e.diagnostics.map((d) => `${d.message} (expected ${d.expected}, found ${d.found})`) };
  }
}

// kvm.halt_poll_ns is in nanoseconds like the module parameter; a duration with a unit is refused
// with the integer to write, in the tunables and on a matrix axis alike.
const CASES: readonly (readonly [string, string, string | number[]])[] = [
  ['kvm.halt_poll_ns: 200us', '', 'an integer 0..4294967295: 200000 for 200us'],
  ['kvm.halt_poll_ns: 1ms', '', 'an integer 0..4294967295: 1000000 for 1ms'],
  ['', 'tunables.kvm.halt_poll_ns: [0, 50us]', 'an integer 0..4294967295: 50000 for 50us'],
  ['kvm.halt_poll_ns: 200000', '', [200000]],
  ['', 'tunables.kvm.halt_poll_ns: [0, 50000]', [0, 50000]],
];

for (const [tunables, matrix, want] of CASES) {
  test(`kvm.halt_poll_ns written as ${tunables || matrix}`, () => {
    const got = load(tunables, matrix);
    if (Array.isArray(want)) {
      assert.deepEqual(got, { ok: true, haltPollNs: want });
    } else {
      assert.equal(got.ok, false);
      if (got.ok) return;
      assert.equal(got.messages.length, 1, got.messages.join('\n'));
      assert.match(got.messages[0], /kvm\.halt_poll_ns is in nanoseconds, without a unit/);
      assert.ok(got.messages[0].includes(`(expected ${want},`), got.messages[0]);
    }
  });
}

test('a string that is no duration keeps the plain wrong-type message', () => {
  const got = load('kvm.halt_poll_ns: lots');
  assert.equal(got.ok, false);
  if (!got.ok)
    assert.match(got.messages[0], /^wrong type for hypervisor\.tunables\.kvm\.halt_poll_ns \(expected an integer/);
});
