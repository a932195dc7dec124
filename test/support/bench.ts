import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

/** What a bench script run printed, and its exit status (null when the timeout killed it). */
export interface BenchRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run the compiled bench script dist/bench/`script`.js of the build at `root` (the repository's by
 * default, from its root as `npm run bench` does) with `args`, node's own flags (`node`, e.g.
 * --expose-gc) before it; killed after `timeoutMs`, a guard, not a figure (test/bench/*.test.ts).
 */
export function runBench(
  script: string,
  args: readonly string[],
  options: { readonly root?: string; readonly node?: readonly string[]; readonly timeoutMs?: number } = {},
): BenchRun {
  const root = options.root ?? REPO_ROOT;
  const r = spawnSync(
    process.execPath,
    [...(options.node ?? []), join(root, 'dist', 'bench', `${script}.js`), ...args],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 60_000,
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
