import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { tinyScenario as tiny } from '../support/http.js';

/**
 * The scenario catalogue (GET /api/scenarios, POST of a name) keeps each parsed file until it
 * changes: polled by 4 clients it held the main thread (docs/SERVICE.md, "Hostile input"). From the
 * hostile-input audit; the test failed before its fix.
 * docs/SERVICE.md "Hostile input" names each test of this file by its title (hostileInputTable.test.ts).
 */

const { dataDir } = serviceFixture('vmexit-lab-catalog-cache-');

test('the scenario catalogue parses a file once (GET /api/scenarios held the main thread 90 ms a call), and again when it changes', () => {
  const dir = join(dataDir(), 'scenarios');
  mkdirSync(dir);
  const file = join(dir, 'one.yaml');
  writeFileSync(file, tiny('one-a'));
  const catalog = new ScenarioCatalog(dir);
  const first = catalog.load('one');
  assert.equal(first.scenario.name, 'one-a');
  assert.equal(catalog.load('one'), first, 'the second load is the first one, not a new parse');
  assert.equal(catalog.list()[0].scenario, 'one-a');
  assert.equal(catalog.load('one'), first, 'listing reuses it too');
  // Same size, another content and time: read again.
  writeFileSync(file, tiny('one-b'));
  utimesSync(file, new Date(), new Date(Date.now() + 5_000));
  const second = catalog.load('one');
  assert.equal(second.scenario.name, 'one-b');
  assert.notEqual(second, first);
  assert.equal(catalog.list()[0].scenario, 'one-b');
  // A bad file is reported each time, and a fixed one loads.
  writeFileSync(file, 'name: broken\n');
  utimesSync(file, new Date(), new Date(Date.now() + 10_000));
  assert.throws(() => catalog.load('one'), /missing required key "guests"/);
  assert.equal(catalog.list()[0].valid, false);
});
