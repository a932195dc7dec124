/**
 * The third new-user pass (2026-12-06, docs/CLI.md "Bad input"): mistakes a newcomer makes writing
 * a scenario from docs/SCENARIOS.md alone. Each test failed before its fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { rejected } from './helpers.js';

const pingPong = (hop: string, duration = '2s'): string => `name: x
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: ping-pong, duration: ${duration}, hop: ${hop} }] }
duration: 2s
`;

test('ping-pong hop: a bare number is seconds; a hop as long as the phase passes no message and is refused, saying so', () => {
  // "hop: 40" meant 40 us: it was 40 s per message in a 2 s phase, accepted, and the run had no
  // message at all (1,026 exits/s of an idle guest).
  const e = rejected(pingPong('40'));
  assert.equal(e.diagnostics.length, 1);
  const d = e.diagnostics[0];
  assert.equal(d.line, 5);
  assert.equal(d.column, 83, 'at the value');
  assert.match(d.message, /hop 40 s is not shorter than the phase \(2 s\): no message would complete/);
  assert.match(d.message, /a number without a unit is seconds: write 40us for microseconds/);
  // With a unit, no hint about bare numbers.
  const e2 = rejected(pingPong('3s'));
  assert.match(e2.diagnostics[0].message, /hop 3 s is not shorter than the phase \(2 s\)/);
  assert.doesNotMatch(e2.diagnostics[0].message, /without a unit/);
  // Realistic hops still load, a bare-number fraction of a second too.
  parseScenario(pingPong('40us'), 'x.yaml');
  parseScenario(pingPong('0.00004'), 'x.yaml');
});
