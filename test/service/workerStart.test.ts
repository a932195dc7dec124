/**
 * The service's worker file damaged while it runs (an install replaced under it): threads it has
 * started keep working, threads it starts from then on throw while loading. A realtime run (the
 * realtime lane starts its threads when a run needs them) posted then used to stay `running` for
 * ever, its tasks waiting for threads that never came (src/pool/pool.ts checkLoss). Now it ends
 * `failed` with the reason in its record, and the service stays up: /readyz, max-pace runs on the
 * threads it warmed at start, and the next realtime run fails the same way instead of hanging.
 *
 * The damage is test/fixtures/workers/breaksOnDemand.ts: the real worker, or a throw in a thread
 * started once VMEXIT_LAB_TEST_BREAK_WORKER=1 (given through the service's test-only `worker`).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { api, tinyScenario, waitForState, yamlPost } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-worker-start-');
const BREAK = 'VMEXIT_LAB_TEST_BREAK_WORKER';
after(() => {
  delete process.env[BREAK];
});

const worker = new URL('../fixtures/workers/breaksOnDemand.js', import.meta.url);
const notStarted = `a simulation worker could not start (${relative(process.cwd(), fileURLToPath(worker))}): Error: broken worker`;

test('a run whose workers cannot start ends failed with the reason; the service stays up', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000, worker });
  services.push(s);
  process.env[BREAK] = '1';

  for (const attempt of ['first', 'second']) {
    const posted = await api(s.url, '/api/runs?pace=realtime', yamlPost(tinyScenario(`rt-${attempt}`)));
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(posted.body.options.lane, 'realtime');
    // The bound is what a hung run would take (it stayed `running`): the run itself fails at once.
    const rec = await waitForState(s.url, posted.body.id, ['failed'], { timeoutMs: 30_000 });
    assert.equal(rec.error, notStarted, `${attempt} realtime run`);
    assert.equal(rec.stopReason, 'failed');
    assert.equal(rec.partial, true, 'never reported as complete');
    assert.match(rec.summary.partialReason, /^stopped because a task failed \(a simulation worker could not start /);
  }

  const ready = await api(s.url, '/readyz');
  assert.equal(ready.status, 200, 'still ready');
  // The max lane's threads loaded the worker before the damage: its runs go on.
  const max = await api(s.url, '/api/runs', yamlPost(tinyScenario('max-after')));
  assert.equal(max.status, 202);
  const done = await waitForState(s.url, max.body.id, ['completed'], { timeoutMs: 30_000 });
  assert.equal(done.error, undefined);
});
