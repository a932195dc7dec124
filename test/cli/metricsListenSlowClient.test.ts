import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnListeningRun } from '../support/net.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { serveMetrics } from '../../src/cli/commands/run.js';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from '../../src/service/server.js';
import { DEFAULT_RESPONSE_TIMEOUT_MS } from '../../src/service/connections.js';

/** Headers sent a line every 200 ms and never finished (slowloris); resolves when the server closes it. */
function trickleHeaders(port: number): Promise<{ answer: string; closed: boolean }> {
  return new Promise((ok) => {
    let answer = '';
    const s = connect(port, '127.0.0.1', () => s.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
    const timer = setInterval(() => s.writable && s.write('X-A: b\r\n'), 200);
    // Bounded: 10 s against a 500 ms bound checked every second.
    const give = setTimeout(() => {
      clearInterval(timer);
      s.destroy();
      ok({ answer, closed: false });
    }, 10_000);
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(timer);
      clearTimeout(give);
      ok({ answer, closed: true });
    });
  });
}

test('run --metrics-listen: a client that never finishes its headers is cut off with 408 (as the service)', async () => {
  const server = await serveMetrics(new MetricsHub(), '127.0.0.1', 0, { headersTimeoutMs: 500 });
  try {
    const r = await trickleHeaders((server.address() as AddressInfo).port);
    assert.ok(r.closed, 'the trickling client still held its connection after 10 s');
    assert.match(r.answer, /^HTTP\/1\.1 408 /);
  } finally {
    server.close();
  }
});

test("run --metrics-listen: by default the service's bounds (headers, request, inactivity, connections)", async () => {
  const server = await serveMetrics(new MetricsHub(), '127.0.0.1', 0);
  try {
    assert.equal(server.headersTimeout, DEFAULT_HEADERS_TIMEOUT_MS);
    assert.equal(server.requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS);
    assert.equal(server.timeout, DEFAULT_RESPONSE_TIMEOUT_MS);
    assert.equal(server.maxConnections, DEFAULT_MAX_CONNECTIONS);
  } finally {
    server.close();
  }
});

test('run --metrics-listen: a client still sending its headers when the run ends does not hold the process (it held it for ever)', async () => {
  // close() stops Node's checks of the headers bound: the slow client kept the finished run alive.
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-slow-'));
  // The shared listening run (test/support/net.ts): a minute of install work at full pace, seconds of wall time.
  const { child, port: bound, stop } = spawnListeningRun(dir);
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const port = await bound;
  const client = connect(port, '127.0.0.1', () => client.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
  client.on('error', () => undefined);
  const trickle = setInterval(() => client.writable && client.write('X-A: b\r\n'), 200);
  const connected = await new Promise<boolean>((ok) => {
    client.once('connect', () => ok(true));
    client.once('close', () => ok(false));
  });
  // Bounded: the run takes seconds; 60 s against a process that waited for ever.
  let guard: NodeJS.Timeout | undefined;
  const held = new Promise<'held'>((ok) => (guard = setTimeout(() => ok('held'), 60_000)));
  const code = await Promise.race([exited, held]);
  clearTimeout(guard); // a pending guard kept the test file's process 60 s after the run had ended
  clearInterval(trickle);
  client.destroy();
  stop(); // its 120 s guard cleared; a held process killed
  rmSync(dir, { recursive: true, force: true });
  assert.ok(connected, 'the slow client connected while the run ran');
  assert.equal(code, 0, 'the run ended with its results, not held by the slow client');
});
