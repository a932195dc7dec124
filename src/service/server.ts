import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { SimPool } from '../pool/pool.js';
import { MetricsHub } from '../metrics/hub.js';
import { MetricsEndpoint } from '../metrics/registry.js';
import { HistoryStore } from '../history/store.js';
import { createApp } from './app.js';
import { RunManager, type ServiceLimits } from './runs.js';
import { ScenarioCatalog } from './scenarios.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = '.vmexit-lab';
export const TOKEN_ENV = 'VMEXIT_LAB_TOKEN';

export interface ServiceOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** History database directory (default .vmexit-lab in the working directory). */
  readonly dataDir?: string;
  readonly workers?: number;
  readonly token?: string;
  readonly limits?: Partial<ServiceLimits>;
  readonly bodyLimitBytes?: number;
  /** Per-guest metric series (cardinality grows with the fleet). */
  readonly perGuestMetrics?: boolean;
  readonly stopGraceMs?: number;
  readonly catalog?: ScenarioCatalog;
}

export interface ServiceHandle {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly manager: RunManager;
  readonly hub: MetricsHub;
  readonly workers: number;
  readonly dataDir: string;
  /** Runs a previous process left in progress, now marked interrupted. */
  readonly interrupted: readonly string[];
  /** Drain (cancel running runs, keep their partial results), then close everything. */
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startService(options: ServiceOptions = {}): Promise<ServiceHandle> {
  const host = options.host ?? DEFAULT_HOST;
  const token = options.token === '' ? undefined : options.token;
  if (!isLoopback(host) && token === undefined) {
    throw new Error(
      `refusing to listen on ${host} without a token: set ${TOKEN_ENV} (mutating routes would be open to the network)`,
    );
  }
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const { store: history, interrupted } = HistoryStore.open(dataDir);
  let pool: SimPool | undefined;
  let server: Server | undefined;
  try {
    pool = new SimPool({ workers: options.workers, idleTimeoutMs: 300_000 });
    const hub = new MetricsHub({ perGuest: options.perGuestMetrics });
    const p = pool;
    hub.setPoolStats(() => ({ workers: p.workers, queued: p.queueSize, failures: p.failures }));
    const catalog = options.catalog ?? new ScenarioCatalog();
    const manager = new RunManager({
      pool,
      history,
      hub,
      catalog,
      limits: options.limits,
      stopGraceMs: options.stopGraceMs,
    });
    const metrics = new MetricsEndpoint(hub, { defaultMetrics: true });
    let ready = false;
    const app = createApp({
      manager,
      metrics,
      catalog,
      token,
      bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
      ready: () => ready,
    });
    await pool.warm();
    server = await new Promise<Server>((ok, fail) => {
      const s = app.listen(options.port ?? DEFAULT_PORT, host, (err?: Error) => (err ? fail(err) : ok(s)));
    });
    ready = true;
    const addr = server.address() as AddressInfo;
    const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${urlHost}:${addr.port}`;
    let closing: Promise<void> | undefined;
    const srv = server;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        ready = false;
        const stopped = new Promise<void>((ok) => srv.close(() => ok()));
        srv.closeIdleConnections();
        await manager.drain();
        await p.close();
        history.close();
        srv.closeAllConnections();
        await stopped;
      })();
      return closing;
    };
    return { url, host: addr.address, port: addr.port, manager, hub, workers: p.workers, dataDir, interrupted, close };
  } catch (e) {
    server?.close();
    await pool?.close();
    history.close();
    throw e;
  }
}
