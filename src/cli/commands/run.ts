import { shardRange, type ShardSpec } from '../../run/runScenario.js';
import { exitStatusOf } from '../../results/exitStatus.js';
import {
  judgesThresholds,
  NOT_JUDGED_RUN_FAILED,
  notJudged,
  notJudgedOnShard,
  withoutThresholds,
} from '../../results/thresholds.js';
import { PIPELINED, requestAdmitter } from '../../service/connections.js';
import type { Server } from 'node:http';
import { createHardenedServer, type HttpHardening } from '../../service/server.js';
import { startPooledRun, type PooledOutcome, type PooledRun } from '../../pool/pooledRun.js';
import { MetricsEndpoint, prefersOpenMetrics } from '../../metrics/registry.js';
import { defaultWorkers, SimPool } from '../../pool/pool.js';
import { MetricsHub } from '../../metrics/hub.js';
import { parseGroupings, pushMetrics } from '../../metrics/push.js';
import type { Scenario } from '../../scenario/types.js';
import { renderJunit, renderMarkdownAll, renderSummary } from '../../report/summary.js';
import { renderHtmlReports } from '../../report/html.js';
import { renderPerfTables } from '../../report/perfTable.js';
import { TIMELINE_MAX_EVENTS } from '../../report/timeline.js';
import { parseTimelineOptions, timelineProblem, writeTimeline, type TimelineRequest } from '../timeline.js';
import type { RunResults } from '../../results/types.js';
import {
  ExitStatus,
  MAX_WORKERS,
  badOptionValue,
  numberOption,
  refuseOption,
  type CliIo,
  commandArgs,
  usageProblem,
} from '../io.js';
import { workPhaseWarnings } from '../workPhases.js';
import { installStopHandler, removeStopHandler, STOP_SIGNALS, type StopSignal } from '../stopSignals.js';
import { loadAllOrExplain } from '../loadOrExplain.js';
import { outTargets, writeOutputs, type OutTargets } from '../outputs.js';
import { withReproducers } from '../../run/shrink.js';
import { loadModelData } from '../../model/data.js';
import { seriesStepNs } from '../../run/simulate.js';
import { ProgressReporter } from '../progress.js';
import { overBudget } from '../../metrics/cardinality.js';
import { renderOpenMetrics, timelineFromTasks, type RunHistory } from '../../metrics/openmetrics.js';

/** `--start-time`: an ISO 8601 date-time with a zone (Z or +hh:mm), as milliseconds since the epoch. */
function parseStartTime(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms))
    throw badOptionValue('--start-time', 'an ISO 8601 date-time with a zone, e.g. 2026-11-25T06:00:00Z', text);
  return ms;
}

const RUN_USAGE = `Usage: vmexit-lab run [options] FILE...

Run scenario files and print a summary table. Every scenario is validated first: if any file is
bad, nothing runs. Results are deterministic: the same scenario and seed give the same counts.

Options:
  -o, --out FILE   write results.json (docs/RESULTS.md); with several scenarios, FILE gets one
                   JSON document per scenario in an array
  --out TYPE=FILE  k6's form, repeatable: json=FILE (results.json), junit=FILE, summary=FILE,
                   html=FILE, openmetrics=FILE, the same as the options below
  --junit FILE     write JUnit XML: a testcase per threshold and per unexpected invariant violation
  --summary FILE   write a Markdown summary (for a CI job summary or a PR comment)
  --html FILE      write a self-contained HTML report with charts (opens without network access)
  --per-guest      also report totals per guest in results.json (off by default: fleets are large)
  --perf-table     also print each variant's exits as 'perf kvm stat report' does (Samples,
                   Samples%, Time%, Min/Max/Avg time per exit, perf's exit names)
  --seed N         override the scenario's seed
  --shard I/N      run only shard I of N (hosts are split; 'vmexit-lab merge' combines shards
                   and judges the thresholds on the merged totals: a shard, N > 1, judges none)
  --workers N      worker threads that share the hosts, 1..${MAX_WORKERS} (default: the number of
                   cores); results are identical for any N
  --push URL       push the final metrics to a Prometheus Pushgateway (e.g. http://127.0.0.1:9091)
  --push-job NAME  the push's job label (default vmexit-lab)
  --push-label K=V a grouping label of the push (repeatable), e.g. --push-label branch=main
  --metrics-listen [HOST:]PORT
                   serve GET /metrics (Prometheus text or OpenMetrics) while the run runs, for a
                   scraper next to the job (a Kubernetes PodMonitor); HOST defaults to 127.0.0.1,
                   PORT 0 picks a free port; the URL is printed on stderr
  --openmetrics FILE
                   write the run's metrics history as timestamped OpenMetrics text (the /metrics
                   series at every step of simulated time) for 'promtool tsdb create-blocks-from
                   openmetrics' (docs/BEYOND.md); on the worker pool like any run; after Ctrl-C it
                   holds the history up to where the run stopped
  --openmetrics-job NAME
                   the job label of the --openmetrics series (default vmexit-lab, as the shipped
                   dashboards and Prometheus configuration expect)
  --start-time ISO8601
                   wall time of simulated second 0 in the --openmetrics file (default: now)
  --timeline FILE  write one guest's vCPUs over a window of simulated time as a Chrome trace-event
                   file (open it in ui.perfetto.dev or chrome://tracing): running, halted and
                   in-exit slices by reason, interrupt arrivals and deliveries; one process per
                   variant (docs/TIMELINE.md); one scenario file only
  --timeline-guest G
                   the guest's global index, as replay and the exemplars name it (default 0)
  --timeline-window FROM..TO
                   simulated seconds, e.g. 2..2.05 (default 0..1); the trace is bounded to
                   ${TIMELINE_MAX_EVENTS} events and says where it stops
  -q, --quiet      no progress output
  -h, --help       show this help

Exit status:
  0    all thresholds passed (a shard, --shard I/N with N > 1: it ran; its thresholds are not
       judged, 'vmexit-lab merge' judges them)
  1    a threshold failed
  2    bad input or usage (nothing was run)
  3    an invariant violation the scenario does not expect, a failed VM entry, an output file that
       could not be written after the run (a full disk: the others are written), a --push that
       failed (the files are written first), or an internal error: a simulation worker that
       could not start or died during the run. Its scenario is written partial ("partial": true,
       partialReason names the failed task's hosts; its thresholds not judged) with the ones
       that completed, and the scenarios after it still run; no file is written only when no
       worker could start at all (nothing ran)
  130  interrupted (Ctrl-C): the scenario stopped within one host's simulated second; its
       partial results ("partial": true) are printed and written (--openmetrics too), the
       scenarios after it do not run
  143  SIGTERM (a CI job cancelled or timed out, timeout(1), a pod stopped): the same as 130,
       partialReason "terminated (SIGTERM) ..."

Examples:
  vmexit-lab run scenarios/seed/win10-1909-cr8-exits.yaml
  vmexit-lab run --out results.json --junit junit.xml scenarios/seed/*.yaml
  CI=true vmexit-lab run --summary "$GITHUB_STEP_SUMMARY" my-scenario.yaml
  vmexit-lab run --html report.html scenarios/seed/win10-1909-install-tpr-shadowing.yaml
`;

/**
 * A shard that holds no host of some variant (more shards than hosts): a warning naming the shard,
 * the scenario's hosts per variant and the largest N that gives every shard a host; undefined when
 * the shard has hosts of every variant. The shard still runs and writes its empty results, which
 * `vmexit-lab merge` needs.
 */
export function emptyShardWarning(scenario: Scenario, shard: ShardSpec): string | undefined {
  const hosts = scenario.variants.map((v) => ({ name: v.name, count: v.host.count }));
  const empty = hosts.filter((h) => {
    const [start, end] = shardRange(h.count, shard);
    return start === end;
  });
  if (empty.length === 0) return undefined;
  const plural = (n: number): string => `${n} host${n === 1 ? '' : 's'}`;
  const same = hosts.every((h) => h.count === hosts[0].count);
  const perVariant = same
    ? `${plural(hosts[0].count)}${hosts.length > 1 ? ' per variant' : ''}`
    : hosts.map((h) => `${plural(h.count)} in ${h.name}`).join(', ');
  const which = empty.length === hosts.length ? 'no host' : `no host of ${empty.map((h) => h.name).join(', ')}`;
  const largest = Math.min(...hosts.map((h) => h.count));
  return `vmexit-lab run: warning: shard ${shard.index}/${shard.count} of ${scenario.name} holds ${which}: the scenario has ${perVariant}, and ${shard.count} shards is more than that. Its empty results are written all the same ('vmexit-lab merge' needs every shard); the largest N that gives every shard a host is ${largest}.`;
}

function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && index >= 1 && index <= count)) throw badOptionValue('--shard', 'I/N with 1 <= I <= N', text);
  return { index, count };
}

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'run', RUN_USAGE, args, {
    out: { type: 'string', multiple: true, short: 'o' },
    junit: { type: 'string' },
    summary: { type: 'string' },
    html: { type: 'string' },
    seed: { type: 'string' },
    shard: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    'per-guest': { type: 'boolean' },
    'perf-table': { type: 'boolean' },
    timeline: { type: 'string' },
    'timeline-guest': { type: 'string' },
    'timeline-window': { type: 'string' },
    workers: { type: 'string' },
    push: { type: 'string' },
    'metrics-listen': { type: 'string' },
    'push-job': { type: 'string' },
    'push-label': { type: 'string', multiple: true },
    openmetrics: { type: 'string' },
    'start-time': { type: 'string' },
    'openmetrics-job': { type: 'string' },
  });
  if (typeof parsed === 'number') return parsed;
  const o = parsed.values;
  let shard: ShardSpec | undefined;
  let seed: number | undefined;
  let workers = defaultWorkers();
  let groupings: Record<string, string>;
  let listen: { host: string; port: number } | undefined;
  let startMs = Date.now();
  let timeline: TimelineRequest | undefined;
  let files: OutTargets;
  try {
    timeline = parseTimelineOptions(o, parsed.positionals.length);
    files = outTargets(
      o.out ?? [],
      { junit: o.junit, summary: o.summary, html: o.html, openmetrics: o.openmetrics },
      undefined,
      parsed.positionals,
      timeline !== undefined ? [[`--timeline ${timeline.file}`, timeline.file]] : [],
    );
    if (o['start-time'] !== undefined) {
      if (files.openmetrics === undefined) throw new Error('--start-time needs --openmetrics FILE');
      startMs = parseStartTime(o['start-time']);
    }
    if (o['metrics-listen'] !== undefined) {
      const m = /^(?:(.+):)?(\d{1,5})$/.exec(o['metrics-listen']);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port > 65535) throw badOptionValue('--metrics-listen', '[HOST:]PORT', o['metrics-listen']);
      listen = { host: m[1] ?? '127.0.0.1', port };
    }
    if (o.shard !== undefined) shard = parseShard(o.shard);
    workers = numberOption(o.workers, '--workers', 1, MAX_WORKERS, true) ?? workers;
    groupings = parseGroupings(o['push-label'] ?? []);
    if ((o['push-job'] !== undefined || Object.keys(groupings).length > 0) && o.push === undefined) {
      throw new Error('--push-job and --push-label need --push URL');
    }
    if (o['push-job'] === '') throw new Error('--push-job needs a name');
    if (o.push !== undefined && !/^https?:\/\/[^/]/.test(o.push))
      throw badOptionValue('--push', "the Pushgateway's http(s) URL", o.push);
    seed = numberOption(o.seed, '--seed', 0, 0xffffffff, true);
  } catch (e) {
    return refuseOption(io, 'run', e);
  }
  // After the options: an option that took the file as its value (`run --workers my.yaml`) names
  // itself and what it found, where "no scenario file given" said the file was missing.
  if (parsed.positionals.length === 0) {
    io.err(usageProblem('run', 'no scenario file given'));
    return ExitStatus.BAD_INPUT;
  }
  const scenarios = loadAllOrExplain(parsed.positionals, io);
  if (!scenarios) return ExitStatus.BAD_INPUT;
  // A work phase that cannot start (`maxDuration: 10` after a 10 s boot) is said before the run, as validate says it.
  for (const s of scenarios) for (const w of workPhaseWarnings(s, s.file)) io.err(w);
  // Cardinality budgets, before anything runs (per-guest series count when metrics are exported).
  const overs = scenarios
    .map((s) => overBudget(s, { perGuest: o['per-guest'] === true && (listen !== undefined || o.push !== undefined) }))
    .filter((m) => m !== undefined);
  if (overs.length > 0) {
    for (const m of overs) io.err(`vmexit-lab run: ${m}`);
    return ExitStatus.BAD_INPUT;
  }
  if (timeline) {
    const problem = timelineProblem(scenarios[0], timeline);
    if (problem !== undefined) {
      io.err(`vmexit-lab run: --timeline: ${problem}`);
      return ExitStatus.BAD_INPUT;
    }
  }
  // Ctrl-C or SIGTERM: the running scenario stops within one host's simulated second (each task reads
  // the stop before each host's second, src/run/simulate.ts RunControl.stopRequested) and what it did is kept.
  let stoppedBy: StopSignal | undefined;
  let current: PooledRun | undefined;
  // Whether the stop cost results: a run it stopped, or scenarios it left unrun. A signal after the
  // last run ended (while reproducers shrink, the pool closes, the files are written or pushed) loses
  // nothing: the results are written whole and the status is theirs.
  let stopCostResults = false;
  const interrupt = (sig: StopSignal): boolean => {
    stoppedBy ??= sig;
    if (current === undefined) return false;
    stopCostResults = true;
    // A cancel in the run history's terms, said as what the user (or the CI runner) did.
    current.stop('cancelled', STOP_SIGNALS[sig].text);
    return true;
  };
  const all: RunResults[] = [];
  const histories: RunHistory[] = [];
  // Scenarios whose run failed (a simulation worker died or could not start): written partial.
  const failed: { scenario: Scenario; hostsDone: string; simulated: boolean }[] = [];
  let status: number = ExitStatus.OK;
  // The CLI runs at full speed whatever the scenario's pace (realtime pace is for the service).
  const pool = new SimPool({ workers, idleTimeoutMs: 10_000, eager: false });
  // Live metrics while running (--metrics-listen) and the final push share one hub.
  const hub =
    listen !== undefined || o.push !== undefined ? new MetricsHub({ perGuest: o['per-guest'] === true }) : undefined;
  let server: Server | undefined;
  if (listen && hub) {
    try {
      server = await serveMetrics(hub, listen.host, listen.port);
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : listen.port;
      io.err(`metrics at http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/metrics`);
    } catch (e) {
      io.err(`vmexit-lab run: cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`);
      await pool.close();
      return ExitStatus.BAD_INPUT;
    }
  }
  // From the first run to the last file written: Node delivers signals to the main thread only, which
  // sets a running run's stop word for the workers (each task reads it before each host's second).
  // Installed only around runs, a signal after the last one ended the process with nothing written.
  let written = false;
  const unwritten = (): string[] =>
    written ? [] : [...Object.values(files), ...(timeline ? [timeline.file] : [])].filter((f) => f !== undefined);
  const stopOnSignal = installStopHandler(io, 'run', interrupt, unwritten, {
    stopping: "stopping within one host's simulated second, keeping the partial results",
    between: 'no further scenario runs; finishing the results of those that ran',
  });
  try {
    try {
      for (const [i, s0] of scenarios.entries()) {
        if (stoppedBy !== undefined) {
          stopCostResults = true;
          break;
        }
        const scenario = seed === undefined ? s0 : { ...s0, seed };
        const empty = shard === undefined ? undefined : emptyShardWarning(scenario, shard);
        if (empty !== undefined) io.err(empty);
        const progress = o.quiet ? undefined : new ProgressReporter(io, scenario);
        const run = startPooledRun(scenario, {
          pool,
          shard,
          pace: 'max',
          perGuest: o['per-guest'] === true,
          onUpdate: (r) => progress?.updatePooled(r),
          // --openmetrics: every task keeps its totals at each step of the results' time series.
          ...(files.openmetrics !== undefined ? { historyStepNs: seriesStepNs(scenario) } : {}),
        });
        const runId = `cli-${i + 1}`;
        if (hub) {
          hub.register(scenario, 'max');
          hub.addRun(runId, scenario, run);
        }
        current = run;
        let out: PooledOutcome;
        try {
          out = await run.done;
        } finally {
          current = undefined;
        }
        // A shard judges no threshold: its metrics carry no vmexit_lab_threshold_passed either.
        const judged = judgesThresholds(shard);
        if (hub)
          hub.finishRun(
            runId,
            out.error !== undefined ? 'failed' : 'completed',
            out.error !== undefined ? undefined : judged ? out.results : withoutThresholds(out.results),
          );
        if (out.error !== undefined) {
          progress?.done();
          io.err(`vmexit-lab run: ${scenario.name}: ${out.error}`);
        }
        // Violations get a shrunk reproducer (a few host re-runs, after the pool; docs/REPLAY.md).
        const reproduced = withReproducers(scenario, out.results, loadModelData(), { printSeed: true });
        // A shard's totals are part of the run's: its thresholds are judged by `merge`, not here. A failed
        // run's totals lack the failed task's hosts (partialReason names them): its thresholds are not
        // judged at all; the failure is the exit status 3 and JUnit's failed `run` case.
        const results =
          out.error !== undefined
            ? notJudged(reproduced, NOT_JUDGED_RUN_FAILED)
            : judged
              ? reproduced
              : notJudgedOnShard(reproduced);
        if (out.error !== undefined) {
          const p = run.progress();
          failed.push({
            scenario,
            hostsDone: `${p.hostsDone} of ${p.hostsTotal} hosts done`,
            simulated: out.results.variants.some((v) => v.totals.guestSeconds > 0),
          });
        }
        all.push(results);
        if (out.histories !== undefined)
          histories.push({
            scenario,
            results: judged && out.error === undefined ? results : withoutThresholds(results),
            timeline: timelineFromTasks(scenario, out.histories, out.accumulators, shard),
          });
        // A failed run's results are partial: exit status 3 (exitStatusOf).
        status = Math.max(status, exitStatusOf(results));
        // A scenario whose workers never ran a host second (none could start) has no table to show.
        if (out.error !== undefined && !failed[failed.length - 1].simulated) continue;
        io.out(renderSummary(results));
        if (o['perf-table']) io.out(renderPerfTables(results));
        if (out.error === undefined) progress?.done(results);
      }
    } finally {
      if (stoppedBy !== undefined && stopCostResults) status = STOP_SIGNALS[stoppedBy].status;
      await pool.close();
      const closed = new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
      // As the service's close: close() also stops Node's checks of the headers and request bounds,
      // so a client still sending its headers held the finished run's process for ever; the run is
      // over and its last figures rendered, so every connection is closed.
      server?.closeAllConnections();
      await closed;
    }
    const asked = [...Object.values(files), ...(timeline ? [timeline.file] : [])].filter((f) => f !== undefined);
    // No lost results: a failed scenario is written partial with the others (docs/CLI.md, exit status
    // 3). Only when nothing at all was simulated (no worker could start) is there nothing to keep.
    if (failed.length > 0 && failed.length === all.length && !failed.some((f) => f.simulated)) {
      if (asked.length > 0) io.err(`vmexit-lab run: not written: ${asked.join(', ')} (the run failed)`);
      return ExitStatus.INTERNAL;
    }
    written = writeOutputs('run', io, files, {
      openmetrics: () => renderOpenMetrics(histories, { startMs, job: o['openmetrics-job'] }),
      json: () => `${JSON.stringify(all.length === 1 ? all[0] : all, null, 2)}\n`,
      // One document, one root, for every scenario: documents one after the other are not XML.
      junit: () => renderJunit(all),
      summary: () => renderMarkdownAll(all),
      ...(all.length > 0
        ? {
            html: () =>
              renderHtmlReports(all.map((results, i) => ({ results, description: scenarios[i].description }))),
          }
        : {}),
    });
    if (!written) return ExitStatus.INTERNAL;
    const completed = all.length - failed.length;
    for (const f of failed)
      io.err(
        `vmexit-lab run: ${f.scenario.name} failed: its results are partial (${f.hostsDone})${
          asked.length === 0
            ? ''
            : `; written with the ${completed} scenario${completed === 1 ? '' : 's'} that completed: ${asked.join(', ')}`
        }`,
      );
    if (timeline) {
      const scenario = seed === undefined ? scenarios[0] : { ...scenarios[0], seed };
      try {
        if (!writeTimeline(io, scenario, timeline, o.quiet === true)) return ExitStatus.INTERNAL;
      } catch (e) {
        io.err(`vmexit-lab run: --timeline: ${(e as Error).message}`);
        return ExitStatus.INTERNAL;
      }
    }
    // Pushed last: the result files exist whatever happens to the push.
    if (o.push !== undefined && hub) {
      try {
        await pushMetrics(hub, { url: o.push, job: o['push-job'] ?? 'vmexit-lab', groupings });
        if (!o.quiet) io.err(`pushed metrics to ${o.push} (job ${o['push-job'] ?? 'vmexit-lab'})`);
      } catch (e) {
        io.err(`vmexit-lab run: cannot push metrics to ${o.push}: ${(e as Error).message}`);
        status = Math.max(status, ExitStatus.INTERNAL);
      }
    }
    return status;
  } finally {
    removeStopHandler(stopOnSignal);
  }
}

/**
 * A minimal /metrics endpoint for `run --metrics-listen` (the service has the full API), with the
 * service's bounds on slow and stalled clients (createHardenedServer; `bounds` for tests).
 */
export function serveMetrics(hub: MetricsHub, host: string, port: number, bounds?: HttpHardening): Promise<Server> {
  const endpoint = new MetricsEndpoint(hub);
  const admit = requestAdmitter();
  const server = createHardenedServer((req, res) => {
    // As the service: a pipelined request is refused unrendered (src/service/connections.ts, why).
    if (!admit(req, res)) {
      res.writeHead(429, { 'Content-Type': 'text/plain', Connection: 'close' }).end(`${PIPELINED}\n`);
      return;
    }
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/healthz')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    endpoint.render(prefersOpenMetrics(req.headers.accept)).then(
      (m) => res.writeHead(200, { 'Content-Type': m.contentType }).end(m.body),
      (e: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(e)}\n`),
    );
  }, bounds);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
