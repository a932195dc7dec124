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

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-serve-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** `serve` on a free port of 127.0.0.1; resolves with its address once it prints it. */
function serve(args: readonly string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dir, '--workers', '1', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VMEXIT_LAB_TOKEN: '' },
  });
  children.push(proc);
  let out = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start in 30 s: ${out}`)), 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok({ proc, port: Number(m[1]) });
      }
    });
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`serve exited ${code}: ${out}`));
    });
  });
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

test('serve --max-connections 2: a third connection is closed unanswered while two are open, answered once one closes', async () => {
  const { proc, port } = await serve(['--max-connections', '2']);
  assert.match(await healthz(port), /^HTTP\/1\.1 200 /);
  const held: Socket[] = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<Socket>((ok, fail) => {
          const s = connect(port, '127.0.0.1', () => ok(s));
          s.on('error', fail);
        }),
    ),
  );
  // Give the service the moment to accept both before the third.
  await new Promise((ok) => setTimeout(ok, 200));
  assert.equal(await healthz(port), '', 'past the bound: no bytes of an answer');
  held.pop()!.destroy();
  await new Promise((ok) => setTimeout(ok, 200));
  assert.match(await healthz(port), /^HTTP\/1\.1 200 /);
  for (const s of held) s.destroy();
  const exited = new Promise((ok) => proc.on('exit', (code) => ok(code)));
  proc.kill('SIGTERM');
  assert.equal(await exited, 0);
});
