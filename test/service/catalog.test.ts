/**
 * src/service/scenarios.ts: a scenario asked for by a name that is not in scenarios/ gets the name
 * it may have meant, as the CLI's unknown names do (`DEFAULT`, a name with `.yaml` got none); a
 * scenario file is read as the CLI reads one (src/scenario/load.ts readScenarioText); an entry of
 * GET /api/scenarios over this service's caps names them (`overCaps`), as a POST of it is refused.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FILE_BYTES } from '../../src/scenario/limits.js';
import { ApiError } from '../../src/service/errors.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { serviceLimits } from '../../src/service/caps.js';

test('an unknown scenario name: 404 with a did-you-mean (case, a .yaml ending, a typo); none for a name far from all', () => {
  const catalog = new ScenarioCatalog();
  const rows: [asked: string, meant: string | undefined][] = [
    ['DEFAULT', 'default'],
    ['seed/win10-1909-cr8-exits.yaml', 'seed/win10-1909-cr8-exits'],
    ['seed/win10-1909-cr8-exit', 'seed/win10-1909-cr8-exits'],
    ['defualt', 'default'],
    ['zzzzzzzzzzzzzzzzzzzzzzzzzzzz', undefined],
  ];
  for (const [asked, meant] of rows)
    assert.throws(
      () => catalog.load(asked),
      (e: unknown) =>
        e instanceof ApiError &&
        e.status === 404 &&
        e.code === 'unknown_scenario' &&
        e.message ===
          `no scenario "${asked}" in scenarios/${meant === undefined ? '' : ` (did you mean "${meant}"?)`} (GET /api/scenarios lists them)`,
      asked,
    );
});

test("a scenario file of the catalogue is read as the CLI reads one: the size bound's diagnostic, no byte order mark", () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-catalog-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'big.yaml'), `name: big\n# ${'x'.repeat(MAX_FILE_BYTES)}\n`);
  const size = MAX_FILE_BYTES + 13;
  // A byte order mark (Windows editors write one) is no character: the unknown key is at column 1.
  writeFileSync(join(dir, 'bom.yaml'), '\uFEFFnmae: bom\n');
  const catalog = new ScenarioCatalog(dir);
  const refused = (name: string, text: RegExp): void =>
    assert.throws(
      () => catalog.load(name),
      (e: unknown) =>
        e instanceof ApiError && e.status === 400 && e.code === 'invalid_scenario' && text.test(e.message),
      name,
    );
  refused(
    'big',
    new RegExp(
      `^scenarios/big\\.yaml:1:1: error: file is too large \\(expected at most ${MAX_FILE_BYTES} bytes \\(1 MiB\\), found ${size} bytes\\)$`,
    ),
  );
  refused('bom', /^scenarios\/bom\.yaml:1:1: error: unknown key "nmae"/m);
});

test('GET /api/scenarios: an entry over the service caps says which (overCaps), as its POST would be refused', () => {
  const catalog = new ScenarioCatalog();
  const caps = { limits: serviceLimits(undefined, 2), workers: 2, perGuest: false };
  const list = catalog.list(caps);
  const install = list.find((s) => s.name === 'seed/win10-1909-install-tpr-shadowing');
  assert.ok(install !== undefined);
  assert.equal(install.valid, true);
  assert.deepEqual(install.overCaps, [
    'the scenario lasts up to 7200 simulated seconds; this service allows at most 3600 (--max-duration)',
  ]);
  const cr8 = list.find((s) => s.name === 'seed/win10-1909-cr8-exits');
  assert.ok(cr8 !== undefined);
  assert.equal(cr8.overCaps, undefined);
  // With the cap raised, nothing is over it.
  const raised = catalog.list({ ...caps, limits: serviceLimits({ maxDurationSeconds: 7200 }, 2) });
  assert.equal(raised.find((s) => s.name === 'seed/win10-1909-install-tpr-shadowing')?.overCaps, undefined);
});
