/** What a command may touch of its process: output streams, TTY-ness, environment. Injected for tests. */
export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** stderr is an interactive terminal (progress bars) and CI is not set. */
  readonly interactive: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export function processIo(): CliIo {
  return {
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
    interactive: process.stderr.isTTY === true && !isCi(process.env),
    env: process.env,
    cwd: process.cwd(),
  };
}

export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** Exit statuses (docs/CLI.md, README). */
export const ExitStatus = { OK: 0, THRESHOLD_FAILED: 1, BAD_INPUT: 2, INTERNAL: 3 } as const;

export class UsageError extends Error {}
