import { closeSync, constants, openSync, readSync } from 'node:fs';
import { utf8Text } from './utf8.js';

/**
 * Most bytes a results.json, exit report or profile given on the command line may have: far above
 * any real one (a 20,000-guest --per-guest results.json is tens of MB), there only so that a
 * device or pipe that never ends (`what-if /dev/zero`) is refused instead of read until memory
 * runs out. Scenario files have their own, smaller limit (src/scenario/limits.ts).
 */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** How long a read waits for a pipe or FIFO that is open but sends nothing before it gives up. */
export const READ_IDLE_MS = 10_000;

const SLEEP = new Int32Array(new SharedArrayBuffer(4));
const SLEEP_MS = 20;

/**
 * At most `limit` bytes of a file, read in chunks of up to 1 MiB. Input limits cannot trust `stat`:
 * a character device or a pipe has size 0 and may never end (`validate /dev/zero`, `what-if
 * /dev/zero` read until memory ran out). Callers read one byte past their limit to tell a file at
 * the limit from one over it.
 *
 * The file is opened non-blocking: a FIFO opened for reading otherwise waits for a writer, for
 * ever if none comes (open(2), fifo(7)); without one it now reads as empty. A pipe whose writer
 * sends nothing for `idleMs` is refused. Regular files ignore the flag.
 */
export function readAtMost(path: string, limit: number, idleMs = READ_IDLE_MS): Buffer {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let idle = 0;
    while (total < limit) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        if (idle >= idleMs)
          throw new Error(
            `nothing to read for ${idleMs / 1000} s (a pipe or FIFO no one writes to? a slow producer: write its output to a file first)`,
            { cause: e },
          );
        // Synchronous callers (the scenario loader) cannot await; a short sleep keeps the CPU free.
        Atomics.wait(SLEEP, 0, 0, SLEEP_MS);
        idle += SLEEP_MS;
        continue;
      }
      if (n === 0) break;
      idle = 0;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file as UTF-8 text, read to its end or refused past `limit` bytes (an Error naming the limit),
 * or at its first byte that is not UTF-8 (a NotUtf8Error with the line and column).
 */
export function readInputText(file: string, limit = MAX_INPUT_BYTES): string {
  const bytes = readAtMost(file, limit + 1);
  if (bytes.length > limit) throw new Error(`more than ${limit} bytes (is it the right file?)`);
  return utf8Text(bytes);
}

/**
 * A file system error in words, its code after them: node's "EACCES: permission denied, open
 * 'x.yaml'" as "permission denied (EACCES)" (as `cpus import` and `compare` say it); the file is
 * named once, before it, by the line that prints this. Any other message as it is.
 */
export function fsErrorText(message: string): string {
  const m = /^(E[A-Z]+): ([^,]+), \w+ '.*'$/s.exec(message);
  return m === null ? message : `${m[2]} (${m[1]})`;
}
