import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

/** The built bin, as `npx vmexit-lab` runs it. */
export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/**
 * `start` in a child process (port 0, one worker, the data directory `dataDir`), signalled once its
 * stdout matches `ready` and `whileUp` (given what it printed so far) has resolved; resolves with
 * its exit and what it printed. Killed after 60 s whatever happens.
 */
export async function startThenSignal(
  dataDir: string,
  ready: RegExp,
  signals: readonly NodeJS.Signals[],
  whileUp: (out: string) => Promise<void> = async () => undefined,
): Promise<{ exit: [number | null, NodeJS.Signals | null]; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--workers', '1', '--data-dir', dataDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true' },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, sig) => resolve([code, sig])),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (ready.test(out)) resolve();
      });
      void exited.then(() => reject(new Error(`exited before ${String(ready)}: ${out}${err}`)));
    });
    await whileUp(out);
    for (const s of signals) child.kill(s);
    const exit = await exited;
    return { exit, out, err };
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
}
