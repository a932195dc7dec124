import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { RUN_STATES, type RunState } from '../history/records.js';
import { prefersOpenMetrics, type MetricsEndpoint } from '../metrics/registry.js';
import { ApiError } from './errors.js';
import type { RunManager, SubmitRequest } from './runs.js';
import { isScenarioName, type ScenarioCatalog } from './scenarios.js';
import { renderRunPage, renderRunsIndex } from '../report/servicePages.js';
import type { RunResults } from '../results/types.js';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

interface AppOptions {
  readonly manager: RunManager;
  readonly metrics: MetricsEndpoint;
  readonly catalog: ScenarioCatalog;
  /** When set, POST and DELETE need `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Request body limit in bytes. */
  readonly bodyLimitBytes: number;
  /** Pool warmed and history open: /readyz answers 200. */
  readonly ready: () => boolean;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function optionalNumber(v: unknown, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n))
    throw new ApiError(400, 'bad_request', `${name} must be a number, found ${JSON.stringify(v)}`);
  return n;
}

function optionalPace(v: unknown): 'max' | 'realtime' | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'max' || v === 'realtime') return v;
  throw new ApiError(400, 'bad_request', `pace must be "max" or "realtime", found ${JSON.stringify(v)}`);
}

function optionalSeed(v: unknown): number | undefined {
  const n = optionalNumber(v, 'seed');
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 0xffffffff))
    throw new ApiError(400, 'bad_request', `seed must be an integer 0..4294967295, found ${n}`);
  return n;
}

/** POST /api/runs body: YAML text (options in the query), a scenario name as text, or JSON. */
function submitRequest(req: Request): SubmitRequest {
  const q = req.query as Record<string, unknown>;
  const common = (src: Record<string, unknown>): Omit<SubmitRequest, 'yaml' | 'name'> => ({
    ...(optionalPace(src.pace) ? { pace: optionalPace(src.pace) } : {}),
    ...(optionalSeed(src.seed) !== undefined ? { seed: optionalSeed(src.seed) } : {}),
    ...(optionalNumber(src.timeLimitSeconds, 'timeLimitSeconds') !== undefined
      ? { timeLimitSeconds: optionalNumber(src.timeLimitSeconds, 'timeLimitSeconds') }
      : {}),
  });
  if (req.is('application/json')) {
    const b = req.body as unknown;
    if (typeof b !== 'object' || b === null || Array.isArray(b))
      throw new ApiError(
        400,
        'bad_request',
        'the JSON body must be an object: {"scenario": "NAME"} or {"yaml": "..."}',
      );
    const o = b as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['scenario', 'yaml', 'pace', 'seed', 'timeLimitSeconds'].includes(k))
        throw new ApiError(
          400,
          'bad_request',
          `unknown field "${k}" (expected scenario, yaml, pace, seed, timeLimitSeconds)`,
        );
    }
    if (o.scenario !== undefined && typeof o.scenario !== 'string')
      throw new ApiError(400, 'bad_request', '"scenario" must be a string (a name of scenarios/)');
    if (o.yaml !== undefined && typeof o.yaml !== 'string')
      throw new ApiError(400, 'bad_request', '"yaml" must be a string');
    return {
      ...(o.scenario !== undefined ? { name: o.scenario } : {}),
      ...(o.yaml !== undefined ? { yaml: o.yaml } : {}),
      ...common(o),
    };
  }
  const text = typeof req.body === 'string' ? req.body : undefined;
  if (text === undefined && req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `send scenario YAML as ${YAML_TYPES.join(', ')}, or JSON as application/json`,
    );
  }
  const name = typeof q.scenario === 'string' ? q.scenario : undefined;
  const trimmed = text?.trim() ?? '';
  // A one-line body that is a scenario name (no YAML mapping in it) names a scenario of scenarios/.
  if (
    name === undefined &&
    trimmed !== '' &&
    !trimmed.includes('\n') &&
    !trimmed.includes(':') &&
    isScenarioName(trimmed)
  )
    return { name: trimmed, ...common(q) };
  if (name !== undefined && trimmed !== '')
    throw new ApiError(400, 'bad_request', 'give either ?scenario=NAME or a YAML body, not both');
  return { ...(name !== undefined ? { name } : { yaml: text ?? '' }), ...common(q) };
}

export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Cache-Control', 'no-store');
    next();
  });

  const requireToken = (req: Request, _res: Response, next: NextFunction): void => {
    if (o.token === undefined || tokenMatches(req.headers.authorization, o.token)) return next();
    next(
      new ApiError(
        401,
        'unauthorized',
        'this route needs "Authorization: Bearer <token>" (the service was started with VMEXIT_LAB_TOKEN set)',
        { headers: { 'WWW-Authenticate': 'Bearer realm="vmexit-lab"' } },
      ),
    );
  };
  const bodies = [
    express.json({ limit: o.bodyLimitBytes }),
    express.text({ limit: o.bodyLimitBytes, type: YAML_TYPES }),
  ];

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    if (o.manager.isDraining) res.status(503).json({ status: 'draining' });
    else if (!o.ready()) res.status(503).json({ status: 'starting' });
    else res.json({ status: 'ready', runsInProgress: o.manager.running });
  });

  app.get('/metrics', async (req, res) => {
    const { contentType, body } = await o.metrics.render(prefersOpenMetrics(req.headers.accept));
    res.set('Content-Type', contentType).send(body);
  });

  app.get('/api/scenarios', (_req, res) => {
    res.json({ scenarios: o.catalog.list() });
  });

  app.get('/api/runs', (req, res) => {
    const q = req.query as Record<string, unknown>;
    const state = typeof q.state === 'string' ? q.state : undefined;
    if (state !== undefined && !(RUN_STATES as readonly string[]).includes(state))
      throw new ApiError(400, 'bad_request', `state must be one of ${RUN_STATES.join(', ')}`);
    const limit = optionalNumber(q.limit, 'limit');
    res.json({
      runs: o.manager.list({
        ...(state ? { state: state as RunState } : {}),
        ...(typeof q.scenario === 'string' ? { scenario: q.scenario } : {}),
        ...(limit !== undefined ? { limit } : {}),
      }),
    });
  });

  app.post('/api/runs', requireToken, ...bodies, (req, res) => {
    const rec = o.manager.submit(submitRequest(req));
    res.status(202).location(`/api/runs/${rec.id}`).json(rec);
  });

  app.get('/api/runs/:id', (req, res) => {
    const id = String(req.params.id);
    const rec = o.manager.get(id);
    if (!rec) throw new ApiError(404, 'not_found', `no run ${id}`);
    res.json(rec);
  });

  app.get('/api/runs/:id/results', (req, res) => {
    const { json, partial } = o.manager.results(String(req.params.id));
    res.set('Content-Type', 'application/json; charset=utf-8').set('X-Vmexit-Lab-Partial', String(partial)).send(json);
  });

  app.delete('/api/runs/:id', requireToken, (req, res) => {
    res.status(202).json(o.manager.cancel(String(req.params.id)));
  });

  // Pages for people: the index of runs and each run's page (live progress, then the report).
  app.get('/', (_req, res) => {
    res.type('html').send(renderRunsIndex(o.manager.list({ limit: 100 })));
  });

  app.get('/runs/:id', (req, res) => {
    const id = String(req.params.id);
    const rec = o.manager.get(id);
    if (!rec) throw new ApiError(404, 'not_found', `no run ${id}`);
    const results = rec.hasResults ? (JSON.parse(o.manager.results(id).json) as RunResults) : null;
    res.type('html').send(renderRunPage(rec, results));
  });

  app.use((req, _res, next) => {
    next(new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`));
  });

  // Express 5 forwards errors thrown (or rejected) in handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    let e: ApiError;
    const http = (typeof err === 'object' && err !== null ? err : {}) as {
      type?: unknown;
      status?: unknown;
      message?: unknown;
    };
    const message = typeof http.message === 'string' ? http.message : String(err);
    if (err instanceof ApiError) e = err;
    else if (http.type === 'entity.too.large')
      e = new ApiError(413, 'payload_too_large', `the request body is larger than ${o.bodyLimitBytes} bytes`);
    else if (http.type === 'entity.parse.failed')
      e = new ApiError(400, 'bad_request', `the JSON body does not parse: ${message}`);
    else if (typeof http.status === 'number' && http.status >= 400 && http.status < 500)
      e = new ApiError(http.status, 'bad_request', message);
    else e = new ApiError(500, 'internal', `internal error: ${message}`);
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(e.extra.headers ?? {})) res.set(k, v);
    res.status(e.status).json(e.body());
  });
  return app;
}
