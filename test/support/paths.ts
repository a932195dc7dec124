/**
 * Repository paths the docs tests check (test/cli/docs.test.ts, test/docs/references.test.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';

/** Files matching DIR/PATTERN, a '*' in the last part only (node 20 has no fs.globSync). */
function globMatches(p: string): number {
  const dir = join(REPO_ROOT, dirname(p));
  const re = new RegExp(
    `^${basename(p)
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).length : 0;
}

/** Whether repository path `p` exists; a glob (a '*' in its last part): whether it matches a file. */
export function repoPathExists(p: string): boolean {
  return p.includes('*') ? globMatches(p) > 0 : existsSync(join(REPO_ROOT, p));
}
