#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compareCommand } from './commands/compare.js';
import { cpusCommand } from './commands/cpus.js';
import { listCommand } from './commands/list.js';
import { mergeCommand } from './commands/merge.js';
import { runCommand } from './commands/run.js';
import { traceCommand } from './commands/trace.js';
import { replayCommand } from './commands/replay.js';
import { validateCommand } from './commands/validate.js';
import { importCommand } from './commands/import.js';
import { whatIfCommand } from './commands/whatIf.js';
import { startCommand } from './commands/start.js';
import { serveCommand } from './commands/serve.js';
import { rulesCommand } from './commands/rules.js';
import { validateModelCommand } from './commands/validateModel.js';
import { ExitStatus, processIo, type CliIo } from './io.js';
import { TOOL_VERSION } from '../version.js';
import { didYouMean } from '../input/diagnostics.js';

const USAGE = `vmexit-lab ${TOOL_VERSION} - what a CPU feature, tunable or hypervisor patch does to your guests' VM exits

Usage: vmexit-lab COMMAND [options]

Commands:
  start              the main job: the service, running the embedded default scenario live
  serve              the service: HTTP API for runs, Prometheus /metrics, run history
  run FILE...        run scenarios, print a summary, write results.json / JUnit / Markdown
  validate FILE...   check scenario files (file:line:col errors) without running them
  trace FILE         JSON Lines of every operation of a scenario's scripted guests
  replay FILE        re-run one guest's host and print its exits around a time (JSON Lines)
  list [KIND]        scenarios, CPU profiles, guest models and phases, policies and tunables, host OSes
  compare OLD NEW    differences between two results.json files, per variant and metric
  merge SHARD...     combine 'run --shard I/N' results into the whole run's, exactly
  rules FILE...      the scenarios' thresholds as Prometheus alerting rules (PromQL)
  cpus               CPU profiles; 'cpus import FILE' turns a FreeBSD dmesg or /proc/cpuinfo into one
  import FORMAT FILE a real host's exit report (perf kvm stat, kvm_stat, bhyvectl) as a workload profile
  what-if PROFILE    what other CPUs and policies would change for a workload profile
  validate-model     the model against published measurements (data/validation): real, model, model/real

Run 'vmexit-lab COMMAND --help' for a command's options, exit statuses and examples;
docs/SCENARIOS.md describes the scenario format (every key, its values and default), docs/CLI.md
the commands.

Exit status: 0 done (every threshold passed), 1 a threshold failed, 2 bad input or usage (nothing
ran), 3 an invariant violation the scenario does not expect, a failed VM entry, partial results or
an internal error, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM (run: partial results written
as after Ctrl-C); docs/CLI.md has each command's.

Examples:
  vmexit-lab list
  vmexit-lab run scenarios/seed/win10-1909-install-tpr-shadowing.yaml
  vmexit-lab trace scenarios/seed/e5-2667v4-apicv-panic-script.yaml
  vmexit-lab cpus import /var/run/dmesg.boot       # FreeBSD; on Linux: /proc/cpuinfo
`;

/** The commands, as USAGE lists them (for the did-you-mean of an unknown one). */
const COMMANDS = [
  ...USAGE.slice(USAGE.indexOf('Commands:'), USAGE.indexOf('Run ')).matchAll(/^ {2}([a-z][a-z-]*)/gm),
].map((m) => m[1]);

const REPORTS_ARE_OPTIONS =
  "the reports are options of run: 'vmexit-lab run --html report.html --summary summary.md --junit junit.xml --out results.json FILE' " +
  '(a run is deterministic: the same scenario and seed give the same figures again; merge writes them for shards)';

/**
 * Commands a newcomer reaches for that are another command or an option of one: `report` was
 * offered "import" (two letters apart), `html`, `diff` and `check` nothing.
 */
const ELSEWHERE: Readonly<Record<string, string>> = {
  report: REPORTS_ARE_OPTIONS,
  html: REPORTS_ARE_OPTIONS,
  summary: REPORTS_ARE_OPTIONS,
  junit: REPORTS_ARE_OPTIONS,
  diff: "'vmexit-lab compare OLD.json NEW.json' compares two results.json files",
  check: "'vmexit-lab validate FILE...' checks scenario files without running them",
  lint: "'vmexit-lab validate FILE...' checks scenario files without running them",
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest, io);
    case 'validate':
      return validateCommand(rest, { out: io.out, err: io.err });
    case 'trace':
      return traceCommand(rest, io);
    case 'replay':
      return replayCommand(rest, io);
    case 'list':
      return listCommand(rest, io);
    case 'compare':
      return compareCommand(rest, io);
    case 'merge':
      return mergeCommand(rest, io);
    case 'rules':
      return rulesCommand(rest, io);
    case 'cpus':
      return cpusCommand(rest, { out: io.out, err: io.err });
    case 'import':
      return importCommand(rest, io);
    case 'what-if':
      return whatIfCommand(rest, io);
    case 'validate-model':
      return validateModelCommand(rest, io);
    case 'start':
      return startCommand(rest, io);
    case 'serve':
      return serveCommand(rest, io);
    case 'help':
      // `vmexit-lab help run` as `vmexit-lab run --help` (as git and npm take it); `help nope` is refused.
      if (rest.length > 0) return rest[0].startsWith('-') ? main(rest, io) : main([rest[0], '--help'], io);
      io.out(USAGE);
      return ExitStatus.OK;
    case undefined:
      // No command is a usage error: the usage goes where errors go (`vmexit-lab > f` shows it).
      io.err(USAGE);
      return ExitStatus.BAD_INPUT;
    case '--help':
    case '-h':
      io.out(USAGE);
      return ExitStatus.OK;
    case '--version':
      io.out(TOOL_VERSION);
      return ExitStatus.OK;
    default:
      io.err(
        command.startsWith('-')
          ? `vmexit-lab: unknown option ${command}${didYouMean(command, ['--help', '--version'])}; 'vmexit-lab --help' lists the commands`
          : Object.hasOwn(ELSEWHERE, command)
            ? `vmexit-lab: unknown command "${command}": ${ELSEWHERE[command]}; 'vmexit-lab --help' lists the commands`
            : `vmexit-lab: unknown command "${command}"${didYouMean(command, COMMANDS)}; 'vmexit-lab --help' lists the commands`,
      );
      return ExitStatus.BAD_INPUT;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`vmexit-lab: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = ExitStatus.INTERNAL;
    },
  );
}
