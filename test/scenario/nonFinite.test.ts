/**
 * Numbers YAML reads as NaN or an infinity (`.nan`, `.inf`, `-.inf`, a literal beyond a double
 * such as `1e400`) are said one way in every field that takes a number (polish41): durations and
 * sizes said `found NaN` and `found Infinity` (for 1e400 too), integers `wrong type ... found .nan`
 * and `out of range ... found .inf`, a threshold `the number is not finite` or `expected a number
 * after the comparator`. Now `WHAT is not a number`, `is infinite` or `is too large to represent`,
 * with what the field takes and the number as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { rejected } from './helpers.js';

const SCENARIO = `name: t
host: { cpu: i7-6700K, cores: 4, count: 1 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, memory: 4GiB, phases: [{ phase: boot, duration: 10s }, { phase: idle }] }
duration: 20s
`;

const WORDS = [
  ['.nan', 'is not a number'],
  ['.NaN', 'is not a number'],
  ['.inf', 'is infinite'],
  ['-.inf', 'is infinite'],
  ['1e400', 'is too large to represent'],
] as const;

// Each field kind: where the number goes, what the message names, what it says is expected.
const FIELDS = [
  ['seed (an integer)', (n: string) => `${SCENARIO}seed: ${n}\n`, 'seed', /^an integer 0\.\.4294967295$/],
  ['vcpus', (n: string) => SCENARIO.replace('vcpus: 2', `vcpus: ${n}`), 'guests[0].vcpus', /^an integer 1\.\./],
  [
    'a tunable',
    (n: string) => SCENARIO.replace('policy: kvm }', `policy: kvm, tunables: { kvm.halt_poll_ns: ${n} } }`),
    'hypervisor.tunables.kvm.halt_poll_ns',
    /^an integer 0\.\./,
  ],
  ['duration', (n: string) => SCENARIO.replace('duration: 20s', `duration: ${n}`), 'duration', /^a duration such as/],
  [
    "a phase's duration",
    (n: string) => SCENARIO.replace('duration: 10s', `duration: ${n}`),
    'guests[0].phases[0].duration',
    /^a duration such as/,
  ],
  ['memory (a size)', (n: string) => SCENARIO.replace('memory: 4GiB', `memory: ${n}`), 'guests[0].memory', /^a size/],
] as const;

for (const [field, text, what, expected] of FIELDS) {
  test(`${field}: a non-finite number is said as every field says it, as written`, () => {
    for (const [n, words] of WORDS) {
      const d = rejected(text(n)).diagnostics;
      assert.equal(d.length, 1, `${field} ${n}: ${d.map((x) => x.message).join('; ')}`);
      assert.equal(d[0].message, `${what} ${words}`, `${field} ${n}`);
      assert.equal(d[0].found, n);
      assert.match(d[0].expected ?? '', expected);
    }
  });
}

test("a workload profile's rates say it alike", () => {
  for (const [n, words] of WORDS) {
    try {
      parseWorkloadProfile(`workloadProfile: 1\nname: w\nos: ubuntu-18.04\nperGuestSecond:\n  cpuid: ${n}\n`, 'p.yaml');
      assert.fail(`${n} loaded`);
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.diagnostics[0].message, `perGuestSecond.cpuid ${words}`);
      assert.equal(e.diagnostics[0].found, n);
    }
  }
});

test('a threshold bound says it alike; a bound with a unit still gets its hint', () => {
  for (const [n, words] of [...WORDS, ['NaN', 'is not a number'], ['Infinity', 'is infinite']] as const) {
    const d = rejected(`${SCENARIO}thresholds: { exits_per_second: ['< ${n}'] }\n`).diagnostics;
    assert.equal(d[0].message, `malformed threshold expression: the bound ${words}`, n);
    assert.equal(d[0].expected, 'a finite number');
    assert.equal(d[0].found, JSON.stringify(n));
  }
  const d = rejected(`${SCENARIO}thresholds: { exits_per_second: ['< 5s'] }\n`).diagnostics;
  assert.match(d[0].message, /5s is 5 \(< 5\)/);
});

test('a duration string too large for a double is too large, as one below it is', () => {
  const d = rejected(SCENARIO.replace('duration: 10s', 'duration: 1e400s')).diagnostics;
  assert.match(d[0].expected ?? '', / below 2\^53 ns$/);
  assert.equal(d[0].found, '"1e400s"');
});
