import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceFixture } from '../support/serviceFixture.js';
import { api, waitForRun, waitForState, yamlPost } from '../support/http.js';
import { liveFigures, LIVE_TOP_EXITS } from '../../src/service/liveFigures.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';

/**
 * A running run's page showed a progress bar and "the report appears here when the run ends": a
 * 30 s realtime run (what `npm start` runs, back to back) said nothing of its exits until it ended.
 * GET /api/runs/{id} now carries the figures so far per variant (`live`), and /runs/{id} shows them.
 */

const { shared } = serviceFixture('vmexit-lab-live-figures-');

const TWO_POLICIES = `name: live-figures
seed: 3
pace: realtime
host: { cpu: i7-6700K, cores: 2, count: 1 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
duration: 4s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;

test('a running run reports its exits so far per variant; the finished run has its summary instead', async () => {
  const svc = await shared();
  const post = await api(svc.url, '/api/runs', yamlPost(TWO_POLICIES));
  assert.equal(post.status, 202, post.text);
  const id = (post.body as { id: string }).id;
  const rec = await waitForRun(
    svc.url,
    id,
    'to report exits so far in both variants',
    (r) => r?.state === 'running' && Array.isArray(r.live) && r.live.every((v: any) => v.exitsTotal > 0),
  );
  assert.deepEqual(
    rec.live.map((v: any) => v.name),
    ['bhyve-12.1', 'bhyve-tpr-v3'],
  );
  for (const v of rec.live) {
    assert.ok(v.simSeconds > 0 && v.simSeconds <= 4, `${v.name} simulated ${v.simSeconds}`);
    assert.ok(v.exitsPerGuestSecond > 0);
    assert.ok(v.topExits.length > 0 && v.topExits.length <= LIVE_TOP_EXITS);
    for (let i = 1; i < v.topExits.length; i++) assert.ok(v.topExits[i - 1].exits >= v.topExits[i].exits);
    const shares = v.topExits.reduce((s: number, x: any) => s + x.share, 0);
    assert.ok(shares > 0 && shares <= 1 + 1e-9);
  }
  // The seed's effect, visible while the run is under way: %cr8 writes exit under 12.1, not under v3.
  const reasons = (v: any): string[] => v.topExits.map((x: any) => x.reason);
  assert.equal(reasons(rec.live[0])[0], 'CR_ACCESS');
  assert.ok(!reasons(rec.live[1]).includes('CR_ACCESS'));

  const page = await api(svc.url, `/runs/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /<h2>So far<\/h2>/);
  assert.match(page.text, /<tbody id="run-live-body"><tr><td>bhyve-12\.1<\/td>/);

  const done = await waitForState(svc.url, id, ['completed']);
  assert.equal(done.live, undefined, 'a finished run has its summary, not figures so far');
  for (const [i, v] of rec.live.entries())
    assert.ok(v.exitsTotal <= done.summary.variants[i].exitsTotal, 'the figures so far are part of the whole');
  assert.equal((await api(svc.url, '/api/runs')).text.includes('"live"'), false, 'the list does not carry them');
});

test('liveFigures sums the parts of each variant and lists the leading reasons, most first', () => {
  const slot = (name: string): number => EXIT_KINDS.find((k) => k.name === name)!.slot;
  // One guest each, simulated for `simS` seconds.
  const part = (cr8: number, hlt: number, simS: number): TotalsAccumulator => {
    const t = new TotalsAccumulator();
    t.exits[slot('CR_ACCESS')] = cr8;
    t.exits[slot('HLT')] = hlt;
    t.maxSimNs = simS * 1e9;
    t.addGuestNs(simS * 1e9);
    return t;
  };
  const a = part(300, 100, 2);
  const b = part(100, 100, 3);
  const [v0, v1] = liveFigures(
    ['v0', 'v1'],
    [
      { variantIndex: 0, totals: a, hostsRunning: 1 },
      { variantIndex: 0, totals: b, hostsRunning: 1 },
      { variantIndex: 1, totals: undefined, hostsRunning: 0 },
    ],
  );
  assert.equal(v0.exitsTotal, 600);
  assert.equal(v0.simSeconds, 3);
  assert.equal(v0.exitsPerGuestSecond, 600 / 5);
  assert.deepEqual(
    v0.topExits.map((x) => [x.reason, x.exits, x.share]),
    [
      ['CR_ACCESS', 400, 400 / 600],
      ['HLT', 200, 200 / 600],
    ],
  );
  assert.deepEqual(v1, { name: 'v1', simSeconds: 0, exitsTotal: 0, exitsPerGuestSecond: 0, topExits: [] });
});
