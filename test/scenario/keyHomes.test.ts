import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario, ACCEPTED_KEYS, KEY_HOMES } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

/** The diagnostics of a scenario that must not load, as "line:col message" lines. */
function problems(text: string): string[] {
  try {
    parseScenario(text, 'k.yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`);
    throw e;
  }
  assert.fail('the scenario loaded');
}

const BASE = [
  'name: k',
  'host: { cpu: i7-6700K, cores: 4 }',
  'hypervisor: { policy: kvm }',
  'guests:',
  '  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle, duration: 1s }] }',
  'duration: 1s',
];

// A key written at the wrong level: where a newcomer puts it, and where the message must send it.
const MISPLACED: readonly (readonly [string, string, string])[] = [
  ['tunables: { kvm.halt_poll_ns: 0 }', '7:1 unknown key "tunables" in the scenario', 'it goes under hypervisor'],
  ['policy: kvm', '7:1 unknown key "policy" in the scenario', 'it goes under hypervisor'],
  ['cpu: i7-6700K', '7:1 unknown key "cpu" in the scenario', 'it goes under host'],
  ['vcpus: 2', '7:1 unknown key "vcpus" in the scenario', 'it goes under a guest (an item of guests)'],
  ['phases: []', '7:1 unknown key "phases" in the scenario', 'it goes under a guest'],
  ['tprThreshold: { set: 1 }', '7:1 unknown key "tprThreshold" in the scenario', 'it goes under hypervisor.vmcs'],
  ['os: ubuntu-18.04', '7:1 unknown key "os" in the scenario', 'it goes under host or under a guest'],
];

for (const [line, where, home] of MISPLACED) {
  test(`a misplaced key is sent home: ${line}`, () => {
    const got = problems([...BASE, line].join('\n'));
    assert.equal(got.length, 1, got.join('\n'));
    assert.ok(got[0].startsWith(`${where}: ${home}`), got[0]);
  });
}

test('a key misplaced inside a guest and inside a phase is sent home too', () => {
  const text = [
    'name: k',
    'host: { cpu: i7-6700K, cores: 4 }',
    'hypervisor: { policy: kvm }',
    'guests:',
    '  - { os: ubuntu-18.04, vcpus: 2, cores: 2, phases: [{ phase: idle, duration: 1s, vcpus: 1 }] }',
    'duration: 1s',
  ].join('\n');
  const got = problems(text);
  assert.deepEqual(
    got.map((g) => g.replace(/^\d+:\d+ /, '')),
    [
      'unknown key "cores" in guests[0]: it goes under host',
      'unknown key "vcpus" in guests[0].phases[0]: it goes under a guest (an item of guests)',
    ],
  );
});

test('a misspelling still gets its did-you-mean, not a home elsewhere; an unknown key its list', () => {
  assert.match(
    problems([...BASE, 'duraton: 2s'].join('\n'))[0],
    /unknown key "duraton" \(did you mean "duration"\?\)$/,
  );
  assert.match(
    problems([...BASE, 'colour: red'].join('\n'))[0],
    /unknown key "colour" in the scenario \(known keys: name, /,
  );
});

test('every accepted key has a home, and no home lists a place twice', () => {
  for (const keys of Object.values(ACCEPTED_KEYS)) for (const k of keys) assert.ok(KEY_HOMES.has(k), k);
  for (const [k, homes] of KEY_HOMES) assert.equal(new Set(homes).size, homes.length, k);
});
