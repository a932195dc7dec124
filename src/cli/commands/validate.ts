/**
 * `vmexit-lab validate FILE...` — load scenario files without running them and report every
 * problem with its position. Exit 0 when all files are valid, 2 otherwise.
 */
import type { CpuProfile } from '../../core/cpu/profile.js';
import { loadCpuCatalog } from '../../profiles/catalog.js';
import { ScenarioError } from '../../input/diagnostics.js';
import { loadScenarioFile } from '../../scenario/load.js';
import { dashProblem, diagnosticLine } from '../loadOrExplain.js';
import { keyPosition, workPhaseWarnings } from '../workPhases.js';
import { CPU_PROFILE_DIR, yamlDirProblem } from '../yamlDir.js';
import type { Scenario } from '../../scenario/types.js';
import { overBudget } from '../../metrics/cardinality.js';
import { commandArgs, usageProblem, type CliIo } from '../io.js';
import { runScenario } from '../../run/runScenario.js';
import { entryFailureText, groupEntryFailures } from '../../report/entryFailures.js';
import { resolvePolicy } from '../../core/hypervisor/policy.js';
import { counted } from '../../results/figures.js';

const USAGE = `Usage: vmexit-lab validate [--cpus DIR] FILE...
       vmexit-lab validate --help

Check scenario files without running them: YAML syntax, unknown keys (with suggestions), value
types and ranges, CPU profiles, policies and their tunables, scripts, the matrix and thresholds.
Every problem is printed as FILE:LINE:COL: error: MESSAGE (expected X, found Y); up to 20 per file.
A hypervisor.vmcs override is also tried at the first VM entry of each variant: when the SDM's
VM-entry checks refuse the controls (e.g. "use TPR shadow" cleared under virtual-interrupt
delivery), a warning names the variant, the check, its wording and section (the file stays valid:
'run' reproduces the failed entry and exits 3).

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

/** Simulated time the first-entry probe of a vmcs override runs: enough for every vCPU's first VM entry. */
const FIRST_ENTRY_PROBE_NS = 1_000;

/**
 * The variants whose `hypervisor.vmcs` overrides fail the VM-entry checks (src/core/vmx/entryChecks.ts,
 * SDM 26.2.1) at the first entry, found the way `run` finds them: one host of each such variant runs
 * for FIRST_ENTRY_PROBE_NS. Checks that read the VTPR (the TPR threshold's) are seen as they stand at
 * the first entry only. Overrides are VT-x controls (Intel CPUs); without overrides a policy's
 * controls pass the checks.
 */
function firstEntryFailures(s: Scenario): { variant: string; text: string }[] {
  const probed = s.variants.filter((v) => v.hypervisor.vmcs !== undefined && v.host.cpu.vendor === 'intel');
  if (probed.length === 0) return [];
  const run = runScenario({
    ...s,
    duration: { kind: 'fixed', ns: FIRST_ENTRY_PROBE_NS },
    pace: 'max',
    thresholds: [],
    variants: probed.map((v) => ({ ...v, host: { ...v.host, count: 1 } })),
  });
  return run.results.variants.flatMap((v) =>
    groupEntryFailures(v.totals.entryFailures).map((g) => ({ variant: v.name, text: entryFailureText(g.first) })),
  );
}

/**
 * Variants whose policy writes the TPR threshold before every VM entry (core/vmx/entry.ts
 * programTprThreshold, PolicyTraits.tprThreshold): there a `hypervisor.vmcs.tprThreshold` override is
 * overwritten before the first entry and changes nothing. bhyve-12.1 and bhyve-tpr-v1 never write it.
 */
function tprThresholdWithoutEffect(s: Scenario): string[] {
  return s.variants
    .filter(
      (v) =>
        v.hypervisor.vmcs?.tprThreshold !== undefined &&
        v.host.cpu.vendor === 'intel' &&
        resolvePolicy(v.hypervisor.policy, v.host.cpu, v.hypervisor.tunables, v.host.os).tprThreshold !== 'none',
    )
    .map(
      (v) =>
        `variant ${v.name}: hypervisor.vmcs.tprThreshold changes nothing: ${v.hypervisor.policy} programs the TPR threshold before every VM entry ` +
        "(bhyve vmx.c vmx_run: the guest's TPR class; KVM vmx_update_cr8_intercept: the highest pending interrupt's class); " +
        'the override holds only under bhyve-12.1 and bhyve-tpr-v1, which never write it',
    );
}

/** Guests of one variant: guests per host times hosts. */
function guestCount(s: Scenario): number {
  const v = s.variants[0];
  if (v === undefined) return 0;
  const perHost = v.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 1), 0);
  return perHost * v.host.count;
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

  const dirProblem = cpuDir === undefined ? undefined : yamlDirProblem('--cpus', cpuDir, CPU_PROFILE_DIR);
  if (dirProblem !== undefined) {
    io.err(`vmexit-lab validate: ${dirProblem}`);
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
      io.out(`${file}: ok (${counted(s.variants.length, 'variant')}, ${counted(guestCount(s), 'guest')})\n`);
      for (const w of tprThresholdWithoutEffect(s)) {
        const at = keyPosition(file, ['hypervisor', 'vmcs', 'tprThreshold']);
        io.err(`${file}${at !== undefined ? `:${at}` : ''}: warning: ${w}\n`);
      }
      for (const w of workPhaseWarnings(s, file)) io.err(`${w}\n`);
      // The probe is advice on a valid file: should it fail, the file is still valid (run says the rest).
      let failures: { variant: string; text: string }[] = [];
      try {
        failures = firstEntryFailures(s);
      } catch {
        failures = [];
      }
      if (failures.length > 0) {
        const at = keyPosition(file, ['hypervisor', 'vmcs']);
        for (const f of failures)
          io.err(
            `${file}${at !== undefined ? `:${at}` : ''}: warning: variant ${f.variant}: the first VM entry fails ('run' stops the guests there, exit status 3): ${f.text}\n`,
          );
      }
    } catch (e) {
      failed++;
      const dash = dashProblem(file);
      if (dash !== undefined) io.err(`${dash}\n`);
      else if (e instanceof ScenarioError) {
        for (const d of e.diagnostics) io.err(`${diagnosticLine(d)}\n`);
        const more = e.total > e.diagnostics.length ? ` (${e.total - e.diagnostics.length} not shown)` : '';
        io.err(`${file}: ${counted(e.total, 'error')}${more}\n`);
      } else {
        io.err(`${file}: error: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }
  return failed === 0 ? 0 : 2;
}
