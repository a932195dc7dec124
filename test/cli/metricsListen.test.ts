import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '../support/wait.js';
import { spawnListeningRun } from '../support/net.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-listen-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function exitsTotal(text: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^vmexit_lab_vm_exits_total\{[^}]*\} ([0-9.e+]+)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

test('run --metrics-listen serves live /metrics while the run runs (for a PodMonitor next to a shard job)', async () => {
  const run = spawnListeningRun(dir);
  try {
    const url = `http://127.0.0.1:${await run.port}/metrics`;
    const scrape = async (): Promise<string> => (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
    const first = await waitUntil('exits to appear while running', async () => exitsTotal(await scrape()) || undefined);
    // The next snapshots (every 250 ms at pace max); it slept 1.5 s and expected one by then.
    let second = first;
    await waitUntil(
      'the counters to increase between scrapes',
      async () => {
        second = exitsTotal(await scrape());
        return second > first;
      },
      { seen: () => `${first} -> ${second}` },
    );
    assert.ok(second > first, `counters increase between scrapes (${first} -> ${second})`);
    const om = await fetch(url, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(om.headers.get('content-type') ?? '', /openmetrics/);
    assert.match(await om.text(), /# EOF\s*$/);
  } finally {
    run.stop();
  }
});

test('run --metrics-listen serves one request at a time per connection: a pipelined GET /metrics is 429 (each was rendered: the service fix, src/service/connections.ts)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-fresh-listen-'));
  const run = spawnListeningRun(dir);
  try {
    const port = await run.port;
    const stream = await new Promise<string>((ok, fail) => {
      const c = connect(port, '127.0.0.1');
      let all = '';
      c.on('data', (d: Buffer) => (all += d.toString('utf8')));
      c.on('error', fail);
      c.on('close', () => ok(all));
      c.setTimeout(20_000, () => c.destroy());
      c.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(30));
    });
    const statuses = [...stream.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.equal(statuses[0], 200, stream.slice(0, 200));
    assert.deepEqual(statuses.slice(1), [429], `one rendered, then refused and closed: ${statuses.join(' ')}`);
    assert.match(stream, /HTTP pipelining is not served/);
  } finally {
    run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
