import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Only for a port nothing should listen on (a
 * push to an unreachable gateway): a server the test starts binds port 0 instead and says which
 * port it got (`boundPort`), since a port found free here may be taken by another process before
 * the server binds it.
 */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/**
 * Where the Prometheus servers (prometheus, prometheus-pushgateway: the exporter-toolkit's web
 * server, at log level info) say they listen, with the port the kernel gave `127.0.0.1:0`:
 * `msg="Listening on" address=127.0.0.1:40123`.
 */
export const PROMETHEUS_LISTENING = /msg="Listening on" address=127\.0\.0\.1:(\d+)/;

/** Where `vmexit-lab run --metrics-listen 127.0.0.1:0` says its live /metrics is (src/cli/commands/run.ts). */
export const RUN_METRICS_LISTENING = /metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/;

/** Where `vmexit-lab serve --port 0` says it listens (src/cli/commands/serve.ts). */
export const SERVE_LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * The port a server process bound, read from its output (stdout and stderr, those that are piped):
 * the first match of `listening`, whose group 1 is the port. Start the server on port 0, so the
 * kernel picks a free port at the bind and no other process can take it first. Rejects, with the
 * output so far, when the process exits before saying so or after `timeoutMs` (a bound, not a wait).
 */
export function boundPort(proc: ChildProcess, listening: RegExp, timeoutMs = 30_000): Promise<number> {
  return new Promise((ok, fail) => {
    let out = '';
    const streams = [proc.stdout, proc.stderr].filter((s) => s !== null);
    const done = (): void => {
      clearTimeout(timer);
      for (const s of streams) s.off('data', onData);
      proc.off('exit', onExit);
    };
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = listening.exec(out);
      if (m) {
        done();
        ok(Number(m[1]));
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      fail(new Error(`the server exited (${code ?? signal}) before it said where it listens:\n${out.slice(-4000)}`));
    };
    const timer = setTimeout(() => {
      done();
      fail(new Error(`the server did not say where it listens in ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    if (streams.length === 0) {
      done();
      fail(new Error('boundPort needs the process stdout or stderr piped'));
      return;
    }
    for (const s of streams) s.on('data', onData);
    proc.on('exit', onExit);
  });
}

/**
 * `vmexit-lab run --quiet --workers 1 --metrics-listen 127.0.0.1:0` of a Windows install with a
 * minute of work on each of 4 hosts (long enough to scrape while it runs), its scenario written in
 * `dir`. `port` is where its live /metrics listens; `stop` kills it (it is killed after 120 s anyway).
 */
export function spawnListeningRun(dir: string): { child: ChildProcess; port: Promise<number>; stop: () => void } {
  const file = join(dir, 'long.yaml');
  writeFileSync(
    file,
    `name: listen
host: { cpu: i7-2620M, cores: 4, count: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 60s }] }
duration: until-complete
maxDuration: 1h
`,
  );
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'),
      'run',
      '--quiet',
      '--workers',
      '1',
      '--metrics-listen',
      '127.0.0.1:0',
      file,
    ],
    { env: { ...process.env, CI: 'true' } },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const stop = (): void => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  };
  return { child, port: boundPort(child, RUN_METRICS_LISTENING), stop };
}
