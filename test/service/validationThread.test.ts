import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import {
  api as fetchApi,
  yamlPost as yaml,
  type FetchAnswer as Answer,
  assertErrorCode as assertError,
} from '../support/http.js';

/**
 * Posted scenarios are validated off the main thread, under a time and a memory bound, and a body
 * of 100,000 keys is refused before any parse (docs/SERVICE.md, Limits). Issue #18's first finding:
 * the service validated on the main thread, so one slow document stalled every request; each test
 * failed before its fix.
 */

const { dataDir, services, shared } = serviceFixture('vmexit-lab-validation-thread-', {
  limits: { maxSeries: 1_000, maxQueued: 200, maxConcurrentRuns: 2 },
});

let svc: ServiceHandle;
before(async () => {
  svc = await shared();
});

const api = (path: string, init: RequestInit = {}, base = svc.url): Promise<Answer> => fetchApi(base, path, init);

test('a 1 MB body of 100,000 unknown keys is refused at once (too_complex), nothing parsed', async () => {
  const keys = Array.from({ length: 102_000 }, (_, i) => `k${i}: 1`).join('\n');
  const r = await api('/api/runs?', yaml(keys));
  assertError(r, 422, 'too_complex');
  assert.match(r.body.error.message, /request\.yaml: the document has 102000 lines; at most 20000/);
});

test('validation runs off the main thread: /healthz answers while a slow document is parsed', async () => {
  // Under the early bound (about 49,000 nodes) but seconds of parsing and did-you-mean work.
  const body = `name: slow\n${Array.from({ length: 16_000 }, (_, i) => `x${i}: [a, b]`).join('\n')}\n`;
  // A time bound far above the document's cost, so that its answer is its diagnostics whatever the
  // load: under the default 5 s bound, a loaded machine made it a 422 too_complex (the bound has its
  // own test below).
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, validation: { timeoutMs: 300_000 } });
  services.push(s);
  const order: string[] = [];
  const post = api('/api/runs', yaml(body), s.url).then((r) => {
    order.push('post');
    return r;
  });
  // Let the request reach the validator, then ask for health: it must not wait for the parse.
  await new Promise((ok) => setTimeout(ok, 50));
  const health = await api('/healthz', {}, s.url);
  order.push('healthz');
  const r = await post;
  assert.equal(health.status, 200);
  assertError(r, 400, 'invalid_scenario');
  assert.deepEqual(order, ['healthz', 'post'], 'health answered before the parse ended');
});

test('a validation over its time bound is abandoned with too_complex', async () => {
  const { ScenarioValidator } = await import('../../src/service/scenarioValidator.js');
  const v = new ScenarioValidator({ timeoutMs: 50, threads: 1 });
  try {
    await v.warm();
    const body = `name: slow\n${Array.from({ length: 16_000 }, (_, i) => `x${i}: [a, b]`).join('\n')}\n`;
    await assert.rejects(v.validate(body, 'request.yaml'), (e: { status: number; code: string; message: string }) => {
      assert.equal(e.status, 422);
      assert.equal(e.code, 'too_complex');
      assert.match(e.message, /did not finish within 0\.05 s/);
      return true;
    });
    assert.equal(v.inFlight, 0, 'the abandoned validation no longer counts against the bound');
  } finally {
    await v.close();
  }
});

test('a validation over its memory bound is abandoned with too_complex, and the next one is answered', async () => {
  const { ScenarioValidator } = await import('../../src/service/scenarioValidator.js');
  // 16,000 flow sequences pass the early bound (48,000 structure characters) but their nodes need
  // more than a 16 MiB heap: the thread dies of it, the validator does not.
  const v = new ScenarioValidator({ timeoutMs: 60_000, threads: 1, heapMb: 16 });
  try {
    await v.warm();
    const body = `name: big\n${Array.from({ length: 16_000 }, (_, i) => `x${i}: [a, b]`).join('\n')}\n`;
    await assert.rejects(v.validate(body, 'request.yaml'), (e: { status: number; code: string; message: string }) => {
      assert.equal(e.status, 422);
      assert.equal(e.code, 'too_complex');
      assert.match(e.message, /^request\.yaml: validating the scenario needed more than 16 MiB/);
      return true;
    });
    assert.equal(v.inFlight, 0);
    await assert.rejects(
      v.validate('name: next\n', 'next.yaml'),
      (e: { status: number; code: string; message: string }) => {
        assert.equal(e.status, 400, 'a fresh thread validates the next document');
        assert.equal(e.code, 'invalid_scenario');
        assert.match(e.message, /next\.yaml:1:1: error: missing required key "guests"/);
        return true;
      },
    );
  } finally {
    await v.close();
  }
});
