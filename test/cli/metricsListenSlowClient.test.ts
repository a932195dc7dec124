import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { boundPort, RUN_METRICS_LISTENING } from '../support/net.js';
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

test('run --metrics-listen: a client still sending its headers when the run ends does not hold the process (it held it for ever)', async () => {
  // close() stops Node's checks of the headers bound: the slow client kept the finished run alive.
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-slow-'));
  const file = join(dir, 'short.yaml');
  writeFileSync(
    file,
    `name: short
host: { cpu: i7-2620M, cores: 4, count: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 60s }] }
duration: 300s
`,
  );
  const cli = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
  const args = [cli, 'run', '--quiet', '--workers', '1', '--metrics-listen', '127.0.0.1:0', file];
  const child = spawn(process.execPath, args, { env: { ...process.env, CI: 'true' }, stdio: 'pipe' });
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  child.stdout.resume();
  const port = await boundPort(child, RUN_METRICS_LISTENING);
  const client = connect(port, '127.0.0.1', () => client.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
  client.on('error', () => undefined);
  const trickle = setInterval(() => client.writable && client.write('X-A: b\r\n'), 200);
  const connected = await new Promise<boolean>((ok) => {
    client.once('connect', () => ok(true));
    client.once('close', () => ok(false));
  });
  // Bounded: the run takes seconds; 60 s against a process that waited for ever.
  const code = await Promise.race([exited, new Promise<'held'>((ok) => setTimeout(() => ok('held'), 60_000))]);
  clearInterval(trickle);
  client.destroy();
  if (code === 'held') child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  assert.ok(connected, 'the slow client connected while the run ran');
  assert.equal(code, 0, 'the run ended with its results, not held by the slow client');
});
