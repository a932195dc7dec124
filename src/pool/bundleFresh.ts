/**
 * Whether a rollup bundle that `npm run build` made (package.json build:bundle) is current: it
 * exists and no .js that tsc wrote below its input trees is newer. A bundle older than a tsc run
 * (`tsc` alone after an edit) holds the old code. The pool's worker (pool.ts workerFile) and the
 * engine bench (bench/engineChoice.ts) fall back to tsc's modules unless their bundle is current.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type BundleState = 'current' | 'missing' | 'stale';

/** The newest .js tsc wrote below `tree` (a bundle's directory in it and the report's copied assets aside). */
function newestCompiledMs(tree: string): number {
  let newest = 0;
  for (const f of readdirSync(tree, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.js') || f.startsWith('bundle') || f.includes('assets')) continue;
    newest = Math.max(newest, statSync(join(tree, f)).mtimeMs);
  }
  return newest;
}

/** `bundle` (a path) against the trees of tsc's output it was built from. */
export function bundleState(bundle: string, inputs: readonly string[]): BundleState {
  if (!existsSync(bundle)) return 'missing';
  const built = statSync(bundle).mtimeMs;
  return inputs.some((tree) => newestCompiledMs(tree) > built) ? 'stale' : 'current';
}
