import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Most bytes a results.json, exit report or profile given on the command line may have: far above
 * any real one (a 20,000-guest --per-guest results.json is tens of MB), there only so that a
 * device or pipe that never ends (`what-if /dev/zero`) is refused instead of read until memory
 * runs out. Scenario files have their own, smaller limit (src/scenario/limits.ts).
 */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** A file as UTF-8 text, read to its end or refused past `limit` bytes (an Error naming the file). */
export function readInputText(file: string, limit = MAX_INPUT_BYTES): string {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw new Error(`more than ${limit} bytes (is it the right file?)`);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
