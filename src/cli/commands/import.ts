import { readInputText } from '../readText.js';
import { singleOut, writeOneOutput } from '../outputs.js';
import { POLICY_NAMES, resolvePolicy, type PolicyName } from '../../core/hypervisor/policy.js';
import type { CpuProfile } from '../../core/cpu/profile.js';
import { loadModelData } from '../../model/data.js';
import { CpuProfileNotFoundError, findCpuProfile, loadCpuCatalog } from '../../profiles/catalog.js';
import { GUEST_OS_NAMES, type GuestOsName } from '../../scenario/types.js';
import { MAX_RATE_PER_SECOND, MAX_VCPUS, NAME_RE } from '../../scenario/workload.js';

/** Exits a vCPU can take in a second at most: an exit and its entry take more than 100 ns on any CPU. */
const MAX_EXITS_PER_VCPU_SECOND = 1e7;
import { fitWorkload } from '../../import/fit.js';
import { MISS_PERCENT } from '../../import/missReasons.js';
import {
  parseReport,
  readableAs,
  REPORT_FORMATS,
  ReportFormatError,
  type ExitReport,
  type ReportFormat,
} from '../../import/index.js';
import { renderWorkloadProfile } from '../../import/profileYaml.js';
import { measuredX2apicMode } from '../../import/lapicMode.js';
import { MAX_HOST_TICK_HZ, MIN_HOST_TICK_HZ, hostTickProblem } from '../../import/hostTick.js';
import {
  ExitStatus,
  UsageError,
  durationOption,
  numberOption,
  refuseOption,
  type CliIo,
  commandArgs,
  unknownCpu,
  unknownName,
  usageProblem,
} from '../io.js';
import { parseTunableFlags, unreadable } from '../importInputs.js';
import { carriedExitTimes, measuredRates, TAKE_REPORT } from '../importReport.js';
import { featureHints, fitProgress, formatFitTable, missText } from '../importText.js';

const IMPORT_USAGE = `Usage: vmexit-lab import FORMAT FILE --cpu ID [--duration TIME] [options]

Turn a real host's VM-exit report into a guest workload profile (YAML on stdout): the instruction and
interrupt rates whose simulation, under the CPU profile and policy the report was taken on,
reproduces the report's exits per second reason by reason. The fit error per reason goes to stderr
(and into the profile's "fit:" section). Use the profile as a guest in a scenario
("guests: [{ workload: profile.yaml }]") or ask 'vmexit-lab what-if' what another CPU or policy would
change. docs/IMPORT.md explains the formats, the fit and its limits.

Formats:
  perf-kvm-stat   Linux 'perf kvm stat report' (the VM-EXIT table), policy defaults to kvm
  kvm-stat        Linux 'kvm_stat' with tracepoints (run as root): its screen with child events
                  (press x; copy the screen), 'kvm_stat -1', or a log 'kvm_stat -l' / '-L FILE'
                  (also with -c); the kvm_exit(REASON) rows are the exits, so add
                  -f 'kvm_exit.*' to -1 and -l (4.x copies leave the child events out by
                  default). Its rates (CurAvg/s, the -1 delta, the log's span) stand in for
                  --duration. 'kvm_stat -d' (debugfs) has no per-reason counts. Policy: kvm
  bhyvectl        FreeBSD 'bhyvectl --get-stats --vm=NAME' (one or more "vcpuN stats:" sections)
  kvmexit         bcc's 'kvmexit' (Intel hosts): best 'kvmexit -p PID -a SECONDS', one VM per
                  vCPU thread over a span it prints ('after sleeping N secs'); policy: kvm

Options:
  --cpu ID                CPU profile of the measured host (required; 'vmexit-lab cpus' lists them)
  --duration TIME         how long the report's recording lasted, e.g. 30s (required for perf-kvm-stat
                          and bhyvectl, which do not record it, and for kvmexit stopped with Ctrl-C;
                          for a kvm-stat log or kvmexit SECONDS it replaces the report's own span,
                          for a kvm-stat screen and -1 it only sets the fit's span)
  --policy NAME           hypervisor policy of the measured host: ${POLICY_NAMES.join(', ')}
                          (default kvm for perf-kvm-stat, kvm-stat and kvmexit; required for bhyvectl)
  --tunable NAME=VALUE    a tunable of the measured host (repeatable), e.g. kvm_intel.enable_apicv=0
  --host-tick-hz N        the measured host kernel's tick (CONFIG_HZ; default: the model's for its OS,
                          Linux 250, FreeBSD 1000): its ticks land on a running vCPU, so the fit reads
                          the report's host interrupts as the share of time the vCPU ran at this rate
                          (RHEL and Fedora hosts: 1000); kept in the profile's source: for what-if
  --vcpus N               vCPUs the report covers (default: the report's vCPU sections, else 1,
                          with a note; perf's 'all VCPUs' and kvm_stat count every vCPU they watched)
  --os NAME               guest OS model for interrupt vectors and ISR times (default ubuntu-18.04):
                          ${GUEST_OS_NAMES.join(', ')}
  --x2apic                the guest ran in x2APIC mode (default for a Linux or FreeBSD guest under
                          kvm, whose QEMU offers x2APIC, unless the report has AVIC exits of a CPU
                          without x2AVIC)
  --xapic                 the guest ran in xAPIC mode (default for Windows guests, and under bhyve,
                          which offers x2APIC only with bhyve -x)
  --name NAME             profile name (default: the file name)
  --interrupts-per-second N
                          device interrupts per vCPU per second, if you know it (exit counts do
                          not show it; default: fitted, starting at two per HLT)
  --max-error PCT         exit 1 if a reason of the report is missed by more than PCT percent
                          (reasons the model lacks count as 100 %); without it, exit 1 when a
                          fitted reason is missed by more than ${MISS_PERCENT} %
  --sim-seconds S         simulated seconds per fit iteration (default: the report's duration, or
                          more for ~2,000 exits; 10 to 120)
  --seed N                seed of the fit simulations (default 1)
  --carry-exit-times      keep the report's own time per exit (perf's Avg time) in the profile: a host
                          running it charges each timed exit the model's cost there x report / model
                          at the measured host (perf-kvm-stat only; docs/IMPORT.md)
  -o, --out FILE          write the profile to FILE instead of stdout (YAML, also with --json)
  --json                  print the fit (profile and table) as JSON on stdout instead of the
                          profile's YAML; with -o FILE, FILE still gets the profile
  -h, --help              show this help

Exit status: 0 imported; 1 imported, but the fit misses the report (by more than --max-error, or by
more than ${MISS_PERCENT} % without it: the profile is still written, with the reasons in its header and
on stderr; the report may be infeasible for that --cpu/--policy); 2 bad input (unreadable or malformed
report, unknown CPU/policy). Whatever is written, 'what-if' and scenarios load.

Examples:
  perf kvm stat record -a sleep 30 && perf kvm stat report > report.txt
  vmexit-lab import perf-kvm-stat report.txt --cpu xeon-e5-2667v4 --duration 30s > web.yaml
  kvm_stat -l -c -s 1 -f 'kvm_exit.*' > log.csv   # Ctrl-C after a minute
  vmexit-lab import kvm-stat log.csv --cpu xeon-e5-2667v4 --vcpus 4 > vm.yaml
  vmexit-lab import bhyvectl stats.txt --cpu xeon-e5-2667v4 --policy bhyve-12.1 --duration 60s --os windows-10-1909 -o win.yaml
`;

/** Simulations the fit runs at most (it stops sooner once every reason is within 0.1 %). */
const FIT_ITERATIONS = 40;

export async function importCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'import', IMPORT_USAGE, argv, {
    cpu: { type: 'string' },
    duration: { type: 'string' },
    policy: { type: 'string' },
    tunable: { type: 'string', multiple: true },
    'host-tick-hz': { type: 'string' },
    vcpus: { type: 'string' },
    os: { type: 'string' },
    x2apic: { type: 'boolean' },
    xapic: { type: 'boolean' },
    name: { type: 'string' },
    'interrupts-per-second': { type: 'string' },
    'max-error': { type: 'string' },
    'sim-seconds': { type: 'string' },
    seed: { type: 'string' },
    'carry-exit-times': { type: 'boolean' },
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
  });
  if (typeof parsed === 'number') return parsed;
  const o = parsed.values;
  let outFile: string | undefined;
  try {
    outFile = singleOut(o.out, parsed.positionals.slice(1));
  } catch (e) {
    return refuseOption(io, 'import', e);
  }
  const bad = (msg: string): number => {
    io.err(`vmexit-lab import: ${msg}`);
    return ExitStatus.BAD_INPUT;
  };
  // What is wrong with the command line (not with the report): ends where the options are listed.
  const refuse = (e: string | UsageError): number =>
    refuseOption(io, 'import', typeof e === 'string' ? new UsageError(e) : e);
  const [format, file, ...extra] = parsed.positionals;
  if (format === undefined || file === undefined) {
    io.err(usageProblem('import', 'give a format and a report file'));
    return ExitStatus.BAD_INPUT;
  }
  if (extra.length > 0) return refuse(`one report at a time (extra arguments: ${extra.join(' ')})`);
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    return refuse(unknownName('format', format, REPORT_FORMATS));
  if (o.cpu === undefined)
    return refuse(
      '--cpu is required: the CPU profile of the host the report was taken on (vmexit-lab cpus lists them)',
    );
  let cpu: CpuProfile;
  try {
    cpu = findCpuProfile(loadCpuCatalog(), o.cpu);
  } catch (e) {
    return e instanceof CpuProfileNotFoundError ? refuse(unknownCpu(e)) : bad((e as Error).message);
  }
  const policyText = o.policy ?? (format === 'bhyvectl' ? undefined : 'kvm');
  if (policyText === undefined)
    return refuse(
      `--policy is required for bhyvectl reports (bhyve releases differ exactly in what this tool measures): one of ${POLICY_NAMES.filter((p) => p.startsWith('bhyve')).join(', ')}`,
    );
  if (!(POLICY_NAMES as readonly string[]).includes(policyText))
    return refuse(unknownName('policy', policyText, POLICY_NAMES));
  const policy = policyText as PolicyName;
  const tunables = parseTunableFlags(o.tunable ?? [], policy);
  if (typeof tunables === 'string') return refuse(tunables);
  const os = (o.os ?? 'ubuntu-18.04') as GuestOsName;
  if (!(GUEST_OS_NAMES as readonly string[]).includes(os)) return refuse(unknownName('--os', os, GUEST_OS_NAMES));
  let durationFlag: number | undefined,
    simSecondsFlag: number | undefined,
    seed: number,
    irq: number | undefined,
    vcpusFlag: number | undefined,
    maxError: number | undefined,
    hostTickHz: number | undefined;
  try {
    hostTickHz = numberOption(o['host-tick-hz'], '--host-tick-hz', MIN_HOST_TICK_HZ, MAX_HOST_TICK_HZ, true);
    durationFlag = durationOption(o.duration, '--duration');
    simSecondsFlag = numberOption(o['sim-seconds'], '--sim-seconds', 0.1, 3600, false, 'seconds');
    seed = numberOption(o.seed, '--seed', 0, 2 ** 32 - 1, true) ?? 1;
    irq = numberOption(o['interrupts-per-second'], '--interrupts-per-second', 0, MAX_RATE_PER_SECOND);
    vcpusFlag = numberOption(o.vcpus, '--vcpus', 1, 64, true);
    maxError = numberOption(o['max-error'], '--max-error', 0, 1e6);
  } catch (e) {
    if (e instanceof UsageError) return refuseOption(io, 'import', e);
    throw e;
  }
  const tickProblem = hostTickHz === undefined ? undefined : hostTickProblem('--host-tick-hz', hostTickHz, policy);
  if (tickProblem !== undefined) return refuse(tickProblem);

  let report: ExitReport;
  let reportText: string;
  try {
    reportText = readInputText(file);
  } catch (e) {
    return bad(
      unreadable(
        file,
        e,
        'report',
        `the ${format} report saved to a file (${TAKE_REPORT[format as ReportFormat]} on the measured host; docs/IMPORT.md)`,
      ),
    );
  }
  try {
    report = parseReport(reportText, file, format as ReportFormat);
  } catch (e) {
    if (!(e instanceof ReportFormatError)) return bad(`cannot read ${file}: ${(e as Error).message}`);
    // The usual cause of a report that does not read: another tool's output given the wrong format.
    const other = readableAs(reportText, format as ReportFormat);
    return bad(
      other.length > 0
        ? `${e.message}\n${file} reads as a ${other[0]} report: vmexit-lab import ${other[0]} ${file} ...`
        : e.message,
    );
  }
  if (report.vendor !== 'unknown' && report.vendor !== cpu.vendor) {
    return bad(
      `${file} is a report of an ${report.vendor === 'intel' ? 'Intel VT-x' : 'AMD SVM'} host, but --cpu ${cpu.id} is ${cpu.vendor === 'intel' ? 'Intel' : 'AMD'}`,
    );
  }
  if (report.rows.length === 0)
    return bad(
      `${file}: no exit reasons in the report${report.notes
        .filter((n) => /debugfs|child events/.test(n))
        .map((n) => `: ${n}`)
        .join('')}`,
    );
  // The rows' own rates (kvm_stat) need no duration; counts do, and the span then only sizes the
  // fit. A report whose counts cover a span it states (a kvm_stat log) is divided by --duration when
  // one is given: the user's span overrides the one the log implies (un-stamped rows are taken as 1 s).
  const overridden = durationFlag !== undefined && report.durationSeconds !== undefined;
  const rated = !overridden && report.rows.every((r) => r.perSecond !== undefined);
  const seconds = durationFlag ?? report.durationSeconds;
  if (seconds === undefined && !rated)
    return bad(
      `--duration is required: how long the recording lasted (e.g. 30s); ${file} does not record it${report.format === 'kvm-stat' ? ' and has no rates' : ''}${report.refreshes !== undefined ? `. It holds ${report.refreshes} refreshes of 'perf kvm stat live', summed; each counts one display interval (-d, default 1 s): give ${report.refreshes} intervals, e.g. --duration ${report.refreshes}s` : report.live === true ? ". It is one refresh of 'perf kvm stat live', which counts one display interval (-d, default 1 s): give that, e.g. --duration 1s" : ''}`,
    );
  const vcpus = vcpusFlag ?? report.vcpus ?? 1;
  if (vcpus > MAX_VCPUS)
    return bad(`${file} has ${vcpus} vCPU sections; a profile holds at most ${MAX_VCPUS} (give --vcpus)`);
  const { rates, unknown } = measuredRates(report, cpu, vcpus, seconds, rated);
  if (o.x2apic === true && o.xapic === true) return bad('--x2apic and --xapic: give one LAPIC mode');
  const x2apic =
    o.x2apic === true ||
    (o.xapic !== true &&
      measuredX2apicMode(
        policy,
        loadModelData().guestModels.get(os)?.usesX2apicWhenOffered === true,
        cpu,
        rates.keys(),
      ));
  // perf and kvm_stat count every vCPU they watched and do not say how many (bhyvectl has one
  // section per vCPU, perf's "VCPU n" scope one): a rate over several vCPUs taken as one's is
  // several times a vCPU's, and the profile halts, exits and takes interrupts that much more often.
  if (vcpusFlag === undefined && report.vcpus === undefined)
    io.err(
      `note: --vcpus not given: ${file}'s exits (${report.format === 'perf-kvm-stat' ? "perf's 'all VCPUs'" : report.format === 'kvmexit' ? "kvmexit's, one VM's threads collapsed" : "kvm_stat's, every vCPU of the guests it watched"}) are taken as one vCPU's; give --vcpus N, the vCPUs the report covered, for per-vCPU rates`,
    );
  if (overridden)
    io.err(
      `note: --duration ${String(seconds)} s replaces the report's own span (${String(report.durationSeconds)} s)`,
    );
  if (rates.size === 0)
    return bad(`${file}: no exit reason the model knows (found: ${report.rows.map((r) => r.name).join(', ')})`);
  // A rate no vCPU can reach is a damaged count or a wrong span: fitted, it was capped at the
  // profile's 1e8 a second and simulated for ever (a kvmexit count of 1e23: no answer in 200 s).
  const perVcpu = [...rates.values()].reduce((a, b) => a + b, 0);
  if (!(perVcpu <= MAX_EXITS_PER_VCPU_SECOND))
    return bad(
      `${file}: ${perVcpu.toPrecision(3)} exits per vCPU-second (its counts over ${seconds === undefined ? 'its rates' : `${String(seconds)} s`} and ${vcpus} vCPU(s)); expected at most ${MAX_EXITS_PER_VCPU_SECOND.toExponential(0)} (a VM exit and its entry take more than 100 ns): check the report's counts, --duration and --vcpus`,
    );
  // Every HLT needs an interrupt to wake the vCPU (the profile reader refuses HLTs without them).
  if (irq === 0 && [...rates.keys()].some((n) => n === 'HLT' || n === 'VMEXIT_HLT'))
    return bad(`--interrupts-per-second 0: ${file} has HLT exits, and a halted vCPU wakes only on an interrupt`);
  let measuredTimePerExit: Record<string, { measuredNs: number; modelNs: number }> | undefined;
  if (o['carry-exit-times'] === true) {
    measuredTimePerExit = carriedExitTimes(report, cpu, policy);
    if (Object.keys(measuredTimePerExit).length === 0)
      return bad(`--carry-exit-times: ${file} has no time per exit (only perf kvm stat reports carry one)`);
  }
  // At least the report's own span, and long enough for ~2,000 simulated exits in all (fewer make the
  // fit chase Poisson noise), 10..120 s. The span matters for the slow processes: a few halts and
  // wake-ups set the running fraction, and with it every per-guest-second rate; simulating as long as
  // the report measured samples as many of them as the report did, and a run of the profile over the
  // measured span with the fit's seed is the fit's own simulation (test/import/roundTrip.test.ts).
  const totalRate = [...rates.values()].reduce((a, b) => a + b, 0) * vcpus;
  const simSeconds =
    simSecondsFlag ?? Math.min(120, Math.max(10, Math.ceil(seconds ?? 0), Math.ceil(2000 / Math.max(totalRate, 1e-9))));
  if (o.name !== undefined && !NAME_RE.test(o.name))
    return bad(`--name "${o.name}": expected letters, digits, ".", "_" or "-", starting with a letter or digit`);
  const name =
    o.name ??
    ((file.split(/[\\/]/).pop() ?? '')
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') ||
      'imported');
  const fit = fitWorkload(rates, {
    name,
    os,
    vcpus,
    x2apic,
    cpu,
    policy,
    tunables,
    ...(hostTickHz !== undefined ? { hostTickHz } : {}),
    simSeconds,
    seed,
    maxIterations: FIT_ITERATIONS,
    onIteration: fitProgress(io.err, io.now ?? ((): number => performance.now()), FIT_ITERATIONS),
    ...(irq !== undefined ? { interruptsPerSecond: irq } : {}),
    ...(measuredTimePerExit !== undefined ? { measuredTimePerExit } : {}),
    data: loadModelData(),
    source: {
      format,
      file: file.split(/[\\/]/).pop() ?? file,
      cpu: cpu.id,
      policy,
      ...(Object.keys(tunables).length > 0 ? { tunables } : {}),
      ...(hostTickHz !== undefined ? { hostTickHz } : {}),
      ...(seconds !== undefined ? { durationSeconds: seconds } : {}),
      ...(rated ? { rates: 'measured by the report' } : {}),
      vcpus,
    },
  });
  const table = formatFitTable(fit, unknown);
  const yaml = renderWorkloadProfile(
    fit.profile,
    fit,
    [
      `imported from ${format} report ${fit.profile.source?.file as string} (${cpu.id}, ${policy}${hostTickHz !== undefined ? `, host tick ${hostTickHz} Hz` : ''}, ${seconds === undefined ? "the report's rates" : `${seconds} s`}, ${vcpus} vCPU${vcpus === 1 ? '' : 's'})`,
      ...fit.notes,
      ...fit.misses.map((m) => `fit misses: ${m}`),
    ],
    unknown,
  );
  // -o FILE is always the profile, the file what-if and scenarios load; --json is what stdout shows
  // (a pipeline's 'import --json -o p.yaml' reads the fit and keeps a profile that loads).
  if (o.json)
    io.out(
      `${JSON.stringify({ profile: fit.profile, fit: fit.rows, unmodelled: fit.unmodelled, unknown, iterations: fit.iterations, notes: [...report.notes, ...fit.notes], misses: fit.misses }, null, 2)}\n`,
    );
  else if (outFile === undefined) io.out(yaml);
  io.err(table);
  for (const n of [...report.notes, ...fit.notes]) io.err(`note: ${n}`);
  for (const hint of featureHints(rates, resolvePolicy(policy, cpu, tunables), cpu, policy, o.tunable ?? []))
    io.err(`note: ${hint}`);
  // After the fit's table and notes, so the last line says the profile is not there (exit 3, as run's outputs).
  if (outFile !== undefined && !writeOneOutput('import', io, outFile, yaml, 'the workload profile'))
    return ExitStatus.INTERNAL;
  const total = fit.rows.reduce((a, r) => a + r.measured, 0);
  const surplus = fit.rows.filter((r) => r.errorPercent === null && r.simulated > 0.01 * total);
  if (surplus.length > 0) {
    io.err(
      `note: the simulation has exits the report lacks (${surplus.map((r) => r.reason).join(', ')}): the measured host avoided them, e.g. with APIC virtualization this CPU profile or policy lacks — check --cpu, --policy, --tunable and --x2apic`,
    );
  }
  const missed = [
    ...fit.rows.filter((r) => r.errorPercent !== null && Math.abs(r.errorPercent) > 5),
    ...fit.unmodelled,
    ...unknown,
  ];
  if (missed.length > 0)
    io.err(
      `warning: ${missed.length} reason(s) of the report are missed by more than 5 % or not modelled (see the table)`,
    );
  for (const m of fit.misses) io.err(`fit misses: ${m}`);
  if (maxError === undefined && fit.misses.length > 0) {
    io.err(
      `vmexit-lab import: the best fit misses a reason by ${fit.worstMissPercent.toFixed(2)} % (more than ${MISS_PERCENT} %); the profile is written, but it does not reproduce the report`,
    );
    return ExitStatus.THRESHOLD_FAILED;
  }
  if (maxError !== undefined) {
    // The reason that decides, named: a rare one the fit's span did not draw is -100 % too.
    const judged = [
      ...fit.rows
        .filter((r) => r.errorPercent !== null)
        .map((r) => ({ reason: r.reason, e: Math.abs(r.errorPercent!) })),
      ...fit.unmodelled.map((u) => ({ reason: `${u.reason} (not modelled)`, e: 100 })),
      ...unknown.map((u) => ({ reason: `${u.name} (unknown reason)`, e: 100 })),
    ];
    const worst = judged.reduce((a, b) => (b.e > a.e ? b : a), { reason: '', e: 0 });
    if (worst.e > maxError) {
      io.err(
        `vmexit-lab import: the fit misses ${worst.reason} by ${missText(worst.e, maxError)} % (more than --max-error ${String(maxError)} %)`,
      );
      return ExitStatus.THRESHOLD_FAILED;
    }
  }
  return ExitStatus.OK;
}
