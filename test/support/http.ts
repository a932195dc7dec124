import { request } from 'node:http';

/**
 * Service tests' HTTP helpers: a one-file scenario small enough to run in a second, and a request
 * sent exactly as written (fetch will not send a Host or Sec-Fetch-* of the test's choosing, and
 * its keep-alive agent would share connections that some tests count).
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
