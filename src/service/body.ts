import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ApiError, shown } from './errors.js';

/**
 * Request bodies, read as bytes up to a limit and decoded by their Content-Encoding (gzip, deflate,
 * br), in place of express.raw (body-parser). Why not body-parser: once a body passes its limit it
 * stops counting but reads the rest of the request before it answers (so that the client is done
 * sending and sees the 413), and a request announces as much as it likes: a chunk of 2^64-1 bytes,
 * or a Content-Length of 10^15, was read and thrown away until the 60 s request timeout, then 408,
 * never the 413; four such clients made the main thread read 2 GB in 8 s and /healthz took 90 ms
 * (2026-12-06, the fifth pass, docs/SERVICE.md "Hostile input"). Here the 413 is sent as soon as
 * the bytes sent or decoded pass the limit (at once for a Content-Length over it), and the
 * connection closes after it (`closeIfUnread`), once what the client still sends is read, within
 * bounds (`lingerAfterAnswer`).
 */

/** Content codings a body may come in (RFC 9110 8.4.1), one at a time. */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * An answer sent before its request's body was read to the end closes the connection: else Node
 * reads and discards the rest of the body (as much as it announces) to reach the next request on
 * it. For every early answer: a 413, a 401 or 405 to a POST with a body, a refused encoding, and
 * any answer of a route that reads no body (`closeUnreadBodies`).
 */
function closeIfUnread(req: Request, res: Response, bounds: LingerBounds): void {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
  if (hasBody && !req.complete && !res.headersSent) {
    res.set('Connection', 'close');
    lingerAfterAnswer(req, bounds);
  }
}

/** Bytes of an unread body read and thrown away after its early answer, at most (`lingerAfterAnswer`). */
export const LINGER_BYTES = 4 * 1024 * 1024;
/** How long after its early answer a connection goes on reading an unread body, at most. */
export const LINGER_MS = 3_000;

/** A lingering close's bounds: LINGER_BYTES and LINGER_MS, or a test's (a bound met in well under a second). */
export interface LingerBounds {
  readonly bytes: number;
  readonly ms: number;
}

/** Connections whose last answer is sent and whose unread body is being read and thrown away. */
const lingering = new WeakSet<Socket>();

/**
 * A lingering close (Apache's name): from an answer written before its request's body was read,
 * the rest of the body is read and thrown away, up to LINGER_BYTES, and once the answer is sent
 * the FIN goes and the connection closes at the body's end, the client's FIN or LINGER_MS later,
 * whichever comes first; past LINGER_BYTES it closes at once (the bounds: `bounds`). Node closed it as soon as the answer
 * was written, with the client's upload still arriving: the kernel answers bytes to a closed socket
 * with a reset, which discards what the client had received and not yet read, the answer with it
 * (curl `--data-binary @3MB` without `Expect`: `000` 2 of 3 times under load, svc36). Bounded, a
 * body announced as 10^15 bytes costs the main thread LINGER_BYTES at most (the fifth pass).
 */
function lingerAfterAnswer(req: IncomingMessage, bounds: LingerBounds): void {
  const socket = req.socket;
  if (lingering.has(socket)) return;
  lingering.add(socket);
  let read = 0;
  let timer: NodeJS.Timeout | undefined;
  const close = (): void => {
    clearTimeout(timer);
    req.off('data', onData);
    socket.destroy();
  };
  const onData = (c: Buffer): void => {
    read += c.length;
    if (read > bounds.bytes) close();
  };
  // Read from now: Node's own discard of an unread body (IncomingMessage._dump) passes no bytes on to count.
  req.on('data', onData);
  req.on('error', () => undefined);
  // A route that stopped reading paused the body (boundedBody's settle).
  req.resume();
  // Node calls destroySoon once the last answer's bytes are written (_http_server.js resOnFinish).
  socket.destroySoon = (): void => {
    if (socket.writable) socket.end();
    const closeAfterWrites = (): void => {
      if (socket.writableFinished) close();
      else socket.once('finish', close);
    };
    if (req.complete) return closeAfterWrites();
    timer = setTimeout(close, bounds.ms);
    req.once('end', closeAfterWrites);
    socket.once('end', close);
    socket.once('close', () => clearTimeout(timer));
  };
}

/**
 * Middleware, before any route: whatever answers a request (a route, a refusal, the 404), its
 * connection closes after the answer when the request's body is still unread then
 * (closeIfUnread, checked as the head is written). Only the refusals did: a `GET /healthz` (or
 * any other route that reads no body) announcing `Content-Length: 10^15` was answered 200 and kept
 * open, and Node read and discarded what the client sent until the 60 s request timeout: 4 such
 * clients pushed 1.2 GB through the main thread in 5 s, /healthz p50 50 - 75 ms (svc35).
 */
export function closeUnreadBodies(linger: Partial<LingerBounds> = {}): RequestHandler {
  const bounds: LingerBounds = { bytes: LINGER_BYTES, ms: LINGER_MS, ...linger };
  return (req: Request, res: Response, next: NextFunction): void => {
    // A request after a body being thrown away (lingerAfterAnswer) came after the connection's last answer.
    if (lingering.has(req.socket)) {
      req.socket.destroy();
      return;
    }
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => Response;
    res.writeHead = ((...args: unknown[]) => {
      closeIfUnread(req, res, bounds);
      return writeHead(...args);
    }) as typeof res.writeHead;
    next();
  };
}

/** Requests that sent `Expect: 100-continue` and have not been told to send their body yet. */
const awaitingContinue = new WeakSet<IncomingMessage>();

/**
 * `Expect: 100-continue` (RFC 9110 10.1.1): `100 Continue` is sent when a route starts to read the
 * body (boundedBody), after every check of the request's head: the token (401, 403), the origin, the
 * route and method (404, 405), Accept (406), the query and the type (400, 415), the encoding and a
 * Content-Length over the limit (415, 413). Node sent it itself before the app saw the request
 * (without a 'checkContinue' listener), so a client was told to upload a body it would be refused
 * for. A request answered without it closes its connection (closeIfUnread; Node does as well).
 */
export function continueWhenRead(server: Server, handler: RequestListener): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    handler(req, res);
  });
}

/**
 * Whether the request waits for `100 Continue` before it sends its body. Refusals that could wait for
 * the body are made before it only then: a client that sends its body at once and is answered
 * before the service has read it loses the answer when the connection closes under the rest of its
 * upload (TCP reset: curl's `000`, 2 of 3 tries of a 3 MB body on loopback), so without `Expect` a
 * route reads the body first and refuses after, as it did.
 */
export function awaitsContinue(req: IncomingMessage): boolean {
  return awaitingContinue.has(req);
}

/** Invite the body of a request that waits for `100 Continue` (once; not after an answer began). */
function sendContinue(req: Request, res: Response): void {
  if (!awaitingContinue.delete(req) || res.headersSent) return;
  res.writeContinue();
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
}

/**
 * Middleware: `req.body` is the body's decoded bytes (a Buffer), or stays undefined for a request
 * without one (no Content-Length, no Transfer-Encoding: RFC 9112 6.3). The limit bounds the bytes
 * as sent and as decoded.
 */
export function boundedBody(limit: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && length === undefined) return next();
    const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const decoder = coding === 'identity' ? undefined : DECODERS[coding]?.();
    if (coding !== 'identity' && decoder === undefined)
      return next(
        new ApiError(
          415,
          'unsupported_media_type',
          `Content-Encoding ${shown(req.headers['content-encoding'] ?? '')} is not taken: send the body as it is, or in one of gzip, deflate, br`,
        ),
      );
    // Node's parser took only digits; the body never passes what it announces.
    if (length !== undefined && Number(length) > limit) {
      decoder?.destroy();
      return next(tooLarge(limit));
    }
    // Every check that needs no byte of the body is done: now the client may send it (none to ask
    // for with a Content-Length of 0).
    if (length === undefined || Number(length) > 0) sendContinue(req, res);
    const chunks: Buffer[] = [];
    let sent = 0;
    let decoded = 0;
    let settled = false;
    const settle = (err?: ApiError): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      if (err === undefined) {
        req.body = Buffer.concat(chunks, decoded);
        return next();
      }
      // Read no more until the answer is written: then the rest is thrown away, within bounds, and the connection closes (closeIfUnread).
      req.pause();
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      next(err);
    };
    const onDecoded = (c: Buffer): void => {
      decoded += c.length;
      if (decoded > limit) settle(tooLarge(limit));
      else chunks.push(c);
    };
    const onData = (c: Buffer): void => {
      sent += c.length;
      if (sent > limit) settle(tooLarge(limit));
      else if (decoder === undefined) onDecoded(c);
    };
    const onEnd = (): void => {
      if (decoder === undefined) settle();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    if (decoder) {
      decoder.on('data', onDecoded);
      decoder.on('end', () => settle());
      // zlib's words alone ("incorrect header check") did not say it was the decompression that failed.
      decoder.on('error', (e: Error) =>
        settle(
          new ApiError(
            400,
            'bad_request',
            `the body does not decode as its Content-Encoding (${coding}) says: ${e.message}`,
          ),
        ),
      );
      req.pipe(decoder);
    }
  };
}
