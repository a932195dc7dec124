/**
 * `vmexit-lab rules FILE...` — compile scenarios' thresholds to Prometheus alerting rules
 * (src/metrics/alertRules.ts, docs/BEYOND.md).
 */
import { singleOut, writeOneOutput } from '../outputs.js';
import { renderAlertRules, RuleCompileError } from '../../metrics/alertRules.js';
import { ExitStatus, type CliIo, commandArgs, refuseOption, usageProblem } from '../io.js';
import { loadAllOrExplain } from '../loadOrExplain.js';

const RULES_USAGE = `Usage: vmexit-lab rules [--out FILE] FILE...

Compile the thresholds of scenario files to Prometheus alerting rules: one rule group per scenario,
one alert rule (VmexitLabScenarioThreshold, label threshold="KEY: EXPR") per threshold expression,
in PromQL over the metrics /metrics exports. An alert fires for exactly the variants whose
threshold the run's own evaluation fails, when Prometheus holds one run of the scenario (a
backfilled 'run --openmetrics' file, a 'run --push' group, a 'run --metrics-listen' scrape).
Every threshold form compiles, except interrupts_delivered_* without a source label in a scenario
with scripted guests, and host_exit_time_ratio for a variant without modelled guests.

Options:
  -o, --out FILE  write the rule file instead of printing it
  -h, --help      show this help

Exit status: 0 written, 2 bad input (a scenario does not load, or a threshold does not compile).

Examples:
  vmexit-lab rules scenarios/default.yaml > vmexit-lab-thresholds.rules.yml
  promtool check rules vmexit-lab-thresholds.rules.yml
`;

export async function rulesCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'rules', RULES_USAGE, args, { out: { type: 'string', short: 'o' } });
  if (typeof parsed === 'number') return parsed;
  let outFile: string | undefined;
  try {
    outFile = singleOut(parsed.values.out, parsed.positionals);
  } catch (e) {
    return refuseOption(io, 'rules', e);
  }
  if (parsed.positionals.length === 0) {
    io.err(usageProblem('rules', 'no scenario file given'));
    return ExitStatus.BAD_INPUT;
  }
  const scenarios = loadAllOrExplain(parsed.positionals, io);
  if (!scenarios) return ExitStatus.BAD_INPUT;
  let text: string;
  try {
    text = renderAlertRules(scenarios);
  } catch (e) {
    if (!(e instanceof RuleCompileError)) throw e;
    io.err(`vmexit-lab rules: ${e.message}`);
    return ExitStatus.BAD_INPUT;
  }
  if (outFile === undefined) io.out(text);
  else if (!writeOneOutput('rules', io, outFile, text, 'the alerting rules')) return ExitStatus.INTERNAL;
  return ExitStatus.OK;
}
