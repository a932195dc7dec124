import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ApiError, diagnosticsOf } from './errors.js';
import { LineCounter } from 'yaml';
import { TOO_DEEP, tooDeepWithin } from '../input/depth.js';
import type { Scenario } from '../scenario/types.js';
import type { ValidateAnswer, ValidateRequest } from './validateWorker.js';

/**
 * Posted scenarios are parsed and validated off the main thread, so /healthz, /metrics and every
 * other request keep answering whatever is posted (docs/SERVICE.md, "Limits"):
 *
 *   1. an early cost bound on the main thread, a linear scan of the text: more than
 *      MAX_YAML_LINES lines or MAX_YAML_NODES structure characters (`:` `,` `-` `[` `{` `&` `*`,
 *      an upper bound of the YAML nodes to build) is refused at once, nothing parsed; then the
 *      nesting check below over the first EARLY_DEPTH_LEXEMES lexemes only (tooDeepEarly), so a
 *      flood of deep documents does not take the validation threads from real ones;
 *   2. the parse on a validation worker thread (src/service/validateWorker.ts), with a memory bound
 *      (the thread's V8 heap limit: it dies, the service does not) and a time bound (the thread is
 *      terminated); at most `threads` at once, `maxPending` waiting; more get 503 busy. Its parse
 *      refuses a document nested more than MAX_YAML_DEPTH levels deep before composing it
 *      (src/input/depth.ts, the CLI's check too): 422 too_complex. That is what keeps a deep
 *      document from aborting the process (V8 can abort near the end of the stack, which kills
 *      the service from any thread).
 *
 * The cost of a YAML document grows with its nodes, not its bytes: 1 MB of 100,000 keys took 3.5 s
 * of the main thread before (issue #18); shipped scenarios have under 200 structure characters.
 */

export const MAX_YAML_LINES = 20_000;
export const MAX_YAML_NODES = 50_000;
/**
 * Lexemes of a posted document the main thread lexes and parses looking for nesting past
 * MAX_YAML_DEPTH before a validation thread is asked (docs/SERVICE.md, Limits, "nesting"): enough for
 * a document that nests from its start (201 levels of `[`, `- ` or indented `a:` lines take 201 to
 * about 900), at most a few ms of the main thread whatever the document (the parse of a whole
 * 100 KB flow list took 265 ms). A document nested deeper further on is refused on the thread.
 */
export const EARLY_DEPTH_LEXEMES = 4_096;

export interface ValidationLimits {
  /** Validation threads (each parses one scenario at a time). */
  readonly threads: number;
  /** Validations waiting for a thread; more are refused with 503 busy. */
  readonly maxPending: number;
  /** Wall-clock bound of one validation, its wait for a thread included. */
  readonly timeoutMs: number;
  /** V8 old-generation heap of a validation thread, MiB. */
  readonly heapMb: number;
}

/**
 * One validation thread per core but one, at most 2: the main thread keeps a core to answer on
 * (with 2 validations at once on 2 cores /healthz waited for the scheduler, up to 0.6 s).
 */
export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  threads: Math.min(2, Math.max(1, availableParallelism() - 1)),
  maxPending: 8,
  timeoutMs: 5_000,
  heapMb: 256,
};

/**
 * Counts of what the early bound looks at, in text or in its UTF-8 bytes (the same counts: bytes of
 * multi-byte characters are all >= 0x80, never one of these), so a body can be refused before it is
 * decoded.
 */
export function yamlCost(text: string | Uint8Array): { lines: number; nodes: number } {
  let lines = 1;
  let nodes = 0;
  const count = (c: number): void => {
    if (c === 10) lines++;
    // : , - [ { & *
    else if (c === 58 || c === 44 || c === 45 || c === 91 || c === 123 || c === 38 || c === 42) nodes++;
  };
  if (typeof text === 'string') for (let i = 0; i < text.length; i++) count(text.charCodeAt(i));
  else for (let i = 0; i < text.length; i++) count(text[i]);
  return { lines, nodes };
}

/** The early bound's refusal, or undefined when the text may be parsed. */
export function tooComplex(text: string | Uint8Array, file: string): ApiError | undefined {
  const { lines, nodes } = yamlCost(text);
  let what: string | undefined;
  if (lines > MAX_YAML_LINES)
    what = `${lines} lines; at most ${MAX_YAML_LINES} are parsed (a scenario has a few hundred)`;
  else if (nodes > MAX_YAML_NODES)
    what = `${nodes} YAML structure characters (: , - [ { & *); at most ${MAX_YAML_NODES} are parsed (a scenario has a few hundred)`;
  if (what === undefined) return undefined;
  return new ApiError(422, 'too_complex', `${file}: the document has ${what}; nothing was parsed`);
}

/**
 * The refusal of a document nested past MAX_YAML_DEPTH within its first EARLY_DEPTH_LEXEMES
 * lexemes, on the main thread: the answer the validation thread gives (the same diagnostic, at the
 * same line and column), without taking one of its slots. Undefined when not found there.
 */
export function tooDeepEarly(text: string, file: string): ApiError | undefined {
  const lc = new LineCounter();
  const offset = tooDeepWithin(text, EARLY_DEPTH_LEXEMES, lc.addNewLine);
  if (offset === undefined) return undefined;
  const { line, col } = lc.linePos(offset);
  const diagnostics = diagnosticsOf([{ file, line, column: col, ...TOO_DEEP }]);
  return new ApiError(422, 'too_complex', diagnostics[0].text, { diagnostics });
}

/** A scenario of one line this long or longer is more likely a file whose line breaks were lost than a flow mapping. */
export const ONE_LINE_NOTE_CHARS = 80;

/**
 * The note a refused scenario of one long line gets: `curl -d @FILE` (and --data, --data-ascii)
 * strips a file's line breaks, so README's scenario posted with -d arrived as one line, all of it
 * a comment after its first `#`, and was refused with `found nothing` alone (2026-12-05, the
 * fresh-eyes pass). '' for anything else.
 */
export function oneLineNote(yaml: string): string {
  const text = yaml.trimEnd();
  if (text.length < ONE_LINE_NOTE_CHARS || /[\r\n]/.test(text)) return '';
  return `\nnote: the body is one line of ${text.length} characters: if it is a file sent with curl -d (or --data), curl drops a file's line breaks; send files with --data-binary @FILE`;
}

export class ScenarioValidator {
  readonly limits: ValidationLimits;
  private readonly piscina: Piscina<ValidateRequest, ValidateAnswer>;
  private pending = 0;
  private closed = false;

  constructor(limits: Partial<ValidationLimits> = {}) {
    this.limits = { ...DEFAULT_VALIDATION_LIMITS, ...limits };
    this.piscina = new Piscina<ValidateRequest, ValidateAnswer>({
      filename: new URL('./validateWorker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: this.limits.threads,
      idleTimeout: 60_000,
      resourceLimits: {
        maxOldGenerationSizeMb: this.limits.heapMb,
        maxYoungGenerationSizeMb: 32,
        stackSizeMb: 4,
      },
      closeTimeout: 2_000,
    });
    this.piscina.on('error', () => {
      /* a worker that died (out of memory): reported through its task */
    });
  }

  /** Validations in progress or waiting. */
  get inFlight(): number {
    return this.pending;
  }

  /** Load posted YAML into a Scenario off the main thread; ApiError for every way it can fail. */
  async validate(yaml: string, file: string): Promise<Scenario> {
    if (this.closed) throw new ApiError(503, 'shutting_down', 'the service is shutting down');
    const early = tooComplex(yaml, file) ?? tooDeepEarly(yaml, file);
    if (early) throw early;
    if (this.pending >= this.limits.threads + this.limits.maxPending)
      throw new ApiError(
        503,
        'busy',
        `${this.pending} scenarios are being validated; try again shortly (at most ${this.limits.threads + this.limits.maxPending} at once)`,
        { headers: { 'Retry-After': '2' } },
      );
    this.pending++;
    const t0 = Date.now();
    let answer: ValidateAnswer;
    try {
      answer = await this.piscina.run({ yaml, file }, { signal: AbortSignal.timeout(this.limits.timeoutMs) });
    } catch (e) {
      const err = e as { name?: string; code?: string; message?: string };
      if (err.name === 'AbortError' || err.name === 'TimeoutError' || Date.now() - t0 >= this.limits.timeoutMs)
        throw new ApiError(
          422,
          'too_complex',
          `${file}: validating the scenario did not finish within ${this.limits.timeoutMs / 1000} s (its wait for a validation thread included); it was abandoned`,
        );
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap/i.test(err.message ?? ''))
        throw new ApiError(
          422,
          'too_complex',
          `${file}: validating the scenario needed more than ${this.limits.heapMb} MiB; it was abandoned`,
        );
      throw e;
    } finally {
      this.pending--;
    }
    if (!answer.ok) {
      const diagnostics = diagnosticsOf(answer.diagnostics);
      // Nested too deeply to parse: refused for its cost, as the early bound's refusals are.
      if (answer.diagnostics.some((d) => d.message === TOO_DEEP.message))
        throw new ApiError(422, 'too_complex', answer.message, { diagnostics });
      throw new ApiError(400, 'invalid_scenario', `${answer.message}${oneLineNote(yaml)}`, { diagnostics });
    }
    return answer.scenario;
  }

  async warm(): Promise<void> {
    await this.piscina.run({ yaml: 'name: warm-up\n', file: 'warm-up.yaml' }).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close({ force: true });
  }
}
