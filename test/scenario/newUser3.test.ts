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

test('YAML indentation slips: the error is on the line indented wrong and says what was expected', () => {
  // A key indented deeper than the key above it (`- os:` at column 5, `vcpus:` at 6): yaml gave
  // two errors, both at line 5's "os" ("Nested mappings are not allowed in compact mappings",
  // "Implicit keys need to be on a single line"), neither on line 6 nor saying what to do.
  const deeper = rejected(
    'name: x\nhost: { cpu: i7-6700K }\nhypervisor: { policy: kvm }\nguests:\n  - os: ubuntu-18.04\n     vcpus: 2\n',
  );
  assert.equal(deeper.diagnostics.length, 1, deeper.message);
  const d = deeper.diagnostics[0];
  assert.deepEqual([d.line, d.column], [6, 6]);
  assert.match(d.expected ?? '', /the keys of one mapping at the same column/);
  // A key indented less than the one above it, and a list item out of line.
  for (const text of [
    'name: x\nguests:\n  - os: ubuntu-18.04\n  vcpus: 2\n',
    'name: x\nguests:\n  - os: ubuntu-18.04\n    phases:\n    - { phase: boot, duration: 1s }\n     - { phase: idle }\n',
  ]) {
    const e = rejected(text);
    assert.match(
      e.diagnostics[0].message,
      /YAML syntax error: All (mapping|sequence) items must start at the same column/,
    );
    assert.match(e.diagnostics[0].expected ?? '', /at the same column as the (key|item) above it/, text);
  }
  // Line 4 of this one is indented less: the error was at its column 1, the key is at 3.
  assert.deepEqual([rejected('name: x\nguests:\n  - os: ubuntu-18.04\n  vcpus: 2\n').diagnostics[0].column], [3]);
  // A key without its colon is a multi-line key too: the slip is on its first line, where it stays.
  const noColon = rejected('name: x\nhost:\n  cpu i7-6700K\n  cores: 8\n').diagnostics[0];
  assert.deepEqual([noColon.line, noColon.column], [3, 3]);
  const tab = rejected('name: x\nguests:\n\t- os: ubuntu-18.04\n');
  assert.match(tab.diagnostics[0].expected ?? '', /spaces/);
});

test('a flow mapping written without the space after the colon ({cpu:i7-6700K}) says to add it', () => {
  const e = rejected('name: x\nhost: {cpu:i7-6700K}\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }]\n');
  const unknown = e.diagnostics.find((x) => x.message.includes('unknown key'));
  assert.ok(unknown, e.message);
  assert.match(unknown.message, /YAML needs a space after the colon: write "cpu: i7-6700K"/);
});

test('matrix.cpu spelt in another case (i7-6700k, as ids are looked up) names its variant by the profile id', () => {
  // The variant was named as written (i7-6700k), so a threshold on variant "i7-6700K", the id
  // `vmexit-lab list cpus` prints, was refused, and two scenarios' results did not pair in compare.
  const s = parseScenario(
    `name: x
host: { cores: 4 }
hypervisor: { policy: kvm }
guests: [{ os: ubuntu-18.04 }]
duration: 1s
matrix:
  cpu: [i7-6700k, XEON-E5-2667V4]
thresholds:
  exits_per_second{variant="i7-6700K"}: ["< 100000"]
`,
    'x.yaml',
  );
  assert.deepEqual(
    s.variants.map((v) => v.name),
    ['i7-6700K', 'xeon-e5-2667v4'],
  );
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
