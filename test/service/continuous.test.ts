import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { parseExposition } from '../metrics/support.js';
import { waitForState } from '../support/http.js';
import { waitUntil } from '../support/wait.js';
import { ScenarioValidator } from '../../src/service/scenarioValidator.js';
import { parseOrThrow } from '../../src/service/scenarios.js';
import { seriesLabel } from '../../src/history/records.js';

/**
 * Issue #17 item 1: the default `npm start` runs used to stop after 30 s (scenarios/default.yaml's
 * duration), after which /metrics stood still. The service now runs it back to back, each
 * iteration an ordinary run under one label (counters go on), on threads of its own, so a run a
 * user submits does not wait for it.
 */

const { dataDir, services } = serviceFixture('vmexit-lab-continuous-');

const LIVE = `name: live-forever
seed: 1
host: { cpu: i7-6700K, cores: 2, count: 1 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    phases: [{ phase: idle }]
duration: 1s
`;

const USER = LIVE.replace('name: live-forever', 'name: user-run').replace('seed: 1', 'seed: 2');

async function get(url: string): Promise<any> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return r.headers.get('content-type')?.includes('json') ? r.json() : r.text();
}

test('#17.1: the start-up scenario runs back to back; counters go on across iterations; user runs do not wait', async () => {
  const dir = dataDir();
  const svc = await startService({ port: 0, dataDir: dir, workers: 1, limits: { maxConcurrentRuns: 1 } });
  services.push(svc);
  const first = await svc.runContinuously({ yaml: LIVE, file: 'live.yaml', pace: 'realtime' });
  assert.equal(first.continuous, true);
  const label = first.seriesLabel;
  const exits = async (): Promise<number> => {
    const m = parseExposition((await get(`${svc.url}/metrics`)) as string);
    let n = 0;
    for (const [k, v] of m) if (k.startsWith(`vmexit_lab_vm_exits_total{scenario="${label}"`)) n += v;
    return n;
  };
  // A user's max-pace run while the default runs: it starts at once and completes.
  const post = await fetch(`${svc.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: USER,
  });
  const user = (await post.json()) as { id: string; state: string };
  assert.equal(post.status, 202);
  assert.equal(user.state, 'running', 'not queued behind the continuous default');
  // Wait for two iterations to complete; scrape between polls.
  const seen: number[] = [];
  let iterations: { id: string; state: string; options: { seed: number } }[] = [];
  await waitUntil(
    'two iterations of the continuous default to complete',
    async () => {
      const list = (await get(`${svc.url}/api/runs?scenario=live-forever`)) as { runs: typeof iterations };
      iterations = list.runs;
      const n = await exits();
      if (seen.length === 0 || n !== seen[seen.length - 1]) seen.push(n);
      return iterations.filter((r) => r.state === 'completed').length >= 2;
    },
    { intervalMs: 100, seen: () => JSON.stringify(iterations.map((r) => r.state)) },
  );
  const done = iterations.filter((r) => r.state === 'completed');
  assert.notEqual(done[0].options.seed, done[1].options.seed, 'each iteration the next seed');
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `counters never go down: ${seen.join(' ')}`);
  assert.ok(seen[seen.length - 1] > 0);
  // It started at once (above); it ends on its own, whenever the iterations got to two.
  assert.equal((await waitForState(svc.url, user.id, ['completed'])).state, 'completed');
  const m = parseExposition((await get(`${svc.url}/metrics`)) as string);
  assert.ok((m.get('vmexit_lab_runs_started_total{lane="continuous"}') ?? 0) >= 2);
  assert.equal(m.get('vmexit_lab_runs_in_progress{lane="continuous"}'), 1, 'the next iteration is running');
  await svc.close();
});

/** Calls of the service's parse of submitted YAML (the validation threads), counted while `body` runs. */
async function validations<T>(body: () => Promise<T>): Promise<{ count: number; value: T }> {
  const original = Object.getOwnPropertyDescriptor(ScenarioValidator.prototype, 'validate')!;
  const parse = original.value as ScenarioValidator['validate'];
  let count = 0;
  Object.defineProperty(ScenarioValidator.prototype, 'validate', {
    ...original,
    value(this: ScenarioValidator, yaml: string, file: string) {
      count++;
      return parse.call(this, yaml, file);
    },
  });
  try {
    const value = await body();
    return { count, value };
  } finally {
    Object.defineProperty(ScenarioValidator.prototype, 'validate', original);
  }
}

test('start --scenario FILE: the service takes the scenario start parsed, and does not parse the text again', async () => {
  const svc = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(svc);
  const loaded = { scenario: parseOrThrow(LIVE, 'live.yaml', { workloadBaseDir: null }), yaml: LIVE };
  const { count, value: first } = await validations(() => svc.runContinuously({ loaded, pace: 'realtime' }));
  assert.equal(count, 0, 'the text was parsed again by the service');
  assert.equal(first.scenario, 'live-forever');
  assert.equal(first.continuous, true);
  assert.equal(
    first.seriesLabel,
    seriesLabel({ kind: 'inline' }, 'live-forever', LIVE),
    'labelled by its text, as before',
  );
  assert.deepEqual(first.source, { kind: 'inline' });
  // The counter sees the service's parse: a posted scenario goes through it once.
  const posted = await validations(() =>
    fetch(`${svc.url}/api/runs`, { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: USER }),
  );
  assert.equal(posted.value.status, 202);
  assert.equal(posted.count, 1);
  await svc.close();
});

test('a POST cannot hand the service a parsed scenario: "loaded" is no field of the API, in the JSON or the query', async () => {
  const svc = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(svc);
  const forged = {
    scenario: { ...parseOrThrow(USER, 'user.yaml', { workloadBaseDir: null }), name: 'forged' },
    yaml: USER,
  };
  const post = (query: string, body: unknown): Promise<Response> =>
    fetch(`${svc.url}/api/runs${query}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  for (const [query, body] of [
    ['', { loaded: forged }],
    ['', { yaml: USER, loaded: forged }],
    ['', { scenario: 'default', loaded: forged }],
    [`?loaded=${encodeURIComponent(JSON.stringify(forged))}`, { yaml: USER }],
  ] as const) {
    const r = await post(query, body);
    const answer = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 400, JSON.stringify(answer));
    assert.match(answer.error.message, /loaded/);
  }
  const runs = (await get(`${svc.url}/api/runs`)) as { runs: { scenario: string }[] };
  assert.deepEqual(runs.runs, [], 'nothing ran, "forged" least of all');
  await svc.close();
});

test('a drain that begins while the continuous default is starting leaves no iteration behind', async () => {
  const dir = dataDir();
  const svc = await startService({ port: 0, dataDir: dir, workers: 1 });
  // SIGTERM while `start` is still loading the scenario and warming its threads: the drain ran
  // before the loop existed, and the first iteration then started unobserved (a record left
  // `running`, shown as `interrupted` at the next start).
  const starting = svc.runContinuously({ yaml: LIVE, file: 'live.yaml', pace: 'realtime' });
  const closed = svc.close();
  const outcome = await starting.then(
    (r) => `started ${r.id}`,
    (e: Error) => e.message,
  );
  await closed;
  assert.match(outcome, /shutting down|draining/i, 'refused: the service is draining');
  const again = await startService({ port: 0, dataDir: dir, workers: 1 });
  services.push(again);
  const list = (await get(`${again.url}/api/runs`)) as { runs: { id: string; state: string }[] };
  assert.deepEqual(
    list.runs.map((r) => r.state),
    [],
    'no iteration was started after the drain',
  );
});
