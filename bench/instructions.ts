/**
 * node dist/bench/instructions.js [--case NAME] [--seconds S] DIR [DIR ...]: machine instructions per
 * engine event of each build, counted by valgrind (cachegrind without its cache simulation), for a
 * machine shared with other engineers: CPU-time A/Bs (bench/ab.ts) there spread by more than a step of a
 * few percent, an instruction count does not depend on the load (docs/perf/history.md#fourteenth-session-two-table-operations-merged-the-log-series-cut-short-16).
 *
 * Each build (a DIR as bench/ab.ts takes: dist/ built, data/ and scenarios/ beside it) runs the case's
 * hosts (bench/cases.ts, as bench/run.ts's runs do, without its ceiling loop) twice under valgrind:
 * 10 simulated seconds, then S. The difference of the two counts over the difference of their engine
 * events is the figure: start-up (modules, YAML, building the hosts) cancels out. V8 itself is counted
 * too (its compiler threads, the GC): run to run, a count moves by ~0.2 G instructions, i.e. ~25 per
 * event over the idle fleet's 1500 s (8.2 M events). Valgrind runs ~50x slower than node: the idle
 * fleet's 1500 s take ~5-15 minutes per build.
 *
 * An argument that ends in .js is one module instead of a DIR: a bundle of the engine (esbuild's scope-hoisted
 * ESM, docs/perf/bundle.md) that exports what bench/cases.js, src/run/simulate.js, src/run/totals.js and
 * src/model/data.js export, placed three directories below a build's root (e.g. dist/bundle/bench/engine.js)
 * so that its data/ and scenarios/, found from import.meta.url, resolve as the tsc output's do.
 *
 * --predictable runs node under valgrind with V8's --predictable --single-threaded: no compiler or GC
 * threads, so the count no longer depends on when they ran. Two runs of one build agreed to ~1 M
 * instructions in 17.5 G (idle fleet, 600 s), against ~0.5 G without (docs/perf/history.md#twentieth-session-a-vcpus-next-event-run-on-without-the-heaps-round-trip-built-and-not-kept-evfold-16); but the 10 s run's count can move by 50-400 M between invocations of one build (docs/PERF.md,
 * "Repeatability of --predictable"), and the figure divides that by the events of S - 10 seconds: at
 * S = 60 it moved by 0.1-25 %, at 300 by 0.7 %. It counts V8 compiling on the main thread, as it does
 * then; compare builds in the same mode only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs, USAGE_ERROR } from './args.js';
import { CASES } from './cases.js';

const SHORT_SECONDS = 10;

const { values: opts, positionals } = benchArgs(
  'node dist/bench/instructions.js [options] DIR|ENGINE.js [...]: instructions per engine event of each build, counted by valgrind\n' +
    '(ENGINE.js: one module that exports the engine, e.g. a bundle, instead of DIR/dist/...)',
  {
    case: { type: 'string', default: 'idle-fleet', value: 'NAME', help: "bench/run.js's case" },
    seconds: {
      type: 'string',
      default: '1500',
      value: 'S',
      help: `simulated seconds of the long run (the short one: ${SHORT_SECONDS})`,
    },
    predictable: {
      type: 'boolean',
      default: false,
      help:
        "node under valgrind with V8's --predictable --single-threaded (no compiler or GC threads); the 10 s run's count can " +
        'still move by 50-400 M between invocations: a figure at --seconds 60 moved by 0.1-25 %, at 300 by 0.7 % ' +
        '(docs/PERF.md, "Repeatability of --predictable"): prefer 300 or more, and repeat BASE (BASE NEW BASE)',
    },
    one: {
      type: 'string',
      value: 'DIR',
      help: "(internal) run the case's hosts of build DIR (or module ENGINE.js) once, print its events",
    },
  },
  { allowPositionals: true },
);

if (!Object.hasOwn(CASES, opts.case)) {
  process.stderr.write(`no case ${opts.case}; cases: ${Object.keys(CASES).join(', ')}\n`);
  process.exit(USAGE_ERROR);
}
const seconds = Number(opts.seconds);
if (opts.one === undefined && !(seconds > SHORT_SECONDS)) {
  process.stderr.write(`--seconds: expected a number above ${SHORT_SECONDS}, got ${JSON.stringify(opts.seconds)}\n`);
  process.exit(USAGE_ERROR);
}

interface BuildModules {
  scenarios: Record<string, { scenario: { duration: unknown }; variants: readonly { host: { count: number } }[] }>;
  runHosts: (...args: unknown[]) => boolean;
  TotalsAccumulator: new () => { events: number };
  loadModelData: () => unknown;
}

/** An argument that names one engine module (a bundle) rather than a build directory. */
const isEngineModule = (arg: string): boolean => arg.endsWith('.js');

/** The modules of build DIR (its engine, not this one's), or the one module ENGINE.js exports them all from. */
async function buildModules(dir: string): Promise<BuildModules> {
  if (isEngineModule(dir)) return (await import(pathToFileURL(resolve(dir)).href)) as BuildModules;
  const from = (path: string): string => pathToFileURL(resolve(dir, 'dist', path)).href;
  return {
    ...((await import(from('bench/cases.js'))) as object),
    ...((await import(from('src/run/simulate.js'))) as object),
    ...((await import(from('src/run/totals.js'))) as object),
    ...((await import(from('src/model/data.js'))) as object),
  } as BuildModules;
}

/** --one DIR: build DIR's modules run the case once; its engine events to stdout. */
async function runOnce(dir: string, secs: number): Promise<void> {
  const m = await buildModules(dir);
  const data = m.loadModelData();
  const c = m.scenarios[opts.case];
  const scenario = { ...c.scenario, duration: { kind: 'fixed', ns: secs * 1e9 } };
  let events = 0;
  for (const v of c.variants) {
    const acc = new m.TotalsAccumulator();
    m.runHosts(scenario, v, data, 0, v.host.count, acc, {});
    events += acc.events;
  }
  process.stdout.write(`${JSON.stringify({ events })}\n`);
}

/** One valgrind run of `dir`'s build: engine events and instructions executed (the whole process). */
function counted(dir: string, secs: number): { events: number; instructions: number } {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--smc-check=all-non-file', // V8 writes the code it runs
      '--cachegrind-out-file=/dev/null',
      process.execPath,
      ...(opts.predictable ? ['--predictable', '--single-threaded'] : []),
      fileURLToPath(import.meta.url),
      '--one',
      dir,
      '--case',
      opts.case,
      '--seconds',
      String(secs),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.error !== undefined) throw new Error(`valgrind could not run (${r.error.message}): is it installed?`);
  const refs = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (r.status !== 0 || refs === null) {
    const tail = r.stderr.split('\n').slice(-20).join('\n');
    throw new Error(`valgrind run of ${dir} failed (status ${r.status}); its last lines:\n${tail}`);
  }
  const { events } = JSON.parse(r.stdout) as { events: number };
  return { events, instructions: Number(refs[1].replaceAll(',', '')) };
}

if (opts.one !== undefined) {
  await runOnce(opts.one, seconds);
} else {
  if (positionals.length === 0) {
    process.stderr.write('expected one or more build directories (DIR) or engine modules (ENGINE.js)\n');
    process.exit(USAGE_ERROR);
  }
  for (const dir of positionals) {
    if (isEngineModule(dir)) {
      if (!existsSync(dir)) {
        process.stderr.write(`${dir}: no such engine module\n`);
        process.exit(USAGE_ERROR);
      }
    } else if (!existsSync(resolve(dir, 'dist', 'src', 'run', 'simulate.js'))) {
      process.stderr.write(`${dir}: not a build (no dist/src/run/simulate.js; run npm run build there)\n`);
      process.exit(USAGE_ERROR);
    }
  }
  console.log(
    `instructions per engine event, case ${opts.case}: (${seconds} s run - ${SHORT_SECONDS} s run) / their events, valgrind` +
      (opts.predictable ? ', V8 --predictable --single-threaded' : ''),
  );
  let first = 0;
  for (const dir of positionals) {
    const short = counted(dir, SHORT_SECONDS);
    const long = counted(dir, seconds);
    const perEvent = (long.instructions - short.instructions) / (long.events - short.events);
    if (first === 0) first = perEvent;
    const ratio = dir === positionals[0] ? '' : `; x${(perEvent / first).toFixed(3)} the first`;
    console.log(
      `  ${dir}: ${perEvent.toFixed(0)} per event (${(long.instructions / 1e9).toFixed(2)} G in ${long.events} events, ` +
        `${(short.instructions / 1e9).toFixed(2)} G in ${short.events})${ratio}`,
    );
  }
}
