/**
 * src/service/caps.ts checkCaps, the one rule for a posted run and for `start`'s scenario: the
 * realtime-length cap (--max-run-time). A fixed-duration scenario at realtime pace takes its
 * simulated seconds in wall seconds, so one longer than --max-run-time could only end partial and
 * is refused (422 limit_exceeded, naming the option and the least value that admits it); the same
 * scenario at max pace, and an until-complete one (it may finish before its maxDuration), are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCaps, OverCapError, serviceLimits } from '../../src/service/caps.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import type { Scenario } from '../../src/scenario/types.js';

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
        e.raise?.option === '--max-run-time' &&
        e.raise.atLeast === c.refused,
    );
  });
}
