import { readInputText } from '../readText.js';
import { singleOut, writeOneOutput } from '../outputs.js';
import { POLICY_NAMES, type PolicyName } from '../../core/hypervisor/policy.js';
import { parseTunableFlags, unreadable } from '../importInputs.js';
import type { CpuProfile } from '../../core/cpu/profile.js';
import { CpuProfileNotFoundError, findCpuProfile, loadCpuCatalog } from '../../profiles/catalog.js';
import { ScenarioError } from '../../input/diagnostics.js';
import { parseWorkloadProfile } from '../../scenario/workload.js';
import {
  planWhatIf,
  sameConfiguration,
  whatIfNotes,
  whatIfResult,
  whatIfVerdict,
  type WhatIfTarget,
} from '../../import/whatIf.js';
import { readableAs } from '../../import/index.js';
import { MAX_HOST_TICK_HZ, MIN_HOST_TICK_HZ, hostOsOf, hostTickProblem } from '../../import/hostTick.js';
import {
  ExitStatus,
  MAX_WORKERS,
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
import { ProgressReporter } from '../progress.js';
import type { WorkloadProfile } from '../../scenario/types.js';
import { defaultWorkers, SimPool } from '../../pool/pool.js';
import { startPooledRun, type PooledOutcome } from '../../pool/pooledRun.js';
import { installStopHandler, removeStopHandler, STOP_SIGNALS, type StopSignal } from '../stopSignals.js';
import { formatWhatIf, reportFigures, verdictLines, WHAT_IF_WIDTH, withCommonNames, wrap } from '../whatIfText.js';

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
  --workers N             worker threads that run the configurations, 1..${MAX_WORKERS} (default: the
                          number of cores); the output is the same for any N
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
  130  interrupted (Ctrl-C): the configurations that ran to their end are printed, the others named
       (--json: "notRun"); before the measured one ran, nothing is printed (143: SIGTERM, the same)

Examples:
  vmexit-lab what-if win.yaml --phase 2280s
  vmexit-lab what-if web.yaml --cpu all --policy kvm --tunable kvm_intel.enable_apicv=0
  # CI: exit 1 if kvm on either CPU exits more than 10 % above the measured host, 3 if a guest stops
  vmexit-lab what-if web.yaml --cpu epyc-7763,i7-6700K --policy kvm --max-increase 10
`;

/** What what-if reads, as its errors say it. */
const PROFILE_EXPECTED =
  "a workload profile, which 'vmexit-lab import FORMAT REPORT --cpu ID -o FILE' writes (docs/IMPORT.md)";

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
    workers: { type: 'string' },
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
  let workers: number;
  try {
    phaseSeconds = durationOption(o.phase, '--phase');
    simSeconds = numberOption(o['sim-seconds'], '--sim-seconds', 0.1, 3600, false, 'seconds') ?? 10;
    seed = numberOption(o.seed, '--seed', 0, 2 ** 32 - 1, true) ?? 1;
    workers = numberOption(o.workers, '--workers', 1, MAX_WORKERS, true) ?? defaultWorkers();
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
  // The configurations run in the pool's workers, as 'run' runs variants (the same results as in
  // this thread, in any number of workers): the main thread stays free for Ctrl-C and SIGTERM, which
  // stop the run and keep the configurations that ran whole (src/cli/stopSignals.ts). Progress on
  // stderr as 'run' prints it (src/cli/progress.ts); stdout's result is the same with or without it.
  const plan = planWhatIf(profile, source, targets, { simSeconds, seed });
  const progress = o.quiet ? undefined : new ProgressReporter(io, plan.scenario);
  const pool = new SimPool({ workers, idleTimeoutMs: 10_000, eager: false });
  let stoppedBy: StopSignal | undefined;
  let outcome: PooledOutcome;
  let ranToEnd: boolean[];
  const run = startPooledRun(plan.scenario, { pool, pace: 'max', onUpdate: (r) => progress?.updatePooled(r) });
  const listener = installStopHandler(
    io,
    'what-if',
    (sig) => {
      stoppedBy ??= sig;
      run.stop('cancelled', STOP_SIGNALS[sig].text);
      return true;
    },
    () => (outFile !== undefined ? [outFile] : []),
    {
      stopping: 'stopping; the configurations that ran to their end are shown',
      between: 'stopping',
    },
  );
  try {
    outcome = await run.done;
    ranToEnd = run.variantsRunToEnd();
  } finally {
    removeStopHandler(listener);
    await pool.close();
  }
  progress?.done();
  if (outcome.error !== undefined && !outcome.stopped) {
    io.err(`vmexit-lab what-if: the simulation failed: ${outcome.error}`);
    return ExitStatus.INTERNAL;
  }
  const interrupted = stoppedBy !== undefined && ranToEnd.some((x) => !x);
  if (interrupted && !ranToEnd[0]) {
    io.err(
      `vmexit-lab what-if: ${STOP_SIGNALS[stoppedBy!].text} before the measured configuration (${plan.scenario.variants[0].name}) ran to its end: nothing to compare the others against; nothing written`,
    );
    return STOP_SIGNALS[stoppedBy!].status;
  }
  const result = whatIfResult(plan, outcome.results, {
    ...(phaseSeconds !== undefined ? { phaseSeconds } : {}),
    ...(interrupted ? { ranToEnd } : {}),
  });
  const width = o.wide ? undefined : WHAT_IF_WIDTH;
  const notes = whatIfNotes(result).flatMap((n) => wrap(`note: ${n}`, width));
  const verdict = whatIfVerdict(result, maxIncrease);
  const judged = [
    ...verdictLines(result, verdict),
    ...(result.notRun !== undefined
      ? [
          `${STOP_SIGNALS[stoppedBy!].text}: ${result.rows.length} of ${result.rows.length + result.notRun.length} configurations ran to their end and are shown; not run: ${result.notRun.join(', ')} (exit status ${STOP_SIGNALS[stoppedBy!].status}).`,
        ]
      : []),
  ];
  const text = o.json
    ? `${JSON.stringify(withCommonNames(result, report, verdict), null, 2)}\n`
    : `${formatWhatIf(result, report, width)}\n${[...notes, ...judged.flatMap((l) => wrap(l, width))].map((n) => `${n}\n`).join('')}`;
  if (outFile === undefined) io.out(text);
  else if (!writeOneOutput('what-if', io, outFile, text, 'the what-if tables')) return ExitStatus.INTERNAL;
  // A CI log shows why it failed when the text went elsewhere (--json, -o).
  const status = result.notRun !== undefined ? STOP_SIGNALS[stoppedBy!].status : verdict.status;
  if (status !== 0 && (o.json || outFile !== undefined)) for (const l of judged) io.err(`vmexit-lab what-if: ${l}`);
  return status;
}
