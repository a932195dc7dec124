import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { SimPool, type WorkerSource } from '../pool/pool.js';
import { MetricsHub } from '../metrics/hub.js';
import { MetricsEndpoint } from '../metrics/registry.js';
import { HistoryStore } from '../history/store.js';
import { DEFAULT_RETENTION, type Retention } from '../history/retention.js';
import type { RunRecord } from '../history/records.js';
import { createApp } from './app.js';
import { answerHalfClosed, DEFAULT_RESPONSE_TIMEOUT_MS } from './connections.js';
import { continueWhenRead, type LingerBounds } from './body.js';
import type { IdempotencyLimits } from './idempotency.js';
import { DEFAULT_LIMITS, type ServiceLimits } from './caps.js';
import { RunManager } from './runs.js';
import type { SubmitRequest } from './runRequest.js';
import { READ_TOKEN_ENV, TOKEN_ENV } from './auth.js';
import { ScenarioCatalog } from './scenarios.js';
import { ScenarioValidator, type ValidationLimits } from './scenarioValidator.js';
import { planTasks } from '../pool/tasks.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = '.vmexit-lab';
// The tokens' variables live in auth.ts; `serve` and `start` take them from here with the other defaults.
export { READ_TOKEN_ENV, TOKEN_ENV };
/** A request body's bound (`serve --body-limit`; docs/SERVICE.md, Limits), as sent and as decoded. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** A request's headers must have arrived within this, and its body within the next (slow clients). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** The simulation pools' idle threads end after this (the max lane's, the continuous default's). */
const POOL_IDLE_TIMEOUT_MS = 300_000;

export interface ServiceOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** History database directory (default .vmexit-lab in the working directory). */
  readonly dataDir?: string;
  readonly workers?: number;
  /** Write token: POST and DELETE need it (and it reads). */
  readonly token?: string;
  /** Read token: reads need it or the write token (src/service/auth.ts). */
  readonly readToken?: string;
  readonly limits?: Partial<ServiceLimits>;
  readonly validation?: Partial<ValidationLimits>;
  readonly retention?: Partial<Retention>;
  readonly bodyLimitBytes?: number;
  /** Per-guest metric series (cardinality grows with the fleet). */
  readonly perGuestMetrics?: boolean;
  readonly stopGraceMs?: number;
  readonly catalog?: ScenarioCatalog;
  /** A request's headers must have arrived within this (default 20 s)... */
  readonly headersTimeoutMs?: number;
  /** ... and its body within this (default 60 s): slow clients must not hold sockets for ever. */
  readonly requestTimeoutMs?: number;
  /**
   * A connection on which nothing moves for this long is closed (default 60 s): a client that
   * stops reading an answer larger than the socket buffers no longer holds it for ever.
   */
  readonly responseTimeoutMs?: number;
  /** Open connections at most (default 1,024); Node closes any further one as soon as it is accepted. */
  readonly maxConnections?: number;
  /** Idempotency-Key (POST /api/runs): keys remembered at most, and for how long. */
  readonly idempotency?: Partial<IdempotencyLimits>;
  /** Tests only: the lingering close's bounds (src/service/body.ts: LINGER_BYTES, LINGER_MS). */
  readonly linger?: Partial<LingerBounds>;
  /** Tests only: the worker file of every pool (SimPool's `worker`; test/fixtures/workers/). */
  readonly worker?: WorkerSource;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * The most `serve --max-connections` takes: each connection is a file descriptor, and 65,536 is
 * beyond the usual open-file limit (ulimit -n, 1,024 soft by default on Linux) that the process
 * must be given for it; past that limit accept() fails with EMFILE instead of the bound acting.
 */
export const MAX_CONNECTIONS_BOUND = 65_536;

/**
 * The bounds of every HTTP server of the program (the service's and `run --metrics-listen`'s),
 * each defaulting to the service's: a slow or stalled client must not hold a socket for ever.
 */
export type HttpHardening = Pick<
  ServiceOptions,
  'headersTimeoutMs' | 'requestTimeoutMs' | 'responseTimeoutMs' | 'maxConnections'
>;

/** createServer with the bounds above (the checking interval can only be given to the constructor). */
export function createHardenedServer(handler: RequestListener, opts: HttpHardening = {}): Server {
  // Node checks the two timeouts every connectionsCheckingInterval (30 s by default): headers
  // trickled a line a second held their socket 32 s against a 20 s bound. Check every second.
  const s = createServer(
    {
      headersTimeout: opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
      requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    handler,
  );
  // Each connection holds a file descriptor and its buffers: without a bound, the process's file
  // limit was the only one (5,000 idle sockets were taken). Past it Node destroys the socket on
  // accept, before reading anything: the client sees its connection reset, no HTTP answer.
  s.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  // Neither bound above acts once the request is read: an answer larger than the kernel's socket
  // buffers (a few MB on loopback; a 20,000-guest run's results.json or page is more) waits in
  // the process for a client that may never read it, holding the connection, its slot of
  // maxConnections and the answer's memory for ever: two such clients took every connection of
  // `--max-connections 2` (2026-12-05, the fresh-eyes pass). Node's socket inactivity timeout
  // (`server.timeout`, off by default) closes a connection on which no byte moves for this long;
  // a slow reader that reads at all keeps it, and every route answers within seconds.
  s.timeout = opts.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
  // Every header the parser reads reaches the app (the head's byte bound, maxHeaderSize, still holds).
  // Node passed on the first 2,000 only, while its parser framed the body by all of them: a
  // `Transfer-Encoding: chunked` after 2,000 fillers made a GET /healthz whose endless body no
  // check saw, read and thrown away until the request timeout (300 MB in 1.2 s, svc38), and a
  // second Host there went unrefused (RFC 9112 3.2).
  s.maxHeadersCount = 0;
  // A client that half-closes after its request still gets an answer built on a later turn.
  answerHalfClosed(s);
  return s;
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
  /** What start-up could not restore from the history, one sentence each (printed by serve and start). */
  readonly notes: readonly string[];
  /**
   * Run a scenario back to back until the service stops (`vmexit-lab start`), on threads of its
   * own; resolves with the first iteration's record.
   */
  runContinuously(req: SubmitRequest): Promise<RunRecord>;
  /** Drain (cancel running runs, keep their partial results), then close everything. */
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startService(options: ServiceOptions = {}): Promise<ServiceHandle> {
  const host = options.host ?? DEFAULT_HOST;
  const token = options.token === '' ? undefined : options.token;
  const readToken = options.readToken === '' ? undefined : options.readToken;
  if (!isLoopback(host) && token === undefined) {
    throw new Error(
      `refusing to listen on ${host} without a token: set ${TOKEN_ENV} (mutating routes would be open to the network)`,
    );
  }
  if (token !== undefined && readToken !== undefined && token === readToken)
    throw new Error(`${READ_TOKEN_ENV} must differ from ${TOKEN_ENV} (a read token that writes is no read token)`);
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const { store: history, interrupted } = HistoryStore.open(dataDir);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const pools: SimPool[] = [];
  let validator: ScenarioValidator | undefined;
  let server: Server | undefined;
  try {
    const pool = new SimPool({ workers: options.workers, idleTimeoutMs: POOL_IDLE_TIMEOUT_MS, worker: options.worker });
    pools.push(pool);
    // Realtime runs: threads of their own, started when a realtime run needs them.
    const realtimePool = new SimPool({
      workers: pool.workers * limits.maxRealtimeRuns,
      idleTimeoutMs: 60_000,
      eager: false,
      worker: options.worker,
    });
    pools.push(realtimePool);
    validator = new ScenarioValidator(options.validation);
    const hub = new MetricsHub({
      perGuest: options.perGuestMetrics,
      limits: { maxSeries: limits.maxSeries, retireAfterMs: limits.retireAfterSeconds * 1000 },
    });
    hub.setPoolStats(() => ({ workers: pool.workers, queued: pool.queueSize, failures: pool.failures }));
    const catalog = options.catalog ?? new ScenarioCatalog();
    const manager = new RunManager({
      pool,
      realtimePool,
      history,
      hub,
      catalog,
      validator,
      limits,
      retention: { ...DEFAULT_RETENTION, ...options.retention },
      stopGraceMs: options.stopGraceMs,
    });
    const notes = manager.restoreMetrics();
    const metrics = new MetricsEndpoint(hub, { defaultMetrics: true });
    let ready = false;
    const app = createApp({
      manager,
      metrics,
      catalog,
      tokens: {
        ...(token !== undefined ? { write: token } : {}),
        ...(readToken !== undefined ? { read: readToken } : {}),
      },
      bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      ready: () => ready,
      idempotency: options.idempotency,
      linger: options.linger,
    });
    await Promise.all([pool.warm(), validator.warm()]);
    server = await new Promise<Server>((ok, fail) => {
      const s = createHardenedServer(app, options);
      // `100 Continue` once the app reads the body, after the checks of the head (why there).
      continueWhenRead(s, app);
      s.once('error', fail);
      s.listen(options.port ?? DEFAULT_PORT, host, () => {
        s.off('error', fail);
        ok(s);
      });
    });
    ready = true;
    const addr = server.address() as AddressInfo;
    const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${urlHost}:${addr.port}`;
    let closing: Promise<void> | undefined;
    const srv = server;
    const v = validator;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        ready = false;
        // The listener stays open while the runs stop, so that /readyz can say 503 `draining` (a
        // Kubernetes readiness probe takes the pod out of the Service) and clients can still read
        // (the partial results being stored); new runs get 503 `shutting_down`. Then it closes.
        await manager.drain();
        const stopped = new Promise<void>((ok) => srv.close(() => ok()));
        srv.closeIdleConnections();
        await Promise.all([...pools.map((p) => p.close()), v.close()]);
        history.close();
        srv.closeAllConnections();
        await stopped;
      })();
      return closing;
    };
    const runContinuously = (req: SubmitRequest): Promise<RunRecord> =>
      manager.runContinuously(req, async (scenario) => {
        // Threads of its own: one per task of the scenario's realtime plan.
        const tasks = planTasks(scenario, { workers: pool.workers, pace: 'realtime' }).length;
        const background = new SimPool({ workers: tasks, idleTimeoutMs: POOL_IDLE_TIMEOUT_MS, worker: options.worker });
        pools.push(background);
        await background.warm();
        return background;
      });
    return {
      url,
      host: addr.address,
      port: addr.port,
      manager,
      hub,
      workers: pool.workers,
      dataDir,
      interrupted,
      notes,
      runContinuously,
      close,
    };
  } catch (e) {
    server?.close();
    await Promise.all([...pools.map((p) => p.close()), validator?.close()]);
    history.close();
    throw e;
  }
}
