/**
 * Helpers of the history tests: read back an OpenMetrics history file, and run the Debian
 * `prometheus` on a TSDB directory (loopback, free port) to query it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundPort, PROMETHEUS_LISTENING } from '../support/net.js';
import { serverUp } from '../support/http.js';

export interface HistorySeries {
  /** Sample name with its label text, e.g. vmexit_lab_vm_exits_total{job="vmexit-lab",...}. */
  readonly key: string;
  readonly points: [number, number][];
}

/** The samples of an OpenMetrics text, by series, in file order (timestamps in ms). */
export function parseOpenMetrics(text: string): Map<string, HistorySeries> {
  const out = new Map<string, HistorySeries>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable OpenMetrics sample: ${line}`);
    const key = m[1];
    let s = out.get(key);
    if (!s) {
      s = { key, points: [] };
      out.set(key, s);
    }
    s.points.push([Math.round(Number(m[3]) * 1000), Number(m[2])]);
  }
  return out;
}

export interface PrometheusHandle {
  readonly base: string;
  query(q: string, time?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** /api/v1/query_range, as Grafana runs a panel query (times in seconds). */
  queryRange(
    q: string,
    start: number,
    end: number,
    step: number,
  ): Promise<{ metric: Record<string, string>; values: [number, string][] }[]>;
  labelValues(label: string, match: string, start: number, end: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** Start `prometheus` (no scrape targets) on an existing TSDB directory, wait until ready. */
export async function startPrometheus(binary: string, tsdb: string, dir: string): Promise<PrometheusHandle> {
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global: { scrape_interval: 15s }\nscrape_configs: []\n');
  let log = '';
  // Port 0: the port it binds is the one it says it listens on (test/support/net.ts boundPort).
  const proc: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${tsdb}`,
      '--web.listen-address=127.0.0.1:0',
      '--storage.tsdb.retention.time=3650d',
      '--log.level=info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  proc.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((ok) => proc.once('exit', ok));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  };
  let port: number;
  try {
    port = await boundPort(proc, PROMETHEUS_LISTENING);
  } catch (e) {
    await stop();
    throw e;
  }
  const base = `http://127.0.0.1:${port}`;
  if (!(await serverUp(`${base}/-/ready`, { alive: () => proc.exitCode === null && proc.signalCode === null }))) {
    await stop();
    throw new Error(`prometheus did not become ready:\n${log}`);
  }
  const get = async (path: string, params: Record<string, string>): Promise<any> => {
    const res = await fetch(`${base}${path}?${new URLSearchParams(params).toString()}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const j = (await res.json()) as any;
    if (j.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${j.error}`);
    return j.data;
  };
  return {
    base,
    query: async (q, time) =>
      (await get('/api/v1/query', { query: q, ...(time !== undefined ? { time: String(time) } : {}) })).result,
    queryRange: async (q, start, endT, step) =>
      (await get('/api/v1/query_range', { query: q, start: String(start), end: String(endT), step: String(step) }))
        .result,
    labelValues: async (label, match, start, endT) =>
      get(`/api/v1/label/${label}/values`, { 'match[]': match, start: String(start), end: String(endT) }),
    stop,
  };
}
