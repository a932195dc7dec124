import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../model/data.js';
import { ExitStatus, type CliIo } from '../io.js';
import { runCommand } from './run.js';

export const DEFAULT_SCENARIO = join(REPO_ROOT, 'scenarios', 'default.yaml');

export const START_USAGE = `Usage: vmexit-lab start [--scenario FILE]

The main job: run the embedded default scenario (scenarios/default.yaml, a mixed Windows / Linux /
FreeBSD fleet, bhyve 12.1 against the committed TPR-shadowing change) and print its summary.

Options:
  --scenario FILE  run this scenario instead of the default
  -h, --help       show this help
`;

export async function startCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { scenario: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    io.err(`vmexit-lab start: ${(e as Error).message}\n\n${START_USAGE}`);
    return ExitStatus.BAD_INPUT;
  }
  if (parsed.values.help) {
    io.out(START_USAGE);
    return ExitStatus.OK;
  }
  return runCommand([parsed.values.scenario ?? DEFAULT_SCENARIO], io);
}
