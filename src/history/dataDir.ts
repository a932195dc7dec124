/** The data dir: created one level at a time, and its lock file (one service per data dir). */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const LOCK_FILE = 'service.lock';

export class DataDirLockedError extends Error {}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Data dirs this process holds (the lock file alone cannot tell two services of one process apart). */
const heldHere = new Set<string>();

/** Take the data dir's lock file, or throw DataDirLockedError when a live process holds it. */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  if (heldHere.has(file))
    throw new DataDirLockedError(`data dir ${dir} is in use by process ${process.pid} (another vmexit-lab service)`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new DataDirLockedError(`data dir ${dir} is in use by process ${pid} (another vmexit-lab service)`);
      }
      rmSync(file, { force: true }); // stale: its process is gone (killed)
    }
  }
  throw new DataDirLockedError(`cannot lock data dir ${dir}`);
}

/**
 * Create the data directory one level at a time. Node 20's mkdirSync(dir, { recursive: true }),
 * which this store used, never returns for a directory under /proc (mkdir says ENOENT there and it
 * tries again): `serve --data-dir /proc/x` spun a core with nothing printed.
 */
export function makeDataDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      throw new Error(`cannot create the data directory ${d}: ${(e as Error).message}`, { cause: e });
    }
  }
}
