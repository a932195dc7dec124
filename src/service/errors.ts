import type { Diagnostic } from '../input/diagnostics.js';
import { formatDiagnostic } from '../input/diagnostics.js';

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
    super(message);
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
