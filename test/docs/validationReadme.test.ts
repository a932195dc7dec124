/**
 * data/validation/README.md, the rules of a validation case, against the case loader: the setup
 * items it lists are SETUP_ITEMS, and its default tolerances are DEFAULT_TOLERANCE (exit rates,
 * shares and CPU fractions one pair, time per exit and latency the other).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { DEFAULT_TOLERANCE, METRIC_KINDS, SETUP_ITEMS } from '../../src/validation/types.js';

const DOC = readFileSync(join(REPO_ROOT, 'data', 'validation', 'README.md'), 'utf8');

test("the setup items data/validation/README.md lists are the loader's", () => {
  const m = /every item \(([^)]*)\)/.exec(DOC);
  assert.ok(m, 'the README lists the setup items as "every item (...)"');
  assert.deepEqual([...m[1].matchAll(/`([a-zA-Z]+)`/g)].map((x) => x[1]).sort(), [...SETUP_ITEMS].sort());
});

test("the default tolerances data/validation/README.md gives are the loader's, kind by kind", () => {
  const text = DOC.replace(/\s+/g, ' ');
  const m = /default tolerances (\[[\d., ]+\]) for ([^[]+), (\[[\d., ]+\]) for ([^.]+)\./.exec(text);
  assert.ok(m, 'the README states two tolerance pairs and what each is for');
  const pair = (s: string): number[] => JSON.parse(s) as number[];
  const list = (s: string): string[] => s.split(/, | and /);
  const first = pair(m[1]);
  const second = pair(m[3]);
  // The README's words for each metric kind, and which pair it names for them.
  const words: Record<(typeof METRIC_KINDS)[number], readonly [string, number[]]> = {
    exits_per_second: ['exit rates', first],
    exit_share: ['shares', first],
    host_cpu_fraction: ['CPU fractions', first],
    phase_seconds: ['phase times', first],
    time_per_exit_us: ['time per exit', second],
    interrupt_latency_mean_us: ['latency', second],
  };
  const named = [...list(m[2]), ...list(m[4])];
  assert.equal(named.length, METRIC_KINDS.length, `one word per metric kind: ${named.join(' | ')}`);
  const missing: string[] = [];
  for (const kind of METRIC_KINDS) {
    const [word, expected] = words[kind];
    if (!named.includes(word)) missing.push(`${kind} ("${word}")`);
    else assert.deepEqual([...DEFAULT_TOLERANCE[kind]], expected, kind);
  }
  assert.deepEqual(missing, [], 'metric kinds whose default tolerance the README does not give');
});
