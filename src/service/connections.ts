import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError } from './errors.js';

// The service's rules for each HTTP connection: one request at a time (pipelining refused; `run
// --metrics-listen` uses the same rule), a half-closed client still answered, the response timeout.

/**
 * Requests on one connection are served one at a time: a request that arrives while the answer to
 * an earlier one on its connection is not yet sent (HTTP/1.1 pipelining, RFC 9112 9.3.2) is answered
 * 429 `pipelined` and the connection closed after it.
 *
 * Why: Node's HTTP server parses every request of a chunk it reads and calls the app for each before
 * the first answer is sent, and holds each later answer whole in memory until the ones before it
 * are sent (its socket backpressure acts only between chunks). So one small write of many requests
 * for a large answer (a run's results.json, its page, /metrics) made the service build them all at
 * once: 300 connections of 20 pipelined `GET /api/runs/{id}/results` (a 1 MB results.json), 600 KB
 * sent and nothing read, took it from 0.15 to 3.2 GB resident and `/healthz` 8.5 s (2026-12-05,
 * docs/SERVICE.md, "Hostile input"). A refusal is a few hundred bytes, built without any work, and
 * Node pauses the connection once they pile up. No client the service knows pipelines: curl
 * dropped pipelining (7.65), browsers never enabled it, Prometheus and fetch wait for each answer;
 * RFC 9112 9.3.2 lets a server close a connection rather than answer what was pipelined on it.
 */
export function oneRequestAtATime(): (req: Request, res: Response, next: NextFunction) => void {
  const admit = requestAdmitter();
  return (req, res, next) => {
    if (admit(req, res)) return next();
    // Node closes the connection after an answer that says so (and serves nothing after it).
    res.set('Connection', 'close');
    next(new ApiError(429, 'pipelined', PIPELINED));
  };
}

/**
 * Answer a client that half-closes its side after its request (TCP FIN once the request is sent:
 * `printf 'GET ...' | nc`, raw-socket probes). Node's HTTP server aborts the request at that FIN
 * and ends the connection unless `httpAllowHalfOpen` is set (lib/_http_server.js socketOnEnd; the
 * property is undocumented and kept for this use, nodejs/node#36819): an answer built on a later
 * turn of the event loop - /metrics (renderShared), the shared pages (shared.ts) - was lost, 31 of
 * 40 half-closed GET /metrics on 2026-12-06. Set, Node marks the answer in progress as the
 * connection's last and ends it after that answer; with none in progress it ends at once, as before.
 * RFC 9112 9.6: a client may half-close and still read the answer.
 */
export function answerHalfClosed(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}

/** A connection idle this long in both directions (an unread answer) is closed (src/service/server.ts, why). */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;

/** What a pipelined request is told (the service's JSON error, `run --metrics-listen`'s text). */
export const PIPELINED =
  'this request was sent on a connection before the answer to the request before it: the service answers one request at a time per connection (HTTP pipelining is not served) and closes this one; send each request after the answer to the one before, or on a connection of its own';

/**
 * The rule for any Node HTTP server (the service's app, `run --metrics-listen`): true when the
 * request may be served, false when an earlier answer on its connection is not yet sent.
 */
export function requestAdmitter(): (req: IncomingMessage, res: ServerResponse) => boolean {
  /** Requests of each connection whose answer is not yet handed to the operating system. */
  const unsent = new WeakMap<Socket, number>();
  return (req, res) => {
    const socket = req.socket;
    const before = unsent.get(socket) ?? 0;
    unsent.set(socket, before + 1);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      unsent.set(socket, (unsent.get(socket) ?? 1) - 1);
    };
    // 'finish': the answer is with the operating system; 'close': the connection went first.
    res.on('finish', settle);
    res.on('close', settle);
    return before === 0;
  };
}
