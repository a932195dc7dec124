import type { Diagnostic } from '../input/diagnostics.js';
import { formatDiagnostic, quoted, showInvisible } from '../input/diagnostics.js';

/**
 * API errors. Every error response has the same shape (docs/SERVICE.md):
 *   { "error": { "status": 400, "code": "invalid_scenario", "message": "...", "diagnostics": [...] } }
 * `code` is stable (clients switch on it); `message` is for people; bad scenarios carry the
 * loader's diagnostics, each with the CLI's `file:line:col: error: ...` line as `text`.
 */
type ErrorCode =
  | 'bad_request'
  | 'invalid_scenario'
  | 'unknown_scenario'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_finished'
  | 'no_results'
  | 'damaged_results'
  | 'damaged_history'
  | 'not_running'
  | 'limit_exceeded'
  | 'too_many_runs'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'shutting_down'
  | 'too_complex'
  | 'busy'
  | 'forbidden'
  | 'idempotency_key_reused'
  | 'request_in_progress'
  | 'not_implemented'
  | 'not_acceptable'
  | 'pipelined'
  | 'internal';

interface ApiDiagnostic extends Diagnostic {
  readonly text: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: {
      readonly diagnostics?: readonly ApiDiagnostic[];
      readonly headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    // Whatever the message echoes, a terminal or log viewer shows what it says (see `shown`):
    // its invisible characters as escapes, the product's one rule (showInvisible: C0 and C1 controls
    // but tab and newline, bidirectional overrides and isolates, zero-width characters, U+2028 and
    // U+2029 that JSON leaves as they are, ...), in JSON's form.
    super(showInvisible(message));
  }

  body(): { error: Record<string, unknown> } {
    return {
      error: {
        status: this.status,
        code: this.code,
        message: this.message,
        ...(this.extra.diagnostics ? { diagnostics: this.extra.diagnostics } : {}),
      },
    };
  }
}

export function diagnosticsOf(list: readonly Diagnostic[]): ApiDiagnostic[] {
  return list.map((d) => ({ ...d, text: formatDiagnostic(d) }));
}

/** Characters of a client's text an error message repeats at most (`shown`). */
export const MAX_SHOWN = 200;

/**
 * A client's text (a path, a query parameter or JSON field name or value, a scenario name, a run
 * id) as an error message repeats it: quoted as the CLI quotes input (`quoted`: a JSON string, so a
 * `"` in it cannot close the quote, with its invisible characters as JSON escapes, `\u202e`: a
 * right-to-left override echoed as it was made a terminal or log viewer show another string; it
 * parses back to what was sent), and past MAX_SHOWN characters its start and its length (a 1 MB
 * name was repeated whole). The one helper of every message that repeats what the
 * client sent; ApiError escapes the invisible characters of every message again, for any that
 * does not use it.
 */
export function shown(text: string): string {
  if (text.length <= MAX_SHOWN) return quoted(text);
  // Not half of a surrogate pair at the cut.
  const cut = /[\uD800-\uDBFF]/.test(text[MAX_SHOWN - 1]) ? MAX_SHOWN - 1 : MAX_SHOWN;
  return `${quoted(text.slice(0, cut))}... (${text.length} characters)`;
}

/**
 * What a client sent, as a message names it: a string as `shown` does; a number written in digits
 * (a query parameter's text that passed the number pattern) as written, past MAX_SHOWN digits its
 * start and its length; anything else (a JSON value) as JSON, past MAX_SHOWN characters its start.
 */
export function shownValue(v: unknown, digits = false): string {
  if (typeof v === 'string' && !digits) return shown(v);
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return text.length <= MAX_SHOWN
    ? showInvisible(text)
    : `${showInvisible(text.slice(0, MAX_SHOWN))}... (${text.length} characters)`;
}
