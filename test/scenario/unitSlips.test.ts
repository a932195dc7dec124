/**
 * Numbers written in the wrong unit (the third new-user pass, 2026-12-06, docs/CLI.md "Bad input"):
 * a bare number is seconds (`hop: 40` meant 40 us), and a threshold bound takes a plain number, not
 * `5us`, `1k` or `5 %`. Each is refused saying how to write it; each failed before.
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

test('a threshold bound with a unit ("p99 < 5us", "< 5 %", "< 1k") says how to write it as a number', () => {
  const bound = (expr: string, metric = 'interrupt_latency_seconds'): string =>
    rejected(`name: x
host: { cpu: i7-6700K }
hypervisor: { policy: kvm }
guests: [{ os: ubuntu-18.04 }]
thresholds:
  ${metric}: ["${expr}"]
`).diagnostics[0].message;
  // Each said only "expected a number after the comparator".
  assert.match(bound('p99 < 5us'), /in seconds: 5us is 0\.000005 \(p99 < 0\.000005\)/);
  assert.match(
    bound('< 5 %', 'exits_per_second'),
    /ratio\(exits_per_second, variant="A", variant="B"\): \["< 1\.05"\]/,
  );
  assert.match(bound('< 1k', 'exits_per_second'), /1k is 1000 \(< 1000\)/);
});
