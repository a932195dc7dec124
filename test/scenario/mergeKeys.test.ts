/**
 * YAML merge keys in a scenario (`<<: *anchor`, `<<: [*a, *b]`, as docker-compose and GitLab CI
 * files use them): taken as YAML 1.1's merge type, the keys written beside them winning; a mistake
 * merged in is reported where it is written, and a mapping that merges itself at the alias
 * (docs/CLI.md, "Bad input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { diagnosticOf } from '../support/diagnostics.js';

const FLEET = `name: t
host: { cpu: i7-6700K }
hypervisor: { policy: bhyve-12.1 }
guests:
  - &win
    name: small
    os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle, duration: 10s }]
  - <<: *win
    name: many
    count: 3
  - { <<: *win, vcpus: 4, name: big }
duration: 10s
`;

test('YAML merge keys (<<: *anchor, as docker-compose and GitLab CI files use them) are taken; the keys written beside them win (it was: unknown key "<<" (did you mean "os"?))', () => {
  const s = parseScenario(FLEET, 'x.yaml');
  const g = s.variants[0].guests as readonly { os: string; count: number; vcpus: number; name: string }[];
  assert.deepEqual(
    g.map((x) => [x.os, x.count, x.vcpus]),
    [
      ['windows-10-1909', 1, 2],
      ['windows-10-1909', 3, 2],
      ['windows-10-1909', 1, 4],
    ],
  );
  assert.equal(g[2].name, 'big');
  // A list of mappings: the first that has a key gives it (YAML 1.1's merge type).
  const list = parseScenario(
    `name: t
host: &h { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - &a { os: freebsd-12.1, vcpus: 1, phases: [{ phase: idle }] }
  - &b { os: ubuntu-18.04, vcpus: 3, count: 2, phases: [{ phase: idle }] }
  - <<: [*b, *a]
    name: mixed
duration: 1s
`,
    'x.yaml',
  );
  const m = list.variants[0].guests[2] as { os: string; vcpus: number; count: number };
  assert.deepEqual([m.os, m.vcpus, m.count], ['ubuntu-18.04', 3, 2]);
});

test('merge keys: a bad key or value merged in is reported where it is written; "<<" quoted is a key like any; a merge of a scalar says what it takes', () => {
  const errors = (text: string): string[] => {
    try {
      parseScenario(text, 'x.yaml');
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      return e.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`);
    }
    return [];
  };
  const head = 'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: bhyve-12.1 }\nduration: 1s\nguests:\n';
  // Two guests of one name because the second merged the first's os: said at the second, not at the anchor.
  assert.deepEqual(errors(`${head}  - &a { os: freebsd-12.1 }\n  - { <<: *a, vcpus: 2 }\n`), [
    '7:5 guest name "freebsd-12.1" is used twice (first at line 6); give each guest a distinct "name"',
  ]);
  // Reported once, where it is written, whichever mapping takes it.
  assert.deepEqual(errors(`${head}  - &a { os: freebsd-12.1, vcpu: 2 }\n  - { <<: *a, name: b }\n`), [
    '6:28 unknown key "vcpu" (did you mean "vcpus"?)',
  ]);
  assert.equal(
    diagnosticOf(`${head}  - { os: freebsd-12.1, <<: 1 }\n`).expected,
    'a mapping, an alias of one (*name) or a list of them',
  );
  assert.match(
    errors(`${head}  - { os: freebsd-12.1, "<<": 1 }\n`)[0],
    /^6:25 unknown key "<<" in guests\[0\] \(known keys: /,
  );
  assert.deepEqual(errors(`${head}  - { os: freebsd-12.1, <<: 1 }\n`), [
    '6:29 wrong type for the merge key "<<" of guests[0]',
  ]);
});

test('merge keys: a mapping that merges itself, directly or through a chain, is refused at the alias with what a merge takes (it was: "Maximum call stack size exceeded", no line)', () => {
  const errors = (text: string): { at: string; expected?: string }[] => {
    try {
      parseScenario(text, 'x.yaml');
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      return e.diagnostics.map((d) => ({ at: `${d.line}:${d.column} ${d.message}`, expected: d.expected }));
    }
    return [];
  };
  const head = 'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: bhyve-12.1 }\nduration: 1s\nguests:\n';
  const expected = 'an alias of another mapping (a mapping cannot merge itself, or a mapping that merges it)';
  assert.deepEqual(errors(`${head}  - &g { os: ubuntu-18.04, vcpus: 1, <<: *g, phases: [{ phase: idle }] }\n`), [
    { at: '6:42 the merge key "<<" of guests[0] merges its own mapping (*g)', expected },
  ]);
  assert.deepEqual(
    errors(
      'name: t\nhost: &h { cpu: i7-6700K, cores: 8, <<: *h }\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }]\n',
    ),
    [{ at: '2:41 the merge key "<<" of host merges its own mapping (*h)', expected }],
  );
  // Through a chain: a merges b, which merges a (b is written inside a, so *b can follow &b).
  const chain = errors(`${head}  - &a { os: ubuntu-18.04, x: &b { <<: *a }, <<: *b }\n`);
  assert.ok(
    chain.some(
      (d) => d.at === '6:40 the merge key "<<" of guests[0] merges its own mapping (*a)' && d.expected === expected,
    ),
    JSON.stringify(chain),
  );
  // In a list, and the same anchor merged twice or by two guests is no cycle.
  assert.deepEqual(
    errors(`${head}  - &a { os: ubuntu-18.04, <<: [*a] }\n`).map((d) => d.at),
    ['6:33 the merge key "<<" of guests[0] merges its own mapping (*a)'],
  );
  parseScenario(
    `${head}  - &a { os: ubuntu-18.04, phases: [{ phase: idle }] }\n  - { <<: [*a, *a], name: b }\n  - { <<: *a, name: c }\n`,
    'x.yaml',
  );
});
