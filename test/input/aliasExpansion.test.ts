/**
 * What a document's aliases repeat is bounded (src/input/yaml.ts MAX_ALIAS_NODES, and the nesting
 * once they are expanded), not only how many there are: yaml counts an alias of a flat mapping as
 * one expansion, so a 260 KB scenario whose 900 guests were `*big` or `<<: *big` (20,000 keys) had
 * the loader read 18 million keys: `validate` ran for minutes and died out of memory (polish40).
 * Every document here is refused at the alias that crosses the bound, with what was expected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { MAX_ALIAS_NODES } from '../../src/input/yaml.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';

const HEAD = 'name: t\nhost: { cpu: i7-6700K, cores: 4 }\nhypervisor: { policy: kvm }\n';

/** A flow mapping of `n` keys, anchored as &big (2n + 1 nodes). */
const big = (n: number): string => `x: &big { ${Array.from({ length: n }, (_, i) => `k${i}: 1`).join(', ')} }\n`;

function refusal(load: () => unknown): { line: number; column: number; message: string; expected?: string } {
  try {
    load();
  } catch (e) {
    assert.ok(e instanceof ScenarioError, String(e));
    assert.equal(e.diagnostics.length, 1, e.message);
    return e.diagnostics[0];
  }
  assert.fail('the document loads');
}

const CASES: readonly { what: string; text: string; line: number; column: number; message: RegExp }[] = [
  {
    what: 'merge keys of one large mapping in many guests',
    text: `${HEAD}${big(10_000)}guests:\n${'  - { os: ubuntu-18.04, <<: *big }\n'.repeat(900)}`,
    line: 10,
    column: 29,
    message: /^the aliases repeat too much: \*big repeats 20001 YAML nodes, 100005 by the aliases up to here$/,
  },
  {
    what: 'plain aliases of one large mapping as guests',
    text: `${HEAD}${big(10_000)}guests:\n${'  - *big\n'.repeat(900)}`,
    line: 10,
    column: 5,
    message: /^the aliases repeat too much: \*big repeats 20001 YAML nodes, 100005 by the aliases up to here$/,
  },
  {
    what: 'a chain of anchors, each nesting the one before 120 levels deep',
    text: `${HEAD}a0: &a0 x\n${[1, 2, 3]
      .map((k) => `a${k}: &a${k} ${'['.repeat(120)}*a${k - 1}${']'.repeat(120)}\n`)
      .join('')}guests: [{ os: ubuntu-18.04 }]\n`,
    line: 7,
    column: 129,
    message: /^YAML nested too deeply once its aliases are expanded: \*a2 reaches 240 levels$/,
  },
];

for (const c of CASES) {
  test(`a scenario whose aliases repeat or nest too much is refused at the alias: ${c.what}`, () => {
    const d = refusal(() => parseScenario(c.text, 'x.yaml'));
    assert.match(d.message, c.message);
    assert.deepEqual([d.line, d.column], [c.line, c.column]);
    assert.match(d.expected ?? '', new RegExp(`at most (${MAX_ALIAS_NODES} nodes|200 levels)`));
  });
}

test('the same bound holds for a workload profile (every YAML input opens through parseYamlChecked)', () => {
  const text = `workloadProfile: 1\nname: p\nos: ubuntu-18.04\n${big(20_000)}perGuestSecond:\n${'  - *big\n'.repeat(10)}`;
  const d = refusal(() => parseWorkloadProfile(text, 'p.yaml'));
  assert.match(d.message, /^the aliases repeat too much: \*big/);
  assert.equal(d.line, 8);
});

test('aliases and merge keys that repeat a little load as before: 60 guests merging a 10-key mapping', () => {
  const first = '  - &g { os: ubuntu-18.04, vcpus: 2, memory: 1GiB, x2apic: false, phases: [{ phase: idle }] }\n';
  const guests = Array.from({ length: 59 }, (_, i) => `  - { <<: *g, name: g${i} }\n`).join('');
  const s = parseScenario(`${HEAD}guests:\n${first}${guests}duration: 1s\n`, 'x.yaml');
  assert.equal(s.variants[0].guests.length, 60);
});
