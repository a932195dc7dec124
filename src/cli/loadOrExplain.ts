import { ScenarioError, formatDiagnostic } from '../input/diagnostics.js';
import { loadScenarioFile } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import type { CliIo } from './io.js';

/** Load scenario files; print every diagnostic and return undefined if any file is bad (nothing runs). */
export function loadAllOrExplain(files: readonly string[], io: CliIo): Scenario[] | undefined {
  const out: Scenario[] = [];
  let bad = false;
  for (const f of files) {
    try {
      out.push(loadScenarioFile(f));
    } catch (e) {
      bad = true;
      if (e instanceof ScenarioError) for (const d of e.diagnostics) io.err(formatDiagnostic(d));
      else io.err(`${f}: error: ${(e as Error).message}`);
    }
  }
  return bad ? undefined : out;
}
