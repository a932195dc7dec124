import type { CliIo } from '../../src/cli/io.js';
import { REPO_ROOT } from '../../src/model/data.js';

/** A CliIo that keeps what a command prints, for calling `main()` in-process (CI mode, repo root as cwd). */
export function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (s) => stdout.push(s),
    err: (s) => stderr.push(s),
    interactive: false,
    env: { CI: 'true' },
    cwd: REPO_ROOT,
  };
}

/**
 * A CliIo that keeps stdout and stderr interleaved in one list, as a terminal shows them (`text()`
 * joins them with newlines); no environment (not CI mode) unless `env` is given.
 */
export function interleaved(env: Record<string, string> = {}): CliIo & { text: () => string } {
  const lines: string[] = [];
  return {
    out: (s) => lines.push(s),
    err: (s) => lines.push(s),
    interactive: false,
    env,
    cwd: REPO_ROOT,
    text: () => lines.join('\n'),
  };
}
