import { readdirSync, statSync } from 'node:fs';

/**
 * What is wrong with DIR given to an option that takes a directory of *.yaml files (`cpus --dir`,
 * `validate --cpus`, `validate-model --dir`), or undefined. A file there ended `cpus` in an internal
 * error with a stack trace (readdirSync's ENOTDIR) and gave the others node's words; an empty
 * directory listed nothing with exit 0 (`cpus`) or said `no case matches  (known: )`.
 */
export function yamlDirProblem(option: string, dir: string, holds: string): string | undefined {
  const expected = `expected a directory of ${holds}`;
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${option} ${dir}: no such directory (${expected})`;
    if (code === 'ENOTDIR') return `${option} ${dir}: a path through a file (${expected})`;
    return `${option} ${dir}: cannot read it: ${code ?? (e as Error).message} (${expected})`;
  }
  if (!isDir) return `${option} ${dir}: a file, not a directory (${expected})`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    return `${option} ${dir}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (${expected})`;
  }
  if (!names.some((n) => /\.ya?ml$/.test(n))) return `${option} ${dir}: holds no *.yaml file (${expected})`;
  return undefined;
}

/** What `cpus --dir` and `validate --cpus` expect, as their errors say it. */
export const CPU_PROFILE_DIR =
  "CPU profiles, one *.yaml each ('vmexit-lab cpus import' writes one; data/cpus has the bundled ones)";

/** What `validate-model --dir` expects. */
export const VALIDATION_CASE_DIR =
  'validation cases, one *.yaml each (data/validation has the corpus, docs/VALIDATION.md the format)';
