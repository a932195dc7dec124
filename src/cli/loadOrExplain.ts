import { existsSync } from 'node:fs';
import { ScenarioError, formatDiagnostic } from '../input/diagnostics.js';
import { loadScenarioFile } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import type { CliIo } from './io.js';

/**
 * `-` for standard input is the convention of many tools; here it is a file name. When no such file
 * is there, the line that says how to read standard input (it said "ENOENT ... stat '-'").
 */
export function dashProblem(file: string): string | undefined {
  return file === '-' && !existsSync(file)
    ? '-: error: no file named "-" (to read the scenario from standard input, give /dev/stdin)'
    : undefined;
}

/** Load scenario files; print every diagnostic and return undefined if any file is bad (nothing runs). */
export function loadAllOrExplain(files: readonly string[], io: CliIo): Scenario[] | undefined {
  const out: Scenario[] = [];
  let bad = false;
  for (const f of files) {
    try {
      out.push(loadScenarioFile(f));
    } catch (e) {
      bad = true;
      const dash = dashProblem(f);
      if (dash !== undefined) io.err(dash);
      else if (e instanceof ScenarioError) for (const d of e.diagnostics) io.err(formatDiagnostic(d));
      else io.err(`${f}: error: ${(e as Error).message}`);
    }
  }
  return bad ? undefined : out;
}
