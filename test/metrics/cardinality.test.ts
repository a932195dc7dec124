/**
 * Cardinality budget (docs/BEYOND.md): the series count computed from a scenario before it runs
 * equals the series the registry exposes after the run; a scenario over its budget is refused
 * before anything is simulated, by the CLI (run, validate: exit 2) and the service (422).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import { expectedSeries, overBudget, reasonsOf } from '../../src/metrics/cardinality.js';
import { DEFAULT_CARDINALITY_BUDGET } from '../../src/scenario/limits.js';
import { startService } from '../../src/service/server.js';
import type { Scenario } from '../../src/scenario/types.js';
import { parseExposition } from './support.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-card-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run a scenario for one simulated second and count the /metrics series with its scenario label. */
async function measuredSeries(
  scenario: Scenario,
  perGuest = false,
): Promise<{ total: number; perGuestExits: number; perGuestOther: number }> {
  const short = { ...scenario, duration: { kind: 'fixed' as const, ns: 1e9 } };
  const run = runScenario(short, { perGuest });
  const hub = new MetricsHub({ perGuest });
  hub.addFinished(short, run.accumulators, run.results);
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  let total = 0;
  let perGuestExits = 0;
  let perGuestOther = 0;
  for (const key of s.keys()) {
    if (!key.includes(`scenario="${scenario.name}"`)) continue;
    total++;
    if (key.startsWith('vmexit_lab_per_guest_vm_exits_total')) perGuestExits++;
    else if (key.startsWith('vmexit_lab_per_guest_')) perGuestOther++;
  }
  return { total, perGuestExits, perGuestOther };
}

const SCENARIOS = [
  'scenarios/default.yaml',
  'scenarios/library/mixed-fleet-every-cpu.yaml',
  'scenarios/library/amd-avic.yaml',
  // AMD's pause filter: #VMEXIT_PAUSE is an opaque kind for imported profiles, yet the lock-spin phase causes it.
  'scenarios/library/pause-filter-amd.yaml',
  'scenarios/library/imported-sysbench-policies.yaml',
  'scenarios/seed/e5-2667v4-apicv-panic-script.yaml',
  'test/fixtures/metrics/thresholds-mixed.yaml',
];

for (const file of SCENARIOS) {
  test(`the series count computed before the run is the count after it: ${file}`, async () => {
    const scenario = loadScenarioFile(join(REPO_ROOT, file));
    const expected = expectedSeries(scenario);
    assert.equal(expected.exact, true);
    const measured = await measuredSeries(scenario);
    assert.equal(measured.total, expected.total, JSON.stringify(expected.contributors));
    assert.ok(expected.total <= scenario.cardinalityBudget);
  });
}

test('docs/SERVICE.md states the computed count of scenarios/default.yaml', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const m = /scenarios\/default\.yaml[^\n]*?: \*\*(\d+) series\*\*/.exec(doc);
  assert.ok(m);
  assert.equal(expectedSeries(loadScenarioFile(join(REPO_ROOT, 'scenarios', 'default.yaml'))).total, Number(m[1]));
});

test('with per-guest metrics: exact but for per-guest exits, which stay within the bound', async () => {
  const scenario = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'default.yaml'));
  const without = expectedSeries(scenario);
  const withGuests = expectedSeries(scenario, { perGuest: true });
  assert.equal(withGuests.exact, false);
  const guests = scenario.variants.reduce(
    (n, v) => n + v.host.count * v.guests.reduce((a, g) => a + (g.kind === 'modelled' ? g.count : 0), 0),
    0,
  );
  const R = reasonsOf({ vendor: 'intel', opaque: false, spins: false });
  assert.equal(withGuests.total, without.total + guests * (3 + R));
  const m = await measuredSeries(scenario, true);
  assert.equal(m.perGuestOther, 3 * guests, 'three per-guest series besides exits, for every guest');
  assert.ok(
    m.perGuestExits > 0 && m.perGuestExits <= guests * R,
    `${m.perGuestExits} per-guest exit series <= ${guests * R}`,
  );
  assert.equal(m.total - m.perGuestExits, withGuests.total - guests * R, 'everything else exact');
  // The biggest contributor of a per-guest fleet is named first.
  const fleet = { ...scenario, variants: scenario.variants.map((v) => ({ ...v, host: { ...v.host, count: 1000 } })) };
  const msg = overBudget(fleet, { perGuest: true });
  assert.ok(msg !== undefined);
  assert.match(
    msg,
    /would create up to \d+ metric series, over its cardinalityBudget of 10000; biggest: variant [^:]+: per-guest series/,
  );
});

const OVER = (name: string): string => `name: ${name}
description: A budget far too small for two variants
host: { cpu: i7-6700K, cores: 4 }
guests:
  - os: windows-10-1909
    phases: [{ phase: idle }]
duration: 2s
cardinalityBudget: 100
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;

test('the budget is a scenario key with a documented default, checked at load time', () => {
  assert.equal(DEFAULT_CARDINALITY_BUDGET, 10_000);
  assert.equal(parseScenario(OVER('b').replace('cardinalityBudget: 100\n', ''), 'b.yaml').cardinalityBudget, 10_000);
  assert.equal(parseScenario(OVER('b'), 'b.yaml').cardinalityBudget, 100);
  assert.throws(
    () => parseScenario(OVER('b').replace('100', '0'), 'b.yaml'),
    /b\.yaml:8:\d+: error: .*cardinalityBudget/,
  );
  assert.throws(() => parseScenario(OVER('b').replace('100', '"many"'), 'b.yaml'), /cardinalityBudget/);
});

test('over budget: run and validate exit 2 before anything runs, with count, budget and biggest contributors', () => {
  const file = join(dir, 'over.yaml');
  writeFileSync(file, OVER('over-budget'));
  const expected = expectedSeries(parseScenario(OVER('over-budget'), file)).total;
  assert.ok(expected > 100);
  const out = join(dir, 'over.json');
  const run = spawnSync(process.execPath, [CLI, 'run', '--out', out, file], { encoding: 'utf8' });
  assert.equal(run.status, 2, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(
      `would create ${expected} metric series, over its cardinalityBudget of 100; biggest: variant bhyve-12.1: the other per-variant series: 89; variant bhyve-tpr-v3`,
    ),
  );
  assert.equal(run.stdout, '', 'no summary: nothing ran');
  assert.equal(existsSync(out), false, 'no results: nothing ran');
  const validate = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
  assert.equal(validate.status, 2);
  assert.match(validate.stderr, new RegExp(`${expected} metric series, over its cardinalityBudget of 100`));
  // Within budget, the same scenario runs.
  writeFileSync(file, OVER('over-budget').replace('cardinalityBudget: 100', `cardinalityBudget: ${expected}`));
  assert.equal(spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' }).status, 0);
});

test('over budget: the service answers 422 with the same message and starts no run; the gauges export budget and count', async () => {
  const svc = await startService({ port: 0, dataDir: join(dir, 'svc'), workers: 1 });
  try {
    const res = await fetch(`${svc.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/yaml' },
      body: OVER('svc-over'),
    });
    const body = (await res.json()) as { error: { status: number; code: string; message: string } };
    assert.equal(res.status, 422);
    assert.equal(body.error.code, 'limit_exceeded');
    assert.equal(body.error.message, overBudget(parseScenario(OVER('svc-over'), 'request.yaml')));
    const runs = (await (await fetch(`${svc.url}/api/runs`)).json()) as unknown[];
    assert.equal(Array.isArray(runs) ? runs.length : ((runs as any).runs?.length ?? 0), 0, 'no run recorded');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /svc-over/, 'no series for the refused scenario');
    // A scenario within budget: its budget and computed count are exported.
    const ok = await fetch(`${svc.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/yaml' },
      body: OVER('svc-ok').replace('cardinalityBudget: 100', 'cardinalityBudget: 5000'),
    });
    assert.equal(ok.status, 202);
    // Posted YAML is labelled by the service (inline- and a digest of the text), never by its name.
    const label = ((await ok.json()) as { seriesLabel: string }).seriesLabel;
    assert.match(label, /^inline-[0-9a-f]{12}$/);
    const m = parseExposition(await (await fetch(`${svc.url}/metrics`)).text());
    assert.equal(m.get(`vmexit_lab_series_budget{scenario="${label}"}`), 5000);
    assert.equal(
      m.get(`vmexit_lab_series_expected{scenario="${label}"}`),
      expectedSeries(parseScenario(OVER('svc-ok'), 'request.yaml')).total,
    );
  } finally {
    await svc.close();
  }
});
