import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { exitStatusOf, verdictCounts } from '../../src/results/exitStatus.js';
import type { EntryFailureRecord, RunResults } from '../../src/results/types.js';
import { syntheticResults } from '../report/fixtures.js';

/**
 * Issue #18 item 5: a run that did not reach its end (a worker threw or died, a SIGTERM drain, a
 * time limit, a cancel) said `summary.exitStatus: 0` while the CLI exits 3 for it. Partial results
 * now carry `partial: true`, and their exit status is 3 whatever their thresholds say.
 */
test('#18.5: partial results exit 3; the same results complete exit 0', () => {
  const s = parseScenario(
    `name: partial-status
host: { cpu: i7-6700K, cores: 2, count: 1 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: 1s
`,
    'partial-status.yaml',
  );
  const { results } = runScenario(s);
  assert.equal(exitStatusOf(results), 0);
  assert.equal(results.partial, undefined, 'a complete run has no partial marker');
  assert.equal(exitStatusOf({ ...results, partial: true, partialReason: 'cancelled (DELETE) at 0 of 1 s' }), 3);
});

test("verdictCounts: a run's unexpected and expected violations and failed VM entries, over its variants (what the verdicts count and exit 3 asks)", () => {
  const r = syntheticResults();
  // The fixture: one expected and one unexpected violation, in its second variant; no failed entry.
  assert.deepEqual(verdictCounts(r), { unexpected: 1, expected: 1, entryFailures: 0 });
  const entry: EntryFailureRecord = {
    vcpu: 0,
    guest: 'windows-10-1909',
    host: 0,
    step: 1,
    vmInstructionError: 7,
    message: 'VM entry with invalid control field(s)',
    failedChecks: ['tpr-shadow'],
    details: [],
  };
  const withEntries: RunResults = {
    ...r,
    variants: r.variants.map((v) => ({
      ...v,
      totals: { ...v.totals, violations: v.totals.violations.filter((x) => x.expected), entryFailures: [entry, entry] },
    })),
  };
  assert.deepEqual(verdictCounts(withEntries), { unexpected: 0, expected: 1, entryFailures: 4 });
  assert.equal(exitStatusOf(withEntries), 3, 'a failed VM entry');
  const clean: RunResults = {
    ...withEntries,
    variants: withEntries.variants.map((v) => ({ ...v, totals: { ...v.totals, entryFailures: [] } })),
  };
  assert.equal(exitStatusOf(clean), 1, "the fixture's failing threshold");
  assert.equal(exitStatusOf({ ...clean, variants: clean.variants.map((v) => ({ ...v, thresholds: [] })) }), 0);
});
