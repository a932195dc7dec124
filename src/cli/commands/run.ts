import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitStatusOf, runScenario, type ShardSpec } from '../../run/runScenario.js';
import { renderJunit, renderMarkdown, renderSummary } from '../../report/summary.js';
import type { RunResults } from '../../results/types.js';
import { ExitStatus, type CliIo } from '../io.js';
import { loadAllOrExplain } from '../loadOrExplain.js';
import { ProgressReporter } from '../progress.js';

export const RUN_USAGE = `Usage: vmexit-lab run [options] FILE...

Run scenario files and print a summary table. Every scenario is validated first: if any file is
bad, nothing runs. Results are deterministic: the same scenario and seed give the same counts.

Options:
  --out FILE       write results.json (docs/RESULTS.md); with several scenarios, FILE gets one
                   JSON document per scenario in an array
  --junit FILE     write JUnit XML: a testcase per threshold and per unexpected invariant violation
  --summary FILE   write a Markdown summary (for a CI job summary or a PR comment)
  --per-guest      also report totals per guest in results.json (off by default: fleets are large)
  --seed N         override the scenario's seed
  --shard I/N      run only shard I of N (hosts are split; 'vmexit-lab merge' combines shards)
  --quiet          no progress output
  -h, --help       show this help

Exit status:
  0  all thresholds passed
  1  a threshold failed
  2  bad input or usage (nothing was run)
  3  an invariant violation the scenario does not expect, a failed VM entry, or an internal error

Examples:
  vmexit-lab run scenarios/seed/win10-1909-cr8-exits.yaml
  vmexit-lab run --out results.json --junit junit.xml scenarios/seed/*.yaml
  CI=true vmexit-lab run --summary "$GITHUB_STEP_SUMMARY" my-scenario.yaml
`;

export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new Error(`--shard expects I/N with 1 <= I <= N, found "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new Error(`--shard expects I/N with 1 <= I <= N, found "${text}"`);
  return { index, count };
}

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        out: { type: 'string' }, junit: { type: 'string' }, summary: { type: 'string' }, seed: { type: 'string' },
        shard: { type: 'string' }, quiet: { type: 'boolean' }, 'per-guest': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.err(`vmexit-lab run: ${(e as Error).message}\n\n${RUN_USAGE}`);
    return ExitStatus.BAD_INPUT;
  }
  const o = parsed.values;
  if (o.help) {
    io.out(RUN_USAGE);
    return ExitStatus.OK;
  }
  if (parsed.positionals.length === 0) {
    io.err(`vmexit-lab run: no scenario file given\n\n${RUN_USAGE}`);
    return ExitStatus.BAD_INPUT;
  }
  let shard: ShardSpec | undefined;
  let seed: number | undefined;
  try {
    if (o.shard !== undefined) shard = parseShard(o.shard);
    if (o.seed !== undefined) {
      seed = Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`--seed expects an integer 0..4294967295, found "${o.seed}"`);
    }
  } catch (e) {
    io.err(`vmexit-lab run: ${(e as Error).message}`);
    return ExitStatus.BAD_INPUT;
  }
  const scenarios = loadAllOrExplain(parsed.positionals, io);
  if (!scenarios) return ExitStatus.BAD_INPUT;
  const all: RunResults[] = [];
  let status: number = ExitStatus.OK;
  for (const s0 of scenarios) {
    const scenario = seed === undefined ? s0 : { ...s0, seed };
    const progress = o.quiet ? undefined : new ProgressReporter(io, scenario.name);
    const run = runScenario(scenario, { shard, perGuest: o['per-guest'] === true, onProgress: (p) => progress?.update(p) });
    progress?.done();
    all.push(run.results);
    io.out(renderSummary(run.results));
    status = Math.max(status, exitStatusOf(run.results));
  }
  try {
    if (o.out) writeFileSync(o.out, `${JSON.stringify(all.length === 1 ? all[0] : all, null, 2)}\n`);
    if (o.junit) writeFileSync(o.junit, all.map(renderJunit).join(''));
    if (o.summary) writeFileSync(o.summary, all.map(renderMarkdown).join('\n'), { flag: o.summary.startsWith('/dev/') ? 'w' : 'w' });
  } catch (e) {
    io.err(`vmexit-lab run: cannot write output: ${(e as Error).message}`);
    return ExitStatus.INTERNAL;
  }
  return status;
}
