import type { NextFunction, Request, Response } from 'express';
import { TOKEN_ENV } from './auth.js';
import { ApiError, shown } from './errors.js';

/**
 * Requests a web browser sends on behalf of a page of another site (docs/SERVICE.md, "Threat
 * model"). The service has no CORS, so such a page cannot read its answers, but two things reach
 * it anyway:
 *
 * - a cross-site write: a `text/plain` POST is a CORS "simple request", sent without a preflight
 *   (Fetch standard, "CORS-safelisted request-header"), and `text/plain` is a scenario body here,
 *   so any page the user opens could start runs on the service at 127.0.0.1 (and with the pages'
 *   Basic credentials cached, a form post carries them). Writes that a browser marks as coming
 *   from another origin (`Origin`, `Sec-Fetch-Site`) are refused; curl, CI jobs and other
 *   non-browser clients send neither and are not affected.
 * - DNS rebinding: a name the attacker controls re-resolved to 127.0.0.1 makes the page same-origin
 *   with the service, so it can read and write everything an open service allows. The browser
 *   still sends the attacker's name as `Host`, so an open service (no token) answers only requests
 *   addressed to a loopback name. With a token set, the page has no token, and the service may sit
 *   behind a proxy that forwards other host names: the Host check is off.
 *
 * "Addressed to" is the authority the request names (`addressedTo`): its Host, or for a request
 * target in absolute form (`GET http://evil.example/api/runs`) the target's, Host ignored (RFC 9112
 * 3.2.2: a server MUST); only Host was read, so evil.example with a loopback Host was answered.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** localhost, *.localhost (RFC 6761 6.3: always loopback), 127.0.0.0/8, [::1]. */
export function isLoopbackHostHeader(host: string): boolean {
  let name: string;
  try {
    name = new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

/** `name[:port]` as URL normalises it (lower case, no default port), or undefined when it is none. */
function normalHost(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).host;
  } catch {
    return undefined;
  }
}

/**
 * The authority a request is addressed to: an absolute-form target's (`http://NAME:PORT/path`; RFC
 * 9112 3.2.2, Host is then ignored), else the Host header's (undefined without one: HTTP/1.0). A
 * target that is neither a path, `*` nor an absolute http(s) URL is a 400.
 */
export function addressedTo(req: Request): string | undefined {
  const target = req.originalUrl;
  if (target.startsWith('/') || target === '*') return req.headers.host;
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '')
    throw new ApiError(
      400,
      'bad_request',
      `the request target ${shown(target)} is neither a path (/api/runs) nor an absolute http URL (http://127.0.0.1:8080/api/runs)`,
    );
  return url.host;
}

/** The origin the browser says a write comes from, when it is not this service's; undefined otherwise. */
function foreignOrigin(req: Request, to: string | undefined): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return String(req.headers.origin ?? `a ${site} page`);
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined; // "null" (a sandboxed frame, a file: page) or garbage: not this service
  }
  return host !== undefined && to !== undefined && host === normalHost(to) ? undefined : origin;
}

/** Middleware: refuse cross-site writes, and (open service only) requests addressed to another name. */
export function browserGuard(o: { readonly open: boolean }) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    let host: string | undefined;
    try {
      host = addressedTo(req);
    } catch (e) {
      return next(e);
    }
    if (o.open && host !== undefined && !isLoopbackHostHeader(host))
      return next(
        new ApiError(
          403,
          'forbidden',
          `this service has no token, so it answers only requests addressed to 127.0.0.1, localhost or [::1], not ${shown(host)} (a page of another site could reach it by DNS rebinding); set ${TOKEN_ENV} to serve other names`,
        ),
      );
    if (!SAFE_METHODS.has(req.method)) {
      const from = foreignOrigin(req, host);
      if (from !== undefined)
        return next(
          new ApiError(
            403,
            'forbidden',
            `${req.method} from a web page of another origin (${shown(from)}) refused: runs are started and cancelled by API clients (curl, CI), not by pages of other sites`,
          ),
        );
    }
    next();
  };
}
