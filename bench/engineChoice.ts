/**
 * Which engine bench/run.ts measures (--engine). 'bundle': rollup's one-scope bundle of
 * bench/engine.ts, dist/bundle/bench/engine.js, built from the same tsc output as the pool's worker
 * bundle the service and the CLI run (docs/perf/bundle.md); 'tsc': the same module as tsc compiled
 * it, one file per module. A bundle missing or older than a file tsc wrote holds no or stale code:
 * the bench then measures tsc's modules and says so (the pool's rule, src/pool/bundleFresh.ts).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleState } from '../src/pool/bundleFresh.js';
import type * as EngineModule from './engine.js';

/** The engines by name (--engine), each with what it is. */
export const ENGINES = {
  bundle: "rollup's bundle of the engine in one scope, what the pool's workers run (the default)",
  tsc: "tsc's modules, one file per module (the bench before the bundle)",
} as const;
export type EngineName = keyof typeof ENGINES;

/** What bench/engine.ts exports, as either build gives it. */
export type Engine = typeof EngineModule;

const COMPILED = new URL('./engine.js', import.meta.url);
/** package.json build:bundle's rollup bundle of dist/bench/engine.js. */
const BUNDLED = new URL('../bundle/bench/engine.js', import.meta.url);
/** The bundle's inputs: tsc's output of bench/ and of src/. */
const INPUTS = [fileURLToPath(new URL('.', import.meta.url)), fileURLToPath(new URL('../src', import.meta.url))];
/** The build's root (dist/ is in it): the printed paths are relative to it. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface EngineChoice {
  readonly name: EngineName;
  readonly file: URL;
  /** The bench's `engine:` line. */
  readonly line: string;
  /** Why the bench falls back to tsc's modules, when asked for the bundle. */
  readonly notice?: string;
}

const rel = (url: URL): string => relative(ROOT, fileURLToPath(url));

/** The engine to measure for `--engine want`: the bundle only when it is current. */
export function chooseEngine(want: EngineName): EngineChoice {
  const tsc = (why: string): EngineChoice => ({
    name: 'tsc',
    file: COMPILED,
    line: `engine: tsc's modules ${rel(COMPILED)} (${why})`,
  });
  if (want === 'tsc') return tsc("--engine tsc; the pool's workers run the bundle");
  const state = bundleState(fileURLToPath(BUNDLED), INPUTS);
  if (state === 'current')
    return {
      name: 'bundle',
      file: BUNDLED,
      line: `engine: rollup bundle ${rel(BUNDLED)} (what the pool's workers run)`,
    };
  const why =
    state === 'missing'
      ? 'is missing (npm run build makes it)'
      : 'is stale (older than a file tsc wrote below dist/bench or dist/src; npm run build makes it again)';
  return { ...tsc(`the bundle ${state}`), notice: `notice: ${rel(BUNDLED)} ${why}: measuring tsc's modules` };
}

/** Load the chosen engine's module. */
export async function loadEngine(choice: EngineChoice): Promise<Engine> {
  return (await import(choice.file.href)) as Engine;
}
