import { loadModelData } from '../../model/data.js';
import { recordJson, replay, ReplayError, type ReplayRecord } from '../../run/replay.js';
import { formatSeconds } from '../../input/units.js';
import {
  ExitStatus,
  UsageError,
  badOptionValue,
  numberOption,
  secondsOption,
  type CliIo,
  commandArgs,
  usageProblem,
} from '../io.js';
import { violationWhy } from '../../report/violationWhy.js';
import { loadAllOrExplain } from '../loadOrExplain.js';
import { rerunProgress } from '../progress.js';
import { durationLimitNs } from '../../scenario/types.js';
import { unknownVariantMessage } from '../../scenario/matrix.js';

const REPLAY_USAGE = `Usage: vmexit-lab replay FILE --variant NAME --guest G --at SECONDS [options]

Re-run exactly what one guest needs - its whole host (the host's guests share its cores), with the
same seed and random streams as 'run' - stop right after the events at simulated time SECONDS, and
print that guest's exits in the window [SECONDS - WINDOW, SECONDS] as JSON Lines:
  {"replay":{...}}                                        first line: what was replayed
  {"t":"2.000127","tNs":2000127000,"cpu":0,"exit":{"reason":28,"name":"CR_ACCESS","qualification":24},"cause":"mov from cr8"}
  {"t":"2.0004","tNs":2000400000,"cpu":1,"exit":{"reason":28,"name":"CR_ACCESS","qualification":8},"count":4096,"cause":"IRQL raise/lower %cr8 pairs, fast-forwarded (exact)"}
  {"t":"2.0005","tNs":2000500000,"cpu":1,"delivered":209,"latencyNs":2300,"via":"event injection"}
  {"t":"2.0005","tNs":2000500000,"cpu":1,"violation":{"check":"isr_isrvec_stk_out_of_sync",...}}
t is simulated seconds (exact decimal), cpu the guest's vCPU, reason the VT-x basic exit reason or
SVM exit code; a record with "count" stands for that many identical exits the engine fast-forwarded;
exits a vCPU accumulated between two of its events carry the time it was brought forward (the last
records may carry the stop time, SECONDS plus 1 ns). Each exit's "cause" says why, as far as the
model knows: an EPT violation, EPT misconfiguration or nested page fault the access behind it (device
MMIO, an APIC-page access the CPU does not virtualize, a workload profile's measured exit); an MSR
exit the MSR by its SDM or TLFS name and what the guest did ("WRMSR IA32_X2APIC_ICR (830H): IPI"); an
external interrupt which host interrupt (the host tick, the kick of a vector, a guest timer); port
I/O the port and its device. A delivery's "via" says how the interrupt reached
the guest: "event injection" (VT-x, at VM entry), "EVENTINJ" (SVM), "virtual-interrupt delivery",
"posted-interrupt processing" (a running vCPU, no exit) or "AVIC". A violation record has the check, bhyve's
message, the LAPIC state (tpr, ppr, isr, irr, isrvecStk: bhyve's in-service stack, svi, rvi,
tprThreshold) and "why": the check's rule read against that state. The {seed, guest, sim_time} exemplars of
/metrics and the reproducers of results.json (violations[].reproducer.command) are replay handles.

Options:
  --variant NAME      the variant (matrix combination) to replay; may be omitted without a matrix
  --guest G           global guest index (results.json perGuest order; exemplar label "guest")
  --at SECONDS        simulated time of interest, decimal seconds (exemplar label "sim_time")
  --window SECONDS    length of the recorded window before --at (default 0.001)
  --seed N            the run's seed, if it was overridden with 'run --seed'
  --only-guests LIST  run only these guests of the host (comma-separated global indices, including
                      G): a shrunk reproducer; the others are left out, each keeps its index
  -q, --quiet         no progress on stderr (as 'run': a bar on a terminal, else a line every 5 s
                      from 5 s on: simulated time reached over --at, and the work for until-complete)
  -h, --help          show this help

Exit status: 0 replayed (also when the guest tripped a check: it is printed), 2 bad input.

Examples:
  vmexit-lab replay scenarios/default.yaml --variant bhyve-12.1 --guest 0 --at 12.5 --window 0.1
  vmexit-lab replay scenarios/seed/e5-2667v4-apicv-panic.yaml --variant bhyve-tpr-v2 --guest 0 --at 0.001 --only-guests 0 --seed 1
  vmexit-lab replay my.yaml --guest 0 --at 10 --window 10 | jq -s 'map(select(.exit)) | group_by(.exit.name) | map({(.[0].exit.name): (map(.count // 1) | add)}) | add'
`;

export async function replayCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'replay', REPLAY_USAGE, args, {
    variant: { type: 'string' },
    guest: { type: 'string' },
    at: { type: 'string' },
    window: { type: 'string' },
    seed: { type: 'string' },
    'only-guests': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (typeof parsed === 'number') return parsed;
  const o = parsed.values;
  const bad = (msg: string): number => {
    io.err(usageProblem('replay', msg));
    return ExitStatus.BAD_INPUT;
  };
  if (parsed.positionals.length !== 1) return bad('expected exactly one scenario file');
  if (o.guest === undefined) return bad('--guest G is required: a global guest index (an integer >= 0)');
  if (o.at === undefined) return bad('--at SECONDS is required');
  let guest: number, atNs: number, windowNs: number, seed: number | undefined;
  try {
    guest = numberOption(o.guest, '--guest', 0, Infinity, true)!;
    atNs = secondsOption(o.at, '--at')!;
    windowNs = secondsOption(o.window, '--window') ?? 1e6;
    seed = numberOption(o.seed, '--seed', 0, 0xffffffff, true);
  } catch (e) {
    if (e instanceof UsageError) return bad(e.message);
    throw e;
  }
  let onlyGuests: number[] | undefined;
  if (o['only-guests'] !== undefined) {
    const parts = o['only-guests'].split(',');
    if (parts.some((p) => !/^\d+$/.test(p)))
      return bad(badOptionValue('--only-guests', 'comma-separated guest indices', o['only-guests']).message);
    onlyGuests = parts.map(Number);
  }
  const scenarios = loadAllOrExplain(parsed.positionals, io);
  if (!scenarios) return ExitStatus.BAD_INPUT;
  const scenario = seed === undefined ? scenarios[0] : { ...scenarios[0], seed };
  let variantIndex = 0;
  if (o.variant !== undefined) {
    const names = scenario.variants.map((v) => v.name);
    variantIndex = scenario.variants.findIndex((v) => v.name === o.variant);
    if (variantIndex < 0)
      // The same words as thresholds and validation cases: an old bare name ("1") of a KEY=VALUE variant.
      return bad(`${unknownVariantMessage(o.variant, names)}; variants: ${names.join(', ')}`);
  } else if (scenario.variants.length > 1) {
    return bad(
      `${scenario.file} has several variants: choose one with --variant (${scenario.variants.map((v) => v.name).join(', ')})`,
    );
  }
  // A long replay (minutes to a late --at) shows where it is on stderr, as 'run' does.
  const variant = scenario.variants[variantIndex];
  const progress = o.quiet
    ? undefined
    : rerunProgress(
        io,
        scenario,
        `replay ${scenario.name} guest ${guest}`,
        [variant],
        Math.min(durationLimitNs(scenario), atNs + 1),
      );
  try {
    let r: ReturnType<typeof replay>;
    try {
      r = replay({
        scenario,
        variantIndex,
        data: loadModelData(),
        guest,
        atNs,
        fromNs: Math.max(0, atNs - windowNs),
        onlyGuests,
        ...(progress ? { onStep: (simNs: number, work: number | undefined) => progress.step(0, simNs, work) } : {}),
      });
    } finally {
      progress?.done();
    }
    io.out(
      JSON.stringify({
        replay: {
          scenario: scenario.name,
          variant: scenario.variants[variantIndex].name,
          seed: scenario.seed,
          host: r.host,
          guest,
          label: r.target.label,
          os: r.target.model.os,
          vcpus: r.target.vcpus,
          hostGuests: r.guests.map((g) => g.index),
          from: formatSeconds(Math.max(0, atNs - windowNs)),
          at: formatSeconds(atNs),
          stoppedAt: formatSeconds(r.stopNs),
          ended: r.ended,
        },
      }),
    );
    const viols = r.violations.filter((v) => v.guest === guest).sort((a, b) => a.simTimeNs - b.simTimeNs);
    const policy = scenario.variants[variantIndex].hypervisor.policy;
    let vi = 0;
    for (const rec of r.records) {
      while (vi < viols.length && viols[vi].simTimeNs < rec.timeNs) io.out(violationLine(viols[vi++], policy));
      io.out(JSON.stringify(recordJson(wholeNs(rec))));
    }
    while (vi < viols.length) io.out(violationLine(viols[vi++], policy));
    // A window past the host's end holds nothing: said on stderr, where the header's "ended" alone
    // left a reader of an empty replay to guess why (`--at 99` of a 2-s scenario).
    if (r.ended && r.stopNs <= Math.max(0, atNs - windowNs))
      io.err(
        `vmexit-lab replay: note: guest ${guest}'s host ended at ${formatSeconds(r.stopNs)} simulated seconds, before the window ${formatSeconds(Math.max(0, atNs - windowNs))}..${formatSeconds(atNs)}: nothing to print; give --at ${formatSeconds(r.stopNs)} or less`,
      );
    // An idle guest's 1 ms window (the default) often holds nothing: the header alone, which read
    // as a replay that did not work (the --help example did that, 2026-12-05).
    else if (r.records.length === 0 && viols.length === 0)
      io.err(
        `vmexit-lab replay: note: guest ${guest} had no exit, delivery or violation in the window ${formatSeconds(Math.max(0, atNs - windowNs))}..${formatSeconds(atNs)} (${formatSeconds(windowNs)} simulated seconds, --window): nothing to print; a longer --window (e.g. --window 0.1) shows what it did before --at`,
      );
  } catch (e) {
    if (e instanceof ReplayError) return bad(e.message);
    throw e;
  }
  return ExitStatus.OK;
}

/**
 * A record with its times in whole ns, as every other output gives a time: on an overcommitted host
 * the engine keeps a vCPU's times as doubles (its share of a core), and the replay printed
 * "tNs":12498713408.015783. Cut to the ns below here, at the edge, as `t` (formatSeconds) and the
 * exemplars' sim_time already were, so an exemplar's delivery keeps its time; the core keeps its doubles.
 */
function wholeNs(rec: ReplayRecord): ReplayRecord {
  if (Number.isInteger(rec.timeNs) && (rec.kind !== 'delivery' || Number.isInteger(rec.latencyNs))) return rec;
  return rec.kind === 'delivery'
    ? { ...rec, timeNs: Math.floor(rec.timeNs), latencyNs: Math.round(rec.latencyNs) }
    : { ...rec, timeNs: Math.floor(rec.timeNs) };
}

function violationLine(
  v: {
    check: string;
    message: string;
    vcpu: number;
    simTimeNs: number;
    step: number;
    state: Readonly<Record<string, unknown>>;
  },
  policy: string,
): string {
  const why = violationWhy(v.check, v.state, policy);
  const tNs = Math.floor(v.simTimeNs);
  return JSON.stringify({
    t: formatSeconds(tNs),
    tNs,
    cpu: v.vcpu,
    violation: {
      check: v.check,
      message: v.message,
      step: v.step,
      state: v.state,
      ...(why !== undefined ? { why } : {}),
    },
  });
}
