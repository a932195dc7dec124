import { createHash } from 'node:crypto';
import { ApiError, shown } from './errors.js';
import { takenOptions, type ScenarioDefaults, type SubmitRequest } from './runRequest.js';

/**
 * `Idempotency-Key` on `POST /api/runs` (IETF httpapi draft "The Idempotency-Key HTTP Header
 * Field"): a client that lost the answer to a POST (a timeout, a dropped connection) sends it again
 * with the same key and gets the run the first one started instead of a second run. The same key
 * with another request is 422, and while the first is still being validated 409 (the draft's
 * codes). Only accepted requests are remembered: a refused one (400, 429, 503 ...) may be retried
 * with its key. Keys are kept a bounded time and a bounded number, oldest dropped first, so a
 * client cannot grow the service's memory with keys.
 */
export interface IdempotencyLimits {
  /** Keys remembered at most; past it the oldest is forgotten. */
  readonly maxKeys: number;
  /** How long a key is remembered (the draft suggests 24 hours). */
  readonly ttlMs: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencyLimits = { maxKeys: 10_000, ttlMs: 24 * 3600 * 1000 };

/** The draft's example keys are UUIDs; 255 visible ASCII characters leave room for any scheme. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The key an `Idempotency-Key` header carries, or undefined without one. The draft makes the field
 * a Structured Field String (`"8e03978e-..."`); a bare key is taken too, as most clients send it,
 * but not with a quote or a comma (two header lines are joined with one).
 */
export function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(', ') : header;
  const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(text);
  const key = quoted ? quoted[1].replace(/\\(["\\])/g, '$1') : text;
  // `-H "Idempotency-Key: \"$(uuidgen)\""` without uuidgen installed sends `""`: say so, not `got "\"\""`.
  if (key.trim() === '')
    throw new ApiError(
      400,
      'bad_request',
      'Idempotency-Key is empty (expected one key of 1 to 255 visible ASCII characters, a UUID say): did the command that makes it, such as $(uuidgen), print nothing? $(node -p "crypto.randomUUID()") makes one where Node is',
    );
  if (!KEY.test(key) || (!quoted && /[",]/.test(key)))
    throw new ApiError(
      400,
      'bad_request',
      `Idempotency-Key must be one key of 1 to 255 visible ASCII characters (a UUID, say), quoted or not; got ${shown(text)}`,
    );
  return key;
}

/**
 * What makes two requests "the same" under one key: the run they ask for, not their bytes. The
 * scenario by its name or its decoded YAML text (whatever its media type or Content-Encoding); each
 * option by the value the run takes (takenOptions): as given, decoded, in whichever place (query or
 * JSON body) and order, or the default when left out - `?pace=max` and no pace are one request for
 * a scenario whose pace is max (the default), two for one that says `pace: realtime`. A default
 * comes from the scenario, known once the first request has been validated: `options` takes it.
 */
export interface KeyedRequest<D> {
  /** SHA-256 of the scenario asked for: its name, or its YAML text. */
  readonly source: string;
  /** SHA-256 of the options the run takes, given the defaults of the scenario. */
  options(defaults: D): string;
}

const sha256 = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

export function keyedRequest(r: SubmitRequest, maxRunSeconds: number): KeyedRequest<ScenarioDefaults> {
  return {
    source: sha256([r.name ?? null, r.yaml ?? null]),
    options: (defaults) => sha256(takenOptions(r, defaults, maxRunSeconds)),
  };
}

interface Entry<D> {
  readonly source: string;
  readonly at: number;
  /** The run the first request started, its scenario's defaults and the options it took; undefined while it is being validated. */
  done?: { readonly runId: string; readonly defaults: D; readonly options: string };
}

export class IdempotencyKeys<D = ScenarioDefaults> {
  private readonly entries = new Map<string, Entry<D>>();

  constructor(
    private readonly limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Run `submit` once per (scope, key): the first request runs it and remembers the run id it
   * resolves with, and the defaults of its scenario; a repeat of the same scenario whose options,
   * with those defaults, are the ones the run took gets that id back (`replayed`).
   * `scope` keeps the keys of different credentials apart.
   */
  async once(
    scope: string,
    key: string,
    request: KeyedRequest<D>,
    submit: () => Promise<{ readonly id: string; readonly defaults: D }>,
  ): Promise<{ readonly id: string; readonly replayed: boolean }> {
    this.forgetExpired();
    const slot = `${scope}\n${key}`;
    const seen = this.entries.get(slot);
    if (seen !== undefined) {
      const reused = (): ApiError =>
        new ApiError(
          422,
          'idempotency_key_reused',
          `Idempotency-Key ${JSON.stringify(key)} was used for another request (another scenario, YAML or option); use a new key for a new run`,
        );
      if (seen.source !== request.source) throw reused();
      // The scenario's defaults are known once the first is validated: until then, no comparison of options.
      if (seen.done === undefined)
        throw new ApiError(
          409,
          'request_in_progress',
          `a request with Idempotency-Key ${JSON.stringify(key)} is still being processed; retry when it has been answered`,
          { headers: { 'Retry-After': '1' } },
        );
      if (request.options(seen.done.defaults) !== seen.done.options) throw reused();
      return { id: seen.done.runId, replayed: true };
    }
    while (this.entries.size >= this.limits.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    const entry: Entry<D> = { source: request.source, at: this.now() };
    this.entries.set(slot, entry);
    try {
      const { id, defaults } = await submit();
      entry.done = { runId: id, defaults, options: request.options(defaults) };
      return { id, replayed: false };
    } catch (e) {
      if (this.entries.get(slot) === entry) this.entries.delete(slot);
      throw e;
    }
  }

  /** Entries are in insertion order, which is time order: drop from the front while expired. */
  private forgetExpired(): void {
    const oldest = this.now() - this.limits.ttlMs;
    for (const [slot, e] of this.entries) {
      if (e.at > oldest) break;
      this.entries.delete(slot);
    }
  }
}
