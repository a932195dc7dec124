import { existsSync } from 'node:fs';
import { ScenarioError, formatDiagnostic, type Diagnostic } from '../input/diagnostics.js';
import { loadScenarioFile } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import type { CliIo } from './io.js';
import { fsErrorText, readInputText } from './readText.js';
import { readableAs } from '../import/index.js';

/**
 * `-` for standard input is the convention of many tools; here it is a file name. When no such file
 * is there, the line that says how to read standard input (it said "ENOENT ... stat '-'").
 */
export function dashProblem(file: string): string | undefined {
  return file === '-' && !existsSync(file)
    ? '-: error: no file named "-" (to read the scenario from standard input, give /dev/stdin)'
    : undefined;
}

/**
 * A scenario's diagnostic as the CLI prints it: a file that could not be read says why in words
 * (`cannot read the file: permission denied (EACCES)`), where node's message named the file a second
 * time (`EACCES: permission denied, open 'x.yaml'`).
 */
export function diagnosticLine(d: Diagnostic): string {
  const m = /^cannot read the file: (.*)$/s.exec(d.message);
  if (m === null) return formatDiagnostic(d);
  // A missing file as run says it, with what to give (validate and start said node's words).
  const why = m[1].startsWith('ENOENT') ? `ENOENT, no such file (expected ${SCENARIO_EXPECTED})` : fsErrorText(m[1]);
  return formatDiagnostic({ ...d, message: `cannot read the file: ${why}` });
}

/** What a scenario file is expected to be, as the errors below say it. */
const SCENARIO_EXPECTED =
  "a scenario file: 'vmexit-lab list scenarios' lists the shipped ones, docs/SCENARIOS.md how to write one";

/**
 * A file given as a scenario that is something else the tool reads or writes - a results.json
 * (`replay results.json`), an exit report (`run --timeline t.json report.txt`) - as one line that
 * says what it is and what to give; undefined when it is neither. The scenario reader's YAML and
 * missing-key errors (five of them for a results.json) said what was wrong, not what the file was.
 */
export function notAScenario(file: string): string | undefined {
  let text: string;
  try {
    text = readInputText(file);
  } catch {
    return undefined;
  }
  if (/^\s*\{/.test(text)) {
    try {
      const j = JSON.parse(text) as { scenario?: unknown; variants?: unknown };
      if (typeof j.scenario === 'string' && Array.isArray(j.variants))
        return `${file}:1:1: error: this is a results.json (of scenario ${JSON.stringify(j.scenario)}), not a scenario (expected the scenario file it was run from; compare and merge take results.json)`;
    } catch {
      return undefined;
    }
  }
  const format = readableAs(text)[0];
  if (format !== undefined)
    return `${file}:1:1: error: this is a ${format} report, not a scenario (expected a scenario file; make the report a guest with 'vmexit-lab import ${format} ${file} --cpu ID -o profile.yaml' and name it in a scenario's guests: [{ workload: profile.yaml }], docs/IMPORT.md)`;
  return undefined;
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
      const other =
        e instanceof ScenarioError && !/^cannot read the file/.test(e.diagnostics[0]?.message ?? '')
          ? notAScenario(f)
          : undefined;
      if (dash !== undefined) io.err(dash);
      else if (other !== undefined) io.err(other);
      else if (e instanceof ScenarioError && /^cannot read the file: ENOENT/.test(e.diagnostics[0]?.message ?? ''))
        // node's "ENOENT: no such file or directory, stat 'FILE'" named the file twice and nothing expected.
        io.err(`${f}: error: cannot read the file: ENOENT, no such file (expected ${SCENARIO_EXPECTED})`);
      else if (e instanceof ScenarioError) for (const d of e.diagnostics) io.err(diagnosticLine(d));
      else io.err(`${f}: error: ${(e as Error).message}`);
    }
  }
  return bad ? undefined : out;
}
