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
