import type { ScenarioProgress } from '../run/runScenario.js';
import type { PooledRun } from '../pool/pooledRun.js';
import type { RunResults } from '../results/types.js';
import { verdictCounts } from '../results/exitStatus.js';
import { formatFigure } from '../results/figures.js';
import {
  allOutcomes,
  notJudgedText,
  notJudgedWhy,
  partialNoVerdictText,
  thresholdTally,
} from '../results/thresholds.js';
import type { Scenario, ScenarioVariant } from '../scenario/types.js';
import type { CliIo } from './io.js';
import { variantFraction, viewOfPooledRun, viewOfScenarioProgress, type ProgressView } from './progressView.js';
import { displayWidth, fitToWidth } from './terminalWidth.js';

/**
 * Progress for long runs: a redrawn bar on a terminal, cut to the terminal's width; plain lines (at
 * most one every few seconds, or when the variant changes) when not interactive or under CI=true,
 * so CI logs stay readable. At the end, the real simulated end of every variant and a verdict line.
 *
 * How far a run is:
 *  - a fixed `duration`: simulated time over the duration (hosts run in lockstep);
 *  - `until-complete`: the duration is only a cap (maxDuration), so the fraction is the *work done*
 *    of the variant's work-bound phases, as the engine counts it (src/run/workShare.ts): per guest, its
 *    install and disk-benchmark steps done and its build CPU done, each work phase one part; the
 *    time of duration-bound phases (a boot before the install) is not work, so the line shows 0 %
 *    through it. Runs that do not report it (live totals without it) fall back to guest CPU seconds
 *    against the work-bound phases' CPU, which counts every phase's CPU, and reached 99 % halfway
 *    through README's scenario. Hosts whose work is done count as done; without either figure (the
 *    --openmetrics run on the main thread) only finished hosts count. The estimate stops at 99 %
 *    until the variant is done.
 * The ETA is elapsed x (1 - fraction) / fraction.
 */

/** Where the interactive bar is drawn (process.stderr by default); `columns` is the terminal width. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Least ms between two plain lines of the same variant (default 5000). */
  readonly intervalMs?: number;
  readonly stream?: ProgressStream;
  /** Clock in ms (tests); else the CliIo's clock, else performance.now(). */
  readonly now?: () => number;
  /**
   * A re-run of one host (`replay`, `run --timeline`) that stops at this simulated ns: its fraction is
   * the simulated time reached over it, or for an until-complete scenario the host's work done when
   * that is further (the host ends when its work is done, before --at).
   */
  readonly stopNs?: number;
  /** No plain line before the run has taken this long (ms; default 0): a short re-run prints none. */
  readonly firstLineAfterMs?: number;
}

/** Simulated seconds on the progress line: tenths below 10 s (a short run read "sim 0s" for its first
 * half simulated second), whole seconds above, and a whole second plain. */
export function simSeconds(ns: number): string {
  const s = ns / 1e9;
  if (s >= 10) return `${s.toFixed(0)}s`;
  const tenths = Math.floor(s * 10) / 10;
  return Number.isInteger(tenths) ? `${tenths}s` : `${tenths.toFixed(1)}s`;
}

/** `2 of 3 thresholds failed` / `all 5 thresholds passed`, and what else makes the exit status. */
export function verdictLine(results: RunResults): string {
  // A shard's thresholds (`run --shard I/N`, N > 1) are not judged: `vmexit-lab merge` judges them.
  const outcomes = allOutcomes(results);
  const { judged, failed, notJudged } = thresholdTally(outcomes);
  const why = notJudgedWhy(outcomes);
  const parts = [
    judged === 0
      ? notJudged > 0
        ? notJudgedText(notJudged, why)
        : 'no thresholds'
      : failed === 0
        ? judged === 1
          ? 'the threshold passed'
          : `all ${judged} thresholds passed`
        : `${failed} of ${judged} thresholds failed`,
  ];
  if (judged > 0 && notJudged > 0) parts.push(notJudgedText(notJudged, why));
  const { unexpected, expected, entryFailures: entry } = verdictCounts(results);
  if (unexpected > 0) parts.push(`${unexpected} unexpected invariant violation${unexpected === 1 ? '' : 's'}`);
  if (expected > 0) parts.push(`${expected} expected violation${expected === 1 ? '' : 's'}`);
  if (entry > 0) parts.push(`${entry} failed VM entr${entry === 1 ? 'y' : 'ies'}`);
  // Thresholds of a run cut short hold for part of it (exit status 3 or 130): not a verdict.
  // A failed run's thresholds were not judged at all (NOT_JUDGED_RUN_FAILED): nothing ran "on the part".
  if (results.partial === true)
    parts[0] = `${partialNoVerdictText()} (${parts[0]}${notJudged > 0 && judged === 0 ? '' : ' on the part that ran'})`;
  return `${results.scenario}: ${parts.join('; ')}`;
}

export class ProgressReporter {
  private readonly now: () => number;
  private readonly started: number;
  private readonly intervalMs: number;
  private readonly stream: ProgressStream;
  private lastLine = -Infinity;
  private lastKey = '';
  private drawn = false;
  /** runScenario path: each variant's simulated end as its last epoch reported it. */
  private readonly ends = new Map<number, number>();
  private lastSeen: { vi: number; simNs: number; done: boolean } | undefined;
  private readonly stopNs: number | undefined;
  private readonly firstLineAfterMs: number;

  constructor(
    private readonly io: CliIo,
    private readonly scenario: Scenario,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? io.now ?? ((): number => performance.now());
    this.started = this.now();
    this.intervalMs = options.intervalMs ?? 5000;
    this.stream = options.stream ?? process.stderr;
    this.stopNs = options.stopNs;
    this.firstLineAfterMs = options.firstLineAfterMs ?? 0;
  }

  /** A runScenario progress callback (variants one after the other). */
  update(p: ScenarioProgress): void {
    // runScenario's last call per variant reports the limit: keep the end its last epoch reached.
    const prev = this.lastSeen;
    if (prev && prev.vi !== p.variantIndex && !this.ends.has(prev.vi)) this.ends.set(prev.vi, prev.simNs);
    const done = p.hostsTotal > 0 && p.hostsDone === p.hostsTotal;
    if (!(prev && prev.vi === p.variantIndex && prev.done))
      this.lastSeen = { vi: p.variantIndex, simNs: p.simNs, done };
    const simNs = this.lastSeen!.done ? this.lastSeen!.simNs : p.simNs;
    this.show(
      viewOfScenarioProgress(
        { ...p, simNs },
        this.ends,
        this.scenario.variants.map((v) => v.name),
      ),
    );
  }

  /** A pooled run's update (every variant at once, with live totals). */
  updatePooled(run: PooledRun): void {
    this.show(viewOfPooledRun(run));
  }

  /** The fraction of the whole run (variants weigh by their hosts). */
  fraction(view: ProgressView): number {
    let w = 0;
    let done = 0;
    view.variants.forEach((v, vi) => {
      const weight = Math.max(1, this.scenario.variants[vi]?.host.count ?? 1);
      w += weight;
      done += weight * variantFraction(this.scenario, vi, v, this.stopNs);
    });
    return w === 0 ? 1 : Math.min(1, done / w);
  }

  /** The text of the progress line (without the bar); the scenario name cut to `nameWidth` columns. */
  line(view: ProgressView, nameWidth = Infinity): string {
    const elapsed = (this.now() - this.started) / 1000;
    const fraction = this.fraction(view);
    const eta = fraction > 0 && fraction < 1 ? (elapsed / fraction) * (1 - fraction) : NaN;
    const vi = Math.max(0, Math.min(view.current, view.variants.length - 1));
    const v = view.variants[vi];
    const until = this.scenario.duration.kind === 'until-complete';
    // A re-run's own fraction is time to where it stops; the work is the host's (src/run/workShare.ts).
    const work =
      this.stopNs === undefined
        ? variantFraction(this.scenario, vi, v)
        : v.done
          ? 1
          : Math.min(0.99, v.hostsTotal > 0 ? (v.workDone ?? 0) / v.hostsTotal : 0);
    const of = until ? ` (until complete, work ${Math.round(work * 100)}%)` : '';
    const others = view.variants.filter((x, i) => i !== vi && x.done).length;
    const stopped = view.variants.filter((x, i) => i !== vi && x.stopped === true).length;
    return (
      `${displayWidth(this.scenario.name) > nameWidth ? fitToWidth(this.scenario.name, nameWidth) : this.scenario.name} [${vi + 1}/${view.variants.length}] ${v.name}: sim ${simSeconds(v.simNs)}${of}` +
      `${v.hostsTotal > 1 ? `, ${v.hostsDone}/${v.hostsTotal} hosts done` : ''}` +
      `${v.stopped === true ? ', stopped' : ''}` +
      `${others > 0 ? `, ${others} other variant${others === 1 ? '' : 's'} done` : ''}` +
      `${stopped > 0 ? `, ${stopped} other variant${stopped === 1 ? '' : 's'} stopped` : ''}` +
      `, elapsed ${elapsed.toFixed(1)}s${Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)}s` : ''}`
    );
  }

  private show(view: ProgressView): void {
    const fraction = this.fraction(view);
    const text = this.line(view);
    const pct = `${(fraction * 100).toFixed(0).padStart(3)}%`;
    if (this.io.interactive) {
      const width = 24;
      const filled = Math.round(fraction * width);
      const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 80;
      // One column short of the width: a line that fills the last column wraps on some terminals,
      // and '\r' then returns to the wrapped row, leaving the old line behind.
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct} `;
      // A long scenario name gives way first: the variant, its progress and the ETA are what moves.
      const over = displayWidth(bar + text) - (columns - 1);
      const name = displayWidth(this.scenario.name);
      const fitted = over > 0 ? this.line(view, Math.max(8, name - over)) : text;
      const line = fitToWidth(bar + fitted, columns - 1);
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = this.now();
    if (now - this.started < this.firstLineAfterMs) return;
    const key = `${view.current}`;
    if (key !== this.lastKey || now - this.lastLine >= this.intervalMs) {
      this.io.err(`${pct} ${text}`);
      this.lastLine = now;
      this.lastKey = key;
    }
  }

  /**
   * The run ended: clear the bar, then (given the results) the real simulated end of every variant
   * and the verdict, as plain lines.
   */
  done(results?: RunResults): void {
    if (this.io.interactive && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    if (!results) return;
    const ends = results.variants.map((v) => `${v.name} ${formatSimEnd(v.totals.simulatedSeconds)}`).join(', ');
    // A stopped run did not get done: its results are partial (the verdict line says so too).
    const how = results.partial === true ? 'stopped after' : 'done in';
    // The run's own wall time, as the summary and results.json give it (the reporter's clock also
    // counted the time before the run started: "stopped after 3.2s" beside "2.93 s wall").
    this.io.err(`${results.scenario}: ${how} ${formatFigure(results.wallSeconds)} s; simulated: ${ends}`);
    this.io.err(verdictLine(results));
  }
}

/** What a re-run of one host reports: after each simulated second, where it is. */
export interface RerunProgress {
  /** Variant `variantIndex` (of those given) reached `simNs`; `workDone` 0..1 for an until-complete scenario. */
  step(variantIndex: number, simNs: number, workDone: number | undefined): void;
  /** Clear the bar. */
  done(): void;
}

/**
 * Progress of a re-run of one host - `replay`, and `run --timeline` after the run - on run's line,
 * named `label`: the variants re-run one after the other, each to `stopNs` (--at, or the window's
 * end, or the scenario's end before them), so the fraction is the simulated time reached over it
 * (or the host's work done, src/run/workShare.ts, when an until-complete host gets there first).
 * On a terminal the bar; else plain lines every 5 s from 5 s on, so a short re-run prints none.
 */
export function rerunProgress(
  io: CliIo,
  scenario: Scenario,
  label: string,
  variants: readonly ScenarioVariant[],
  stopNs: number,
  options: ProgressOptions = {},
): RerunProgress {
  const intervalMs = options.intervalMs ?? 5000;
  const reporter = new ProgressReporter(
    io,
    { ...scenario, name: label, variants },
    { firstLineAfterMs: intervalMs, ...options, intervalMs, stopNs },
  );
  return {
    step: (variantIndex, simNs, workDone) =>
      reporter.update({
        variant: variants[variantIndex].name,
        variantIndex,
        variants: variants.length,
        simNs,
        limitNs: stopNs,
        hostsDone: 0,
        hostsTotal: 1,
        ...(workDone !== undefined ? { workDone } : {}),
      }),
    done: () => reporter.done(),
  };
}

/** Simulated seconds as the closing line prints them: whole seconds plain, else 3 decimals. */
function formatSimEnd(s: number): string {
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(3)}s`;
}
