import { readAtMost } from '../input/readBounded.js';

/**
 * Most bytes a results.json, exit report or profile given on the command line may have: far above
 * any real one (a 20,000-guest --per-guest results.json is tens of MB), there only so that a
 * device or pipe that never ends (`what-if /dev/zero`) is refused instead of read until memory
 * runs out. Scenario files have their own, smaller limit (src/scenario/limits.ts).
 */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** A file as UTF-8 text, read to its end or refused past `limit` bytes (an Error naming the file). */
export function readInputText(file: string, limit = MAX_INPUT_BYTES): string {
  const bytes = readAtMost(file, limit + 1);
  if (bytes.length > limit) throw new Error(`more than ${limit} bytes (is it the right file?)`);
  return bytes.toString('utf8');
}
