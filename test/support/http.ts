import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { FINAL_STATES, type RunState } from '../../src/history/records.js';
import { parseExposition, sumOf } from '../metrics/support.js';
import { waitUntil, type WaitOptions } from './wait.js';

/**
 * Service tests' HTTP helpers: a one-file scenario small enough to run in a second, one that keeps
 * a run busy until it is cancelled, a request sent exactly as written (fetch will not send a Host or
 * Sec-Fetch-* of the test's choosing, and its keep-alive agent would share connections that some
 * tests count), fetch with a timeout, and waits for what a run or /metrics says (test/support/wait.ts:
 * a condition, not a time).
 */

/** A 1-host, 1-guest FreeBSD idle scenario of `seconds` simulated seconds. */
export const tinyScenario = (name: string, seed = 1, seconds = 1): string => `name: ${name}
seed: ${seed}
host: { cpu: i7-6700K, cores: 2, count: 1 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: ${seconds}s
`;

/**
 * A max-pace run that holds its lane's slot until it is cancelled: one host of 4 vCPUs building for
 * `seconds` simulated seconds, each costing ~0.1 s of CPU (a cancel lands within one), so 3,600 s
 * last minutes. A run meant to hold a slot while a test posts the next one must not be one that can
 * end first: an idle 3,600 s guest ends in 0.4 s, 120 s of the api tests' fleet in 1.4 s, and a
 * validation thread kept off the CPU that long lets it (predicted cost 64 core-seconds at 3,600 s,
 * 11 at 600 s: under every test service's cap).
 */
export const busyScenario = (name: string, seed = 1, seconds = 3600): string => `name: ${name}
seed: ${seed}
host: { cpu: i7-6700K, cores: 4, count: 1 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 4, phases: [{ phase: build, duration: ${seconds}s }] }
duration: ${seconds}s
`;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text. */
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: any;
}

/** One request with exactly these headers, on a connection of its own; fails after 30 s without an answer. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<Answer> {
  const u = new URL(path, base);
  return new Promise((ok, fail) => {
    const req = request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          ok({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', fail);
    req.end(body);
  });
}

/** How many runs the service at `base` lists. */
export async function runCount(base: string): Promise<number> {
  return ((await rawRequest(base, 'GET', '/api/runs?limit=1000')).body as { runs: unknown[] }).runs.length;
}

/** A fetch answer with its body as text and, when it is JSON, parsed. */
export interface FetchAnswer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** An error answer with `status` and the service's error `code` (the text shown when it is not). */
export function assertErrorCode(r: FetchAnswer, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
}

/** fetch `path` on `base`, failing after `timeoutMs` (default 30 s) without an answer. */
export async function api(
  base: string,
  path: string,
  init: RequestInit = {},
  timeoutMs = 30_000,
): Promise<FetchAnswer> {
  const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A POST of scenario YAML (the RequestInit for `api`). */
export const yamlPost = (yaml: string | Buffer, type = 'application/yaml'): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': type },
  body: yaml,
});

interface RunWait extends WaitOptions {
  /** Request headers (a token). */
  readonly headers?: Record<string, string>;
}

/**
 * Poll GET /api/runs/{id} until `ok(record)`; returns that record. A run that ends (a final state)
 * without `ok` holding fails at once, naming its state: waiting the whole bound for a run that
 * already completed only hid what happened.
 */
export async function waitForRun(
  base: string,
  id: string,
  what: string,
  ok: (rec: any) => boolean,
  options: RunWait = {},
): Promise<any> {
  let last: any;
  return waitUntil(
    `run ${id} ${what}`,
    async () => {
      const r = await api(base, `/api/runs/${id}`, { headers: options.headers ?? {} });
      last = r.body;
      if (ok(last)) return last as object;
      if (FINAL_STATES.includes(last?.state as RunState))
        throw new Error(`run ${id} ended ${last.state} before ${what}: ${JSON.stringify(last).slice(0, 600)}`);
      return undefined;
    },
    { ...options, seen: () => JSON.stringify(last).slice(0, 600) },
  );
}

/** Wait for a run to be in one of `states` (e.g. ['completed']); fails at once if it ends in another. */
export function waitForState(
  base: string,
  id: string,
  states: readonly RunState[],
  options: RunWait = {},
): Promise<any> {
  return waitForRun(base, id, `to be ${states.join(' or ')}`, (rec) => states.includes(rec?.state), options);
}

/**
 * Wait until a running run has simulated `seconds` (its record's progress: every task not done is
 * that far): the run is under way on its workers, not only admitted. A record says `running` from
 * the moment its lane takes it, while its tasks may still wait for a thread (docs/SERVICE.md).
 */
export function waitForSimulated(base: string, id: string, seconds = 1, options: RunWait = {}): Promise<any> {
  return waitForRun(
    base,
    id,
    `to simulate ${seconds} s`,
    (rec) => rec?.state === 'running' && (rec.progress?.simSeconds ?? 0) >= seconds,
    options,
  );
}

/** The sum of a metric's samples (with these labels) in a scrape of `base`/metrics. */
export async function scrapeSum(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(parseExposition((await api(base, '/metrics')).text), name, labels);
}

/**
 * A request that is expected to be answered again once the service has caught up with something the
 * test did (closed a connection it held, so the service is back under its connection bound): repeat
 * it while the service closes the connection unanswered, until it answers.
 */
export function answeredAgain(base: string, method: string, path: string, options: WaitOptions = {}): Promise<Answer> {
  let last = '';
  return waitUntil(
    `${method} ${path} to be answered`,
    () =>
      rawRequest(base, method, path).then(
        (a) => a,
        (e: NodeJS.ErrnoException) => {
          if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE' && !/socket hang up/.test(e.message)) throw e;
          last = e.message;
          return undefined;
        },
      ),
    { ...options, seen: () => last },
  );
}

/**
 * Wait for a server the test started as a process (a Pushgateway, Prometheus, `vmexit-lab serve`) to
 * answer `url` with a 2xx: connection refused and errors count as "not up yet". `alive` (optional)
 * says the process still runs, so that one that exited fails at once instead of at the bound.
 * Resolves true when it answered, false at the bound or when the process is gone.
 */
export async function serverUp(url: string, options: WaitOptions & { alive?: () => boolean } = {}): Promise<boolean> {
  try {
    await waitUntil(
      `${url} to answer`,
      async () => {
        if (options.alive && !options.alive()) throw new Error('exited');
        try {
          return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: options.intervalMs ?? 100 },
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes sent as they are on a connection of its own (what Node's client or fetch would not send:
 * a header twice, an absolute-form target); the answer's status, head and body once the server closes.
 */
export function sendRaw(base: string, text: string): Promise<{ status: number; head: string; body: string }> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const c = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', fail);
    c.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const cut = all.indexOf('\r\n\r\n');
      ok({
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(all)?.[1] ?? 0),
        head: all.slice(0, cut),
        body: all.slice(cut + 4),
      });
    });
    c.setTimeout(30_000, () => c.destroy(new Error('no answer in 30 s')));
    c.end(text);
  });
}

/** Send `request` on `c` and read its answer to the end of its Content-Length. */
function exchange(c: Socket, request: string): Promise<string> {
  return new Promise((ok) => {
    const chunks: Buffer[] = [];
    const onData = (d: Buffer): void => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const head = all.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(all.subarray(0, Math.max(head, 0)).toString('latin1'));
      if (head > 0 && length && all.length - head - 4 >= Number(length[1])) {
        c.off('data', onData);
        ok(all.toString('utf8'));
      }
    };
    c.on('data', onData);
    c.write(request);
  });
}

/** `n` connections, each answered once (so all are accepted), then `request` sent on every one at once. */
export async function allAtOnce(base: string, n: number, request: string): Promise<string[]> {
  const u = new URL(base);
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((ok, fail) => {
          const c = connect(Number(u.port), u.hostname, () => ok(c));
          c.on('error', fail);
        }),
    ),
  );
  try {
    await Promise.all(sockets.map((c) => exchange(c, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')));
    return await Promise.all(sockets.map((c) => exchange(c, request)));
  } finally {
    for (const c of sockets) c.destroy();
  }
}
