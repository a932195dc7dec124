import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFixture } from '../support/serviceFixture.js';
import { allAtOnce, api, tinyScenario, waitForState, yamlPost } from '../support/http.js';

/**
 * The runs index (`GET /`) asked for by many clients at once is built once for those that ask
 * before its build starts, as the run pages and the run list are (src/service/shared.ts). It was
 * built anew for each: 1,000 requests at once held the main thread 5.5 s, /healthz answered after
 * it (a 56 KB index of 100 runs; the shared run list 1.6 s, the same minute; svc35).
 */

const { shared } = serviceFixture('vmexit-lab-shared-index-');

test('GET / asked by 40 clients at once: one build or a few, every answer the index with the run', async () => {
  const s = await shared();
  const post = await api(s.url, '/api/runs', yamlPost(tinyScenario('shared-index')));
  const id = (post.body as { id: string }).id;
  await waitForState(s.url, id, ['completed']);
  // Count the builds by the list each one reads from the manager.
  let builds = 0;
  const list = s.manager.list.bind(s.manager);
  s.manager.list = (f) => (builds++, list(f));
  const n = 40;
  const answers = await allAtOnce(s.url, n, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  for (const a of answers) {
    assert.match(a, /^HTTP\/1\.1 200 /, a.slice(0, 200));
    assert.match(a, /\r\ncontent-type: text\/html; charset=utf-8\r\n/i);
    assert.match(a, /\r\ncontent-security-policy: default-src 'none'; script-src 'unsafe-inline'/i);
    assert.ok(a.includes(`/runs/${id}`), 'the index links the run');
  }
  assert.ok(builds >= 1 && builds <= n / 4, `${builds} builds for ${n} requests sent at once`);
  // One after the other, each gets a build of its own: what changed before it asked is in it.
  builds = 0;
  await api(s.url, '/');
  await api(s.url, '/');
  assert.equal(builds, 2);
});
