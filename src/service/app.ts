// The app: its middleware in order and each route's handlers (createApp).
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { prefersOpenMetrics, type MetricsEndpoint } from '../metrics/registry.js';
import { ApiError, shown } from './errors.js';
import type { RunManager } from './runs.js';
import type { ScenarioCatalog } from './scenarios.js';
import { renderRunPage, renderRunsIndex } from '../report/servicePages.js';
import type { RunResults } from '../results/types.js';
import { createHash } from 'node:crypto';
import { tokenOf, type Tokens } from './auth.js';
import {
  DEFAULT_IDEMPOTENCY,
  IdempotencyKeys,
  idempotencyKey,
  keyedRequest,
  type IdempotencyLimits,
} from './idempotency.js';
import { checkQuery, checkSubmitHead, listRequest, parseQuery, submitRequest } from './request.js';
import { browserGuard } from './origin.js';
import { oneRequestAtATime } from './connections.js';
import { awaitsContinue, boundedBody, closeUnreadBodies, type LingerBounds } from './body.js';
import { SharedAnswers } from './shared.js';
import { accessGuard, answerFromTable, noRoute, ROUTES, routeOf, type RouteName } from './routeTable.js';
import { acceptsJson, headerGuard } from './headChecks.js';
import { damagedRunPage, PAGE_CSP } from './pageAnswers.js';
import { answerError } from './errorAnswers.js';

interface AppOptions {
  readonly manager: RunManager;
  readonly metrics: MetricsEndpoint;
  readonly catalog: ScenarioCatalog;
  /** Write and read tokens (src/service/auth.ts); none: open. */
  readonly tokens?: Tokens;
  /** Request body limit in bytes. */
  readonly bodyLimitBytes: number;
  /** Pool warmed and history open: /readyz answers 200. */
  readonly ready: () => boolean;
  /** Idempotency-Key on POST /api/runs: keys remembered, for how long. */
  readonly idempotency?: Partial<IdempotencyLimits>;
  /** Tests only: the lingering close's bounds (src/service/body.ts; default LINGER_BYTES, LINGER_MS). */
  readonly linger?: Partial<LingerBounds>;
}

/** A shared answer (src/service/shared.ts): its bytes and their ETag, made once for all its requests. */
interface SharedAnswer {
  readonly status: number;
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * A shared answer's body and ETag. The ETag is express's own weak form (the etag package: the
 * length in hex and the SHA-1's first 27 base64 characters), taken here once: express hashed the
 * whole body again for each request it sent it to (300 at once: 300 SHA-1s of 780 KB).
 */
function sharedAnswer(status: number, text: string): SharedAnswer {
  const body = Buffer.from(text);
  const hash = createHash('sha1').update(body).digest('base64').slice(0, 27);
  return { status, body, etag: `W/"${body.length.toString(16)}-${hash}"` };
}

/** A page's shared answer as sent: HTML under the pages' own policy (PAGE_CSP), with its ETag. */
function sendPage(res: express.Response, answer: SharedAnswer): void {
  res
    .status(answer.status)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Content-Security-Policy', PAGE_CSP)
    .set('ETag', answer.etag)
    .send(answer.body);
}

export function createApp(o: AppOptions): express.Express {
  const app = express();
  // Before any route: the router is made with these settings.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  // Query strings are parsed strictly (parseQuery: neither "simple" nor "extended"; why there).
  app.set('query parser', parseQuery);
  const stats = o.metrics.hub.stats;
  const tokens = o.tokens ?? {};
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const t0 = process.hrtime.bigint();
    res.on('finish', () => {
      // The route pattern, never the raw path: the label's values are the routes below. A request
      // refused before the router (its token, ACCESS) is counted under the route it asked for.
      const route = (req.route as { path?: unknown } | undefined)?.path;
      stats.request(
        typeof route === 'string' ? route : (routeOf(req.method, req.path)?.split(' ')[1] ?? 'unmatched'),
        req.method,
        res.statusCode,
        Number(process.hrtime.bigint() - t0) / 1e9,
      );
    });
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Cache-Control', 'no-store');
    // JSON and text are never a document: no scripts, no framing; the pages loosen this (PAGE_CSP).
    res.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    res.set('X-Frame-Options', 'DENY');
    res.set('Referrer-Policy', 'no-referrer');
    // Other sites' pages may not embed the answers (<script src>, <img src>) and read them by side channels.
    res.set('Cross-Origin-Resource-Policy', 'same-origin');
    next();
  });
  // An answer to a request whose body is still unread closes its connection, whoever answers (why there).
  app.use(closeUnreadBodies(o.linger));
  // Before any work: a pipelined request is refused unread (why there).
  app.use(oneRequestAtATime());
  app.use(headerGuard);
  app.use(browserGuard({ open: tokens.write === undefined && tokens.read === undefined }));
  // Every /api/ answer depends on Accept (acceptsJson), whatever it is.
  app.use((req, res, next) => {
    if (req.path.startsWith('/api/')) res.vary('Accept');
    next();
  });

  const open = tokens.write === undefined && tokens.read === undefined;
  const idempotency = new IdempotencyKeys({ ...DEFAULT_IDEMPOTENCY, ...o.idempotency });
  // Bodies are read as bytes (any type, up to the limit: src/service/body.ts) and decoded strictly
  // (src/service/request.ts).
  const body = boundedBody(o.bodyLimitBytes);
  const noQuery = (req: Request, _res: Response, next: NextFunction): void => {
    checkQuery(req, []);
    next();
  };

  const shared = new SharedAnswers<SharedAnswer>();

  const handlers: Record<RouteName, readonly RequestHandler[]> = {
    'GET /healthz': [
      (_req, res) => {
        res.json({ status: 'ok' });
      },
    ],
    'GET /readyz': [
      (_req, res) => {
        if (o.manager.isDraining) res.status(503).json({ status: 'draining' });
        else if (!o.ready()) res.status(503).json({ status: 'starting' });
        else res.json({ status: 'ready', runsInProgress: o.manager.running });
      },
    ],
    'GET /metrics': [
      async (req, res) => {
        // Shared with the scrapes that arrive with it (renderShared, why there).
        const { contentType, body: text } = await o.metrics.renderShared(prefersOpenMetrics(req.headers.accept));
        res.set('Content-Type', contentType).send(text);
      },
    ],
    'GET /api/scenarios': [
      acceptsJson,
      noQuery,
      (_req, res) => {
        res.json({ scenarios: o.catalog.list(o.manager.caps) });
      },
    ],
    'GET /api/runs': [
      acceptsJson,
      async (req, res) => {
        const filter = listRequest(req);
        // Shared with the requests for the same list that arrive with it (src/service/shared.ts, why there).
        const key = `list ${filter.limit ?? ''} ${filter.state ?? ''} ${filter.scenario ?? ''}`;
        const answer = await shared.get(key, () =>
          sharedAnswer(200, JSON.stringify({ runs: o.manager.list(filter), queue: o.manager.queueState() })),
        );
        res
          .status(answer.status)
          .set('Content-Type', 'application/json; charset=utf-8')
          .set('ETag', answer.etag)
          .send(answer.body);
      },
    ],
    'POST /api/runs': [
      acceptsJson,
      // What the head decides, before `100 Continue` to a client that waits for it (awaitsContinue: why
      // not for every client); submitRequest checks the same again once the body is read.
      (req, _res, next) => {
        if (awaitsContinue(req)) {
          checkSubmitHead(req);
          idempotencyKey(req.headers['idempotency-key']);
        }
        next();
      },
      body,
      async (req, res) => {
        const key = idempotencyKey(req.headers['idempotency-key']);
        if (key === undefined) {
          const rec = await o.manager.submit(submitRequest(req));
          return void res.status(202).location(`/api/runs/${rec.id}`).json(rec);
        }
        const token = open ? undefined : tokenOf(req);
        // Per credential, and never the token itself in memory longer than the request.
        const scope = token === undefined ? '' : createHash('sha256').update(token).digest('hex');
        // The request as read, not its bytes: a refused one (400, 415) is refused before the key is kept.
        const request = submitRequest(req);
        const { id, replayed } = await idempotency.once(
          scope,
          key,
          keyedRequest(request, o.manager.limits.maxRunSeconds),
          async () => {
            const { record, defaults } = await o.manager.submitWithDefaults(request);
            return { id: record.id, defaults };
          },
        );
        if (replayed) res.set('Idempotent-Replayed', 'true');
        // The record as it is now (its state may have moved on); only its id if retention dropped it.
        res
          .status(202)
          .location(`/api/runs/${id}`)
          .json(o.manager.get(id) ?? { id });
      },
    ],
    'GET /api/runs/:id': [
      acceptsJson,
      noQuery,
      (req, res) => {
        const id = String(req.params.id);
        const rec = o.manager.get(id);
        if (!rec) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
        res.json(rec);
      },
    ],
    'GET /api/runs/:id/results': [
      acceptsJson,
      noQuery,
      (req, res) => {
        const { json, partial } = o.manager.results(String(req.params.id));
        res
          .set('Content-Type', 'application/json; charset=utf-8')
          .set('X-Vmexit-Lab-Partial', String(partial))
          .send(json);
      },
    ],
    'DELETE /api/runs/:id': [
      acceptsJson,
      noQuery,
      (req, res) => {
        res.status(202).json(o.manager.cancel(String(req.params.id)));
      },
    ],
    // Pages for people: the index of runs and each run's page (live progress, then the report).
    'GET /': [
      async (_req, res) => {
        // Shared as the run pages are (src/service/shared.ts): built per request, 1,000 asked at once
        // held the main thread 2.2 - 5.5 s (a 56 KB index of 100 runs; shared 1.1 - 1.3 s, svc35).
        const answer = await shared.get('index', () =>
          sharedAnswer(200, renderRunsIndex(o.manager.list({ limit: 100 }))),
        );
        sendPage(res, answer);
      },
    ],
    'GET /runs/:id': [
      async (req, res) => {
        const id = String(req.params.id);
        if (!o.manager.get(id)) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
        // Shared with the requests for the same page that arrive with it (src/service/shared.ts, why
        // there); the record is read again when the page is built, after every sharer asked.
        const answer = await shared.get(`page ${id}`, () => {
          const rec = o.manager.get(id);
          if (!rec) throw new ApiError(404, 'not_found', `no run ${shown(id)}`);
          try {
            const results = rec.hasResults ? (JSON.parse(o.manager.results(id).json) as RunResults) : null;
            return sharedAnswer(200, renderRunPage(rec, results));
          } catch (e) {
            // A stored results.json the report cannot read (cut short, or of another shape): a page
            // that says so, not the JSON "internal error" (sent as text/html, the type already set).
            return sharedAnswer(500, damagedRunPage(id, (e as Error).message));
          }
        });
        sendPage(res, answer);
      },
    ],
  };
  // Each route's token check (ACCESS), before the router decodes the path (why there).
  app.use(accessGuard(tokens));
  // 405 with Allow, OPTIONS 204 with Allow: from the table, before the router decodes the path (why there).
  app.use(answerFromTable);
  for (const name of ROUTES) {
    const [method, path] = name.split(' ') as [string, string];
    if (method === 'GET') app.get(path, ...handlers[name]);
    else if (method === 'POST') app.post(path, ...handlers[name]);
    else app.delete(path, ...handlers[name]);
  }

  // Past the routes: no path of the table, 404.
  app.use(noRoute);

  // Express 5 forwards errors thrown (or rejected) in handlers here.
  app.use(answerError);
  return app;
}
