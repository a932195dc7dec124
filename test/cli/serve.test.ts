/**
 * `vmexit-lab serve` as a user starts it: options that reach the running service (docs/CLI.md,
 * docs/SERVICE.md "Limits").
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { boundPort, SERVE_LISTENING } from '../support/net.js';
import { waitUntil } from '../support/wait.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-serve-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** `serve` on a free port of 127.0.0.1; resolves with its address once it prints it. */
async function serve(args: readonly string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dir, '--workers', '1', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VMEXIT_LAB_TOKEN: '' },
  });
  children.push(proc);
  return { proc, port: await boundPort(proc, SERVE_LISTENING) };
}

/** What a GET /healthz on a new connection gets back before the connection closes ('' for nothing). */
function healthz(port: number): Promise<string> {
  return new Promise((ok) => {
    const s = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => {
      got.push(c);
      if (Buffer.concat(got).includes('\r\n\r\n')) s.destroy();
    });
    s.on('error', () => undefined);
    s.on('close', () => ok(Buffer.concat(got).toString('latin1')));
    s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  });
}

/**
 * A connection the service has certainly accepted and still counts: a request on it was answered, and
 * the next request's headers are left unfinished, so the service neither closes it as idle (keep-alive
 * timeout, 5 s) nor as slow before its headers timeout (20 s).
 */
function heldConnection(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      if (!/^HTTP\/1\.1 200 /.test(got)) fail(new Error(`a held connection got ${JSON.stringify(got)}`));
      s.removeAllListeners('data');
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      ok(s);
    });
    s.on('error', fail);
    s.on('close', () => fail(new Error(`a held connection was closed: ${JSON.stringify(got)}`)));
  });
}

test('serve --max-connections 2: a third connection is closed unanswered while two are open, answered once one closes', async () => {
  const { proc, port } = await serve(['--max-connections', '2']);
  // Both answered, so both accepted and counted before the third connects (a bare connect said only
  // that the kernel had queued it, and the test gave the service 200 ms to accept).
  const held: Socket[] = [await heldConnection(port), await heldConnection(port)];
  assert.equal(await healthz(port), '', 'past the bound: no bytes of an answer');
  held.pop()!.destroy();
  // Answered once the service has seen that close (it was given 200 ms).
  const answer = await waitUntil('an answer below the bound again', async () => (await healthz(port)) || undefined);
  assert.match(answer, /^HTTP\/1\.1 200 /);
  for (const s of held) s.destroy();
  const exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
  proc.kill('SIGTERM');
  assert.equal(await exited, 0);
});
