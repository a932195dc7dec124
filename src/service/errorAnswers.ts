// Error mapping: what a handler threw, as the JSON error (a page not found: an HTML page).
import type { NextFunction, Request, Response } from 'express';
import { HistoryDamagedError } from '../history/store.js';
import { ApiError, shown } from './errors.js';
import { isPagePath, notFoundPage, PAGE_CSP } from './pageAnswers.js';
import { PERCENT_RULE } from './request.js';

/** The app's error handler, its last middleware: the status, code and body each kind of error gets. */
export function answerError(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  let e: ApiError;
  const http = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; message?: unknown };
  const message = typeof http.message === 'string' ? http.message : String(err);
  if (err instanceof ApiError) e = err;
  // A path parameter (a run id) that is not percent-encoded UTF-8: the router's URIError said
  // "Failed to decode param '...'" with the text whole (a 10 KB id, a 10 KB answer) and unquoted.
  else if (err instanceof URIError && http.status === 400)
    e = new ApiError(400, 'bad_request', `the path ${shown(req.path)} is not valid percent-encoding: ${PERCENT_RULE}`);
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
}
