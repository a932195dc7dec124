// The route table: ROUTES, who may call each (ACCESS, before the router), each path's methods (Allow).
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requireRole, type Tokens } from './auth.js';
import { ApiError, shown } from './errors.js';

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

export type RouteName = (typeof ROUTES)[number];

/**
 * Who may use each route (src/service/auth.ts; docs/SERVICE.md, "Threat model"): the probes are open,
 * reads need a token that reads (`page`: the same, challenging with Basic so a browser prompts), runs'
 * POST and DELETE the write token. Checked before the router matches (accessGuard): the
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
export function routeOf(method: string, path: string): RouteName | undefined {
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

/** Middleware, before the routes: each route's token check (ACCESS), before the router decodes the path (why there). */
export function accessGuard(tokens: Tokens): RequestHandler {
  const read = requireRole(tokens, 'read');
  const page = requireRole(tokens, 'read', true);
  const write = requireRole(tokens, 'write');
  const guards = { open: undefined, read, write, page } as const;
  return (req, res, next) => {
    const name = routeOf(req.method, req.path);
    const guard = name === undefined ? undefined : guards[ACCESS[name]];
    if (guard === undefined) return next();
    guard(req, res, next);
  };
}

/**
 * Middleware, before the routes: a known path asked with another method is 405 with Allow (RFC 9110,
 * 15.5.6: a 405 MUST carry Allow), OPTIONS on it 204 with Allow (no CORS: no Access-Control-*
 * headers). From the table alone, before the router decodes the path's parameters: the router
 * decoded them for every route whose pattern matched, whatever the method, so `OPTIONS
 * /api/runs/%ZZ` and `PUT /api/runs/%ZZ` were the 400 of a run id that is not percent-encoding
 * where any other id gets 204 and 405 (docs/SERVICE.md, HTTP API: why 204).
 */
export function answerFromTable(req: Request, res: Response, next: NextFunction): void {
  // `OPTIONS *` asks what the server takes, whatever the path (RFC 9110 9.3.7).
  if (req.method === 'OPTIONS' && req.url === '*')
    return void res.status(204).set('Allow', SERVER_METHODS.join(', ')).end();
  const allow = allowedMethods(req.path);
  // A route serves it, or no path of the table is it (noRoute, past the routes).
  if (allow === undefined || (req.method !== 'OPTIONS' && allow.includes(req.method))) return next();
  const value = allow.join(', ');
  if (req.method === 'OPTIONS') return void res.status(204).set('Allow', value).end();
  next(
    new ApiError(405, 'method_not_allowed', `${shown(req.path)} does not take ${req.method}; it takes ${value}`, {
      headers: { Allow: value },
    }),
  );
}

/** Middleware, past the routes: what no route answered is a path no route has, a 404 whatever the method. */
export function noRoute(req: Request, _res: Response, next: NextFunction): void {
  next(new ApiError(404, 'not_found', `no route ${req.method} ${shown(req.path)}`));
}
