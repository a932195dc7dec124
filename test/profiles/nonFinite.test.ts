/**
 * A CPU profile's numbers that YAML reads as NaN or an infinity (`.nan`, `.inf`, `1e400`) are said
 * as a scenario's are (src/input/units.ts nonFiniteProblem): `cores is not a number (expected a
 * positive integer, found .nan)`. They said `cores: expected a positive integer, found number .nan`,
 * for `.inf` and `1e400` alike, where a scenario says which of the three the number is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { importCpuinfo } from '../../src/profiles/importCpuinfo.js';
import { ProfileImportError, importDmesg } from '../../src/profiles/importDmesg.js';
import { ProfileYamlError, parseProfileYaml } from '../../src/profiles/serialize.js';
import { rejected } from '../scenario/helpers.js';
import { MINIMAL_INTEL as INTEL } from './helpers.js';

const SCENARIO = `name: t
host: { cpu: i7-6700K, cores: 4, count: 1 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle, duration: 5s }] }
duration: 5s
`;

const WORDS = [
  ['.nan', 'is not a number'],
  ['.inf', 'is infinite'],
  ['-.inf', 'is infinite'],
  ['1e400', 'is too large to represent'],
] as const;

/** The sentence after the position. */
function profileProblem(text: string): string {
  try {
    parseProfileYaml(text, 'cpu.yaml');
  } catch (e) {
    assert.ok(e instanceof ProfileYamlError, String(e));
    return e.message.replace(/^cpu\.yaml:\d+:\d+: /, '');
  }
  return assert.fail('accepted');
}

// Each number a profile takes: where it goes, what the message names, what it says is expected.
const FIELDS = [
  ['cores', (n: string) => INTEL.replace('cores: 4', `cores: ${n}`), 'a positive integer'],
  ['threads', (n: string) => INTEL.replace('threads: 8', `threads: ${n}`), 'a positive integer'],
  [
    'baseClockMHz',
    (n: string) => INTEL.replace('baseClockMHz: 3000', `baseClockMHz: ${n}`),
    'a positive number of MHz',
  ],
  [
    'vmx.pinBased.allowed1',
    (n: string) => INTEL.replace('allowed1: 0x7f', `allowed1: ${n}`),
    'a 32-bit mask (integer 0..0xffffffff, e.g. 0x16)',
  ],
] as const;

for (const [field, text, expected] of FIELDS) {
  test(`a CPU profile's ${field}: a non-finite number said as a scenario says it`, () => {
    for (const [n, words] of WORDS) {
      assert.equal(profileProblem(text(n)), `${field} ${words} (expected ${expected}, found ${n})`);
    }
  });
}

test("the profile's sentence and the scenario's are one form: FIELD WORDS (expected ..., found AS WRITTEN)", () => {
  for (const [n, words] of WORDS) {
    const d = rejected(SCENARIO.replace('cores: 4', `cores: ${n}`)).diagnostics[0];
    const scenario = `${d.message} (expected ${d.expected}, found ${d.found})`;
    const profile = profileProblem(INTEL.replace('cores: 4', `cores: ${n}`));
    const form = (s: string): string => s.replace(/^\S+ /, 'FIELD ').replace(/\(expected [^,]+, /, '(expected X, ');
    assert.equal(scenario, `host.cores ${words} (expected an integer 1..1024, found ${n})`);
    assert.equal(form(profile), form(scenario), `${n}: ${profile} / ${scenario}`);
  }
});

test('a finite number out of range keeps its own words', () => {
  assert.equal(
    profileProblem(INTEL.replace('cores: 4', 'cores: 2.5')),
    'cores: expected a positive integer, found number 2.5',
  );
});

// `cpus import`: a number of 400 digits read as an infinity went into the profile as `.inf` (exit
// 0), which `cpus --dir` then refused; now the importer refuses it at its line.
const fixture = (name: string): string => readFileSync(join(REPO_ROOT, 'test/fixtures/profiles', name), 'utf8');
const HUGE = '9'.repeat(400);

function importRefused(fn: () => unknown): ProfileImportError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProfileImportError, String(e));
    return e;
  }
  return assert.fail('imported');
}

test('cpus import: a number of 400 digits in /proc/cpuinfo is too large to represent, at its line', () => {
  const text = fixture('cpuinfo-core-i7-6600u.txt');
  const cases = [
    [/^cpu cores\t*: .*$/m, `cpu cores\t: ${HUGE}`, /"cpu cores" to be a decimal integer/],
    [/^model name\t*: .*$/m, `model name\t: Intel X CPU @ ${HUGE}GHz`, /GHz as a number/],
  ] as const;
  for (const [line, replacement, expected] of cases) {
    const changed = text.replace(line, replacement);
    const at = changed.split('\n').findIndex((l) => l === replacement) + 1;
    const e = importRefused(() => importCpuinfo(changed, { sourceName: 'cpuinfo' }));
    assert.equal(e.line, at);
    assert.match(e.expected, expected);
    assert.match(e.found, /^"9{80}\.\.\.", which is too large to represent$/);
  }
});

test("cpus import: a dmesg's CPU line with a 400-digit MHz is too large to represent", () => {
  const text = fixture('freebsd-xeon-e5-2667v4.dmesg').replace(/\((\d+(?:\.\d+)?)-MHz/, `(${HUGE}-MHz`);
  const e = importRefused(() => importDmesg(text, { sourceName: 'dmesg' }));
  assert.match(e.found, /which is too large to represent$/);
});
