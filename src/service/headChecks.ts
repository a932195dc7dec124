// The head's checks before a route: a header twice, Host, Transfer-Encoding; Accept on /api/.
import type { NextFunction, Request, Response } from 'express';
import { ApiError, shown } from './errors.js';

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
export function headerGuard(req: Request, _res: Response, next: NextFunction): void {
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
export function acceptsJson(req: Request, _res: Response, next: NextFunction): void {
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
