import { readResultsFile } from '../resultsFile.js';
import { histogramQuantile } from '../../results/thresholds.js';
import type { RunResults, VariantResult } from '../../results/types.js';
import {
  ExitStatus,
  badOptionValue,
  type CliIo,
  commandArgs,
  refuseOption,
  plainDecimal,
  usageProblem,
} from '../io.js';
import { textTable } from '../../report/table.js';
import { changeAgainstText, changeText, formatFigure, percentText, secondsUnitText } from '../../results/figures.js';
import { perfTableOf, renderComparePerfTables } from '../../report/perfTable.js';
import { closest } from '../../input/diagnostics.js';
import { renamedVariant } from '../../scenario/matrix.js';

export const COMPARE_USAGE = `Usage: vmexit-lab compare [--json] [--max-regression PCT] [--metric NAME]... [--perf-table] OLD.json NEW.json

Compare two results.json files variant by variant, like benchstat: for each metric the old value,
the new value and the change. Simulation results have no sampling noise (same scenario and seed give
the same counts), so every difference is real: it comes from the change between the two runs (model,
scenario, policy or tunable). Runs with the same seed draw from identical random streams (per seed,
host, guest and vCPU): the comparison is paired and says so; with different seeds it warns that the
differences include sampling noise. Variants pair by name; an older results.json's bare names ("1")
pair with today's KEY=VALUE names ("kvm_amd.avic=1"), and variants that do not pair are named in a
note (with --max-regression and no pair at all: exit 2).

Metrics per variant: exits per guest-second by reason and in total, %cr8 accesses per guest-second,
interrupts delivered per guest-second, interrupt latency (mean, p99), host time in exits per vCPU
second (as run's summary: a percentage) and per exit (perf's Avg time; it gates no --max-regression
by itself: removing cheap exits raises it), phase completion times, invariant violations. Latencies
and phase times are simulated seconds, printed with the unit that reads best (3.7 µs); --json gives
seconds and each metric's "unit" (per_guest_second, seconds, count, ratio).

Options:
  --json                 machine-readable output
  --max-regression PCT   exit 1 if a lower-is-better metric (exits, latency, phase time, host time
                         in exits, violations) got worse by more than PCT percent in any variant
                         (5 or 5%)
  --metric NAME          compare (show, and judge with --max-regression) only this metric, named as
                         the table prints it; repeatable; NAME* takes every metric starting with
                         NAME. 'exits/s (all)' is the total exits per guest-second, 'exits/s*'
                         every exit reason too
  --perf-table           also print, per variant, both runs' exits as 'perf kvm stat report' does
                         (Samples, Samples%, Time%, Min/Max/Avg time per exit, perf's exit names);
                         with --json, as "perfTables"
  -h, --help             show this help

Exit status: 0 compared (differences alone do not fail; also when no variant pairs, which the last
line says), 1 a regression over --max-regression, 2 bad input (a file that is not a results.json, an
option, --max-regression with no variant pair), 3 --max-regression with a file of a run that stopped
before its end ("partial": true: no verdict; without --max-regression a note says it).

Examples:
  vmexit-lab compare main.json branch.json
  vmexit-lab compare --max-regression 5 baseline.json results.json
  vmexit-lab compare --metric 'exits/s (all)' --max-regression 5 baseline.json results.json
`;

/**
 * The metrics `--metric` names: each NAME exactly, or every metric starting with PREFIX for
 * `PREFIX*`. A NAME that matches no metric of either file is an error (a gate on a misspelt
 * metric would pass every patch): its text, or undefined when every NAME matched.
 */
function metricFilter(
  names: readonly string[],
  known: readonly string[],
  files: readonly [string, string],
): ((metric: string) => boolean) | string {
  const matches = (name: string, metric: string): boolean =>
    name.endsWith('*') ? metric.startsWith(name.slice(0, -1)) : metric === name;
  for (const name of names) {
    if (known.some((m) => m === name || matches(name, m))) continue;
    // 'exits/s' for the total: a name that begins a metric's is the likelier meaning.
    const guess = known.find((m) => m.startsWith(name)) ?? closest(name, known);
    const general = [...new Set(known.filter((m) => !m.startsWith('exits/s ') || m === 'exits/s (all)'))];
    return (
      `--metric ${JSON.stringify(name)} matches no metric of ${files[0]} or ${files[1]}` +
      `${guess === undefined ? '' : ` (did you mean ${JSON.stringify(guess)}?)`}; ` +
      `they have ${general.map((m) => JSON.stringify(m)).join(', ')} and one "exits/s REASON" per exit ` +
      `reason ("exits/s*" names them all); quote a name with spaces`
    );
  }
  return (metric) => names.some((n) => matches(n, metric));
}

/**
 * What a metric's numbers are: per guest and simulated second, simulated seconds, a count, or a
 * ratio of like quantities (host seconds in exits per vCPU-second).
 */
type MetricUnit = 'per_guest_second' | 'seconds' | 'count' | 'ratio';

interface MetricDelta {
  readonly variant: string;
  readonly metric: string;
  /** The unit of old and new (added in 0.1; the metric's name says it too, e.g. "(s)"). */
  readonly unit: MetricUnit;
  readonly old: number | null;
  readonly new: number | null;
  /** Relative change in percent (null when old is 0 or a side is missing). */
  readonly deltaPct: number | null;
  /**
   * A phase's time on a side where guests had not finished it (results.json phaseUnfinished): how
   * many; that side's value is then null (the mean of the guests that got through is not the phase's
   * time), and a phase finished in old and not in new is a regression under --max-regression.
   */
  readonly oldUnfinished?: number;
  readonly newUnfinished?: number;
  /** Higher values are worse for this metric. */
  readonly lowerIsBetter: boolean;
}

interface Metric {
  /** null: a phase some guests had not finished (`unfinished` of them). */
  readonly value: number | null;
  readonly unit: MetricUnit;
  readonly lowerIsBetter: boolean;
  readonly unfinished?: number;
}

function metricsOf(v: VariantResult): Map<string, Metric> {
  const m = new Map<string, Metric>();
  const t = v.totals;
  const rate = (n: number, lowerIsBetter: boolean): Metric => ({
    value: t.guestSeconds > 0 ? n / t.guestSeconds : 0,
    unit: 'per_guest_second',
    lowerIsBetter,
  });
  m.set('exits/s (all)', rate(t.exitsTotal, true));
  for (const [name, count] of Object.entries(t.exits)) m.set(`exits/s ${name}`, rate(count, true));
  m.set('cr8 accesses/s', rate(t.cr8Accesses, false));
  m.set('interrupts delivered/s', rate(t.interruptsDelivered, false));
  if (t.interruptLatency.count > 0) {
    m.set('irq latency mean (s)', {
      value: t.interruptLatency.sumNs / t.interruptLatency.count / 1e9,
      unit: 'seconds',
      lowerIsBetter: true,
    });
    // histogramQuantile answers in the histogram's unit, ns.
    const p99Ns = histogramQuantile(0.99, t.interruptLatency);
    if (p99Ns !== undefined) m.set('irq latency p99 (s)', { value: p99Ns / 1e9, unit: 'seconds', lowerIsBetter: true });
  }
  const hostSeconds = Object.values(t.hostSecondsInExits).reduce((a, b) => a + b, 0);
  m.set('host time in exits / vCPU-s', {
    value: t.vcpuSeconds > 0 ? hostSeconds / t.vcpuSeconds : 0,
    unit: 'ratio',
    lowerIsBetter: true,
  });
  // run's summary's 'per exit' (perf kvm stat's Avg time). Not a regression by itself: a change that
  // removes cheap exits (a TPR shadow's %cr8 exits) raises the mean while the host time above falls.
  m.set('host time per exit (s)', {
    value: t.exitsTotal > 0 ? hostSeconds / t.exitsTotal : 0,
    unit: 'seconds',
    lowerIsBetter: false,
  });
  const unfinished = t.phaseUnfinished ?? {};
  for (const phase of new Set([...Object.keys(t.phaseSeconds), ...Object.keys(unfinished)])) {
    const missing = unfinished[phase] ?? 0;
    m.set(
      `phase ${phase} (s)`,
      missing > 0
        ? { value: null, unit: 'seconds', lowerIsBetter: true, unfinished: missing }
        : { value: t.phaseSeconds[phase], unit: 'seconds', lowerIsBetter: true },
    );
  }
  m.set('violations', { value: t.violations.length, unit: 'count', lowerIsBetter: true });
  return m;
}

export function compareResults(a: RunResults, b: RunResults): MetricDelta[] {
  const out: MetricDelta[] = [];
  const names = [...new Set([...a.variants.map((v) => v.name), ...b.variants.map((v) => v.name)])];
  for (const name of names) {
    const va = a.variants.find((v) => v.name === name);
    const vb = b.variants.find((v) => v.name === name);
    const ma = va ? metricsOf(va) : new Map<string, Metric>();
    const mb = vb ? metricsOf(vb) : new Map<string, Metric>();
    for (const metric of [...new Set([...ma.keys(), ...mb.keys()])]) {
      const o = ma.get(metric);
      const n = mb.get(metric);
      const oldV = o !== undefined ? o.value : va ? 0 : null;
      const newV = n !== undefined ? n.value : vb ? 0 : null;
      const deltaPct = oldV !== null && newV !== null && oldV !== 0 ? ((newV - oldV) / Math.abs(oldV)) * 100 : null;
      const { unit, lowerIsBetter } = (o ?? n)!;
      out.push({
        variant: name,
        metric,
        unit,
        old: oldV,
        new: newV,
        deltaPct,
        lowerIsBetter,
        ...(o?.unfinished !== undefined ? { oldUnfinished: o.unfinished } : {}),
        ...(n?.unfinished !== undefined ? { newUnfinished: n.unfinished } : {}),
      });
    }
  }
  return out;
}

/**
 * How the two files' variants pair. A variant is compared with the variant of the same name; a name
 * written the old way (bare values, before src/scenario/matrix.ts named them KEY=VALUE: "1" for
 * `kvm_amd.avic=1`) is paired with the one variant it now names, in either file, so a baseline
 * taken before the rename still compares. `renamed` lists those pairs, `onlyOld` and `onlyNew` the
 * names left without a partner (their rows print as gone / new), `paired` how many variants pair.
 */
export interface VariantPairing {
  readonly old: RunResults;
  readonly new: RunResults;
  readonly renamed: readonly { readonly file: 'old' | 'new'; readonly from: string; readonly to: string }[];
  readonly onlyOld: readonly string[];
  readonly onlyNew: readonly string[];
  readonly paired: number;
}

export function pairVariants(a: RunResults, b: RunResults): VariantPairing {
  const renamed: { file: 'old' | 'new'; from: string; to: string }[] = [];
  const rename = (r: RunResults, file: 'old' | 'new', other: RunResults): RunResults => {
    const mine = new Set(r.variants.map((v) => v.name));
    const theirs = other.variants.map((v) => v.name).filter((n) => !mine.has(n));
    let changed = false;
    const variants = r.variants.map((v) => {
      const to = theirs.includes(v.name) ? undefined : renamedVariant(v.name, theirs);
      if (to === undefined || mine.has(to)) return v;
      changed = true;
      renamed.push({ file, from: v.name, to });
      return { ...v, name: to };
    });
    return changed ? { ...r, variants } : r;
  };
  const oldR = rename(a, 'old', b);
  const newR = rename(b, 'new', oldR);
  const oldNames = oldR.variants.map((v) => v.name);
  const newNames = newR.variants.map((v) => v.name);
  return {
    old: oldR,
    new: newR,
    renamed,
    onlyOld: oldNames.filter((n) => !newNames.includes(n)),
    onlyNew: newNames.filter((n) => !oldNames.includes(n)),
    paired: oldNames.filter((n) => newNames.includes(n)).length,
  };
}

const quoted = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(', ');

/**
 * The last line of a compare whose files share no variant: that nothing was compared, why (variants
 * pair by name), what each file has, and what to compare instead.
 */
function nothingComparedLine(pairing: VariantPairing, files: { readonly old: string; readonly new: string }): string {
  const has = (r: RunResults): string => (r.variants.length > 0 ? quoted(r.variants.map((v) => v.name)) : 'no variant');
  const scenarios =
    pairing.old.scenario === pairing.new.scenario
      ? ''
      : ` (scenarios ${JSON.stringify(pairing.old.scenario)} and ${JSON.stringify(pairing.new.scenario)})`;
  return (
    `nothing compared: variants pair by name, and ${files.old} has ${has(pairing.old)}, ` +
    `${files.new} has ${has(pairing.new)}${scenarios}; ` +
    `compare two runs of one scenario, or of scenarios with the same matrix`
  );
}

/**
 * A value of a metric as people read it: seconds with the unit that reads best ("3.7 µs"), a ratio
 * as a percentage (run's summary's 'host time in exits': "1.25 %"), others as figures.
 */
function valueText(x: number | null, unit: MetricUnit): string {
  if (x === null) return '-';
  return unit === 'seconds' ? secondsUnitText(x) : unit === 'ratio' ? percentText(x) : formatFigure(x);
}

/** A side's value, or how many guests had not finished the phase on that side. */
function sideText(x: number | null, unfinished: number | undefined, unit: MetricUnit): string {
  return unfinished === undefined ? valueText(x, unit) : `${unfinished} unfinished`;
}

export async function compareCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'compare', COMPARE_USAGE, args, {
    json: { type: 'boolean' },
    'max-regression': { type: 'string' },
    'perf-table': { type: 'boolean' },
    metric: { type: 'string', multiple: true },
  });
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length !== 2) {
    io.err(usageProblem('compare', 'expected OLD.json NEW.json'));
    return ExitStatus.BAD_INPUT;
  }
  const limitText = parsed.values['max-regression'];
  // "5%" is how people write five percent: the sign is taken, not required.
  const limit = limitText === undefined ? undefined : plainDecimal(limitText.replace(/%$/, ''), false);
  if (limitText !== undefined && (limit === undefined || limit < 0)) {
    // 1e99, 0x10: numbers, but not written as the option takes them (numberOption says it alike).
    const bare = limitText.replace(/%$/, '').trim();
    const digits = limit === undefined && bare !== '' && Number.isFinite(Number(bare)) ? ' in decimal digits' : '';
    return refuseOption(
      io,
      'compare',
      badOptionValue('--max-regression', `a percentage >= 0 (5 or 5%)${digits}`, limitText),
    );
  }
  let a: RunResults;
  let b: RunResults;
  try {
    a = readResultsFile(parsed.positionals[0]);
    b = readResultsFile(parsed.positionals[1]);
  } catch (e) {
    io.err(`vmexit-lab compare: ${(e as Error).message}`);
    return ExitStatus.BAD_INPUT;
  }
  const files = { old: parsed.positionals[0], new: parsed.positionals[1] };
  // A side that stopped early (Ctrl-C, SIGTERM, a failed task) covers only the part that ran: its
  // differences are not the change alone, and a gate on it gives no verdict (exit 3, as a partial run).
  const partial = (['old', 'new'] as const).flatMap((side) => {
    const r = side === 'old' ? a : b;
    return r.partial === true ? [{ side, why: r.partialReason ?? 'it stopped before its end.' }] : [];
  });
  const pairing = pairVariants(a, b);
  ({ old: a, new: b } = pairing);
  // Variants that do not pair compare nothing (their rows are gone / new): say which names are on
  // each side, so that a gate over renamed or different variants never passes by comparing nothing.
  const notes: string[] = pairing.renamed.map(
    (x) =>
      `${x.file === 'old' ? 'OLD' : 'NEW'} (${files[x.file]}) names a variant the old way, ${JSON.stringify(x.from)}: compared as ${JSON.stringify(x.to)}`,
  );
  if (pairing.onlyOld.length > 0 || pairing.onlyNew.length > 0)
    notes.push(
      `${pairing.paired === 0 ? 'no variant pairs' : `${pairing.paired} variant${pairing.paired === 1 ? ' pairs' : 's pair'}`}; ` +
        `only in OLD (${files.old}): ${pairing.onlyOld.length > 0 ? quoted(pairing.onlyOld) : 'none'}; ` +
        `only in NEW (${files.new}): ${pairing.onlyNew.length > 0 ? quoted(pairing.onlyNew) : 'none'}`,
    );
  if (pairing.paired === 0 && limit !== undefined) {
    io.err(`vmexit-lab compare: --max-regression ${limitText} has nothing to judge: ${notes[notes.length - 1]}`);
    return ExitStatus.BAD_INPUT;
  }
  const all = compareResults(a, b);
  const metricNames = parsed.values.metric ?? [];
  let deltas = all;
  if (metricNames.length > 0) {
    const keep = metricFilter(
      metricNames,
      [...new Set(all.map((d) => d.metric))],
      [parsed.positionals[0], parsed.positionals[1]],
    );
    if (typeof keep === 'string') {
      io.err(`vmexit-lab compare: ${keep}`);
      return ExitStatus.BAD_INPUT;
    }
    deltas = all.filter((d) => keep(d.metric));
  }
  // A phase old finished and new did not (in some guests) is the worst regression of all.
  const lostPhase = (d: (typeof deltas)[number]): boolean =>
    d.newUnfinished !== undefined && d.oldUnfinished === undefined && d.old !== null;
  // What the gate judges: the lower-is-better metrics both sides have, and phases NEW lost.
  const judged =
    limit === undefined
      ? []
      : deltas.filter((d) => lostPhase(d) || (d.lowerIsBetter && d.old !== null && d.new !== null));
  const regressions = judged.filter(
    (d) =>
      lostPhase(d) || (d.old !== null && d.new !== null && (d.deltaPct === null ? d.new > d.old : d.deltaPct > limit!)),
  );
  // Same seed: both runs drew from the same PRNG streams (seed, host, guest, vCPU): a paired comparison.
  const paired = a.seed === b.seed;
  const seeds = paired
    ? `same seed (${a.seed}): paired on identical random streams; every difference is the change, with no sampling noise`
    : `different seeds (${a.seed} vs ${b.seed}): differences include sampling noise; rerun with the same --seed for a paired comparison`;
  if (parsed.values.json) {
    io.out(
      JSON.stringify(
        {
          old: parsed.positionals[0],
          new: parsed.positionals[1],
          paired,
          ...(partial.length > 0 ? { partial: Object.fromEntries(partial.map((p) => [p.side, p.why])) } : {}),
          ...(notes.length > 0
            ? {
                variants: {
                  pairs: pairing.paired,
                  renamed: pairing.renamed,
                  onlyOld: pairing.onlyOld,
                  onlyNew: pairing.onlyNew,
                },
              }
            : {}),
          deltas,
          regressions,
          ...(parsed.values['perf-table']
            ? { perfTables: { old: a.variants.map(perfTableOf), new: b.variants.map(perfTableOf) } }
            : {}),
        },
        null,
        2,
      ),
    );
  } else {
    if (a.scenario !== b.scenario) io.out(`note: comparing different scenarios (${a.scenario} vs ${b.scenario})`);
    io.out(`note: ${seeds}`);
    for (const p of partial)
      io.out(
        `note: ${p.side.toUpperCase()} (${files[p.side]}) is partial: ${p.why} Its figures cover only the part that ran: a difference is not the change alone`,
      );
    for (const n of notes) io.out(`note: ${n}`);
    const rows = deltas
      .filter((d) => d.old !== d.new || d.metric === 'exits/s (all)')
      .map((d) => [
        d.variant,
        d.metric,
        sideText(d.old, d.oldUnfinished, d.unit),
        sideText(d.new, d.newUnfinished, d.unit),
        // A metric only OLD has is gone, not new (a variant or an exit reason NEW lacks).
        d.newUnfinished !== undefined || d.oldUnfinished !== undefined
          ? d.newUnfinished === undefined
            ? 'finished'
            : 'not finished'
          : d.deltaPct === null
            ? d.old === d.new
              ? '~'
              : d.new === null
                ? 'gone'
                : 'new'
            : limit === undefined
              ? changeText(d.deltaPct)
              : changeAgainstText(d.deltaPct, limit),
      ]);
    const header = ['variant', 'metric', 'old', 'new', 'delta'];
    io.out(textTable(header, rows, { rightAligned: (i) => i >= 2 }).join('\n'));
    const unchanged = deltas.length - rows.length;
    if (unchanged > 0) io.out(`(${unchanged} metrics unchanged)`);
    // The change itself, beside the values: at 4 significant digits a tiny regression over a
    // small limit prints the same value twice ("9.902 µs -> 9.902 µs").
    for (const r of regressions)
      io.out(
        r.newUnfinished !== undefined
          ? `regression: ${r.variant} ${r.metric} ${valueText(r.old, r.unit)} -> ${sideText(r.new, r.newUnfinished, r.unit)}: the phase no longer finished in every guest before the run ended`
          : `regression: ${r.variant} ${r.metric} ${valueText(r.old, r.unit)} -> ${valueText(r.new, r.unit)} (${r.deltaPct === null ? 'was 0' : changeAgainstText(r.deltaPct, limit!)}, over --max-regression ${limit} %)`,
      );
    if (parsed.values['perf-table'])
      io.out(`\n${renderComparePerfTables(a, b, { old: parsed.positionals[0], new: parsed.positionals[1] })}`);
    // The verdict: a paired compare ends on its unchanged count and regressions; one with no pair
    // printed each file's rows as gone / new, a table that reads as if something had been compared.
    if (pairing.paired === 0) io.out(nothingComparedLine(pairing, files));
    // The gate's verdict last, as a CI log is read from its end: a gate that passed printed nothing
    // that said so, and one that failed ended on its last regression row.
    else if (limit !== undefined) {
      const variants = new Set(judged.map((d) => d.variant)).size;
      const where = `in ${variants} variant${variants === 1 ? '' : 's'}`;
      io.out(
        partial.length > 0
          ? `--max-regression ${limit} %: no verdict, ${partial.map((p) => p.side.toUpperCase()).join(' and ')} ${partial.length === 1 ? 'is' : 'are'} partial (run it again to its end) (exit 3)`
          : regressions.length === 0
            ? `--max-regression ${limit} %: passed, no metric got more than ${limit} % worse (${judged.length} judged ${where})`
            : `--max-regression ${limit} %: FAILED, ${regressions.length} of ${judged.length} judged metrics ${where} got more than ${limit} % worse (exit 1)`,
      );
    }
  }
  if (limit !== undefined && partial.length > 0) return ExitStatus.INTERNAL;
  return regressions.length > 0 ? ExitStatus.THRESHOLD_FAILED : ExitStatus.OK;
}
