import type { Reproducer, RunResults, ThresholdOutcome, VariantResult, ViolationRecord } from '../results/types.js';
import { formatFigure, nsText, perGuestSecond, percentText } from '../results/figures.js';
import {
  allOutcomes,
  NOT_JUDGED_ON_SHARD,
  notJudgedWhy,
  partialNoVerdictText,
  runFailed,
  thresholdValueFigure,
} from '../results/thresholds.js';
import { textTable } from './table.js';
import { entryFailureLine, groupEntryFailures } from './entryFailures.js';
import { checkTallies } from './violations.js';

/**
 * Human and CI renderings of results.json: a terminal table, a Markdown summary for PR comments and
 * a JUnit XML file (one testcase per threshold, one per invariant check that tripped and per set of
 * failed VM-entry checks: named by the check, not the guest, so a CI tool follows the same test from run
 * to run however many guests tripped it).
 */

function topExits(v: VariantResult, n: number): string {
  return Object.entries(v.totals.exits)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, c]) => `${name} ${formatFigure(perGuestSecond(v, c))}/s`)
    .join(', ');
}

/**
 * A threshold's measured value as its message writes it (thresholdValueFigure: beside its bound): the
 * summary, JUnit, the Markdown summary and the HTML report show one value one way.
 */
export function thresholdValueText(t: ThresholdOutcome): string {
  return t.value === null ? 'no data' : thresholdValueFigure(t.value, t.expr);
}

/**
 * What a failed threshold says: its message, which holds the value, else the value alone (the
 * text summary and JUnit; printing both showed one value twice, once rounded another way).
 */
function failureText(t: ThresholdOutcome): string {
  return t.message ?? `value ${thresholdValueText(t)}`;
}

/**
 * A stopped run's threshold (partial: Ctrl-C, SIGTERM, a stop), evaluated on the part that ran: no
 * verdict, then what that part measured. The one wording of JUnit's skipped case, the text summary,
 * the Markdown summary's note and the HTML report's row; `partialReason` where the text stands alone
 * (a JUnit case), none where the stop is said above it.
 */
export function stoppedThresholdText(t: ThresholdOutcome, partialReason?: string): string {
  return `${partialNoVerdictText(partialReason)}; on the part that ran: ${failureText(t)}`;
}

/** A judged threshold of a stopped run (not a shard's or a failed run's, which are not judged at all). */
export function noVerdict(results: RunResults, t: ThresholdOutcome): boolean {
  return results.partial === true && t.judged !== false;
}

function thresholdLine(results: RunResults, t: ThresholdOutcome): string {
  // A shard's threshold (`run --shard I/N`, N > 1): said, not judged.
  if (t.judged === false) return `  skip ${t.metric}: ${t.expr}  - ${t.message ?? NOT_JUDGED_ON_SHARD}`;
  // A stopped run's: no verdict, by the rule JUnit, Markdown and the HTML report ask (noVerdict).
  if (noVerdict(results, t)) return `  --   ${t.metric}: ${t.expr}  - ${stoppedThresholdText(t)}`;
  if (!t.passed) return `  FAIL ${t.metric}: ${t.expr}  - ${failureText(t)}`;
  return `  ok   ${t.metric}: ${t.expr}  (value ${thresholdValueText(t)})`;
}

/** Host seconds spent handling the variant's exits (results.json hostSecondsInExits, summed over reasons). */
function hostSecondsInExits(v: VariantResult): number {
  return Object.values(v.totals.hostSecondsInExits).reduce((a, b) => a + b, 0);
}

/**
 * Host time in exits as `perf kvm stat report` users compare it: the share of vCPU time the host
 * spent handling exits (as compare's "host time in exits / vCPU-s"), and the mean per exit. The one
 * home of both texts: the text summary, the Markdown summary and the HTML report's variant table.
 */
export function exitHostTime(v: VariantResult): [string, string] {
  const s = hostSecondsInExits(v);
  return [
    v.totals.vcpuSeconds > 0 ? percentText(s / v.totals.vcpuSeconds) : '-',
    v.totals.exitsTotal > 0 ? nsText((s * 1e9) / v.totals.exitsTotal) : '-',
  ];
}

/**
 * A variant's work-bound phases: [phase, mean seconds of the guests that finished it (undefined: none
 * did), guests that had not finished it when the run ended]. The one home of what the summaries and
 * the HTML report show for phases: a mean over the guests that got through is not shown bare.
 */
export function phaseEntries(v: VariantResult): [string, number | undefined, number][] {
  const unfinished = v.totals.phaseUnfinished ?? {};
  const names = Object.keys(v.totals.phaseSeconds);
  for (const p of Object.keys(unfinished)) if (!names.includes(p)) names.push(p);
  return names.map((p) => [p, v.totals.phaseSeconds[p], unfinished[p] ?? 0]);
}

/** " (N unfinished)" after a phase's time when guests had not finished it; "" when all had. */
export function unfinishedText(missing: number): string {
  return missing > 0 ? ` (${missing} unfinished)` : '';
}

function latencyMean(v: VariantResult): string {
  const h = v.totals.interruptLatency;
  return h.count > 0 ? nsText(h.sumNs / h.count) : '-';
}

/** A run that did not reach its end (Ctrl-C, a stop, a failed task): said above its figures. */
function partialLine(results: RunResults): string {
  const why = runFailed(allOutcomes(results))
    ? 'Thresholds not judged: the run failed.'
    : 'Thresholds are evaluated on the part that ran: no verdict.';
  return `partial results: ${results.partialReason ?? 'the run stopped before its end'} ${why}`;
}

/**
 * A Markdown table cell: "|" would end the cell (GFM escapes it with a backslash, in code spans
 * too) and a newline the row. Names are checked when a scenario loads; results.json files given to
 * merge or compare are not, so their strings are escaped here.
 */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

interface ViolationGroup {
  /** The earliest in simulated time (the first in results order among equals). */
  readonly earliest: ViolationRecord;
  readonly count: number;
  /** Distinct guests, as the HTML report counts them. */
  readonly guests: number;
  /** The group's shrunk reproducer: `run` shrinks the earliest of each variant and check. */
  readonly reproducer: Reproducer | undefined;
}

/** A variant's violations by check, in order of first appearance (violations.ts checkTallies, the HTML report's grouping). */
function groupViolations(list: readonly ViolationRecord[]): ViolationGroup[] {
  return checkTallies('', list).map((t) => {
    const earliest = list[t.earliest];
    return {
      earliest,
      count: t.count,
      guests: t.guests.size,
      // The earliest's own, else the first the group has (a file where another one carries it).
      reproducer: earliest.reproducer ?? list.find((x) => x.check === t.check && x.reproducer)?.reproducer,
    };
  });
}

/**
 * A check's violations in one variant, as the summary line and the JUnit case say them: the earliest
 * (its message and where), preceded by how many times and on how many guests when more than once.
 */
function violationGroupText(g: ViolationGroup): string {
  const viol = g.earliest;
  const where = `${viol.message} - guest ${viol.guest}, host ${viol.host}, vCPU ${viol.vcpu}, step ${viol.step}, t=${nsText(viol.simTimeNs)}`;
  return g.count === 1
    ? where
    : `${g.count} times on ${g.guests} guest${g.guests === 1 ? '' : 's'}; the earliest: ${where}`;
}

/**
 * A check's JUnit case: a failure when the scenario does not expect it (the earliest's LAPIC state and
 * the reproducer in the message), else a passing case whose output says what tripped and how to
 * replay it (an expected violation does not fail the run).
 */
function violationCase(g: ViolationGroup): JunitCase {
  const viol = g.earliest;
  const r = g.reproducer;
  const name = `invariant ${viol.check}`;
  if (viol.expected) return { name, out: `${violationGroupText(g)} (expected)${r ? `; reproduce: ${r.command}` : ''}` };
  const repro = r ? `; reproduce with ${r.guests.length} guest(s) up to t=${r.simTimeNs} ns: ${r.command}` : '';
  return { name, failure: `${violationGroupText(g)}; state ${JSON.stringify(viol.state)}${repro}` };
}

/** Plain-text summary printed after `vmexit-lab run`. */
export function renderSummary(results: RunResults): string {
  const lines: string[] = [];
  lines.push(
    `scenario ${results.scenario} (seed ${results.seed}${results.shard ? `, shard ${results.shard.index}/${results.shard.count}` : ''}) - ${formatFigure(results.wallSeconds)} s wall`,
  );
  const rows = results.variants.map((v) => [
    v.name,
    v.host.cpu,
    v.policy,
    formatFigure(v.totals.simulatedSeconds),
    formatFigure(perGuestSecond(v, v.totals.exitsTotal)),
    ...exitHostTime(v),
    formatFigure(perGuestSecond(v, v.totals.cr8Accesses)),
    phaseEntries(v)
      .map(([p, s, missing]) => `${p} ${s === undefined ? '-' : `${formatFigure(s)}s`}${unfinishedText(missing)}`)
      .join(' ') || '-',
    latencyMean(v),
    String(v.totals.violations.length),
  ]);
  const header = [
    'variant',
    'cpu',
    'policy',
    'sim s',
    'exits/s/guest',
    'host time in exits',
    'per exit',
    'cr8/s/guest',
    'phases',
    'irq latency',
    'violations',
  ];
  if (results.partial === true) lines.push(partialLine(results));
  lines.push(...textTable(header, rows, { rule: true }));
  for (const v of results.variants) {
    lines.push('');
    lines.push(`${v.name}: ${topExits(v, 5) || 'no exits'}`);
    // One line per check, as failed VM entries below (a large fleet's panic trips thousands of guests).
    for (const g of groupViolations(v.totals.violations)) {
      const viol = g.earliest;
      lines.push(`  violation ${viol.check}${viol.expected ? ' (expected)' : ''}: ${violationGroupText(g)}`);
      const r = g.reproducer;
      if (r) lines.push(`    reproduce (${r.guests.length} guest${r.guests.length === 1 ? '' : 's'}): ${r.command}`);
    }
    // One line per set of failed checks, with the SDM's wording (src/report/entryFailures.ts).
    for (const g of groupEntryFailures(v.totals.entryFailures)) lines.push(`  ${entryFailureLine(g)}`);
    for (const t of v.thresholds) lines.push(thresholdLine(results, t));
  }
  if (results.crossVariantThresholds.length > 0) {
    lines.push('');
    lines.push('across variants:');
    for (const t of results.crossVariantThresholds) lines.push(thresholdLine(results, t));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Markdown for a CI job summary or PR comment. `label`: the heading's name, the scenario's unless
 * several scenarios share the summary (renderMarkdownAll: scenarioLabels, as JUnit).
 */
export function renderMarkdown(results: RunResults, label = results.scenario): string {
  const out: string[] = [];
  out.push(`### vmexit-lab: ${cell(label)}`);
  out.push('');
  if (results.partial === true) out.push(`> **${partialLine(results)}**`, '');
  out.push(
    '| variant | cpu | policy | exits/s per guest | host time in exits | per exit | %cr8/s per guest | phases | violations |',
  );
  out.push('|---|---|---|---:|---:|---:|---:|---|---:|');
  for (const v of results.variants) {
    const [share, perExit] = exitHostTime(v);
    out.push(
      `| ${cell(v.name)} | ${cell(v.host.cpu)} | ${cell(v.policy)} | ${formatFigure(perGuestSecond(v, v.totals.exitsTotal))} | ${share} | ${perExit} | ${formatFigure(perGuestSecond(v, v.totals.cr8Accesses))} | ${
        phaseEntries(v)
          .map(
            ([p, s, missing]) =>
              `${cell(p)} ${s === undefined ? '-' : `${formatFigure(s)} s`}${unfinishedText(missing)}`,
          )
          .join(', ') || '-'
      } | ${v.totals.violations.length} |`,
    );
  }
  const all = [
    ...results.variants.flatMap((v) => v.thresholds.map((t) => ({ v: v.name, t }))),
    ...results.crossVariantThresholds.map((t) => ({ v: '(all)', t })),
  ];
  if (all.length > 0) {
    out.push('');
    // A shard's thresholds (`run --shard I/N`, N > 1) or a failed run's: listed as not judged, the reason said once.
    if (all.some(({ t }) => t.judged === false)) out.push(`Thresholds ${notJudgedWhy(all.map(({ t }) => t))}.`, '');
    // A stopped run's: no verdict, as its JUnit cases and the text summary say (stoppedThresholdText).
    const stopped = all.some(({ t }) => noVerdict(results, t));
    if (stopped) out.push(`Thresholds: ${partialNoVerdictText()}; the values are those of the part that ran.`, '');
    out.push('| | variant | threshold | value |');
    out.push('|---|---|---|---:|');
    for (const { v, t } of all)
      out.push(
        `| ${t.judged === false ? 'not judged' : noVerdict(results, t) ? 'no verdict' : t.passed ? 'pass' : '**FAIL**'} | ${cell(v)} | \`${cell(`${t.metric}: ${t.expr}`)}\` | ${t.judged === false ? '-' : thresholdValueText(t)} |`,
      );
  }
  return `${out.join('\n')}\n`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * `timestamp` as the JUnit schema (Ant's junit.xsd, which Jenkins and GitLab follow) writes it: an
 * ISO 8601 date-time in UTC without zone or fraction, "2026-11-25T06:00:00".
 */
function junitTimestamp(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)/.exec(iso);
  return m ? m[1] : iso;
}

/** Seconds for a `time` attribute: decimal, at most millisecond precision, never negative. */
function junitSeconds(s: number): string {
  return String(Math.max(0, Math.round(s * 1000) / 1000));
}

interface JunitCase {
  readonly name: string;
  readonly failure?: string;
  /** Why the case was not judged (a shard's threshold): a `<skipped>` case, neither pass nor fail. */
  readonly skipped?: string;
  readonly out?: string;
}

/** One scenario's testsuites, and their counts for the `<testsuites>` root. */
interface JunitSuites {
  readonly lines: string[];
  readonly tests: number;
  readonly failures: number;
  readonly skipped: number;
}

/**
 * JUnit XML: one testsuite per variant (plus one for cross-variant thresholds), a testcase per
 * threshold, per invariant check that tripped (however many guests: the earliest and the count in its
 * message) and per set of failed VM-entry checks; a shard's thresholds, a failed run's and a stopped run's (partial:
 * no verdict) are skipped cases. Times: the variants run side by side
 * (on the worker pool) within the run, so each suite's `time` is the run's wall seconds and its
 * `timestamp` the run's start; a testcase checks finished results (`time="0"`).
 */
function junitSuites(results: RunResults, label: string = results.scenario): JunitSuites {
  const suites: string[] = [];
  const wall = junitSeconds(results.wallSeconds);
  const stamp = junitTimestamp(results.startedAt);
  let total = 0;
  let totalFailures = 0;
  let totalSkipped = 0;
  // A shard's threshold (`run --shard I/N`, N > 1) or a failed run's is a skipped case: CI tools show
  // it grey, not red. So is a stopped run's (Ctrl-C, SIGTERM: partial, judged on the part that ran):
  // the log says "partial results, no verdict", and a red case judged on part of the run would say
  // otherwise; the stop is said once, by the failed `run` case. What the part measured stays in the message.
  const thresholdCase = (t: ThresholdOutcome): JunitCase =>
    t.judged === false
      ? { name: `${t.metric}: ${t.expr}`, skipped: t.message ?? NOT_JUDGED_ON_SHARD }
      : noVerdict(results, t)
        ? { name: `${t.metric}: ${t.expr}`, skipped: stoppedThresholdText(t, results.partialReason) }
        : { name: `${t.metric}: ${t.expr}`, failure: t.passed ? undefined : failureText(t) };
  const suite = (name: string, cases: readonly JunitCase[]): void => {
    const failures = cases.filter((c) => c.failure !== undefined).length;
    const skipped = cases.filter((c) => c.failure === undefined && c.skipped !== undefined).length;
    total += cases.length;
    totalFailures += failures;
    totalSkipped += skipped;
    suites.push(
      `  <testsuite name="${xml(`${label}/${name}`)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${wall}" timestamp="${stamp}">`,
    );
    for (const c of cases) {
      const open = `    <testcase classname="${xml(label)}" name="${xml(c.name)}" time="0"`;
      if (c.failure === undefined && c.skipped !== undefined)
        suites.push(`${open}>\n      <skipped message="${xml(c.skipped)}"/>\n    </testcase>`);
      else if (c.failure === undefined && c.out !== undefined)
        suites.push(`${open}>\n      <system-out>${xml(c.out)}</system-out>\n    </testcase>`);
      else if (c.failure === undefined) suites.push(`${open}/>`);
      else suites.push(`${open}>\n      <failure message="${xml(c.failure)}"/>\n    </testcase>`);
    }
    suites.push('  </testsuite>');
  };
  // A run cut short (Ctrl-C, a stop): a CI test report says so first, not only through its thresholds.
  if (results.partial === true)
    suite('run', [
      { name: 'the run reached its end', failure: `partial results: ${results.partialReason ?? 'stopped'}` },
    ]);
  for (const v of results.variants) {
    const cases: JunitCase[] = v.thresholds.map(thresholdCase);
    // Grouped as the summary groups them: a case per check, not per guest (a large fleet's panic
    // trips thousands of guests, and a case named after a guest is a new test whenever another trips).
    for (const g of groupViolations(v.totals.violations)) cases.push(violationCase(g));
    for (const g of groupEntryFailures(v.totals.entryFailures)) {
      const f = g.first;
      const what = f.failedChecks.length > 0 ? f.failedChecks.join(', ') : f.message;
      cases.push({
        name: `VM entry: VM-instruction error ${f.vmInstructionError}, ${what}`,
        failure: entryFailureLine(g),
      });
    }
    suite(v.name, cases);
  }
  if (results.crossVariantThresholds.length > 0) {
    suite('across-variants', results.crossVariantThresholds.map(thresholdCase));
  }
  return { lines: suites, tests: total, failures: totalFailures, skipped: totalSkipped };
}

/**
 * The name each scenario's suites and testcases carry in a document of several (`SCENARIO/VARIANT`,
 * classname `SCENARIO`; the HTML report's contents too): its name where no other scenario of the
 * document has it; else its name and file, `NAME (FILE)`; and where that is shared too (the same
 * file twice), ` #K` after it, K its place (from 1) among those. CI reporters key tests by suite and classname: two suites of one name
 * merge or overwrite each other's cases. Stable: the same arguments give the same names.
 */
export function scenarioLabels(all: readonly Pick<RunResults, 'scenario' | 'file'>[]): string[] {
  const count = <T>(xs: readonly T[]): Map<T, number> => {
    const m = new Map<T, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const byName = count(all.map((r) => r.scenario));
  const first = all.map((r) => (byName.get(r.scenario)! > 1 ? `${r.scenario} (${r.file})` : r.scenario));
  const byFirst = count(first);
  const seen = new Map<string, number>();
  const labels = first.map((l) => {
    if (byFirst.get(l)! === 1) return l;
    const k = (seen.get(l) ?? 0) + 1;
    seen.set(l, k);
    return `${l} #${k}`;
  });
  // A scenario named like another's label ("a (x.yaml)" beside two named "a"): its place keeps it apart.
  const taken = count(labels);
  return labels.map((l, i) => (taken.get(l)! > 1 ? `${l} #${i + 1}` : l));
}

/** One Markdown summary of several scenarios (`run A.yaml B.yaml --summary F`): a section each, named as JUnit names them. */
export function renderMarkdownAll(all: readonly RunResults[]): string {
  const labels = scenarioLabels(all);
  return all.map((r, i) => renderMarkdown(r, labels[i])).join('\n');
}

/**
 * The JUnit XML document of one run, or of the scenarios of one `vmexit-lab run A.yaml B.yaml`:
 * one document, one `<testsuites>` root holding every scenario's suites (their names start with
 * the scenario's), its counts the sums and its `time` the scenarios' wall seconds added (they run
 * one after the other). Several documents in one file (several `<?xml` declarations and roots) are
 * not XML: CI test reporters refuse the file or read only the first.
 */
export function renderJunit(results: RunResults | readonly RunResults[]): string {
  const all: readonly RunResults[] = Array.isArray(results) ? results : [results as RunResults];
  const labels = scenarioLabels(all);
  const parts = all.map((r, i) => junitSuites(r, labels[i]));
  const sum = (f: (p: JunitSuites) => number): number => parts.reduce((n, p) => n + f(p), 0);
  const skipped = sum((p) => p.skipped);
  const wall = junitSeconds(all.reduce((s, r) => s + r.wallSeconds, 0));
  const body = parts.flatMap((p) => p.lines);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="vmexit-lab" tests="${sum((p) => p.tests)}" failures="${sum((p) => p.failures)}" errors="0"${skipped > 0 ? ` skipped="${skipped}"` : ''} time="${wall}">\n${body.map((l) => `${l}\n`).join('')}</testsuites>\n`;
}
