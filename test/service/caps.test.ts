/**
 * src/service/caps.ts checkCaps, the one rule for a posted run and for `start`'s scenario: the
 * realtime-length cap (--max-run-time). A fixed-duration scenario at realtime pace takes its
 * simulated seconds in wall seconds, so one longer than --max-run-time could only end partial and
 * is refused (422 limit_exceeded, naming the option and the least value that admits it); the same
 * scenario at max pace, and an until-complete one (it may finish before its maxDuration), are not.
 *
 * And a scenario over several caps is refused once, naming every one in checkCaps' order (the
 * message, and `error.exceeded` of the 422 body): it was refused at the first, so a user fixed one
 * cap, was told the next, and so on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCaps, OverCapError, serviceLimits, type CapExceeded } from '../../src/service/caps.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { parseScenario } from '../../src/scenario/load.js';
import { startService } from '../../src/service/server.js';
import type { Scenario } from '../../src/scenario/types.js';
import { api, yamlPost } from '../support/http.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { CAP_TEXT, OVER_CAPS_LIMITS, OVER_CAPS_ROWS, overCapsYaml, type OverCapsRow } from './overCaps.js';

const { scenario: base } = new ScenarioCatalog().load('default');
const caps = (maxRunSeconds: number) => ({
  limits: serviceLimits({ maxRunSeconds, maxRunCost: 1e9 }, 1),
  workers: 1,
  perGuest: false,
});

function withDuration(pace: Scenario['pace'], duration: Scenario['duration']): Scenario {
  return { ...base, pace, duration };
}

const S = 1e9;
const CASES: { name: string; scenario: Scenario; maxRunSeconds: number; refused?: number }[] = [
  {
    name: 'realtime, 120 s, cap 60',
    scenario: withDuration('realtime', { kind: 'fixed', ns: 120 * S }),
    maxRunSeconds: 60,
    refused: 120,
  },
  {
    name: 'realtime, 60 s, cap 60',
    scenario: withDuration('realtime', { kind: 'fixed', ns: 60 * S }),
    maxRunSeconds: 60,
  },
  {
    name: 'realtime, 60.5 s, cap 60',
    scenario: withDuration('realtime', { kind: 'fixed', ns: 60.5 * S }),
    maxRunSeconds: 60,
    refused: 61,
  },
  { name: 'max pace, 120 s, cap 60', scenario: withDuration('max', { kind: 'fixed', ns: 120 * S }), maxRunSeconds: 60 },
  {
    name: 'realtime, until complete within 120 s, cap 60',
    scenario: withDuration('realtime', { kind: 'until-complete', maxNs: 120 * S }),
    maxRunSeconds: 60,
  },
];

for (const c of CASES) {
  test(`checkCaps --max-run-time: ${c.name} -> ${c.refused === undefined ? 'admitted' : `refused, --max-run-time ${c.refused}`}`, () => {
    if (c.refused === undefined) {
      assert.doesNotThrow(() => checkCaps(c.scenario, caps(c.maxRunSeconds)));
      return;
    }
    assert.throws(
      () => checkCaps(c.scenario, caps(c.maxRunSeconds)),
      (e: unknown) =>
        e instanceof OverCapError &&
        e.status === 422 &&
        /runs at realtime pace for [\d.]+ s; this service stops a run after 60 s \(--max-run-time\)/.test(e.message) &&
        e.exceeded.length === 1 &&
        e.exceeded[0].cap === 'realtime_length' &&
        e.exceeded[0].option === '--max-run-time' &&
        e.exceeded[0].atLeast === c.refused,
    );
  });
}

/** `exceeded` is the row's caps, in order, each with its option, least admitting value and message. */
function assertExceeded(exceeded: readonly CapExceeded[], row: OverCapsRow): void {
  assert.deepEqual(
    exceeded.map((x) => x.cap),
    row.over.map((o) => o.cap),
  );
  for (const [i, x] of exceeded.entries()) {
    const want = CAP_TEXT[x.cap];
    assert.equal(x.option, want.option, x.cap);
    if (want.option === undefined) assert.equal(x.atLeast, undefined, x.cap);
    else if (row.over[i].atLeast !== undefined) assert.equal(x.atLeast, row.over[i].atLeast, x.cap);
    else assert.ok(Number.isInteger(x.atLeast) && x.atLeast! > 1, `${x.cap}: atLeast ${x.atLeast}`);
    assert.match(x.message, want.message, x.cap);
  }
}

/** The message: the one cap's as it was, or every cap's, numbered, in order. */
function assertMessage(message: string, exceeded: readonly CapExceeded[]): void {
  if (exceeded.length === 1) {
    assert.equal(message, exceeded[0].message);
    return;
  }
  const parts = exceeded.map((x, i) => `(${i + 1}) ${x.message.replace(/\.?$/, '.')}`);
  assert.equal(message, `the scenario is over ${exceeded.length} caps: ${parts.join(' ')}`);
}

for (const row of OVER_CAPS_ROWS) {
  test(`checkCaps names every cap a scenario is over, in order: ${row.name} -> [${row.over.map((o) => o.cap).join(', ')}]`, () => {
    const scenario = {
      ...parseScenario(overCapsYaml(row.shape), 'over.yaml', { workloadBaseDir: null }),
      pace: row.pace,
    };
    const caps = { limits: serviceLimits(OVER_CAPS_LIMITS, 1), workers: 1, perGuest: false };
    if (row.over.length === 0) {
      assert.doesNotThrow(() => checkCaps(scenario, caps));
      return;
    }
    assert.throws(
      () => checkCaps(scenario, caps),
      (e: unknown) => {
        assert.ok(e instanceof OverCapError);
        assert.equal(e.status, 422);
        assertExceeded(e.exceeded, row);
        assertMessage(e.message, e.exceeded);
        return true;
      },
    );
  });
}

const { dataDir, services } = serviceFixture('vmexit-lab-caps-');

test('POST /api/runs over several caps: one 422 limit_exceeded whose error.exceeded lists them all, in order', async () => {
  const svc = await startService({ port: 0, dataDir: dataDir(), workers: 1, limits: OVER_CAPS_LIMITS });
  services.push(svc);
  for (const row of OVER_CAPS_ROWS.filter((r) => r.over.length > 0)) {
    const r = await api(svc.url, `/api/runs?pace=${row.pace}`, yamlPost(overCapsYaml(row.shape)));
    assert.equal(r.status, 422, `${row.name}: ${r.text}`);
    const { error } = r.body;
    assert.equal(error.code, 'limit_exceeded', row.name);
    assertExceeded(error.exceeded, row);
    assertMessage(error.message, error.exceeded);
    // The list's entries have exactly these fields (option and atLeast only where an option raises the cap).
    for (const x of error.exceeded)
      assert.deepEqual(
        Object.keys(x),
        x.cap === 'cardinality_budget' ? ['cap', 'message'] : ['cap', 'option', 'atLeast', 'message'],
      );
  }
});
