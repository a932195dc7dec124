/** How a pooled run's stop is named and said: reasons and their stop codes, STOP_TEXT, partialReason's sentence. */
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import type { StopReason } from '../history/records.js';
import { StopCode, type StopCodeValue } from './protocol.js';
import type { PoolTask } from './tasks.js';
import type { TaskState } from './taskState.js';
import { runProgress, simulatedAtStop } from './runProgress.js';

export const REASON_OF: Readonly<Record<number, StopReason>> = {
  [StopCode.CANCELLED]: 'cancelled',
  [StopCode.TIME_LIMIT]: 'time_limit',
  [StopCode.SHUTDOWN]: 'shutdown',
  [StopCode.FAILED]: 'failed',
};
export const CODE_OF: Readonly<Record<StopReason, StopCodeValue>> = {
  cancelled: StopCode.CANCELLED,
  time_limit: StopCode.TIME_LIMIT,
  shutdown: StopCode.SHUTDOWN,
  failed: StopCode.FAILED,
};

/**
 * How partialReason opens, by who stopped the run: `cancelled` and `shutdown` are the words of a stop
 * whose caller gave none (PooledRun.stop; an AbortSignal is a bare cancel), the others the callers'
 * own, kept here so that one place words every stop: `api` the service's DELETE /api/runs/{id}
 * (src/service/runs.ts), `interrupted` the CLI's Ctrl-C (src/cli/commands/run.ts).
 */
export const STOP_TEXT = {
  cancelled: 'cancelled',
  api: 'cancelled through the API (DELETE /api/runs/{id})',
  interrupted: 'interrupted (Ctrl-C, SIGINT)',
  shutdown: 'stopped by a service shutdown (SIGTERM)',
} as const;

/** A task as the stop's and a failure's messages name it: its index, variant and host range. */
export function describeTask(scenario: Scenario, t: PoolTask): string {
  return `task ${t.index} (variant ${scenario.variants[t.variantIndex].name}, hosts ${t.hostStart}..${t.hostEnd - 1})`;
}

/** What a stop's sentence reads of its run (PooledRun's fields). */
export interface StopFacts {
  readonly scenario: Scenario;
  readonly tasks: readonly TaskState[];
  readonly options: { readonly timeLimitMs?: number; readonly stopGraceMs?: number };
  readonly firstError: string | undefined;
  readonly stopText: string | undefined;
  readonly terminated: readonly TaskState[];
}

/**
 * "at 570 of 7200 simulated seconds in bhyve-12.1, 0 in bhyve-tpr-v1": one figure when every variant
 * stopped at the same second, else each variant's (least to most when its tasks differ; the stopped
 * ones first, then "done in" those that ran to their end), or over 6
 * variants the least and the most with the variants they were in. The least of all tasks alone read
 * "at 0 of 7200" when one variant had simulated 570 s and the other had not started.
 */
function simulatedWords(run: StopFacts): string {
  const limit = durationLimitNs(run.scenario) / 1e9;
  const names = run.scenario.variants.map((v) => v.name);
  const at = simulatedAtStop(run.scenario, run.tasks);
  const span = (x: { least: number; most: number }): string =>
    x.least === x.most ? `${x.least}` : `${x.least} to ${x.most}`;
  const stopped = at.flatMap((x, i) => (x ? [{ ...x, name: names[i] }] : []));
  const same = stopped.every((x) => x.least === stopped[0].least && x.most === stopped[0].most);
  if (stopped.length === 0) return `at the end of ${limit} simulated seconds`;
  if (same && stopped.length === at.length) return `at ${span(stopped[0])} of ${limit} simulated seconds`;
  if (at.length > 6) {
    const lo = stopped.reduce((a, b) => (b.least < a.least ? b : a));
    const hi = stopped.reduce((a, b) => (b.most > a.most ? b : a));
    return `at ${lo.least} (${lo.name}) to ${hi.most} (${hi.name}) of ${limit} simulated seconds, ${at.length - stopped.length} of ${at.length} variants done`;
  }
  // The stopped variants first, so the figure the sentence's "of T simulated seconds" follows is one
  // (a done first variant made it "at done of 30 simulated seconds in bhyve-12.1, 0 to 2 in ...").
  const each = [
    ...stopped.map((x) => `${span(x)} in ${x.name}`),
    ...names.filter((_, i) => at[i] === undefined).map((n) => `done in ${n}`),
  ];
  const [first, ...rest] = each;
  return `at ${first.replace(/ in /, ` of ${limit} simulated seconds in `)}${rest.map((e) => `, ${e}`).join('')}`;
}

/** Why the run stopped early and what its results hold, in a sentence (results.json `partialReason`). */
export function describeStop(run: StopFacts, reason: StopReason): string {
  const p = runProgress(run.scenario, run.tasks);
  const limit = run.options.timeLimitMs;
  const why: Record<StopReason, string> = {
    cancelled: STOP_TEXT.cancelled,
    time_limit: `stopped at its wall-clock limit of ${limit === undefined ? '?' : limit / 1000} s`,
    shutdown: STOP_TEXT.shutdown,
    failed: `stopped because a task failed (${run.firstError ?? 'a worker was lost'})`,
  };
  const parts = [`${run.stopText ?? why[reason]} ${simulatedWords(run)}, ${p.hostsDone} of ${p.hostsTotal} hosts done`];
  if (run.terminated.length > 0) {
    const ts = run.terminated;
    const grace = (run.options.stopGraceMs ?? 10_000) / 1000;
    const empty = ts.filter((t) => t.totals === undefined).length;
    parts.push(
      `${ts.length} task${ts.length === 1 ? '' : 's'} (${ts.map((t) => describeTask(run.scenario, t.task)).join('; ')}) did not reach their next host's simulated second within ${grace} s of the stop (a task reads the stop before each host's second: src/run/simulate.ts RunControl.stopRequested) and were terminated` +
        (empty > 0
          ? `; ${empty} of them had not finished a single simulated second, so their hosts count nothing`
          : '; their hosts count as of their last snapshot'),
    );
  }
  return `${parts.join('; ')}.`;
}
