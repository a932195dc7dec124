/**
 * YAML tags (polish41): yaml's own words were "Unresolved tag: tag:yaml.org,2002:float", its URI
 * and nothing else, and it refused `!!float 2`, which YAML 1.2's core float form matches. Now
 * YAML 1.2's core tags are read where the value fits them (as an untagged value is checked against
 * its key); any other tag is refused at it with what to write instead; a core tag on a value that
 * does not fit it says which and what was found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { ProfileYamlError, parseProfileYaml } from '../../src/profiles/serialize.js';
import { ROOT, rejected } from '../scenario/helpers.js';
import { SMALL_SCENARIO as SCENARIO } from './helpers.js';

test('core tags whose value fits the key load as the untagged value', () => {
  for (const [seed, want] of [
    ['!!float 2', 2],
    ['!!float 2.0', 2],
    ['!!int 3', 3],
    ['!!int 0x10', 16],
    ['!<tag:yaml.org,2002:int> 7', 7],
  ] as const) {
    assert.equal(parseScenario(`${SCENARIO}seed: ${seed}\n`, 'x.yaml').seed, want, seed);
  }
  const s = parseScenario(`${SCENARIO}description: !!str 2019\n`, 'x.yaml');
  assert.equal(s.description, '2019');
});

test('a core tag on a value that does not fit it names the tag, what fits and what was found', () => {
  for (const [seed, name, expected, found] of [
    ['!!int 3.0', 'int', 'an integer (3, -3, 0x1F, 0o17) after !!int', '"3.0"'],
    ['!!float x', 'float', 'a number (2, 2.5, 1e-3) after !!float', '"x"'],
    ['!!bool yes', 'bool', 'true or false after !!bool', '"yes"'],
    ['!<tag:yaml.org,2002:int> 3.5', 'int', 'an integer (3, -3, 0x1F, 0o17) after !!int', '"3.5"'],
  ] as const) {
    const d = rejected(`${SCENARIO}seed: ${seed}\n`).diagnostics;
    assert.equal(d.length, 1, seed);
    assert.equal(d[0].message, `the YAML tag !!${name} does not fit its value`);
    assert.deepEqual([d[0].line, d[0].column], [7, 7], seed);
    assert.equal(d[0].expected, `${expected}, or the value without the tag`);
    assert.equal(d[0].found, found);
  }
  const d = rejected(`${SCENARIO}seed: !!map [1]\n`).diagnostics;
  assert.equal(d[0].message, 'the YAML tag !!map does not fit its value');
  assert.equal(d[0].expected, 'a mapping after !!map, or the value without the tag');
});

test('any other tag is refused at it, saying what to write instead', () => {
  for (const tag of ['!foo', '!Ref', '!!python/tuple', '!e!x']) {
    const d = rejected(`${SCENARIO}seed: ${tag} 3\n`).diagnostics;
    assert.equal(d.length, 1, tag);
    assert.equal(d[0].message, `unknown YAML tag ${tag}`);
    assert.deepEqual([d[0].line, d[0].column], [7, 7], tag);
    assert.match(d[0].expected ?? '', /^the value without it \(a string needs no tag: quote it/);
    assert.match(d[0].expected ?? '', /!!str, !!int, !!float, !!bool, !!null, !!map, !!seq$/);
  }
});

test("YAML 1.1's types yaml reads (!!binary, !!timestamp) are refused by the key as what they are", () => {
  for (const [seed, found] of [
    ['!!binary aGk=', 'binary data (!!binary)'],
    ['!!timestamp 2020-01-01', 'a timestamp (2020-01-01)'],
  ] as const) {
    const d = rejected(`${SCENARIO}seed: ${seed}\n`).diagnostics;
    assert.equal(d[0].message, 'wrong type for seed');
    assert.equal(d[0].found, found);
  }
});

test('a CPU profile says the same of a tag', () => {
  const text = readFileSync(join(ROOT, 'data/cpus/i7-6700k.yaml'), 'utf8').replace(/^cores: /m, 'cores: !foo ');
  assert.throws(
    () => parseProfileYaml(text, 'p.yaml'),
    (e: unknown) =>
      e instanceof ProfileYamlError && /: unknown YAML tag !foo \(expected the value without it/.test(e.message),
  );
  const misfit = text.replace(/^cores: !foo /m, 'cores: !!int ');
  assert.equal(parseProfileYaml(misfit, 'p.yaml').cores, parseProfileYaml(text.replace('!foo ', ''), 'p.yaml').cores);
});
