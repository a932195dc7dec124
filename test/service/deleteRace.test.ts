/**
 * A DELETE that meets a run's last simulated second: the answer and the run's final state agree.
 * A 202 means the run ends `cancelled`; a run whose every task had run to its end before the DELETE
 * is a 409 and ends `completed`. Before, such a DELETE was answered 202 (`stopReason: cancelled`)
 * and the run still ended `completed`, with whole results (4 of 60 tries, svc35's pass).
 *
 * No timing: the service's pool here is this thread. Each task runs through the real worker
 * (src/pool/worker.ts `answer`), and the test says when the DELETE comes: before the task starts,
 * inside the task between its last read of the stop and its end (at the snapshot it posts there),
 * or once its answer is ready but not yet handed back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import answer from '../../src/pool/worker.js';
import type { SimPool } from '../../src/pool/pool.js';
import type { RunTask, TaskDone, TaskUpdate, WorkerAnswer } from '../../src/pool/protocol.js';
import { HistoryStore } from '../../src/history/store.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { RunManager } from '../../src/service/runs.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { ApiError } from '../../src/service/errors.js';
import type { RunRecord } from '../../src/history/records.js';
import { idleFreebsdFleet } from '../support/fleets.js';

const stores: HistoryStore[] = [];
const dirs: string[] = [];
after(() => {
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** When the test's DELETE comes, relative to the run's one task. */
type Moment = 'before the task starts' | 'after the last stop check' | 'once the answer is ready';

/** What the DELETE was answered: the record (202) or the error's status and code. */
type Answer =
  { readonly status: 202; readonly record: RunRecord } | { readonly status: 409 | 404; readonly code: string };

function cancelNow(manager: RunManager, id: string): Answer {
  try {
    return { status: 202, record: manager.cancel(id) };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    assert.ok(e.status === 409 || e.status === 404, `DELETE answered ${e.status}`);
    return { status: e.status, code: e.code };
  }
}

/**
 * A run of one task (one host, 2 simulated seconds) on a pool that is this thread, with a DELETE at
 * `moment`; resolves with the DELETE's answer and the run's final record.
 */
async function deleteAt(moment: Moment): Promise<{ answer: Answer; final: RunRecord }> {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-delete-race-'));
  dirs.push(dir);
  const { store: history } = HistoryStore.open(dir);
  stores.push(history);
  let id = '';
  let answered: Answer | undefined;
  const del = (): void => {
    assert.equal(answered, undefined, 'one DELETE per run');
    answered = cancelNow(manager, id);
  };
  const pool = {
    workers: 1,
    run(task: RunTask): Promise<TaskDone> {
      return new Promise<TaskDone>((resolve) => {
        // After the run's launch has returned (the service knows the run by then).
        setImmediate(() => {
          if (moment === 'before the task starts') del();
          const real = task.port;
          // Every simulated second's snapshot is posted (postIntervalMs 0), the last one after the
          // task's last read of the stop word and before its end (src/pool/worker.ts onEpoch).
          const port = {
            postMessage(u: TaskUpdate): void {
              if (moment === 'after the last stop check' && u.kind === 'snapshot' && u.progress.simNs === 2e9) del();
              real.postMessage(u);
            },
            close(): void {
              real.close();
            },
          } as unknown as MessagePort;
          const done: WorkerAnswer = answer({ ...task, postIntervalMs: 0, port });
          assert.equal(done.kind, 'done');
          if (moment === 'once the answer is ready') del();
          resolve(done);
        });
      });
    },
    noteFailure(): void {},
  } as unknown as SimPool;
  const manager = new RunManager({ pool, history, hub: new MetricsHub(), catalog: new ScenarioCatalog() });
  const rec = await manager.submit({
    yaml: idleFreebsdFleet({
      name: 'delete-race',
      seed: 3,
      cores: 2,
      hosts: 1,
      policies: ['bhyve-tpr-v3'],
      seconds: 2,
    }),
  });
  id = rec.id;
  const final = await manager.wait(id);
  assert.ok(final);
  assert.ok(answered, 'the DELETE was sent');
  return { answer: answered, final };
}

test('DELETE before the task starts: 202, and the run ends cancelled with nothing simulated', async () => {
  const { answer: a, final } = await deleteAt('before the task starts');
  assert.equal(a.status, 202);
  assert.equal(final.state, 'cancelled');
  assert.equal(final.stopReason, 'cancelled');
  assert.equal(final.progress?.simSeconds, 0);
});

test('DELETE between the task last reading the stop and its end: 202, and the run ends cancelled (it ended completed)', async () => {
  const { answer: a, final } = await deleteAt('after the last stop check');
  assert.equal(a.status, 202);
  if (a.status === 202) {
    assert.equal(a.record.state, 'running');
    assert.equal(a.record.stopReason, 'cancelled');
  }
  assert.equal(final.state, 'cancelled', 'a 202 promised a cancelled run');
  assert.equal(final.stopReason, 'cancelled');
  assert.equal(final.partial, true);
  // Its task had simulated every second: the reason says so rather than a second it did not stop at.
  assert.equal(
    final.summary?.partialReason,
    'cancelled through the API (DELETE /api/runs/{id}) at 2 of 2 simulated seconds, 1 of 1 hosts done.',
  );
});

test('DELETE once every task has run to its end, before the service has its answer: 409, and the run ends completed (it was 202)', async () => {
  const { answer: a, final } = await deleteAt('once the answer is ready');
  assert.deepEqual(a, { status: 409, code: 'not_running' });
  assert.equal(final.state, 'completed');
  assert.equal(final.stopReason, undefined);
  assert.equal(final.partial, false);
});
