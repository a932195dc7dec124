/**
 * Repository paths the docs tests check (test/cli/docs.test.ts, test/docs/references.test.ts), and the
 * shipped scenario files the golden and exact-sums tests run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { escapeRegExp } from './regex.js';

/** Files matching DIR/PATTERN, a '*' in the last part only (node 20 has no fs.globSync). */
function globMatches(p: string): number {
  const dir = join(REPO_ROOT, dirname(p));
  const re = new RegExp(`^${basename(p).split('*').map(escapeRegExp).join('.*')}$`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).length : 0;
}

/** Whether repository path `p` exists; a glob (a '*' in its last part): whether it matches a file. */
export function repoPathExists(p: string): boolean {
  return p.includes('*') ? globMatches(p) > 0 : existsSync(join(REPO_ROOT, p));
}

/**
 * Every .yaml file below scenarios/, as absolute paths in sorted order: the shipped scenarios, with the
 * workload profiles and schema examples beside them (a test that wants scenarios only passes over
 * what does not load as one).
 */
export function shippedYamlFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.yaml')) files.push(p);
    }
  };
  walk(join(REPO_ROOT, 'scenarios'));
  return files.sort();
}
