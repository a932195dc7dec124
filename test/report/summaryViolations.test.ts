/**
 * `vmexit-lab run`'s text summary with a large fleet's violations: it printed a line per violation
 * (bhyve-tpr-v2's panic over thousands of guests: thousands of lines before the thresholds). Now one
 * line per variant and check, as failed VM entries are grouped (src/report/entryFailures.ts): the
 * count, the guests, the earliest occurrence, and the reproducer `run` shrank for it. A check that
 * tripped once keeps its line as before (docs/REPLAY.md quotes it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunResults, ViolationRecord } from '../../src/results/types.js';
import { renderSummary } from '../../src/report/summary.js';
import { syntheticResults } from './fixtures.js';
import { FLEET_REPRODUCER as COMMAND, violationFleet } from '../support/violations.js';

/** 500 violations of one check over 250 guests (2 vCPUs each), latest first; guest 41's is the earliest. */
const fleet = (): ViolationRecord[] => violationFleet({ guests: 250, vectorInMessage: true });

test("run's summary: one line per variant and check, with the count, the earliest and its reproducer", () => {
  const base = syntheticResults();
  const v = base.variants[1];
  const single = v.totals.violations.find((x) => x.check === 'ppr_above_tpr')!;
  const results: RunResults = {
    ...base,
    variants: [base.variants[0], { ...v, totals: { ...v.totals, violations: [...fleet(), single] } }],
  };
  const text = renderSummary(results);
  const lines = text.split('\n');
  const isr = lines.filter((l) => l.startsWith('  violation isr_isrvec_stk_out_of_sync'));
  assert.equal(isr.length, 1, text.slice(0, 2000));
  assert.match(isr[0], /500 times on 250 guests/);
  assert.match(
    isr[0],
    /the earliest: ISR and isrvec_stk out of sync \(vector 0xa9\) - guest windows-10-1909, host 20, vCPU 1, step 141, t=999 µs/,
  );
  const reproduce = lines.filter((l) => l.startsWith('    reproduce'));
  assert.deepEqual(reproduce, [`    reproduce (1 guest): ${COMMAND}`]);
  // A check that tripped once: its line as before.
  assert.ok(
    lines.includes(
      '  violation ppr_above_tpr: PPR below TPR - guest ubuntu-18.04, host 0, vCPU 3, step 147, t=16.06 ms',
    ),
    text,
  );
  assert.ok(lines.length < 40, `${lines.length} lines`);
});
