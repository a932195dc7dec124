import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './errors.js';

/**
 * Tokens (docs/SERVICE.md, "Threat model"). Two, for two roles:
 *
 *   VMEXIT_LAB_TOKEN       write: start and cancel runs (POST, DELETE), and read;
 *   VMEXIT_LAB_READ_TOKEN  read only: run history, results, reports, /metrics.
 *
 * With either set, every route but /healthz and /readyz needs one; with neither, the service is
 * open (it binds loopback, and any other address needs VMEXIT_LAB_TOKEN). Two tokens rather than
 * one because the readers are machines that keep their credential in configuration files
 * (Prometheus scrape jobs, Grafana, CI jobs fetching results): with one token every scrape config
 * could also start hour-long runs and cancel others'. The write token also reads, so one person
 * needs one token.
 *
 * A token comes as `Authorization: Bearer <token>`, or as the password of HTTP Basic (any user
 * name) so that a browser can open the pages: they answer 401 with a Basic challenge.
 */
/** The environment variables `serve` and `start` take the tokens from. */
export const TOKEN_ENV = 'VMEXIT_LAB_TOKEN';
export const READ_TOKEN_ENV = 'VMEXIT_LAB_READ_TOKEN';

export interface Tokens {
  readonly write?: string;
  readonly read?: string;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token an Authorization header carries (Bearer, or Basic's password). */
function presented(header: string | undefined): string | undefined {
  const m = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  if (m[1].toLowerCase() === 'bearer') return m[2];
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : decoded.slice(i + 1);
}

/** The token a request presents, if any (whether it is valid is requireRole's business). */
export function tokenOf(req: Request): string | undefined {
  return presented(req.headers.authorization);
}

type Role = 'read' | 'write';

/** The role a request's credential grants (write implies read), or undefined. */
function roleOf(req: Request, t: Tokens): Role | undefined {
  const p = presented(req.headers.authorization);
  if (p === undefined) return undefined;
  if (t.write !== undefined && same(p, t.write)) return 'write';
  if (t.read !== undefined && same(p, t.read)) return 'read';
  return undefined;
}

/** Middleware: the route needs `role`; `page` routes challenge with Basic so browsers prompt. */
export function requireRole(t: Tokens, role: Role, page = false) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (t.write === undefined && t.read === undefined) return next();
    const has = roleOf(req, t);
    if (has === 'write' || has === role) return next();
    if (has === 'read')
      return next(
        new ApiError(
          403,
          'forbidden',
          `this token may only read; starting and cancelling runs needs the write token (${TOKEN_ENV})`,
        ),
      );
    const which = role === 'write' ? TOKEN_ENV : `${READ_TOKEN_ENV} or ${TOKEN_ENV}`;
    next(
      new ApiError(401, 'unauthorized', `this route needs "Authorization: Bearer <token>" (${which})`, {
        headers: {
          'WWW-Authenticate': page ? 'Basic realm="vmexit-lab", charset="UTF-8"' : 'Bearer realm="vmexit-lab"',
        },
      }),
    );
  };
}
