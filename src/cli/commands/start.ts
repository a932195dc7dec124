import { statSync } from 'node:fs';
import { readScenarioText } from '../../scenario/load.js';
import { ScenarioError } from '../../input/diagnostics.js';
import { dashProblem, diagnosticLine } from '../loadOrExplain.js';
import { ApiError } from '../../service/errors.js';
import { checkCaps, OverCapError, serviceLimits } from '../../service/caps.js';
import { parseOrThrow, ScenarioCatalog, type LoadedScenario } from '../../service/scenarios.js';
import { defaultWorkers } from '../../pool/pool.js';
import type { Scenario } from '../../scenario/types.js';
import { DEFAULT_PORT, type ServiceOptions } from '../../service/server.js';
import { ExitStatus, type CliIo, commandArgs, usageProblem } from '../io.js';
import { launch, SERVE_OPTIONS_HELP, SERVE_PARSE_OPTIONS, serviceOptions } from './serve.js';

const START_USAGE = `Usage: vmexit-lab start [--scenario FILE] [service options]

The main job: start the service (vmexit-lab serve) and run the embedded default scenario
(scenarios/default.yaml, a mixed Windows / Linux / FreeBSD fleet, bhyve 12.1 against the committed
TPR-shadowing change) at realtime pace, back to back until stopped: each run is an
ordinary run in the history (the next seed each time) and the metrics go on across runs, so
/metrics moves like a real host's at every scrape, from the first one on. The default runs on
threads of its own: runs you submit do not wait for it. Prints the URLs; stops on SIGTERM or
SIGINT (draining running runs).

The scenario is held to the caps of a run posted to the service (--max-guests, --max-duration,
--max-run-time for its length at realtime pace, --max-run-cost, --max-series and its own
cardinalityBudget), with these options' values: one over a cap is refused before the service
starts (exit 2), with a line for each cap it is over naming the option that raises it.

Options:
  --scenario FILE      run this scenario instead of the default (also back to back, realtime)
  -h, --help           show this help

${SERVE_OPTIONS_HELP}
Exit status: 0 drained after SIGTERM or SIGINT, 2 bad input (an option, the scenario bad or over
a cap, the data directory locked by another service, the port taken), 3 a simulation worker that
could not start (a damaged install), a drain that failed or a second signal (the same one again
within 0.5 s, as npm forwards Ctrl-C, is not a second).

Examples:
  npm start                                    # builds, then runs this command
  curl -s http://127.0.0.1:${DEFAULT_PORT}/metrics | grep vmexit_lab_vm_exits_total
  vmexit-lab start --port 9090                 # another port
  curl -s http://127.0.0.1:9090/metrics | grep vmexit_lab_vm_exits_total
`;

/** The catalog's name of the embedded default (scenarios/default.yaml). */
const DEFAULT_SCENARIO = 'default';

function explain(e: unknown, io: CliIo): void {
  if (e instanceof ApiError && e.extra.diagnostics) for (const d of e.extra.diagnostics) io.err(d.text);
  else io.err(`vmexit-lab start: ${(e as Error).message}`);
}

/**
 * Why the service these options start would refuse `scenario` as a posted run (the caps' one rule,
 * src/service/caps.ts checkCaps, at the pace start runs it): one line for each cap it is over, in
 * checkCaps' order, with the option value that would admit it; none when it fits.
 */
function overCaps(scenario: Scenario, options: ServiceOptions): string[] {
  const workers = options.workers ?? defaultWorkers();
  try {
    checkCaps(
      { ...scenario, pace: 'realtime' },
      { limits: serviceLimits(options.limits, workers), workers, perGuest: options.perGuestMetrics === true },
    );
    return [];
  } catch (e) {
    if (!(e instanceof OverCapError)) throw e;
    return e.exceeded.map((x) => {
      const raise = x.option !== undefined ? ` To run it, give ${x.option} ${x.atLeast} or more.` : '';
      return `${x.message.replace(/\.?$/, '.')} Not started.${raise}`;
    });
  }
}

/**
 * FILE's text, read as `run` and the service's catalogue read a scenario file (readScenarioText,
 * src/scenario/load.ts: an oversize file refused at its size, a byte order mark dropped); undefined,
 * said, when it cannot be read.
 */
function scenarioText(file: string, io: CliIo): string | undefined {
  try {
    const stat = statSync(file);
    // The loader's words for a directory (the read's own are "EISDIR: illegal operation on a directory").
    if (stat.isDirectory()) {
      io.err(
        `${file}: error: is a directory, not a scenario file (expected one scenario file, e.g. one of ${file.replace(/\/$/, '')}/*.yaml)`,
      );
      return undefined;
    }
    return readScenarioText(file, stat.size);
  } catch (e) {
    if (e instanceof ScenarioError) for (const d of e.diagnostics) io.err(diagnosticLine(d));
    else
      io.err(
        dashProblem(file) ??
          diagnosticLine({ file, line: 0, column: 0, message: `cannot read the file: ${(e as Error).message}` }),
      );
    return undefined;
  }
}

export async function startCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(
    io,
    'start',
    START_USAGE,
    args,
    { ...SERVE_PARSE_OPTIONS, scenario: { type: 'string' } },
    false,
  );
  if (typeof parsed === 'number') return parsed;
  let options;
  try {
    options = serviceOptions(parsed.values, io.env);
  } catch (e) {
    io.err(usageProblem('start', (e as Error).message));
    return ExitStatus.BAD_INPUT;
  }
  const file = parsed.values.scenario;
  // The scenario is checked before the service starts (a bad one printed the service's URLs, then
  // its errors, and the service was gone), and parsed here only, where that can be done: the
  // service is given this catalog, so its runs of the default find it parsed in the catalog's cache.
  // FILE's text is read once (a second read of /dev/stdin found it empty) and parsed once, by the
  // rule the service parses posted YAML by (no workload profile files); the service is handed the
  // parsed scenario with its text (SubmitRequest.loaded), not the text to parse again.
  const catalog = new ScenarioCatalog();
  let loaded: LoadedScenario | undefined;
  let scenario: Scenario;
  try {
    if (file !== undefined) {
      const yaml = scenarioText(file, io);
      if (yaml === undefined) return ExitStatus.BAD_INPUT;
      scenario = parseOrThrow(yaml, file, { workloadBaseDir: null });
      loaded = { scenario, yaml };
    } else scenario = catalog.load(DEFAULT_SCENARIO).scenario;
  } catch (e) {
    explain(e, io);
    return ExitStatus.BAD_INPUT;
  }
  const over = overCaps(scenario, options);
  if (over.length > 0) {
    const what = file ?? `the embedded default scenario (scenarios/${DEFAULT_SCENARIO}.yaml)`;
    for (const line of over) io.err(`vmexit-lab start: ${what}: ${line}`);
    return ExitStatus.BAD_INPUT;
  }
  const up = await launch({ ...options, catalog }, io, 'start');
  if (typeof up === 'number') return up;
  // launch took the signals before printing the URLs: one that comes while the scenario starts
  // drains the service too (it killed the process without a drain when taken only after it).
  const { svc, stop } = up;
  try {
    const run = await svc.runContinuously(
      loaded !== undefined ? { loaded, pace: 'realtime' } : { name: DEFAULT_SCENARIO, pace: 'realtime' },
    );
    // The run's page first (live figures, then its report): the JSON record alone was what a browser opened.
    io.out(
      `  running ${run.scenario} at realtime pace, back to back (${run.guests} guests): ${svc.url}/runs/${run.id} (its page; JSON: ${svc.url}/api/runs/${run.id})`,
    );
  } catch (e) {
    // A signal while the scenario started: the drain it began is the answer, not the error.
    if (stop.signalled()) return stop.drained;
    stop.release();
    explain(e, io);
    await svc.close();
    return ExitStatus.BAD_INPUT;
  }
  return stop.drained;
}
