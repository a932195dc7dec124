import { parse as parseYaml } from 'yaml';
import { readInputText } from '../readText.js';
import { writeFileSync } from 'node:fs';
import { singleOut } from '../outputs.js';
import { POLICY_NAMES, type PolicyName } from '../../core/hypervisor/policy.js';
import { parseTunableFlags, unreadable } from '../importInputs.js';
import type { CpuProfile } from '../../core/cpu/profile.js';
import { loadModelData } from '../../model/data.js';
import { CpuProfileNotFoundError, findCpuProfile, loadCpuCatalog } from '../../profiles/catalog.js';
import { ScenarioError } from '../../input/diagnostics.js';
import { parseWorkloadProfile } from '../../scenario/workload.js';
import {
  configurationsText,
  sameConfiguration,
  whatIf,
  whatIfNotes,
  whatIfVerdict,
  type WhatIfResult,
  type WhatIfTarget,
  type WhatIfVerdict,
} from '../../import/whatIf.js';
import { readableAs } from '../../import/index.js';
import { MAX_HOST_TICK_HZ, MIN_HOST_TICK_HZ, hostOsOf, hostTickProblem } from '../../import/hostTick.js';
import {
  ExitStatus,
  UsageError,
  badOptionValue,
  durationOption,
  numberOption,
  refuseOption,
  type CliIo,
  commandArgs,
  unknownCpu,
  unknownName,
  usageProblem,
} from '../io.js';
import { textTable } from '../../report/table.js';
import { ProgressReporter } from '../progress.js';
import type { ScenarioProgress } from '../../run/runScenario.js';
import type { Scenario, WorkloadProfile } from '../../scenario/types.js';
import { COMMON_EXIT_NAMES, byCommonName, commonExitEntry } from '../../import/commonExitNames.js';
import { changeAgainstText, changeText, formatFigure, percentText, secondsText } from '../../results/figures.js';

const WHAT_IF_USAGE = `Usage: vmexit-lab what-if PROFILE.yaml [options]

Run a workload profile (from 'vmexit-lab import', or written by hand) on the host it was measured on
and on other CPU profiles and policies, all with the same seed, and print what each would change:
exits per vCPU-second and the top reasons, host time spent in exits, the guest's CPU share, and the
projected duration of a phase of fixed guest work. The same seed means the configurations see the
same guest behaviour: every difference is the configuration's effect, with no sampling noise.
Exit reasons appear under one name for both vendors (cr8 = CR_ACCESS on Intel, VMEXIT_CR8_READ +
VMEXIT_CR8_WRITE on AMD; intr, mmio, msr, apic, ...; the output lists those it uses), so Intel and
AMD hosts line up. Every figure is the model's, the measured host's row too; the report's own rates
(the profile's fit: section, written by 'import') are the last row, 'report'. The text fits 100
columns; --wide drops the limit.

The measured host comes from the profile's "source:" (cpu, policy, tunables) or --from.

Options:
  --from CPU:POLICY       the measured host, when the profile has no source (e.g. i7-2620M:bhyve-12.1)
  --cpu LIST              CPU profiles to try, comma-separated, or "all" (default: the measured one)
  --policy LIST           policies to try, comma-separated, or "all" (default: all)
  --tunable NAME=VALUE    a tunable for every target (repeatable; must exist in each target policy);
                          on the measured CPU and policy it makes a row of its own
  --host-tick-hz N        the measured host kernel's tick (default: the profile's source: hostTickHz,
                          from import --host-tick-hz, else the model's for its OS): its ticks exit a
                          running vCPU; targets on the same host OS (kvm: Linux) run it too
  --phase TIME            a phase that took TIME on the measured host (e.g. 2280s): print its
                          projected duration under each target
  --sim-seconds S         simulated seconds per configuration (default 10)
  --seed N                seed (default 1)
  --max-increase PCT      exit 1 if a target configuration's exits per vCPU-second are more than PCT
                          percent (10 or 10%) above the measured host's (the change column): a CI
                          gate; the configurations over it are named after the tables (--json:
                          "verdict")
  --json                  machine-readable output (rates also by common exit name)
  --wide                  no 100-column limit: every reason as a column, the top reasons per row
  -o, --out FILE          write the output to FILE instead of stdout
  -q, --quiet             no progress on stderr (a line per configuration, a bar on a terminal)
  -h, --help              show this help

Exit status, as 'run':
  0  ran; with --max-increase, no configuration over it
  1  a configuration more than --max-increase PCT above the measured host (named)
  2  bad input (a profile that does not load, an unknown CPU, policy or tunable; --max-increase
     when --cpu, --policy and --tunable leave only the measured configuration)
  3  a configuration's guest stopped: an invariant violation the scenario does not expect or a
     failed VM entry (the configuration named; its figures are up to the stop, not judged)

Examples:
  vmexit-lab what-if win.yaml --phase 2280s
  vmexit-lab what-if web.yaml --cpu all --policy kvm --tunable kvm_intel.enable_apicv=0
  # CI: exit 1 if kvm on either CPU exits more than 10 % above the measured host, 3 if a guest stops
  vmexit-lab what-if web.yaml --cpu epyc-7763,i7-6700K --policy kvm --max-increase 10
`;

/** What what-if reads, as its errors say it. */
const PROFILE_EXPECTED =
  "a workload profile, which 'vmexit-lab import FORMAT REPORT --cpu ID -o FILE' writes (docs/IMPORT.md)";

/** Columns the text output fits in without --wide. */
export const WHAT_IF_WIDTH = 100;

/** Words of `text` in lines of at most `width` columns (a word longer than that on its own line), the later ones indented. */
function wrap(text: string, width: number | undefined, indent = '  '): string[] {
  if (width === undefined) return [text];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * The legend's phase column: what it projects, or - when no row could be projected - why not, here
 * beside the '-' of every row rather than only in the notes after the reason table.
 */
function phaseLegend(r: WhatIfResult): string {
  if (r.phaseSeconds === undefined) return '';
  const what = `a phase of fixed guest work that took ${secondsText(r.phaseSeconds)} on the measured host`;
  if (r.phaseRefused !== undefined) return `; phase: ${what}, not projected (-): ${r.phaseRefused}`;
  return `; phase: ${what}, projected`;
}

/** The measured row, then the others: exits, change, host time, guest CPU, projected phase, stops. */
function mainTable(r: WhatIfResult, wide: boolean): { lines: string[]; notes: string[] } {
  // What stopped a row's guest: its invariant checks, then 'failed VM entry' (the verdict has the messages).
  const stopOf = (row: WhatIfResult['rows'][number]): string =>
    [...row.violations, ...(row.entryFailures.length > 0 ? ['failed VM entry'] : [])].join(', ');
  const stops = [...new Set(r.rows.map(stopOf).filter((x) => x !== ''))];
  const head = [
    'configuration',
    'exits/s',
    'change',
    'in exits',
    'guest CPU',
    ...(r.phaseSeconds !== undefined ? ['phase'] : []),
    ...(stops.length > 0 ? ['stopped'] : []),
    ...(wide ? ['top reasons (exits/s)'] : []),
  ];
  const rows = r.rows.map((row) => {
    const stopped = stopOf(row) !== '';
    const top = Object.entries(byCommonName(row.exitsPerSecond))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} ${formatFigure(v)}`)
      .join(', ');
    return [
      row.variant,
      formatFigure(row.exitsPerSecondTotal),
      row.isSource ? 'measured' : changeText(row.exitsChangePercent),
      percentText(row.hostTimeInExits),
      percentText(row.guestCpu),
      ...(r.phaseSeconds !== undefined
        ? [row.projectedPhaseSeconds === undefined || stopped ? '-' : secondsText(row.projectedPhaseSeconds)]
        : []),
      ...(stops.length > 0 ? [stopped ? `[${stops.indexOf(stopOf(row)) + 1}]` : ''] : []),
      ...(wide ? [top] : []),
    ];
  });
  const lines = textTable(head, rows, {
    rightAligned: (i) => i > 0 && head[i] !== 'top reasons (exits/s)',
    rule: true,
  });
  const notes = [
    `exits/s: exits per vCPU-second; change: against the measured host; in exits: host time handling exits per vCPU-second; guest CPU: the guest's share of its vCPUs${phaseLegend(r)}.`,
    ...stops.map(
      (checks, i) =>
        `[${i + 1}] ${checks}: ${checks === 'failed VM entry' ? 'a failed VM entry' : 'an invariant violation'} stopped a guest (docs/IMPORT.md, what-if); its phase is not projected.`,
    ),
  ];
  return { lines, notes };
}

/**
 * Exits per vCPU-second by reason, configurations by common exit names (src/import/commonExitNames.ts),
 * so Intel and AMD hosts line up: the reasons with the highest rates as columns, as many as fit in
 * `width` (the rest summed as "other"); all of them without a width.
 */
function reasonTable(r: WhatIfResult, report: ReportFigures | undefined, width: number | undefined): string[] {
  // The report's own rates last, under the same names: what the measured row is held against.
  const labels = [...r.rows.map((row) => row.variant), ...(report !== undefined ? ['report'] : [])];
  const rates = [
    ...r.rows.map((row) => byCommonName(row.exitsPerSecond)),
    ...(report !== undefined ? [byCommonName(report.exitsPerSecond)] : []),
  ];
  const peak = new Map<string, number>();
  for (const x of rates) for (const [k, v] of Object.entries(x)) peak.set(k, Math.max(peak.get(k) ?? 0, v));
  const names = [...peak.keys()].sort((a, b) => peak.get(b)! - peak.get(a)! || (a < b ? -1 : 1));
  const cell = (x: number | undefined): string => (x === undefined || x === 0 ? '-' : formatFigure(x));
  const build = (shown: readonly string[], other: boolean): string[] => {
    const head = ['configuration', ...shown, ...(other ? ['other'] : [])];
    const rows = labels.map((label, i) => {
      const x = rates[i];
      const rest = names.filter((n) => !shown.includes(n)).reduce((a, n) => a + (x[n] ?? 0), 0);
      return [label, ...shown.map((n) => cell(x[n])), ...(other ? [cell(rest)] : [])];
    });
    return textTable(head, rows, { rightAligned: (i) => i > 0, rule: true });
  };
  let shown = names;
  let lines = build(shown, false);
  while (width !== undefined && shown.length > 1 && Math.max(...lines.map((l) => l.length)) > width) {
    shown = shown.slice(0, -1);
    lines = build(shown, true);
  }
  const legend = names
    .filter((n) => commonExitEntry(n) !== undefined)
    .map((n) => {
      const c = commonExitEntry(n)!;
      const side = (list: readonly string[], vendor: string): string =>
        list.length > 0 ? `${list.join(' + ')} (${vendor})` : '';
      return `${n} = ${[side(c.intel, 'Intel'), side(c.amd, 'AMD')].filter((x) => x !== '').join(' / ')}`;
    });
  // What the "other" column sums: the reasons without a column of their own, by name (the report's
  // exits the model has no kind for included), so no figure of the table is unexplained.
  const left = names.filter((n) => !shown.includes(n));
  const other = left.length > 0 ? [`other = ${left.join(' + ')} (no room for their columns; --wide shows them).`] : [];
  return [
    'exits per vCPU-second by reason, Intel and AMD exits under common names:',
    ...lines,
    ...wrap(`names: ${legend.join('; ')}.`, width),
    ...other.flatMap((l) => wrap(l, width)),
  ];
}

/**
 * What the report said, as `import` wrote it into the profile's `fit:` section: the measured exits per
 * vCPU-second by reason (the model's exit names; rows it has no kind for under their own names) and
 * the fit's worst error. Undefined for a profile without that section (written by hand).
 */
interface ReportFigures {
  readonly format?: string;
  readonly file?: string;
  readonly exitsPerSecond: Readonly<Record<string, number>>;
  readonly exitsPerSecondTotal: number;
  /** The largest |simulated - measured| / measured over the fitted reasons, percent. */
  readonly worstFitErrorPercent: number;
  /** Exits per vCPU-second of the report's reasons the model has no exit kind for (not simulated). */
  readonly unmodelledPerSecond: number;
}

function reportFigures(text: string, profile: WorkloadProfile): ReportFigures | undefined {
  let fit: unknown;
  try {
    fit = (parseYaml(text) as { fit?: unknown } | null)?.fit;
  } catch {
    return undefined;
  }
  if (typeof fit !== 'object' || fit === null) return undefined;
  const exitsPerSecond: Record<string, number> = {};
  let worst = 0;
  let unmodelled = 0;
  for (const [reason, row] of Object.entries(fit as Record<string, unknown>)) {
    const r = (typeof row === 'object' && row !== null ? row : {}) as Record<string, unknown>;
    const measured = r.measuredPerSecond;
    if (typeof measured !== 'number' || !Number.isFinite(measured) || measured <= 0) continue;
    exitsPerSecond[reason] = measured;
    // Reasons the model has no kind for are -100 % by definition: counted apart, not as the fit's error.
    if (r.driver === 'unknown reason' || r.driver === 'not modelled') unmodelled += measured;
    else if (typeof r.errorPercent === 'number') worst = Math.max(worst, Math.abs(r.errorPercent));
  }
  const total = Object.values(exitsPerSecond).reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const src = profile.source ?? {};
  return {
    ...(typeof src.format === 'string' ? { format: src.format } : {}),
    ...(typeof src.file === 'string' ? { file: src.file } : {}),
    exitsPerSecond,
    exitsPerSecondTotal: total,
    worstFitErrorPercent: worst,
    unmodelledPerSecond: unmodelled,
  };
}

/**
 * Which figures are the report's and which the model's: the report's own rate, and that every
 * figure of the tables is simulated (the measured row too, by the profile fitted to the report).
 */
function provenance(r: WhatIfResult, report: ReportFigures | undefined): string {
  const measured = r.rows[0].variant;
  if (report === undefined)
    return `source of the figures: every one is the model's (the profile has no fit: section from 'vmexit-lab import', so no report to hold ${measured} against).`;
  const from = [report.format, report.file].filter((x) => x !== undefined).join(' ');
  return (
    `source of the figures: the report${from === '' ? '' : ` (${from})`} measured ${formatFigure(report.exitsPerSecondTotal)} exits per vCPU-second` +
    ` (its row 'report' below, from the profile's fit: section); every figure of the tables is the model's, ${measured} too:` +
    ` the profile simulated on the measured host (the fit's worst reason off by ${formatFigure(report.worstFitErrorPercent)} %` +
    (report.unmodelledPerSecond > 0
      ? `; ${formatFigure(report.unmodelledPerSecond)} of the report's exits per vCPU-second have no exit kind in the model and are in 'report' only).`
      : ').')
  );
}

/**
 * The verdict after the tables: the configurations whose guest stopped (exit 3) and, with
 * --max-increase, those over it (exit 1), each named with its change.
 */
export function verdictLines(r: WhatIfResult, v: WhatIfVerdict): string[] {
  const lines: string[] = [];
  const byWhy = new Map<string, WhatIfResult['rows'][number][]>();
  for (const s of v.stopped) {
    const why = [
      ...(s.violations.length > 0 ? [`invariant violation ${s.violations.join(', ')}`] : []),
      ...(s.entryFailures.length > 0 ? [`failed VM entry: ${s.entryFailures.join('; ')}`] : []),
    ].join('; ');
    const row = r.rows.find((x) => x.variant === s.variant)!;
    byWhy.set(why, [...(byWhy.get(why) ?? []), row]);
  }
  for (const [why, rows] of byWhy)
    lines.push(`stopped: ${configurationsText(rows)}: a guest stopped on ${why} (exit status 3, as 'run').`);
  const limit = v.maxIncreasePercent;
  if (limit !== null) {
    const head = `--max-increase ${formatFigure(limit)} %:`;
    // The change as the table prints it, or with more digits where that rounding reads as the limit.
    const change = (x: number): string => changeAgainstText(x, limit);
    const skipped = v.stopped.length > 0 ? ' (a configuration whose guest stopped is not judged)' : '';
    if (v.notJudged !== undefined) lines.push(`${head} not judged: ${v.notJudged}.`);
    else if (v.over.length > 0)
      lines.push(
        `${head} ${v.over.length} configuration${v.over.length === 1 ? '' : 's'} over it${skipped}: ` +
          `${v.over.map((o) => `${o.variant} ${change(o.exitsChangePercent)}`).join(', ')}` +
          (v.status === 1 ? ': exit status 1.' : '.'),
      );
    else {
      const judged = r.rows.filter((row) => !row.isSource && !v.stopped.some((s) => s.variant === row.variant));
      const top = judged.sort((a, b) => b.exitsChangePercent - a.exitsChangePercent)[0];
      lines.push(
        `${head} no configuration over it${skipped}` +
          (top === undefined ? '.' : ` (the highest: ${top.variant} ${changeText(top.exitsChangePercent)}).`),
      );
    }
  }
  return lines;
}

/** --json: the result, each row's rates by common exit name too, the report's figures (or null), the verdict. */
function withCommonNames(r: WhatIfResult, report: ReportFigures | undefined, verdict: WhatIfVerdict): unknown {
  return {
    ...r,
    verdict,
    rows: r.rows.map((row) => ({ ...row, exitsPerSecondByCommonName: byCommonName(row.exitsPerSecond) })),
    report:
      report === undefined
        ? null
        : {
            ...report,
            exitsPerSecondByCommonName: byCommonName(report.exitsPerSecond),
            from: "the profile's fit: section",
          },
    commonExitNames: COMMON_EXIT_NAMES,
  };
}

function formatWhatIf(r: WhatIfResult, report: ReportFigures | undefined, width: number | undefined): string {
  const src = r.rows[0];
  const main = mainTable(r, width === undefined);
  return [
    ...wrap(
      `what-if for workload ${r.profile}: ${formatFigure(r.simSeconds)} simulated s per configuration, seed ${r.seed}; measured on ${src.variant}${src.hostTickHz !== undefined ? ` (host tick ${src.hostTickHz} Hz, as the configurations on its host OS)` : ''}`,
      width,
    ),
    ...wrap(provenance(r, report), width),
    ...main.lines,
    ...main.notes.flatMap((n) => wrap(n, width)),
    '',
    ...reasonTable(r, report, width),
  ].join('\n');
}

export async function whatIfCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'what-if', WHAT_IF_USAGE, argv, {
    from: { type: 'string' },
    cpu: { type: 'string' },
    policy: { type: 'string' },
    tunable: { type: 'string', multiple: true },
    'host-tick-hz': { type: 'string' },
    phase: { type: 'string' },
    'sim-seconds': { type: 'string' },
    seed: { type: 'string' },
    'max-increase': { type: 'string' },
    json: { type: 'boolean' },
    wide: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (typeof parsed === 'number') return parsed;
  const o = parsed.values;
  let outFile: string | undefined;
  try {
    outFile = singleOut(o.out, parsed.positionals);
  } catch (e) {
    return refuseOption(io, 'what-if', e);
  }
  const bad = (msg: string): number => {
    io.err(`vmexit-lab what-if: ${msg}`);
    return ExitStatus.BAD_INPUT;
  };
  if (parsed.positionals.length !== 1) {
    io.err(usageProblem('what-if', 'give one workload profile file'));
    return ExitStatus.BAD_INPUT;
  }
  const file = parsed.positionals[0];
  let profile: WorkloadProfile;
  let profileText: string;
  try {
    profileText = readInputText(file);
    // README's 'import ... > web.yaml' leaves web.yaml empty when the import fails (the shell makes the
    // file first); the profile reader's "expected a mapping, found nothing" did not say why.
    if (profileText.trim() === '')
      return bad(
        `${file}:1:1: error: the file is empty (expected ${PROFILE_EXPECTED}; a failed 'vmexit-lab import ... > FILE' leaves FILE empty: run the import again and read its message)`,
      );
    profile = parseWorkloadProfile(profileText, file);
  } catch (e) {
    if (!(e instanceof ScenarioError)) return bad(unreadable(file, e, 'profile', PROFILE_EXPECTED));
    // The exit report itself, given before 'import' made a profile of it: say so instead of YAML errors.
    const format = readableAs(profileText!)[0];
    if (format !== undefined)
      return bad(
        `${file} is a ${format} report, not a workload profile: make one with 'vmexit-lab import ${format} ${file} --cpu ID ...' (docs/IMPORT.md), then ask what-if about it`,
      );
    return bad(e.message);
  }
  const report = reportFigures(profileText, profile);
  const catalog = loadCpuCatalog();
  // A CPU or policy named on the command line (--from, --cpu, --policy, --tunable, --host-tick-hz):
  // refused as every command-line problem is, ending where the options are listed; the profile's own
  // source cpu and policy are the file's, said as such.
  const refuse = (e: string | UsageError): number =>
    refuseOption(io, 'what-if', typeof e === 'string' ? new UsageError(e) : e);
  const cpuOf = (id: string): CpuProfile | UsageError => {
    try {
      return findCpuProfile(catalog, id);
    } catch (e) {
      if (e instanceof CpuProfileNotFoundError) return unknownCpu(e);
      throw e;
    }
  };
  const fromOption = o.from !== undefined;
  // The measured host.
  const src = profile.source ?? {};
  let fromCpu = typeof src.cpu === 'string' ? src.cpu : undefined;
  let fromPolicy = typeof src.policy === 'string' ? src.policy : undefined;
  if (o.from !== undefined) {
    const m = /^([^:]+):(.+)$/.exec(o.from);
    if (m === null)
      return refuseOption(io, 'what-if', badOptionValue('--from', 'CPU:POLICY, e.g. i7-2620M:bhyve-12.1', o.from));
    fromCpu = m[1];
    fromPolicy = m[2];
  }
  if (fromCpu === undefined || fromPolicy === undefined)
    return bad(`${file} has no source cpu and policy: give --from CPU:POLICY`);
  const sourceCpu = cpuOf(fromCpu);
  if (sourceCpu instanceof UsageError)
    return fromOption ? refuse(sourceCpu) : bad(`${file}: source: cpu: ${sourceCpu.message}`);
  if (!(POLICY_NAMES as readonly string[]).includes(fromPolicy)) {
    const unknown = unknownName('policy', fromPolicy, POLICY_NAMES);
    return fromOption ? refuse(unknown) : bad(`${file}: source: policy: ${unknown.message}`);
  }
  const srcTunables: Record<string, number> = {};
  if (o.from === undefined && typeof src.tunables === 'object' && src.tunables !== null) {
    for (const [k, v] of Object.entries(src.tunables as Record<string, unknown>))
      if (typeof v === 'number') srcTunables[k] = v;
  }
  // The measured host's tick: --host-tick-hz, else the profile's (import --host-tick-hz), checked as
  // import checks it; --from names another host, whose tick the profile does not know (as its tunables).
  let hostTickHz: number | undefined;
  try {
    hostTickHz = numberOption(o['host-tick-hz'], '--host-tick-hz', MIN_HOST_TICK_HZ, MAX_HOST_TICK_HZ, true);
  } catch (e) {
    if (e instanceof UsageError) return refuseOption(io, 'what-if', e);
    throw e;
  }
  let tickWhat = '--host-tick-hz';
  if (hostTickHz === undefined && o.from === undefined && src.hostTickHz !== undefined) {
    tickWhat = `${file}: source: hostTickHz`;
    const t = src.hostTickHz;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < MIN_HOST_TICK_HZ || t > MAX_HOST_TICK_HZ)
      return bad(
        `${tickWhat}: expected an integer ${MIN_HOST_TICK_HZ}..${MAX_HOST_TICK_HZ}, found ${JSON.stringify(t) ?? 'nothing'}`,
      );
    hostTickHz = t;
  }
  const tickProblem =
    hostTickHz === undefined ? undefined : hostTickProblem(tickWhat, hostTickHz, fromPolicy as PolicyName);
  if (tickProblem !== undefined) return tickWhat === '--host-tick-hz' ? refuse(tickProblem) : bad(tickProblem);
  const source: WhatIfTarget = {
    cpu: sourceCpu,
    policy: fromPolicy as PolicyName,
    tunables: srcTunables,
    ...(hostTickHz !== undefined ? { tickHz: hostTickHz } : {}),
  };
  // Targets on the measured host's OS run its kernel's tick; others their own OS's default.
  const tickFor = (policy: PolicyName): { tickHz?: number } =>
    hostTickHz !== undefined && hostOsOf(policy) === hostOsOf(source.policy) ? { tickHz: hostTickHz } : {};
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
      if (c instanceof UsageError) return refuse(c);
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
        return refuse(unknownName('policy', p, POLICY_NAMES, { more: ' or all' }));
      policies.push(p as PolicyName);
    }
  }
  // What is wrong with a --tunable whatever the policy (its form, name, range): said as such; a
  // misspelt name was skipped by every policy and read "no target configuration accepts the given tunables".
  const tunableProblem = parseTunableFlags(o.tunable ?? [], undefined);
  if (typeof tunableProblem === 'string') return refuse(tunableProblem);
  const targets: WhatIfTarget[] = [];
  for (const cpu of cpus) {
    for (const policy of policies) {
      const tunables = parseTunableFlags(o.tunable ?? [], policy);
      if (typeof tunables === 'string') {
        if ((o.tunable ?? []).length > 0 && policies.length > 1) continue; // a tunable of another policy family
        return refuse(tunables);
      }
      targets.push({ cpu, policy, tunables, ...tickFor(policy) });
    }
  }
  if (targets.length === 0) return bad('no target configuration accepts the given tunables');
  let phaseSeconds: number | undefined, simSeconds: number, seed: number, maxIncrease: number | undefined;
  try {
    phaseSeconds = durationOption(o.phase, '--phase');
    simSeconds = numberOption(o['sim-seconds'], '--sim-seconds', 0.1, 3600, false, 'seconds') ?? 10;
    seed = numberOption(o.seed, '--seed', 0, 2 ** 32 - 1, true) ?? 1;
    // "5%" is how people write five percent, as compare --max-regression takes it.
    maxIncrease = numberOption(o['max-increase']?.replace(/%$/, ''), '--max-increase', 0, Infinity);
  } catch (e) {
    if (e instanceof UsageError) return refuseOption(io, 'what-if', e);
    throw e;
  }
  // The gate holds targets against the measured host: with only that one there is nothing to judge,
  // and a pass would say nothing.
  if (maxIncrease !== undefined && targets.every((t) => sameConfiguration(t, source)))
    return bad(
      `--max-increase holds each target configuration against the measured host, and --cpu, --policy and --tunable leave only the measured one (${source.policy}/${source.cpu.id}): give another --cpu or --policy`,
    );
  // Progress on stderr as 'run' prints it (src/cli/progress.ts): a redrawn bar on a terminal, else a
  // line as each configuration starts; stdout's result is the same with or without it.
  let progress: ProgressReporter | undefined;
  const result = whatIf(profile, source, targets, {
    simSeconds,
    seed,
    ...(phaseSeconds !== undefined ? { phaseSeconds } : {}),
    data: loadModelData(),
    ...(o.quiet
      ? {}
      : {
          onProgress: (p: ScenarioProgress, scenario: Scenario): void => {
            progress ??= new ProgressReporter(io, scenario);
            progress.update(p);
          },
        }),
  });
  progress?.done();
  const width = o.wide ? undefined : WHAT_IF_WIDTH;
  const notes = whatIfNotes(result).flatMap((n) => wrap(`note: ${n}`, width));
  const verdict = whatIfVerdict(result, maxIncrease);
  const judged = verdictLines(result, verdict);
  const text = o.json
    ? `${JSON.stringify(withCommonNames(result, report, verdict), null, 2)}\n`
    : `${formatWhatIf(result, report, width)}\n${[...notes, ...judged.flatMap((l) => wrap(l, width))].map((n) => `${n}\n`).join('')}`;
  if (outFile !== undefined) writeFileSync(outFile, text);
  else io.out(text);
  // A CI log shows why it failed when the text went elsewhere (--json, -o).
  if (verdict.status !== 0 && (o.json || outFile !== undefined))
    for (const l of judged) io.err(`vmexit-lab what-if: ${l}`);
  return verdict.status;
}
