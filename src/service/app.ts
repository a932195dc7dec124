import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { prefersOpenMetrics, type MetricsEndpoint } from '../metrics/registry.js';
import { ApiError, shown } from './errors.js';
import type { RunManager } from './runs.js';
import type { ScenarioCatalog } from './scenarios.js';
import { renderRunPage, renderRunsIndex } from '../report/servicePages.js';
import { esc, note, page as htmlPage } from '../report/page.js';
import { showInvisible } from '../input/diagnostics.js';
import type { RunResults } from '../results/types.js';
import { createHash } from 'node:crypto';
import { requireRole, tokenOf, type Tokens } from './auth.js';
import {
  DEFAULT_IDEMPOTENCY,
  IdempotencyKeys,
  idempotencyKey,
  keyedRequest,
  type IdempotencyLimits,
} from './idempotency.js';
import { checkQuery, checkSubmitHead, listRequest, parseQuery, PERCENT_RULE, submitRequest } from './request.js';
import { browserGuard } from './origin.js';
import { oneRequestAtATime } from './connections.js';
import { awaitsContinue, boundedBody, closeUnreadBodies } from './body.js';
import { SharedAnswers } from './shared.js';
import { HistoryDamagedError } from '../history/store.js';

/**
 * Every route the app serves, as `METHOD path` (docs/SERVICE.md's HTTP API table lists the same:
 * test/service/routes.test.ts). One table so that the methods a path takes are known without
 * asking express's router: a known path asked with another method gets 405 and `Allow`.
 */
export const ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /api/scenarios',
  'GET /api/runs',
  'POST /api/runs',
  'GET /api/runs/:id',
  'GET /api/runs/:id/results',
  'DELETE /api/runs/:id',
  'GET /',
  'GET /runs/:id',
] as const;

type RouteName = (typeof ROUTES)[number];

/**
 * Who may use each route (src/service/auth.ts; docs/SERVICE.md, "Threat model"): the probes are open,
 * reads need a token that reads (`page`: the same, challenging with Basic so a browser prompts), runs'
 * POST and DELETE the write token. Checked before the router matches (app.use in createApp): the
 * router decodes a path's parameters as it matches, so a run id that is not percent-encoding
 * (`/api/runs/%ZZ`) was a 400 before any token was asked for, where every other request is told
 * 401 first.
 */
const ACCESS: Readonly<Record<RouteName, 'open' | 'read' | 'write' | 'page'>> = {
  'GET /healthz': 'open',
  'GET /readyz': 'open',
  'GET /metrics': 'read',
  'GET /api/scenarios': 'read',
  'GET /api/runs': 'read',
  'POST /api/runs': 'write',
  'GET /api/runs/:id': 'read',
  'GET /api/runs/:id/results': 'read',
  'DELETE /api/runs/:id': 'write',
  'GET /': 'page',
  'GET /runs/:id': 'page',
};

/** Each route's method and path pattern, as express matches them (case-sensitive, strict). */
const ROUTE_PATTERNS = ROUTES.map((name) => {
  const [method, path] = name.split(' ') as [string, string];
  return { name, method, pattern: new RegExp(`^${path.replace(/:\w+/g, '[^/]+')}$`) };
});

/** The route a request's method and path match (HEAD as GET, as express answers it), or undefined. */
function routeOf(method: string, path: string): RouteName | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return ROUTE_PATTERNS.find((r) => r.method === m && r.pattern.test(path))?.name;
}

/**
 * Per path: its pattern as express matches it and its methods. Routing is case-sensitive and
 * strict (createApp): `/API/RUNS` and `/api/runs/` are no spelling of `/api/runs` (they were, and
 * every spelling was a name of the same resource); they get the 404 of any unknown path.
 */
const PATHS = (() => {
  const byPath = new Map<string, string[]>();
  for (const name of ROUTES) {
    const [method, path] = name.split(' ') as [string, string];
    const methods = byPath.get(path) ?? [];
    // Express answers HEAD with a GET route; OPTIONS is answered below.
    methods.push(...(method === 'GET' ? ['GET', 'HEAD'] : [method]));
    byPath.set(path, methods);
  }
  return [...byPath].map(([path, methods]) => ({
    pattern: new RegExp(`^${path.replace(/:\w+/g, '[^/]+')}$`),
    allow: [...methods, 'OPTIONS'],
  }));
})();

/** Every method some path takes. */
const SERVER_METHODS = [...new Set(PATHS.flatMap((p) => p.allow.filter((m) => m !== 'OPTIONS'))), 'OPTIONS'];

/** The methods a request path takes (`Allow`), or undefined when no route has the path. */
export function allowedMethods(path: string): readonly string[] | undefined {
  return PATHS.find((p) => p.pattern.test(path))?.allow;
}

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
}

/**
 * The pages inline their style, Chart.js and scripts (src/report/page.ts) and poll the runs API:
 * nothing else may load, nothing may be sent anywhere but this service, and no other site may
 * frame them.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths of the pages for people (a 404 there is a page for a browser that asks for one). */
function isPagePath(path: string): boolean {
  return path !== '/metrics' && !path.startsWith('/api/');
}

/**
 * The 404 page: what was not found, and the way to the runs. The message names the path asked for:
 * escaped, and its invisible characters shown as escapes (a NUL or a right-to-left override in
 * the path was copied into the page as it was).
 */
function notFoundPage(message: string): string {
  return htmlPage({
    title: 'vmexit-lab: not found',
    body: `<h1>Not found</h1>\n${note(showInvisible(message))}\n<p><a href="/">All runs</a></p>`,
    charts: [],
    nav: '<a href="/">all runs</a>',
  });
}

/** A run's page when its stored results.json cannot be shown: why, and where the record and the file are. */
function damagedRunPage(id: string, message: string): string {
  const e = encodeURIComponent(id);
  return htmlPage({
    title: `vmexit-lab: run ${id}`,
    body: `<h1>Run ${esc(id)}</h1>\n${note(showInvisible(`its results.json could not be shown (${message}); it may be cut short or written by another version`))}\n<p><a href="/api/runs/${e}">the run's record</a> · <a href="/api/runs/${e}/results">its results.json</a> · <a href="/">all runs</a></p>`,
    charts: [],
    nav: '<a href="/">all runs</a>',
  });
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

/**
 * Headers Node keeps the first of when a request gives them twice (its other headers it joins with
 * commas, and the routes refuse what that makes): which one counts would be a guess, and another
 * reader of the same request (a proxy in front, a log) may guess the other. RFC 9112 3.2: a request
 * with two Host lines MUST be answered 400.
 */
const SINGLE_HEADERS = ['host', 'content-type', 'authorization'];

/** A Host field's value: uri-host (a reg-name, IPv4 or an IP literal in brackets) and an optional port (RFC 3986 3.2.2). */
const HOST_FIELD = /^(?:\[[0-9A-Fa-f:.vV]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * Middleware: a header of SINGLE_HEADERS given twice is a 400 naming it; a Host that is not a host
 * and port a 400; a Transfer-Encoding other than `chunked` a 501 (RFC 9112 6.1: a coding the server
 * does not understand). Node refuses two Content-Length headers and Content-Length with
 * Transfer-Encoding itself; it read `gzip, chunked` as chunked, the gzip left undecoded.
 */
function headerGuard(req: Request, _res: Response, next: NextFunction): void {
  const raw = req.rawHeaders;
  for (const name of SINGLE_HEADERS) {
    const values: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name) values.push(raw[i + 1]);
    if (values.length > 1)
      return next(
        new ApiError(
          400,
          'bad_request',
          `the request gives ${raw.find((h) => h.toLowerCase() === name) ?? name} ${values.length} times (${values.map(shown).join(', ')}); send it once`,
        ),
      );
  }
  // RFC 9112 3.2: a Host that is not `uri-host [":" port]` MUST be a 400. `evil.example@127.0.0.1`
  // (userinfo) was read by URL as 127.0.0.1 and answered, where a proxy in front may read another name.
  const host = req.headers.host;
  if (host !== undefined && !HOST_FIELD.test(host))
    return next(
      new ApiError(
        400,
        'bad_request',
        `Host ${shown(host)} is not a host name or address with an optional port (RFC 9112 3.2: no user, path or query in it)`,
      ),
    );
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked')
    return next(
      new ApiError(
        501,
        'not_implemented',
        `Transfer-Encoding ${shown(te)} is not taken: only chunked (send a compressed body as Content-Encoding: gzip, deflate or br)`,
      ),
    );
  next();
}

/**
 * Route handler of every `/api/` route, after its token check: a request whose `Accept` takes no
 * `application/json` is a 406 `not_acceptable` (RFC 9110 15.5.7; 12.5.1 would allow answering JSON
 * anyway, which it did, with 200: a client asking for `text/html` or `application/xml` got a body
 * it had not asked for and could not read). No `Accept` or an empty one, `*\/*`, `application/*`
 * and `application/json` take it. The 406 itself is the JSON error (the one representation there
 * is). After the token check, as every answer but /healthz's and /readyz's when a token is set
 * (docs/SERVICE.md, "Threat model": 401 elsewhere). Not `/metrics` (its own negotiation: Prometheus
 * text or OpenMetrics), not the pages, not OPTIONS, and not a path or method no route serves
 * (their 204, 404 and 405: no route, no handler).
 */
function acceptsJson(req: Request, _res: Response, next: NextFunction): void {
  const accept = req.headers.accept;
  if (accept === undefined || accept.trim() === '') return next();
  // What express sends: a range with a charset parameter matches only a type offered with it.
  if (req.accepts(['application/json', 'application/json; charset=utf-8']) !== false) return next();
  next(
    new ApiError(
      406,
      'not_acceptable',
      `the API answers application/json only, and Accept ${shown(accept)} does not take it: send Accept: application/json (or */*, or no Accept)`,
    ),
  );
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
  app.use(closeUnreadBodies);
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
  const read = requireRole(tokens, 'read');
  const page = requireRole(tokens, 'read', true);
  const write = requireRole(tokens, 'write');
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
        res
          .status(answer.status)
          .set('Content-Type', 'text/html; charset=utf-8')
          .set('Content-Security-Policy', PAGE_CSP)
          .set('ETag', answer.etag)
          .send(answer.body);
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
        res
          .status(answer.status)
          .set('Content-Type', 'text/html; charset=utf-8')
          .set('Content-Security-Policy', PAGE_CSP)
          .set('ETag', answer.etag)
          .send(answer.body);
      },
    ],
  };
  // Each route's token check (ACCESS), before the router decodes the path (why there).
  const guards = { open: undefined, read, write, page } as const;
  app.use((req, res, next) => {
    const name = routeOf(req.method, req.path);
    const guard = name === undefined ? undefined : guards[ACCESS[name]];
    if (guard === undefined) return next();
    guard(req, res, next);
  });
  for (const name of ROUTES) {
    const [method, path] = name.split(' ') as [string, string];
    if (method === 'GET') app.get(path, ...handlers[name]);
    else if (method === 'POST') app.post(path, ...handlers[name]);
    else app.delete(path, ...handlers[name]);
  }

  // Past the routes: a known path asked with another method is 405 with Allow (RFC 9110, 15.5.6:
  // a 405 MUST carry Allow), OPTIONS on it 204 with Allow (no CORS: no Access-Control-* headers).
  app.use((req, res, next) => {
    // `OPTIONS *` asks what the server takes, whatever the path (RFC 9110 9.3.7).
    if (req.method === 'OPTIONS' && req.url === '*')
      return void res.status(204).set('Allow', SERVER_METHODS.join(', ')).end();
    const allow = allowedMethods(req.path);
    if (allow === undefined || (req.method !== 'OPTIONS' && allow.includes(req.method)))
      return next(new ApiError(404, 'not_found', `no route ${req.method} ${shown(req.path)}`));
    const value = allow.join(', ');
    if (req.method === 'OPTIONS') return void res.status(204).set('Allow', value).end();
    next(
      new ApiError(405, 'method_not_allowed', `${shown(req.path)} does not take ${req.method}; it takes ${value}`, {
        headers: { Allow: value },
      }),
    );
  });

  // Express 5 forwards errors thrown (or rejected) in handlers here.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e: ApiError;
    const http = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; message?: unknown };
    const message = typeof http.message === 'string' ? http.message : String(err);
    if (err instanceof ApiError) e = err;
    // A path parameter (a run id) that is not percent-encoded UTF-8: the router's URIError said
    // "Failed to decode param '...'" with the text whole (a 10 KB id, a 10 KB answer) and unquoted.
    else if (err instanceof URIError && http.status === 400)
      e = new ApiError(
        400,
        'bad_request',
        `the path ${shown(req.path)} is not valid percent-encoding: ${PERCENT_RULE}`,
      );
    // The history database found damaged in a query (src/history/store.ts): which file, what to do.
    else if (err instanceof HistoryDamagedError) e = new ApiError(500, 'damaged_history', message);
    else if (typeof http.status === 'number' && http.status >= 400 && http.status < 500)
      e = new ApiError(http.status, 'bad_request', message);
    else e = new ApiError(500, 'internal', `internal error: ${message}`);
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(e.extra.headers ?? {})) res.set(k, v);
    // A page not found (a run's page, a mistyped address) is a page for a browser that asks for
    // HTML, JSON for everyone else (curl's */*, no Accept, application/json).
    if (e.status === 404 && (req.method === 'GET' || req.method === 'HEAD') && isPagePath(req.path)) {
      res.vary('Accept');
      if (req.accepts(['json', 'html']) === 'html')
        return void res.status(404).type('html').set('Content-Security-Policy', PAGE_CSP).send(notFoundPage(e.message));
    }
    res.status(e.status).json(e.body());
  });
  return app;
}
