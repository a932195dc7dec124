/**
 * `vmexit-lab validate FILE...` — load scenario files without running them and report every
 * problem with its position. Exit 0 when all files are valid, 2 otherwise.
 */
import type { CpuProfile } from '../../core/cpu/profile.js';
import { loadCpuCatalog } from '../../profiles/catalog.js';
import { ScenarioError, formatDiagnostic } from '../../input/diagnostics.js';
import { loadScenarioFile } from '../../scenario/load.js';
import { dashProblem } from '../loadOrExplain.js';
import type { Scenario } from '../../scenario/types.js';
import { overBudget } from '../../metrics/cardinality.js';
import { commandArgs, usageProblem, type CliIo } from '../io.js';

const USAGE = `Usage: vmexit-lab validate [--cpus DIR] FILE...
       vmexit-lab validate --help

Check scenario files without running them: YAML syntax, unknown keys (with suggestions), value
types and ranges, CPU profiles, policies and their tunables, scripts, the matrix and thresholds.
Every problem is printed as FILE:LINE:COL: error: MESSAGE (expected X, found Y); up to 20 per file.

Options:
  --cpus DIR   CPU profile directory (default: the bundled data/cpus)
  -h, --help   show this help

Exit status: 0 when every file is valid, 2 otherwise.

Editors: add this first line to a scenario to get validation and completion from the JSON schema
(YAML language server, e.g. the VS Code YAML extension); the path is relative to the scenario,
this for one in the repository's top directory (../scenario.schema.json in scenarios/seed/):
  # yaml-language-server: $schema=scenarios/scenario.schema.json

Examples:
  vmexit-lab validate scenarios/seed/win10-1909-install-tpr-shadowing.yaml
  vmexit-lab validate scenarios/seed/*.yaml
  vmexit-lab validate --cpus ./my-cpus my-scenario.yaml
`;

/** Guests of one variant: guests per host times hosts. */
function guestCount(s: Scenario): number {
  const v = s.variants[0];
  if (v === undefined) return 0;
  const perHost = v.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 1), 0);
  return perHost * v.host.count;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function validateCommand(args: string[], io: Pick<CliIo, 'out' | 'err'>): Promise<number> {
  const parsed = commandArgs(io, 'validate', USAGE, args, { cpus: { type: 'string' } });
  if (typeof parsed === 'number') return parsed;
  const files = parsed.positionals;
  const cpuDir = parsed.values.cpus;
  if (cpuDir === '') {
    io.err(`vmexit-lab validate: --cpus needs a directory`);
    return 2;
  }
  if (files.length === 0) {
    io.err(usageProblem('validate', 'no scenario file given'));
    return 2;
  }

  let catalog: CpuProfile[];
  try {
    catalog = loadCpuCatalog(cpuDir);
  } catch (e) {
    io.err(`vmexit-lab validate: cannot load the CPU profiles: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }

  let failed = 0;
  for (const file of files) {
    try {
      const s = loadScenarioFile(file, { cpuCatalog: catalog });
      const over = overBudget(s);
      if (over !== undefined) {
        failed++;
        io.err(`${file}: error: ${over}\n`);
        continue;
      }
      io.out(`${file}: ok (${plural(s.variants.length, 'variant')}, ${plural(guestCount(s), 'guest')})\n`);
    } catch (e) {
      failed++;
      const dash = dashProblem(file);
      if (dash !== undefined) io.err(`${dash}\n`);
      else if (e instanceof ScenarioError) {
        for (const d of e.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
        const more = e.total > e.diagnostics.length ? ` (${e.total - e.diagnostics.length} not shown)` : '';
        io.err(`${file}: ${plural(e.total, 'error')}${more}\n`);
      } else {
        io.err(`${file}: error: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }
  return failed === 0 ? 0 : 2;
}
