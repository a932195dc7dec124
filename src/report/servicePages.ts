/**
 * The service's pages (src/service/app.ts): `/`, the runs with their state and progress, and
 * `/runs/:id`, a run's state and progress and, once it has results, its report
 * (src/report/html.ts). While a run is live the pages update themselves from the runs API
 * (runs.js, run.js in src/report/assets).
 */
import type { LiveVariantFigures, RunProgress, RunSummary } from '../history/records.js';
import type { RunResults } from '../results/types.js';
import type { InlineScript } from './assets.js';
import { reportAssets } from './assets.js';
import type { ChartSpec } from './charts.js';
import { reportSection } from './html.js';
import { esc, fmtTime, note, page } from './page.js';

/** Progress of a run as the service reports it (a RunRecord's `progress`); only the fraction is needed. */
type RunProgressLike = Pick<RunProgress, 'fraction'> & Partial<RunProgress>;

/** One row of the service's index of runs (a RunRecord fits). */
interface RunIndexEntry {
  readonly id: string;
  readonly scenario: string;
  /** queued, running, completed, cancelled, failed, interrupted */
  readonly state: string;
  readonly progress?: RunProgressLike | null;
  readonly startedAt?: string | null;
  /** Present once the run has results: exitStatus is the CLI's status for them (0 pass). */
  readonly summary?: Pick<RunSummary, 'exitStatus'> | null;
  /** Why a cancelled run stopped (a RunRecord's stopReason). */
  readonly stopReason?: string;
  /** A queued run's place in its lane, 1 = next (a RunRecord's queue). */
  readonly queue?: RunQueuePlace | null;
}

interface RunQueuePlace {
  readonly lane: string;
  readonly position: number;
}

/** A run as its page shows it (a RunRecord fits). */
export interface RunPageEntry extends RunIndexEntry {
  readonly createdAt?: string;
  readonly finishedAt?: string | null;
  readonly error?: string;
  /** The stored results are partial (the run was stopped or failed). */
  readonly partial?: boolean;
  readonly guests?: number;
  readonly variants?: readonly string[];
  /** A running run's figures so far (src/service/liveFigures.ts). */
  readonly live?: readonly LiveVariantFigures[];
}

/** A count as the live table shows it (run.js formats the same way). */
function liveCount(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/**
 * The rows of a running run's "so far" table; run.js rebuilds them from each poll the same way. A
 * variant no task of which has advanced has no rate yet: "-", not 0.
 */
function liveRows(live: readonly LiveVariantFigures[]): string {
  return live
    .map(
      (v) =>
        `<tr><td>${esc(v.name)}</td><td>${esc(String(Math.floor(v.simSeconds * 10) / 10))}</td><td>${liveCount(v.exitsTotal)}</td><td>${v.simSeconds > 0 ? liveCount(v.exitsPerGuestSecond) : '-'}</td>` +
        `<td>${esc(v.topExits.map((x) => `${x.reason} ${(x.share * 100).toFixed(1)}\u00a0%`).join(', ') || '-')}</td></tr>`,
    )
    .join('');
}

interface ServicePageOptions {
  /**
   * What the page polls for live state: JSON `{runs: RunRecord[]}` (index) or a RunRecord (run
   * page). Defaults: `/api/runs` and `/api/runs/ID`. null: no live updates.
   */
  readonly pollUrl?: string | null;
  /** Default 2000. */
  readonly pollIntervalMs?: number;
  /** Prefix of a run page's URL; the run's id is appended URI-encoded. Default `/runs/`. */
  readonly runHrefPrefix?: string;
  /** The index's URL (run page's back link). Default `/`. */
  readonly indexHref?: string;
  /** Run page: where the results JSON is. Default `/api/runs/ID/results`. null: no link. */
  readonly resultsHref?: string | null;
  /** Run page: the scenario's description. */
  readonly description?: string;
  readonly chartLibrary?: InlineScript;
}

/** Run states in which a run still changes; the others are final. */
const LIVE_STATES = ['queued', 'running'];

function runHref(prefix: string, id: string): string {
  return `${prefix}${encodeURIComponent(id)}`;
}

/**
 * A run's state as its badge reads. A completed run whose results fail (a threshold, an
 * unexpected invariant violation or a failed VM entry: the CLI's exit status 1 or 3) is red and
 * says why, never a green "completed". live.js (runBadge) draws the same from the runs API.
 */
export function runBadge(
  state: string,
  summary: Pick<RunSummary, 'exitStatus'> | null | undefined,
  stopReason?: string,
  queue?: RunQueuePlace | null,
): { text: string; cls: string; exitStatus?: number } {
  const known = /^[a-z]+$/.test(state) ? ` state-${state}` : '';
  const status = summary && typeof summary.exitStatus === 'number' ? summary.exitStatus : undefined;
  if (state === 'completed' && status !== undefined && status !== 0) {
    const why = status === 1 ? 'threshold failed' : status === 3 ? 'invariant violation' : `exit status ${status}`;
    return { text: `completed: ${why}`, cls: `badge state${known} fail`, exitStatus: status };
  }
  // A run the service stopped says so: a bare "cancelled" read as a user's DELETE; a queued run
  // says its place (the fresh-eyes pass).
  const by =
    state === 'cancelled' && stopReason !== undefined
      ? STOPPED_BY[stopReason]
      : state === 'queued' && queue && typeof queue.position === 'number'
        ? `${queue.position === 1 ? 'next' : String(queue.position)} in the ${queue.lane} lane`
        : undefined;
  return {
    text: by ? `${state}: ${by}` : state,
    cls: `badge state${known}`,
    ...(status !== undefined ? { exitStatus: status } : {}),
  };
}

/** What stopped a cancelled run other than a DELETE (history/records.ts StopReason); live.js has the same words. */
const STOPPED_BY: Readonly<Record<string, string>> = { time_limit: 'wall-clock limit', shutdown: 'service shut down' };

function stateBadge(
  state: string,
  summary: Pick<RunSummary, 'exitStatus'> | null | undefined,
  id?: string,
  stopReason?: string,
  queue?: RunQueuePlace | null,
): string {
  const b = runBadge(state, summary, stopReason, queue);
  return `<span${id ? ` id="${id}"` : ''} class="${b.cls}" data-state="${esc(state)}"${b.exitStatus !== undefined ? ` data-exit-status="${b.exitStatus}"` : ''}>${esc(b.text)}</span>`;
}

export function progressText(p: RunProgressLike | null | undefined): string {
  if (!p) return '-';
  const pct = `${Math.floor(Math.max(0, Math.min(1, p.fraction)) * 100)} %`;
  if (typeof p.simSeconds !== 'number' || typeof p.limitSeconds !== 'number') return pct;
  const sim = `${simRound(p.simSeconds, p.limitSeconds)} of ${simRound(p.limitSeconds, p.limitSeconds)} simulated s`;
  // Several tasks (hosts split over workers): simSeconds is the least advanced unfinished task's
  // (src/pool/runProgress.ts runProgress()), 0 while one waits to start, so "73 %, 0 of 30 simulated s"
  // read as a contradiction; say which it is.
  const tasks = typeof p.tasksTotal === 'number' && typeof p.tasksDone === 'number' ? p : undefined;
  if (tasks && tasks.tasksTotal! > 1 && tasks.tasksDone! < tasks.tasksTotal!)
    return `${pct}: ${tasks.tasksDone} of ${tasks.tasksTotal} tasks done, the least advanced at ${sim}`;
  // An until-complete run ends before its cap (maxDuration): "100 %, 196 of 600 simulated s" read
  // as a run that stopped a third of the way.
  if (p.fraction >= 1 && p.simSeconds < p.limitSeconds)
    return `${pct}, done at ${simRound(p.simSeconds, p.limitSeconds)} simulated s (at most ${simRound(p.limitSeconds, p.limitSeconds)})`;
  return `${pct}, ${sim}`;
}

/** Simulated seconds of progress: whole seconds, tenths for runs under 100 s. */
function simRound(x: number, limit: number): string {
  return String(limit < 100 ? Math.round(x * 10) / 10 : Math.round(x));
}

function progressCell(p: RunProgressLike | null | undefined): string {
  const value = p ? Math.max(0, Math.min(1, p.fraction)) : 0;
  return `<progress max="1" value="${value}"></progress> <span class="progress-text">${esc(progressText(p))}</span>`;
}

/** The service's `/`: runs with their state and progress, updated live from the runs API. */
export function renderRunsIndex(runs: readonly RunIndexEntry[], options: ServicePageOptions = {}): string {
  const prefix = options.runHrefPrefix ?? '/runs/';
  const pollUrl = options.pollUrl === undefined ? '/api/runs' : options.pollUrl;
  const rows = runs.map(
    (r) =>
      `<tr data-run-id="${esc(r.id)}"${runBadge(r.state, r.summary).cls.endsWith(' fail') ? ' class="fail"' : ''}><td><a href="${esc(runHref(prefix, r.id))}">${esc(r.id)}</a></td><td>${esc(r.scenario)}</td><td>${stateBadge(r.state, r.summary, undefined, r.stopReason, r.queue)}</td><td class="progress">${progressCell(r.progress)}</td><td>${esc(fmtTime(r.startedAt))}</td></tr>`,
  );
  const body = [
    '<h1>Runs</h1>',
    `<p class="live" id="live-status">${pollUrl ? 'live: waiting for the first update' : 'not updated live'}</p>`,
    // What a first-time visitor of the service needs before the table: what a run is and where the
    // rest is (links relative to this page, which the service serves at /).
    ...(pollUrl
      ? [
          '<p class="note" id="runs-intro">Each run simulates a scenario\'s guests and counts their VM exits; a run\'s page has its report (exits by reason, host time in exits, interrupt latency, phase times, thresholds). Start one with <code>POST /api/runs</code>: the scenario\'s YAML as the body, or JSON <code>{"scenario": "NAME"}</code> for <a href="api/scenarios">a shipped one</a>. The same counters, live, for Prometheus: <a href="metrics">/metrics</a>; the runs as JSON: <a href="api/runs">/api/runs</a>.</p>',
        ]
      : []),
    `<p class="note" id="runs-empty"${runs.length > 0 ? ' hidden' : ''}>No runs yet. Submit one with <code>POST /api/runs</code> (scenario YAML, or JSON <code>{"scenario": "NAME"}</code>).</p>`,
    `<div class="scroll"><table id="runs-table"${runs.length === 0 ? ' hidden' : ''}><thead><tr><th scope="col">run</th><th scope="col">scenario</th><th scope="col">state</th><th scope="col">progress</th><th scope="col">started</th></tr></thead><tbody id="runs-body">${rows.join('')}</tbody></table></div>`,
  ].join('\n');
  return page({
    title: 'vmexit-lab: runs',
    body,
    charts: [],
    script: reportAssets().runsPage,
    live: { pollUrl, intervalMs: options.pollIntervalMs ?? 2000, runHrefPrefix: prefix },
  });
}

/**
 * The service's `/runs/:id`: the run's state and progress (live while it is queued or running;
 * the page reloads itself when the run ends) and, when there are results, the full report.
 */
export function renderRunPage(
  run: RunPageEntry,
  results?: RunResults | null,
  options: ServicePageOptions = {},
): string {
  const isLive = LIVE_STATES.includes(run.state);
  const pollUrl = options.pollUrl === undefined ? `/api/runs/${encodeURIComponent(run.id)}` : options.pollUrl;
  const resultsHref =
    options.resultsHref === undefined ? `/api/runs/${encodeURIComponent(run.id)}/results` : options.resultsHref;
  const indexHref = options.indexHref ?? '/';
  const facts: string[] = [
    `<tr><th scope="row">state</th><td>${stateBadge(run.state, run.summary, 'run-state', run.stopReason, run.queue)}${run.partial ? ' <span class="badge expected">partial results</span>' : ''}</td></tr>`,
    `<tr><th scope="row">progress</th><td id="run-progress">${progressCell(run.progress)}</td></tr>`,
    `<tr><th scope="row">started</th><td>${esc(fmtTime(run.startedAt))}</td></tr>`,
  ];
  if (run.finishedAt) facts.push(`<tr><th scope="row">finished</th><td>${esc(fmtTime(run.finishedAt))}</td></tr>`);
  if (run.guests !== undefined)
    facts.push(`<tr><th scope="row">guests (all variants)</th><td>${esc(String(run.guests))}</td></tr>`);
  if (run.variants && run.variants.length > 0)
    facts.push(`<tr><th scope="row">variants</th><td>${run.variants.map((v) => esc(v)).join(', ')}</td></tr>`);
  if (run.error) facts.push(`<tr class="fail"><th scope="row">error</th><td>${esc(run.error)}</td></tr>`);
  if (results && resultsHref)
    facts.push(
      `<tr><th scope="row">results.json</th><td><a href="${esc(resultsHref)}">${esc(resultsHref)}</a></td></tr>`,
    );
  const head = [
    `<h1>Run <code>${esc(run.id)}</code>: ${esc(run.scenario)}</h1>`,
    ...(isLive && pollUrl ? ['<p class="live" id="live-status">live: waiting for the first update</p>'] : []),
    `<table class="run-facts">${facts.join('')}</table>`,
  ];
  let body = head.join('\n');
  let charts: ChartSpec[] = [];
  if (results) {
    // The run page has its own h1: the report starts at h2.
    const section = reportSection(
      {
        results,
        ...(options.description !== undefined ? { description: options.description } : {}),
        ...(resultsHref ? { resultsHref } : {}),
      },
      0,
      2,
    );
    body += `\n${section.html}`;
    charts = [...section.charts];
  } else if (isLive) {
    const live = run.live ?? [];
    body +=
      `\n<h2>So far</h2>\n<p class="note" id="run-live-empty"${live.length > 0 ? ' hidden' : ''}>No figures yet: the first arrive with the run's first progress.</p>` +
      `\n<div class="scroll"><table id="run-live"${live.length === 0 ? ' hidden' : ''}><thead><tr><th scope="col">variant</th><th scope="col">simulated s</th><th scope="col">exits</th><th scope="col">exits per guest-second</th><th scope="col">leading exit reasons (share of the variant's exits)</th></tr></thead><tbody id="run-live-body">${liveRows(live)}</tbody></table></div>`;
    body += `\n${note('The full report appears here when the run ends; /metrics has every series live.')}`;
  } else {
    body += `\n${note(`This run has no results${run.error ? '' : ' stored'}.`)}`;
  }
  return page({
    title: `vmexit-lab run ${run.id}: ${run.scenario}`,
    body,
    charts,
    nav: `<a href="${esc(indexHref)}">all runs</a>`,
    ...(isLive && pollUrl
      ? {
          script: reportAssets().runPage,
          live: { pollUrl, intervalMs: options.pollIntervalMs ?? 2000, liveStates: LIVE_STATES },
        }
      : {}),
    ...(options.chartLibrary ? { chartLibrary: options.chartLibrary } : {}),
  });
}
