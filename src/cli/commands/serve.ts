import { existsSync, statSync } from 'node:fs';
import {
  ExitStatus,
  MAX_WORKERS,
  numberOption,
  type CliIo,
  type OptionUnit,
  commandArgs,
  usageProblem,
  UsageError,
} from '../io.js';
import {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_PORT,
  MAX_CONNECTIONS_BOUND,
  READ_TOKEN_ENV,
  startService,
  TOKEN_ENV,
  type ServiceHandle,
  type ServiceOptions,
} from '../../service/server.js';
import { DEFAULT_LIMITS } from '../../service/caps.js';
import { DataDirLockedError } from '../../history/dataDir.js';
import { DEFAULT_RETENTION, RETENTION_BOUNDS, type Retention } from '../../history/retention.js';
import { TOOL_VERSION } from '../../version.js';
import { WorkerStartError } from '../../pool/pool.js';

export const SERVE_OPTIONS_HELP = `Service options:
  --host HOST          address to listen on (default ${DEFAULT_HOST}; any other needs ${TOKEN_ENV})
  --port N             port (default ${DEFAULT_PORT}; 0 picks a free one)
  --workers N          simulation worker threads, 1..${MAX_WORKERS} (default: the number of cores)
  --data-dir DIR       run history database (default ${DEFAULT_DATA_DIR} in the working directory)
  --max-guests N       guests one run may simulate (default ${DEFAULT_LIMITS.maxGuests})
  --max-duration S     simulated seconds one run may last (default ${DEFAULT_LIMITS.maxDurationSeconds})
  --max-run-cost S     predicted host CPU core-seconds one run may cost (default: --max-run-time
                       x workers); the prediction uses data/run-cost.yaml
  --max-runs N         max-pace runs in progress at once, sharing the workers (default ${DEFAULT_LIMITS.maxConcurrentRuns})
  --max-realtime-runs N
                       realtime runs in progress at once, on threads of their own (default ${DEFAULT_LIMITS.maxRealtimeRuns})
  --max-queued N       runs waiting in the queue, all lanes (default ${DEFAULT_LIMITS.maxQueued})
  --max-run-time S     wall-clock seconds one run may take; a fixed-duration realtime run
                       longer than this is refused (default ${DEFAULT_LIMITS.maxRunSeconds})
  --max-series N       metric series of runs exported at once; a scenario's cardinalityBudget
                       cannot raise it (default ${DEFAULT_LIMITS.maxSeries})
  --retire-after S     a scenario's series leave /metrics S seconds after its last run ended
                       (default ${DEFAULT_LIMITS.retireAfterSeconds}; sooner when a new run needs room)
  --keep-runs N        finished runs kept in the history, newest first, N >= ${RETENTION_BOUNDS.keepRuns.min} (default ${DEFAULT_RETENTION.keepRuns})
  --keep-days D        finished runs older than D days are deleted, D ${RETENTION_BOUNDS.keepDays.min}..${RETENTION_BOUNDS.keepDays.max} (default ${DEFAULT_RETENTION.keepDays})
  --body-limit BYTES   request body limit (default ${DEFAULT_BODY_LIMIT_BYTES})
  --max-connections N  open connections at once, 1..${MAX_CONNECTIONS_BOUND} (default ${DEFAULT_MAX_CONNECTIONS}); a
                       connection past it is closed as soon as it is accepted, unanswered (the
                       client sees it reset or an empty reply), and should be retried later
  --per-guest-metrics  per-guest metric series (host, guest, os labels): one series per guest and
                       exit reason, so off by default

Environment:
  ${TOKEN_ENV}       the write token: POST and DELETE need "Authorization: Bearer <token>";
                          with it set, reads need a token too (this one or the read token)
  ${READ_TOKEN_ENV}  a read-only token (history, results, reports, /metrics): for
                          Prometheus and dashboards, which then cannot start or cancel runs
`;

const SERVE_USAGE = `Usage: vmexit-lab serve [options]

Run the service: an HTTP API to start, watch and cancel runs (POST /api/runs), live Prometheus
metrics (GET /metrics), and a run history that survives restarts. SIGTERM or SIGINT drains:
running runs are cancelled and their partial results stored. docs/SERVICE.md has the API.

Options:
  -h, --help           show this help

${SERVE_OPTIONS_HELP}
Exit status: 0 drained after SIGTERM or SIGINT, 2 bad input (an option, the data directory
locked by another service, the port taken), 3 a simulation worker that could not start (a damaged
install), a drain that failed or a second signal (the same one again within 0.5 s, as npm forwards
Ctrl-C, is not a second).

Examples:
  vmexit-lab serve --workers 2                 # http://127.0.0.1:${DEFAULT_PORT}
  curl -X POST -H 'Content-Type: application/json' -d '{"scenario":"default"}' http://127.0.0.1:${DEFAULT_PORT}/api/runs
  curl -s http://127.0.0.1:${DEFAULT_PORT}/api/runs/ID       # ID: the "id" of the answer (Location names it too)
  vmexit-lab serve --port 9090                 # another port (0 picks a free one and prints it)
  curl -s http://127.0.0.1:9090/metrics
`;

export const SERVE_PARSE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string' },
  'data-dir': { type: 'string' },
  'max-guests': { type: 'string' },
  'max-duration': { type: 'string' },
  'max-runs': { type: 'string' },
  'max-realtime-runs': { type: 'string' },
  'max-queued': { type: 'string' },
  'max-run-cost': { type: 'string' },
  'max-run-time': { type: 'string' },
  'max-series': { type: 'string' },
  'retire-after': { type: 'string' },
  'keep-runs': { type: 'string' },
  'keep-days': { type: 'string' },
  'body-limit': { type: 'string' },
  'max-connections': { type: 'string' },
  'per-guest-metrics': { type: 'boolean' },
} as const;

/** The options whose bare number is a quantity, as their refusal of `1h` or `2MiB` names it. */
const OPTION_UNITS: Readonly<Record<string, OptionUnit>> = {
  'max-duration': 'seconds',
  'max-run-time': 'seconds',
  'retire-after': 'seconds',
  'keep-days': 'days',
  'body-limit': 'bytes',
};

/** Service options from parsed command-line values (throws on bad values). */
export function serviceOptions(
  v: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
): ServiceOptions {
  const s = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const int = (k: string, min = 1, max = Infinity): number | undefined =>
    numberOption(s(k), `--${k}`, min, max, true, OPTION_UNITS[k]);
  const port = int('port', 0, 65535);
  const limits = {
    ...(s('max-guests') !== undefined ? { maxGuests: int('max-guests') } : {}),
    ...(s('max-duration') !== undefined ? { maxDurationSeconds: int('max-duration') } : {}),
    ...(s('max-runs') !== undefined ? { maxConcurrentRuns: int('max-runs') } : {}),
    ...(s('max-realtime-runs') !== undefined ? { maxRealtimeRuns: int('max-realtime-runs') } : {}),
    ...(s('max-queued') !== undefined ? { maxQueued: int('max-queued', 0) } : {}),
    ...(s('max-run-cost') !== undefined ? { maxRunCost: int('max-run-cost') } : {}),
    ...(s('max-run-time') !== undefined ? { maxRunSeconds: int('max-run-time') } : {}),
    ...(s('max-series') !== undefined ? { maxSeries: int('max-series') } : {}),
    ...(s('retire-after') !== undefined ? { retireAfterSeconds: int('retire-after', 0) } : {}),
  };
  // 0 kept nothing: each finished run, results too, was deleted before a client could fetch them.
  const keep = (k: 'keep-runs' | 'keep-days', key: keyof Retention): number | undefined => {
    const { min, max } = RETENTION_BOUNDS[key];
    try {
      return int(k, min, max);
    } catch (e) {
      const low =
        Number(s(k)) < min ? `at least ${min}: 0 would delete each finished run and its results as it ends; ` : '';
      throw new UsageError(`${(e as Error).message} (${low}the default is ${DEFAULT_RETENTION[key]})`);
    }
  };
  const retention = {
    ...(s('keep-runs') !== undefined ? { keepRuns: keep('keep-runs', 'keepRuns') } : {}),
    ...(s('keep-days') !== undefined ? { keepDays: keep('keep-days', 'keepDays') } : {}),
  };
  return {
    ...(s('host') !== undefined ? { host: s('host') } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(s('workers') !== undefined ? { workers: int('workers', 1, MAX_WORKERS) } : {}),
    ...(s('data-dir') !== undefined ? { dataDir: s('data-dir') } : {}),
    ...(s('body-limit') !== undefined ? { bodyLimitBytes: int('body-limit') } : {}),
    ...(s('max-connections') !== undefined ? { maxConnections: int('max-connections', 1, MAX_CONNECTIONS_BOUND) } : {}),
    perGuestMetrics: v['per-guest-metrics'] === true,
    limits,
    retention,
    ...(env[TOKEN_ENV] ? { token: env[TOKEN_ENV] } : {}),
    ...(env[READ_TOKEN_ENV] ? { readToken: env[READ_TOKEN_ENV] } : {}),
  };
}

/**
 * Start the service, take SIGTERM and SIGINT (onStopSignal), then print where it is: the handlers
 * come before the lines a client waits for, so a signal sent on reading them drains the service
 * (one sent between the two killed it). Undefined (with the reason printed) when it cannot start.
 */
export async function launch(
  options: ServiceOptions,
  io: CliIo,
  command: string,
): Promise<{ svc: ServiceHandle; stop: StopSignal } | number> {
  let stop: StopSignal | undefined;
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  // The history store's words for a file there were "ENOTDIR: not a directory, open 'FILE/service.lock'".
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    io.err(
      `vmexit-lab ${command}: ${options.dataDir !== undefined ? '--data-dir ' : ''}${dataDir}: a file, not a directory (expected the directory that keeps the run history; it is made when missing)`,
    );
    return ExitStatus.BAD_INPUT;
  }
  try {
    const svc = await startService(options);
    stop = onStopSignal(svc, io);
    io.out(
      [
        `vmexit-lab ${TOOL_VERSION} service listening on ${svc.url} (${svc.workers} worker${svc.workers === 1 ? '' : 's'}, history in ${options.dataDir ?? DEFAULT_DATA_DIR})`,
        `  metrics:   ${svc.url}/metrics`,
        `  runs:      ${svc.url}/api/runs`,
        `  scenarios: ${svc.url}/api/scenarios`,
        `  reports:   ${svc.url}/  (runs, live progress, each run's HTML report)`,
        `  health:    ${svc.url}/healthz  ${svc.url}/readyz`,
        ...(svc.interrupted.length > 0
          ? [`  ${svc.interrupted.length} run(s) a previous process left in progress are marked interrupted`]
          : []),
      ].join('\n'),
    );
    for (const note of svc.notes) io.err(`vmexit-lab ${command}: note: ${note}`);
    return { svc, stop };
  } catch (e) {
    stop?.release();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      io.err(
        `vmexit-lab ${command}: port ${options.port ?? DEFAULT_PORT} is in use; pick another with --port (0 = any free port)` +
          // Under `npm start`, `npm start --port 0` sets npm's config, not ours: the options go after `--`.
          (io.env.npm_lifecycle_event === 'start' ? ': npm start -- --port 8081' : ''),
      );
    else if (err instanceof DataDirLockedError) io.err(`vmexit-lab ${command}: ${err.message}`);
    else if (/^cannot create the data directory/.test(err.message) && options.dataDir === undefined)
      // The default is in the working directory, which a service started from / or a read-only checkout cannot write.
      io.err(
        `vmexit-lab ${command}: cannot start the service: ${err.message} (the run history is kept in ${DEFAULT_DATA_DIR} in the working directory by default; give --data-dir DIR where it may be written)`,
      );
    else io.err(`vmexit-lab ${command}: cannot start the service: ${err.message}`);
    // A port, a data directory or a lock is the caller's to change (2); a worker that cannot load is
    // a damaged install, an internal error (3), as `run` says for the same cause.
    return err instanceof WorkerStartError ? ExitStatus.INTERNAL : ExitStatus.BAD_INPUT;
  }
}

/** How close a repeat of the first signal is taken as the same one (npm's forward of Ctrl-C). */
const SAME_SIGNAL_MS = 500;

/**
 * Take SIGTERM and SIGINT from now on: the first drains the service (`drained` resolves with the
 * exit status), a second exits at once. `signalled` says whether one came; `release` gives the
 * signals back to their default (for a command that fails before it would wait for them).
 * The same signal again within SAME_SIGNAL_MS is the first one twice, not a second: Ctrl-C on
 * `npm start` reaches the service from the terminal (its process group) and once more from npm,
 * which forwards the SIGINT it got to its child (@npmcli/run-script signal-manager.js).
 */
export interface StopSignal {
  drained: Promise<number>;
  signalled: () => boolean;
  release: () => void;
}
export function onStopSignal(svc: ServiceHandle, io: CliIo): StopSignal {
  let came = false;
  let onSignal: (sig: NodeJS.Signals) => void = () => undefined;
  const drained = new Promise<number>((done) => {
    onSignal = (sig: NodeJS.Signals): void => {
      came = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      io.err(`vmexit-lab: ${sig}: draining (running runs are cancelled, partial results kept)`);
      const first = Date.now();
      const force = (again: NodeJS.Signals): void => {
        if (again === sig && Date.now() - first < SAME_SIGNAL_MS) {
          process.once(again, force);
          return;
        }
        io.err('vmexit-lab: second signal: exiting now');
        process.exit(ExitStatus.INTERNAL);
      };
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      svc.close().then(
        () => {
          process.off('SIGTERM', force);
          process.off('SIGINT', force);
          io.err('vmexit-lab: drained, bye');
          done(ExitStatus.OK);
          // Anything still holding the event loop open must not keep a drained service alive.
          setTimeout(() => process.exit(ExitStatus.OK), 3_000).unref();
        },
        (e: unknown) => {
          io.err(`vmexit-lab: error while draining: ${(e as Error).message}`);
          done(ExitStatus.INTERNAL);
          setTimeout(() => process.exit(ExitStatus.INTERNAL), 3_000).unref();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  const release = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  return { drained, signalled: () => came, release };
}

export async function serveCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'serve', SERVE_USAGE, args, SERVE_PARSE_OPTIONS, false);
  if (typeof parsed === 'number') return parsed;
  let options: ServiceOptions;
  try {
    options = serviceOptions(parsed.values, io.env);
  } catch (e) {
    io.err(usageProblem('serve', (e as Error).message));
    return ExitStatus.BAD_INPUT;
  }
  const up = await launch(options, io, 'serve');
  if (typeof up === 'number') return up;
  return up.stop.drained;
}
