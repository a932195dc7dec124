/**
 * Interleaved A/B of the engine bench (docs/PERF.md): the same case of bench/run.ts run on two or more
 * builds in turn (every other round in reverse order), round after round, so load from other
 * processes hits every build alike; each figure the median over the rounds, on CPU time (what the
 * bench's process got of a core), with the ceiling measured in each run; and each build's ratio to
 * the first round by round (median, quartiles).
 *
 *   node dist/bench/ab.js --case idle-fleet --rounds 5 DIR_A DIR_B [DIR_C ...]
 *
 * Each DIR is a checkout (or a copy) with its dist/ built and its data/ and scenarios/ beside it
 * (REPO_ROOT is found from dist/), e.g. a `git worktree add` of the commit to compare with, built
 * there. Options: --case (bench/run.ts's case; idle-fleet), --rounds N (5), --seconds S (passed on:
 * every case S simulated seconds; short runs read lower, JIT warm-up weighing more); --help. Each
 * build's run.js measures its default engine (rollup's bundle since --engine, tsc's modules before),
 * printed under its figures.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { benchArgs, USAGE_ERROR } from './args.js';
import { median } from './stats.js';

const { values: opts, positionals: dirs } = benchArgs(
  'node dist/bench/ab.js [options] DIR_A DIR_B [DIR_C ...]: interleaved A/B of bench/run.js on two or more builds\n' +
    '(each DIR a checkout or copy with dist/ built and data/, scenarios/ beside it), medians on CPU time',
  {
    case: { type: 'string', default: 'idle-fleet', value: 'NAME', help: "bench/run.js's case (its --help lists them)" },
    rounds: { type: 'string', default: '5', value: 'N', help: 'runs of each build, taken in turn' },
    seconds: { type: 'string', value: 'S', help: 'passed on: every case S simulated seconds (short runs read lower)' },
  },
  { allowPositionals: true },
);
if (dirs.length < 2) {
  process.stderr.write('give at least two build directories (each with dist/, data/, scenarios/); --help\n');
  process.exit(USAGE_ERROR);
}
const rounds = Math.max(1, Number(opts.rounds));

interface Run {
  /** Engine events per CPU second. */
  events: number;
  /** Their share of the same run's ceiling, %. */
  share: number;
  /** Simulated vCPU-seconds per CPU second. */
  vcpu: number;
  /** The engine the build's run.js measured (its `engine:` line; none before --engine: tsc's modules). */
  engine: string;
}

/** "1.45 M" / "812.3 k" / "950" as printed by bench/run.ts's fmt. */
function number(text: string): number {
  const m = /^([\d.]+)\s*([kM]?)$/.exec(text.trim());
  if (!m) throw new Error(`not a bench figure: ${text}`);
  return Number(m[1]) * (m[2] === 'M' ? 1e6 : m[2] === 'k' ? 1e3 : 1);
}

function runOnce(dir: string): Run {
  const args = [join(dir, 'dist', 'bench', 'run.js'), '--case', opts.case, '--no-memory'];
  if (opts.seconds !== undefined) args.push('--seconds', opts.seconds);
  const out = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${dir}: bench/run.js failed: ${out.stderr}`);
  // The per-CPU-second line of the case (the first of its two lines).
  const line = out.stdout.split('\n').find((l) => l.includes('events/CPU-s = '));
  const m =
    line && /engine ([\d.]+ ?[kM]?) events\/CPU-s = ([\d.]+) % of ceiling; ([\d.]+ ?[kM]?) simulated/.exec(line);
  if (!m) throw new Error(`${dir}: no per-CPU-second figures in the bench's output`);
  const engine =
    out.stdout.split('\n').find((l) => l.startsWith('engine: ')) ?? "engine: tsc's modules (a build before --engine)";
  return { events: number(m[1]), share: Number(m[2]), vcpu: number(m[3]), engine };
}

/**
 * The ratio of `b`'s run to `a`'s in each round, their median and quartiles: a burst of load that
 * hits one round hits both builds' runs of it, so this reads steadier than the medians' ratio when
 * the machine is shared (and says how far apart the rounds were).
 */
function paired(b: readonly Run[], a: readonly Run[]): string {
  const r = b.map((x, k) => x.events / a[k].events).sort((p, q) => p - q);
  const q = (f: number): string => r[Math.round(f * (r.length - 1))].toFixed(3);
  return ` (round by round: median x${median(r).toFixed(3)}, quartiles ${q(0.25)}-${q(0.75)})`;
}

const roots = dirs.map((d) => resolve(d));
const runs = roots.map(() => [] as Run[]);
const loads = [loadavg()[0]];
for (let r = 0; r < rounds; r++) {
  // Every other round in reverse order, so that no build always runs right after the same other one.
  for (let k = 0; k < roots.length; k++) {
    const i = r % 2 === 0 ? k : roots.length - 1 - k;
    runs[i].push(runOnce(roots[i]));
  }
  loads.push(loadavg()[0]);
}
console.log(
  `A/B, case ${opts.case}${opts.seconds === undefined ? '' : ` (${opts.seconds} s)`}, ${rounds} rounds interleaved, ` +
    `medians on CPU time; load average (1 min) ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
);
const base = median(runs[0].map((x) => x.events));
roots.forEach((dir, i) => {
  const ev = median(runs[i].map((x) => x.events));
  console.log(
    `  ${dirs[i]}: engine ${(ev / 1e6).toFixed(3)} M events/CPU-s (${median(runs[i].map((x) => x.share)).toFixed(2)} % of ` +
      `ceiling; each run ${runs[i].map((x) => (x.events / 1e6).toFixed(2)).join(' ')}), ` +
      `${median(runs[i].map((x) => x.vcpu)).toFixed(0)} vCPU-s per CPU-s` +
      (i === 0 ? '' : `; x${(ev / base).toFixed(3)} the first${paired(runs[i], runs[0])}`),
  );
  // Each build's run.js picks its own engine: a build before --engine measures tsc's modules, a
  // later one rollup's bundle, so two such builds differ by the bundle as well (docs/PERF.md).
  console.log(`    ${[...new Set(runs[i].map((x) => x.engine))].join(' / ')}`);
});
