/**
 * The engine as bench/instructions.ts's --one takes it from a build, in one module: package.json's
 * build:bundle bundles this file into dist/bundle/bench/engine.js (one scope, as the pool's worker
 * bundle is), so `node dist/bench/instructions.js DIR DIR/dist/bundle/bench/engine.js` counts the two
 * builds of one tree (docs/perf/bundle.md).
 */
export { scenarios } from './cases.js';
export { runHosts } from '../src/run/simulate.js';
export { TotalsAccumulator } from '../src/run/totals.js';
export { loadModelData } from '../src/model/data.js';
