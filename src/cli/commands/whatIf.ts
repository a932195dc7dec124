import { readFileSync, writeFileSync } from 'node:fs';
import { POLICY_NAMES, tunableSpec, type PolicyName, type Tunables } from '../../core/hypervisor/policy.js';
import type { CpuProfile } from '../../core/cpu/profile.js';
import { loadModelData } from '../../model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../profiles/catalog.js';
import { ScenarioError } from '../../input/diagnostics.js';
import { parseWorkloadProfile } from '../../scenario/workload.js';
import type { WorkloadProfile } from '../../scenario/types.js';
import { whatIf, whatIfNotes, type WhatIfResult, type WhatIfTarget } from '../../import/whatIf.js';
import { ExitStatus, UsageError, durationOption, numberOption, type CliIo, commandArgs } from '../io.js';
import { textTable } from '../../report/table.js';

const WHAT_IF_USAGE = `Usage: vmexit-lab what-if PROFILE.yaml [options]

Run a workload profile (from 'vmexit-lab import', or written by hand) on the host it was measured on
and on other CPU profiles and policies, all with the same seed, and print what each would change:
exits per vCPU-second and the top reasons, host time spent in exits, the guest's CPU share, and the
projected duration of a phase of fixed guest work. The same seed means the configurations see the
same guest behaviour: every difference is the configuration's effect, with no sampling noise.

The measured host comes from the profile's "source:" (cpu, policy, tunables) or --from.

Options:
  --from CPU:POLICY       the measured host, when the profile has no source (e.g. i7-2620M:bhyve-12.1)
  --cpu LIST              CPU profiles to try, comma-separated, or "all" (default: the measured one)
  --policy LIST           policies to try, comma-separated, or "all" (default: all)
  --tunable NAME=VALUE    a tunable for every target (repeatable; must exist in each target policy)
  --phase TIME            a phase that took TIME on the measured host (e.g. 2280s): print its
                          projected duration under each target
  --sim-seconds S         simulated seconds per configuration (default 10)
  --seed N                seed (default 1)
  --json                  machine-readable output
  -o, --out FILE          write the output to FILE instead of stdout
  -h, --help              show this help

Examples:
  vmexit-lab what-if win.yaml --phase 2280s
  vmexit-lab what-if web.yaml --cpu all --policy kvm --tunable kvm_intel.enable_apicv=0
`;

/** NAME=VALUE tunable flags checked against the tunables table; an error message on failure. */
export function parseTunableFlags(flags: readonly string[], policy: PolicyName | undefined): Tunables | string {
  const out: Record<string, number> = {};
  for (const f of flags) {
    const m = /^([A-Za-z0-9_.]+)=(-?\d+)$/.exec(f);
    if (m === null) return `--tunable ${JSON.stringify(f)}: expected NAME=INTEGER, e.g. hw.vmm.vmx.use_tpr_shadowing=0`;
    const spec = tunableSpec(m[1]);
    if (spec === undefined) return `--tunable: unknown tunable "${m[1]}" ('vmexit-lab list tunables' lists them)`;
    if (spec.readOnly) return `--tunable: ${spec.name} is read-only`;
    const value = Number(m[2]);
    if (value < spec.min || value > spec.max)
      return `--tunable: ${spec.name} must be ${spec.min}..${spec.max}, found ${value}`;
    if (policy !== undefined && !spec.policies.includes(policy))
      return `--tunable: ${spec.name} is not a tunable of ${policy} (it belongs to ${spec.policies.join(', ')})`;
    out[spec.name] = value;
  }
  return out;
}

/** Grouped with a fixed number of decimals: 12,345.6 */
function grouped(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatWhatIf(r: WhatIfResult): string {
  const src = r.rows[0];
  const anyViolation = r.rows.some((row) => row.violations.length > 0);
  const head = [
    'configuration',
    'exits/s/vCPU',
    'change',
    'host time in exits',
    'guest CPU',
    ...(r.phaseSeconds !== undefined ? ['phase (s)'] : []),
    ...(anyViolation ? ['violations'] : []),
    'top reasons (exits/s/vCPU)',
  ];
  const rows = r.rows.map((row) => {
    const top = Object.entries(row.exitsPerSecond)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} ${grouped(v)}`)
      .join(', ');
    return [
      `${row.variant}${row.isSource ? ' (measured)' : ''}`,
      grouped(row.exitsPerSecondTotal),
      row.isSource ? '-' : `${row.exitsChangePercent >= 0 ? '+' : ''}${row.exitsChangePercent.toFixed(1)} %`,
      `${(row.hostTimeInExits * 100).toFixed(2)} %`,
      `${(row.guestCpu * 100).toFixed(2)} %`,
      ...(r.phaseSeconds !== undefined
        ? [
            row.projectedPhaseSeconds === undefined || row.violations.length > 0
              ? '-'
              : grouped(row.projectedPhaseSeconds, 1),
          ]
        : []),
      ...(anyViolation ? [row.violations.length > 0 ? `${row.violations.join(', ')} (guest stopped)` : '-'] : []),
      top,
    ];
  });
  // Every reason, per configuration, with the change against the measured host.
  const reasons = r.rows.map((row) => {
    const names = [...new Set([...Object.keys(row.exitsPerSecond), ...Object.keys(src.exitsPerSecond)])].sort(
      (a, b) => (row.exitsPerSecond[b] ?? 0) - (row.exitsPerSecond[a] ?? 0) || (a < b ? -1 : 1),
    );
    const parts = names.map((n) => {
      const x = row.exitsPerSecond[n] ?? 0;
      const was = src.exitsPerSecond[n] ?? 0;
      const change =
        row.isSource || x === was
          ? ''
          : was === 0
            ? ' (new)'
            : ` (${x >= was ? '+' : ''}${(((x - was) / was) * 100).toFixed(1)} %)`;
      return `${n} ${grouped(x, x < 10 ? 2 : 0)}${change}`;
    });
    return `  ${row.variant}: ${parts.join(', ')}`;
  });
  return [
    `what-if for workload ${r.profile}: ${r.simSeconds} simulated s per configuration, seed ${r.seed}; measured on ${src.variant}`,
    ...textTable(head, rows, { rightAligned: (i) => i > 0 && i < head.length - 1, rule: true }),
    '',
    'exits per vCPU-second by reason (change against the measured host):',
    ...reasons,
  ].join('\n');
}

export async function whatIfCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'what-if', WHAT_IF_USAGE, argv, {
    from: { type: 'string' },
    cpu: { type: 'string' },
    policy: { type: 'string' },
    tunable: { type: 'string', multiple: true },
    phase: { type: 'string' },
    'sim-seconds': { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
  });
  if (typeof parsed === 'number') return parsed;
  const o = parsed.values;
  const bad = (msg: string): number => {
    io.err(`vmexit-lab what-if: ${msg}`);
    return ExitStatus.BAD_INPUT;
  };
  if (parsed.positionals.length !== 1) return bad(`give one workload profile file\n\n${WHAT_IF_USAGE}`);
  const file = parsed.positionals[0];
  let profile: WorkloadProfile;
  try {
    profile = parseWorkloadProfile(readFileSync(file, 'utf8'), file);
  } catch (e) {
    return bad(e instanceof ScenarioError ? e.message : `cannot read ${file}: ${(e as Error).message}`);
  }
  const catalog = loadCpuCatalog();
  const cpuOf = (id: string): CpuProfile | string => {
    try {
      return findCpuProfile(catalog, id);
    } catch (e) {
      return (e as Error).message;
    }
  };
  // The measured host.
  const src = profile.source ?? {};
  let fromCpu = typeof src.cpu === 'string' ? src.cpu : undefined;
  let fromPolicy = typeof src.policy === 'string' ? src.policy : undefined;
  if (o.from !== undefined) {
    const m = /^([^:]+):(.+)$/.exec(o.from);
    if (m === null)
      return bad(`--from: expected CPU:POLICY, e.g. i7-2620M:bhyve-12.1, found ${JSON.stringify(o.from)}`);
    fromCpu = m[1];
    fromPolicy = m[2];
  }
  if (fromCpu === undefined || fromPolicy === undefined)
    return bad(`${file} has no source cpu and policy: give --from CPU:POLICY`);
  const sourceCpu = cpuOf(fromCpu);
  if (typeof sourceCpu === 'string') return bad(sourceCpu);
  if (!(POLICY_NAMES as readonly string[]).includes(fromPolicy))
    return bad(`unknown policy "${fromPolicy}": expected one of ${POLICY_NAMES.join(', ')}`);
  const srcTunables: Record<string, number> = {};
  if (o.from === undefined && typeof src.tunables === 'object' && src.tunables !== null) {
    for (const [k, v] of Object.entries(src.tunables as Record<string, unknown>))
      if (typeof v === 'number') srcTunables[k] = v;
  }
  const source: WhatIfTarget = { cpu: sourceCpu, policy: fromPolicy as PolicyName, tunables: srcTunables };
  // Targets.
  const cpus: CpuProfile[] = [];
  if (o.cpu === undefined) cpus.push(sourceCpu);
  else if (o.cpu === 'all') cpus.push(...catalog);
  else {
    for (const id of o.cpu
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      const c = cpuOf(id);
      if (typeof c === 'string') return bad(c);
      cpus.push(c);
    }
  }
  let policies: PolicyName[] = [...POLICY_NAMES];
  if (o.policy !== undefined && o.policy !== 'all') {
    policies = [];
    for (const p of o.policy
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      if (!(POLICY_NAMES as readonly string[]).includes(p))
        return bad(`unknown policy "${p}": expected one of ${POLICY_NAMES.join(', ')} or all`);
      policies.push(p as PolicyName);
    }
  }
  const targets: WhatIfTarget[] = [];
  for (const cpu of cpus) {
    for (const policy of policies) {
      const tunables = parseTunableFlags(o.tunable ?? [], policy);
      if (typeof tunables === 'string') {
        if ((o.tunable ?? []).length > 0 && policies.length > 1) continue; // a tunable of another policy family
        return bad(tunables);
      }
      targets.push({ cpu, policy, tunables });
    }
  }
  if (targets.length === 0) return bad('no target configuration accepts the given tunables');
  let phaseSeconds: number | undefined, simSeconds: number, seed: number;
  try {
    phaseSeconds = durationOption(o.phase, '--phase');
    simSeconds = numberOption(o['sim-seconds'], '--sim-seconds', 0.1, 3600) ?? 10;
    seed = numberOption(o.seed, '--seed', 0, 2 ** 32 - 1, true) ?? 1;
  } catch (e) {
    if (e instanceof UsageError) return bad(e.message);
    throw e;
  }
  const result = whatIf(profile, source, targets, {
    simSeconds,
    seed,
    ...(phaseSeconds !== undefined ? { phaseSeconds } : {}),
    data: loadModelData(),
  });
  const notes = whatIfNotes(result).map((n) => `note: ${n}\n`);
  const text = o.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatWhatIf(result)}\n${notes.join('')}`;
  if (o.out !== undefined) writeFileSync(o.out, text);
  else io.out(text);
  return ExitStatus.OK;
}
