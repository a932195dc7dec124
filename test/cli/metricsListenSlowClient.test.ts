import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { MetricsHub } from '../../src/metrics/hub.js';
import { serveMetrics } from '../../src/cli/commands/run.js';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from '../../src/service/server.js';
import { DEFAULT_RESPONSE_TIMEOUT_MS } from '../../src/service/pipelining.js';

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
