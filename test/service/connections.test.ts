/**
 * What one connection may hold (src/service/connections.ts): one request at a time, a pipelined
 * one refused with 429 and the connection closed; an answer the client does not read held only
 * until the response timeout (docs/SERVICE.md, "Limits" and "Hostile input: what is checked").
 * test/service/halfClose.test.ts has half-closed clients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, runCount } from '../support/http.js';
import { waitUntil } from '../support/wait.js';
import { HistoryStore } from '../../src/history/store.js';
import { startService } from '../../src/service/server.js';

const { shared: service, dataDir, services } = serviceFixture('vmexit-lab-connections-');

/** Every status line of a raw HTTP/1.1 answer stream (an answer starts right after the body before it). */
const statuses = (stream: string): number[] => [...stream.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

/**
 * Write `text` on one connection, keep reading until the service closes it or `quietMs` pass
 * without a byte, and return what came back.
 */
function converse(base: string, text: string, quietMs = 1_500): Promise<string> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    const done = (): void => {
      c.destroy();
      ok(Buffer.concat(chunks).toString('utf8'));
    };
    let quiet = setTimeout(done, quietMs);
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    });
    c.on('error', fail);
    c.on('close', () => {
      clearTimeout(quiet);
      done();
    });
    c.write(text);
  });
}

test('pipelined requests: one sent before the answer to the one before it is 429 pipelined and the connection closes (each was served whole: 300 connections x 20 pipelined results took the service from 0.15 to 3.2 GB and /healthz 8.5 s)', async () => {
  const s = await service();
  const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  // 50 requests in one write: Node parses them all and calls the app for each before the first
  // answer is sent, holding each answer whole until the ones before it are.
  const stream = await converse(s.url, get('/api/runs?limit=1000').repeat(50));
  const got = statuses(stream);
  assert.equal(got[0], 200, `the first request is answered: ${stream.slice(0, 300)}`);
  assert.equal(got.filter((c) => c === 200).length, 1, `one request served, not ${got.length}: ${got.join(' ')}`);
  assert.ok(got.includes(429), `the second is refused: ${got.join(' ')}`);
  const refusal = stream.slice(stream.indexOf('HTTP/1.1 429'));
  assert.match(refusal, /\r\nConnection: close\r\n/i, 'and the connection closes after it');
  const body = JSON.parse(refusal.slice(refusal.indexOf('\r\n\r\n') + 4, refusal.indexOf('}}') + 2));
  assert.equal(body.error.code, 'pipelined');
  assert.match(body.error.message, /before the answer to the request before it/);

  // A keep-alive client that waits for each answer is not pipelining: both answered on one connection.
  const u = new URL(s.url);
  const sequential = await new Promise<number[]>((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    let all = '';
    let sent = 1;
    c.on('data', (d: Buffer) => {
      all += d.toString('utf8');
      const answers = statuses(all).length;
      // The first answer is whole (its body ends the stream so far): send the second.
      if (sent === 1 && answers === 1 && all.endsWith('}')) {
        sent = 2;
        c.write(get('/healthz'));
      } else if (answers === 2 && all.endsWith('}')) {
        c.destroy();
        ok(statuses(all));
      }
    });
    c.on('error', fail);
    c.write(get('/api/runs'));
  });
  assert.deepEqual(sequential, [200, 200]);
  // And the service answers as before.
  assert.equal((await rawRequest(s.url, 'GET', '/healthz')).status, 200);
  assert.equal(await runCount(s.url), 0);
});

test('a client that never reads a large answer holds its connection only until the response timeout (two such clients held both connections of --max-connections 2 for ever: /healthz was refused)', async () => {
  const d = dataDir();
  // A finished run whose results.json is larger than the kernel's socket buffers take (a few MB on
  // loopback), so its answer cannot be handed off whole: 16 MB (a 20,000-guest run with a violation
  // per guest writes about 7 MB, its page more).
  {
    const { store } = HistoryStore.open(d);
    store.create({
      id: 'big',
      scenario: 'big',
      source: { kind: 'inline' },
      createdAt: new Date().toISOString(),
      options: { pace: 'max', seed: 1, workers: 1 },
      guests: 1,
      variants: ['base'],
      yaml: 'name: big\n',
      seriesLabel: 'big',
    });
    store.started('big', new Date().toISOString());
    const results = {
      version: 1,
      scenario: 'big',
      variants: [],
      crossVariantThresholds: [],
      padding: 'x'.repeat(16 << 20),
    };
    store.finish('big', { state: 'completed', at: new Date().toISOString(), results: results as any, partial: false });
    store.close();
  }
  // Not a literal: the option did not exist before the fix, and the test must compile without it.
  const options = { port: 0, dataDir: d, workers: 1, maxConnections: 2, responseTimeoutMs: 1_000 };
  const s = await startService(options);
  services.push(s);
  const u = new URL(s.url);
  const readers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const c = connect(Number(u.port), u.hostname);
    c.on('error', () => undefined);
    c.pause();
    c.write('GET /api/runs/big/results HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    readers.push(c);
  }
  try {
    // Both connections are taken (a third is closed unanswered) until the stalled answers are dropped.
    const healthy = await waitUntil(
      '/healthz answered with both connections held by clients that do not read',
      async () => {
        try {
          return (await rawRequest(s.url, 'GET', '/healthz')).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(healthy, true);
  } finally {
    for (const c of readers) c.destroy();
  }
});
