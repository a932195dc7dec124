import type { NextFunction, Request, Response } from 'express';
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

/** The origin the browser says a write comes from, when it is not this service's; undefined otherwise. */
function foreignOrigin(req: Request): string | undefined {
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
  return host !== undefined && host === req.headers.host ? undefined : origin;
}

/** Middleware: refuse cross-site writes, and (open service only) requests addressed to another name. */
export function browserGuard(o: { readonly open: boolean }) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const host = req.headers.host;
    if (o.open && host !== undefined && !isLoopbackHostHeader(host))
      return next(
        new ApiError(
          403,
          'forbidden',
          `this service has no token, so it answers only requests addressed to 127.0.0.1, localhost or [::1], not ${shown(host)} (a page of another site could reach it by DNS rebinding); set VMEXIT_LAB_TOKEN to serve other names`,
        ),
      );
    if (!SAFE_METHODS.has(req.method)) {
      const from = foreignOrigin(req);
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
