/**
 * node dist/bench/allocSpread.js: how often a fresh process fails the steady-state allocation guard
 * (test/engine/alloc.test.ts). What V8 optimizes, and so whether a double is boxed on the per-event
 * path, differs from process to process (TurboFan reads feedback while the program runs on), so one
 * run of the test says little about a mode that comes once in a hundred processes. This runs the
 * guard's measurement (bench/allocMeasure.ts guardWindows over ALLOC_GUARD_CASES - the idle fleet's
 * two policies, then the overcommitted host, then workload-profile guests - in one process and in that order, as the test does;
 * --case measures one case alone) in --processes fresh processes, --parallel at a time, and prints
 * how many processes fell in each band of the least bytes per event, the worst processes' windows,
 * and how many would have failed the test (docs/perf/history.md#twelfth-session-a-boxed-double-per-event-in-1-process-of-300-found-and-removed-16 and
 * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadModelData } from '../src/model/data.js';
import { benchArgs, checkChoice, choicesText, USAGE_ERROR } from './args.js';
import { ALLOC_GUARD, ALLOC_GUARD_CASES, guardWindows } from './allocMeasure.js';
import { CASES, scenarios } from './cases.js';

/** The guard's cases by id (its runs of one case share it), with their labels: --case's choices. */
const GUARD_CASES: Record<string, string> = Object.fromEntries(ALLOC_GUARD_CASES.map((c) => [c.id, CASES[c.id]]));

const { values: opts } = benchArgs(
  'node dist/bench/allocSpread.js [options]: the allocation guard repeated over fresh processes (docs/PERF.md)',
  {
    processes: { type: 'string', default: '40', value: 'N', help: 'fresh processes to run' },
    parallel: { type: 'string', default: '2', value: 'N', help: 'processes at a time' },
    case: {
      type: 'string',
      value: 'NAME',
      help: `only that case's runs, alone in each process (default: all the test's, in its order)`,
    },
    one: { type: 'boolean', default: false, help: '(internal) measure in this process, print one JSON line' },
  },
  { more: choicesText("the guard's cases", GUARD_CASES) },
);
checkChoice('case', "the guard's cases", opts.case, GUARD_CASES);
const runs = opts.case === undefined ? ALLOC_GUARD_CASES : ALLOC_GUARD_CASES.filter((c) => c.id === opts.case);

/** One process's measurement: per case and variant, bytes per event in each of the guard's windows. */
type Measurement = Record<string, number[]>;

function measureHere(): Measurement {
  const data = loadModelData();
  const out: Measurement = {};
  for (const { id, label, warmupS, windowS } of runs) {
    const { scenario, variants } = scenarios[id];
    for (const v of variants)
      out[`${label} ${v.name}`] = guardWindows(scenario, v, data, warmupS, windowS).bytesPerEvent;
  }
  return out;
}

function runOne(): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), '--one', ...(opts.case === undefined ? [] : ['--case', opts.case])];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`a measuring process exited with status ${code}`));
      else resolve(JSON.parse(text) as Measurement);
    });
  });
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name}: expected a whole number of at least 1, got ${JSON.stringify(text)}\n`);
    process.exit(USAGE_ERROR);
  }
  return n;
}

/** The least of a process's windows for its worst variant: what the test compares with its bound. */
function least(m: Measurement): number {
  return Math.max(...Object.values(m).map((w) => Math.min(...w)));
}

async function main(): Promise<void> {
  if (opts.one) {
    process.stdout.write(`${JSON.stringify(measureHere())}\n`);
    return;
  }
  const total = positive('processes', opts.processes);
  const parallel = positive('parallel', opts.parallel);
  const results: Measurement[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++;
      results.push(await runOne());
      process.stderr.write(`\r${results.length}/${total} processes`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, total) }, lane));
  process.stderr.write('\n');
  const bands = [0.5, 2, ALLOC_GUARD.boundBytesPerEvent, 8, Infinity];
  const counts = bands.map(() => 0);
  for (const m of results) counts[bands.findIndex((b) => least(m) < b)]++;
  console.log(
    `allocation guard over ${total} fresh processes (${runs.map((c) => `${c.label}: ${c.warmupS} s warm-up, ${ALLOC_GUARD.windows} windows of ${c.windowS} s`).join('; ')}; ` +
      `the least window of the worst variant):`,
  );
  let lo = 0;
  bands.forEach((b, i) => {
    console.log(`  ${`${lo}-${b === Infinity ? '' : b}`.padEnd(8)} bytes per event: ${counts[i]} processes`);
    lo = b;
  });
  const fails = results.filter((m) => least(m) >= ALLOC_GUARD.boundBytesPerEvent).length;
  console.log(`  would fail the test (least >= ${ALLOC_GUARD.boundBytesPerEvent}): ${fails} of ${total}`);
  const worst = [...results].sort((a, b) => least(b) - least(a)).slice(0, 3);
  for (const m of worst)
    console.log(
      `  worst: ${Object.entries(m)
        .map(([name, w]) => `${name} ${w.map((x) => x.toFixed(2)).join(', ')}`)
        .join('; ')}`,
    );
}

await main();
