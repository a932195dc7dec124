/**
 * Answers built once for the requests that arrive together (src/service/shared.ts): scrapes of
 * /metrics share one render, run pages and run lists one build, each taken after its requests
 * arrived (docs/SERVICE.md, "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { allAtOnce, api, tinyScenario, waitForState, yamlPost } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-shared-builds-');

const renders = (metrics: string): number =>
  Number(/^vmexit_lab_metrics_render_seconds_count\{format="text"\} (\d+)$/m.exec(metrics)?.[1] ?? NaN);

test('scrapes that arrive together share one render of /metrics (each rendered it anew: 500 at once held /healthz 13 s)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const scrape = async (): Promise<string> => (await fetch(`${s.url}/metrics`)).text();
  await scrape(); // the render histogram has its first sample from the next scrape on
  const before = renders(await scrape());
  const n = 40;
  const answers = await allAtOnce(s.url, n, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  for (const a of answers) assert.match(a, /^HTTP\/1\.1 200 /);
  const bodies = answers.map((a) => a.slice(a.indexOf('\r\n\r\n') + 4));
  assert.ok(
    bodies.every((b) => b.includes('vmexit_lab_build_info')),
    'every answer is the exposition',
  );
  // The scrape above was rendered on its own (before); the 40 sent at once: a few renders at most,
  // each request's taken after it arrived (counted by the render histogram, which counts renders).
  const done = renders(await scrape()) - before - 1;
  assert.ok(done >= 1 && done <= n / 4, `${done} renders for ${n} scrapes sent at once`);
  // A render taken after a request arrived: a scrape still sees what changed before it (liveView.test.ts).
  const distinct = new Set(bodies.map((b) => b.replace(/^(process|nodejs)_.*$/gm, ''))).size;
  assert.ok(distinct <= done, `${distinct} distinct bodies, at most one per render`);
});

test('run pages and run lists asked for at once share one build (each was built anew: 300 run pages held the main thread 3.8 s, 300 lists of 1000 runs 6.6 s)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const post = await api(s.url, '/api/runs', yamlPost(tinyScenario('shared-pages')));
  const id = (post.body as { id: string }).id;
  await waitForState(s.url, id, ['completed']);
  // Count the builds by what each one reads from the manager.
  let lists = 0;
  let results = 0;
  const list = s.manager.list.bind(s.manager);
  const read = s.manager.results.bind(s.manager);
  s.manager.list = (f) => (lists++, list(f));
  s.manager.results = (x) => (results++, read(x));
  const n = 40;
  for (const [what, path, builds] of [
    ['run page', `/runs/${id}`, () => results],
    ['run list', '/api/runs?limit=1000', () => lists],
  ] as const) {
    const answers = await allAtOnce(s.url, n, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 200 /, `${what}: ${a.slice(0, 200)}`);
    const bodies = new Set(answers.map((a) => a.slice(a.indexOf('\r\n\r\n') + 4)));
    assert.ok(
      [...bodies].every((b) => b.includes(id)),
      `${what}: every answer names the run`,
    );
    assert.ok(builds() >= 1 && builds() <= n / 4, `${what}: ${builds()} builds for ${n} requests sent at once`);
  }
  // Each kind still answers as before: the page as HTML, the list as JSON, a missing run 404.
  const page = await fetch(`${s.url}/runs/${id}`);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  const runs = await fetch(`${s.url}/api/runs?limit=1000`);
  assert.equal(runs.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(((await runs.json()) as { runs: { id: string }[] }).runs[0].id, id);
  assert.equal((await fetch(`${s.url}/runs/no-such-run`)).status, 404);
});
