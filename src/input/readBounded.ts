import { closeSync, openSync, readSync } from 'node:fs';

/**
 * At most `limit` bytes of a file, read in chunks of up to 1 MiB. Input limits cannot trust `stat`:
 * a character device or a pipe has size 0 and may never end (`validate /dev/zero`, `what-if
 * /dev/zero` read until memory ran out). Callers read one byte past their limit to tell a file at
 * the limit from one over it.
 */
export function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}
