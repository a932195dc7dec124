import { readResultsFile } from '../resultsFile.js';
import { assembleResults } from '../../run/runScenario.js';
import { exitStatusOf } from '../../results/exitStatus.js';
import { TotalsAccumulator } from '../../run/totals.js';
import { rawTotalsProblem } from '../../run/rawTotalsCheck.js';
import type { RunResults } from '../../results/types.js';
import { renderJunit, renderMarkdown, renderSummary } from '../../report/summary.js';
import { outTargets, writeOutputs, type OutTargets } from '../outputs.js';
import { ExitStatus, type CliIo, commandArgs, refuseOption, usageProblem } from '../io.js';
import { loadAllOrExplain } from '../loadOrExplain.js';
import { legacyVariantName } from '../../scenario/matrix.js';

const MERGE_USAGE = `Usage: vmexit-lab merge [--scenario FILE] [--out FILE] [--junit FILE] [--summary FILE] SHARD.json...

Combine the results of 'vmexit-lab run --shard I/N' runs into the result of the whole run. Each
shard file carries its exact integer accumulators, so the merge equals the unsharded run bit for bit
(counts, histogram buckets, phase sums); thresholds are then evaluated once, on the merged totals.
All N shards of one run (same scenario, seed and N, each index once) must be given. Shards written
before matrix values that are numbers or booleans were named KEY=VALUE ("1" for kvm_amd.avic=1)
merge with newer ones: the variants are the same, in the same order; a note on stderr says so.

Options:
  --scenario FILE  the scenario file (default: the path recorded in the shard files)
  -o, --out FILE   write the merged results.json (also k6's --out json=FILE, junit=FILE, summary=FILE)
  --junit FILE     write JUnit XML
  --summary FILE   write a Markdown summary
  -h, --help       show this help

Exit status: as 'vmexit-lab run' (0 pass, 1 threshold failed, 2 bad input, 3 unexpected violation,
or a shard that stopped before its end: the merged results are partial too).

Example:
  for i in 1 2 3 4; do vmexit-lab run --shard $i/4 --out shard-$i.json fleet.yaml; done
  vmexit-lab merge --out results.json shard-*.json
`;

/**
 * Whether shard variant name `written` is `expected`, or its spelling from before variants over a
 * number or boolean were named KEY=VALUE (33b5db7: "1" for `kvm_amd.avic=1`). The rename changed
 * names only, not the order of variants nor any count, so such a shard merges as it is.
 */
function sameVariant(written: string, expected: string): 'same' | 'renamed' | 'different' {
  if (written === expected) return 'same';
  const old = (n: string): boolean => n === legacyVariantName(n);
  if (legacyVariantName(written) === legacyVariantName(expected) && old(written) !== old(expected)) return 'renamed';
  return 'different';
}

/**
 * Why `shards` are not each of shards 1..count once: the ones missing (a shard job that failed, a
 * file not copied) and the ones given more than once, with their files (a glob that caught a copy).
 * It said "need shards 1, 2, 3 of 3, got 1, 1, 3", which left the reader to work out which.
 */
function shardSetProblem(shards: readonly RunResults[], files: readonly string[], count: number): string {
  const given = shards.map((s) => s.shard!.index);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !given.includes(i));
  const twice = [...new Set(given)]
    .filter((i) => given.filter((g) => g === i).length > 1)
    .sort((a, b) => a - b)
    .map((i) => {
      const where = files.filter((_, k) => given[k] === i);
      return `shard ${i} is given ${where.length === 2 ? 'twice' : `${where.length} times`} (${where.join(', ')})`;
    });
  const what = [
    ...(missing.length > 0
      ? [
          `shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${count} ${missing.length === 1 ? 'is' : 'are'} missing`,
        ]
      : []),
    ...twice,
  ];
  return `${what.join(', ')} (given: ${[...given].sort((a, b) => a - b).join(', ')}); merge needs each of shards 1..${count} once, as 'run --shard I/${count} --out FILE' writes them`;
}

function mergeShardFiles(
  shards: readonly RunResults[],
  files: readonly string[],
): {
  accumulators: TotalsAccumulator[];
  first: RunResults;
} {
  if (shards.length === 0) throw new Error('no shard files given');
  const first = shards[0];
  const count = first.shard?.count;
  for (const [i, s] of shards.entries()) {
    if (!s.shard)
      throw new Error(`${files[i]}: not a shard result (expected what 'run --shard I/N --out FILE' writes)`);
    if (s.scenario !== first.scenario || s.seed !== first.seed || s.shard.count !== count) {
      throw new Error(
        `shards of different runs: ${first.scenario} seed ${first.seed} /${count} vs ${s.scenario} seed ${s.seed} /${s.shard.count}`,
      );
    }
  }
  const byIndex = [...shards].sort((a, b) => a.shard!.index - b.shard!.index);
  const indexes = byIndex.map((s) => s.shard!.index);
  const expected = Array.from({ length: count! }, (_, i) => i + 1);
  if (indexes.join(',') !== expected.join(',')) throw new Error(shardSetProblem(shards, files, count!));
  const accumulators = first.variants.map(() => new TotalsAccumulator());
  for (const s of byIndex) {
    s.variants.forEach((v, i) => {
      if (!v.raw) throw new Error(`shard ${s.shard!.index}: variant ${v.name} has no raw accumulator`);
      const problem = rawTotalsProblem(v.raw);
      if (problem !== undefined)
        throw new Error(
          `${files[shards.indexOf(s)]}: variant ${v.name}: ${problem}; the shard file is damaged (run the shard again)`,
        );
      const expected = first.variants[i]?.name;
      if (expected === undefined || sameVariant(v.name, expected) === 'different')
        throw new Error(
          `shard ${s.shard!.index}: variants differ (${JSON.stringify(v.name)}; shard ${first.shard!.index} has ${expected === undefined ? 'no such variant' : JSON.stringify(expected)})`,
        );
      accumulators[i].merge(TotalsAccumulator.fromJSON(v.raw));
    });
  }
  return { accumulators, first };
}

export async function mergeCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'merge', MERGE_USAGE, args, {
    scenario: { type: 'string' },
    out: { type: 'string', multiple: true, short: 'o' },
    junit: { type: 'string' },
    summary: { type: 'string' },
  });
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length === 0) {
    io.err(usageProblem('merge', 'no shard files given'));
    return ExitStatus.BAD_INPUT;
  }
  const o = parsed.values;
  let files: OutTargets;
  let shards: RunResults[];
  let merged;
  try {
    files = outTargets(
      o.out ?? [],
      { junit: o.junit, summary: o.summary },
      ['json', 'junit', 'summary'],
      [...parsed.positionals, ...(o.scenario !== undefined ? [o.scenario] : [])],
    );
  } catch (e) {
    return refuseOption(io, 'merge', e);
  }
  try {
    shards = parsed.positionals.map(readResultsFile);
    merged = mergeShardFiles(shards, parsed.positionals);
  } catch (e) {
    io.err(`vmexit-lab merge: ${(e as Error).message}`);
    return ExitStatus.BAD_INPUT;
  }
  const scenarios = loadAllOrExplain([o.scenario ?? merged.first.file], io);
  if (!scenarios) return ExitStatus.BAD_INPUT;
  const scenario = { ...scenarios[0], seed: merged.first.seed };
  if (scenario.name !== merged.first.scenario || scenario.variants.length !== merged.accumulators.length) {
    io.err(`vmexit-lab merge: ${scenario.file} is not the scenario of these shards (${merged.first.scenario})`);
    return ExitStatus.BAD_INPUT;
  }
  // The merged results carry the scenario's names; a shard written before the KEY=VALUE names is said.
  for (const [f, shard] of shards.entries()) {
    const renamed: string[] = [];
    for (const [i, v] of shard.variants.entries()) {
      const same = sameVariant(v.name, scenario.variants[i].name);
      if (same === 'different') {
        io.err(
          `vmexit-lab merge: ${scenario.file} is not the scenario of these shards: its variant ${i + 1} is "${scenario.variants[i].name}", ${parsed.positionals[f]} has "${v.name}"`,
        );
        return ExitStatus.BAD_INPUT;
      }
      if (same === 'renamed') renamed.push(`"${v.name}" as "${scenario.variants[i].name}"`);
    }
    if (renamed.length > 0)
      io.err(
        `vmexit-lab merge: note: ${parsed.positionals[f]} names its variants as before matrix values that are numbers or booleans were named KEY=VALUE; merged ${renamed.join(', ')} (the same variants, counts unchanged)`,
      );
  }
  const whole = assembleResults(scenario, merged.accumulators, { startedAt: merged.first.startedAt, wallSeconds: 0 });
  // A shard stopped before its end (Ctrl-C, SIGTERM, a failed task) holds part of its hosts' run, and
  // so does the merge: partial, exit 3 (docs/CLI.md). It merged as a whole run, its thresholds judged.
  const stopped = shards.flatMap((s, i) =>
    s.partial === true ? [{ shard: s.shard!, file: parsed.positionals[i], why: s.partialReason }] : [],
  );
  const partialReason = stopped
    .map(
      ({ shard, file, why }) =>
        `shard ${shard.index} of ${shard.count} (${file}) is partial: ${why ?? 'it stopped before its end.'}`,
    )
    .join(' ');
  const results = stopped.length > 0 ? { ...whole, partial: true as const, partialReason } : whole;
  if (stopped.length > 0)
    io.err(
      `vmexit-lab merge: ${partialReason} The merged results are partial too: run shard${stopped.length === 1 ? '' : 's'} ${stopped.map(({ shard }) => `${shard.index}/${shard.count}`).join(', ')} again`,
    );
  io.out(renderSummary(results));
  const written = writeOutputs('merge', io, files, {
    json: () => `${JSON.stringify(results, null, 2)}\n`,
    junit: () => renderJunit(results),
    summary: () => renderMarkdown(results),
  });
  if (!written) return ExitStatus.INTERNAL;
  return exitStatusOf(results);
}
