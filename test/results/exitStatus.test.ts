import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { exitStatusOf } from '../../src/results/exitStatus.js';

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
