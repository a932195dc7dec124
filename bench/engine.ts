/**
 * The engine as the benches take it, in one module: bench/run.ts's cases and memory figure
 * (bench/engineChoice.ts loads this file as tsc compiled it, dist/bench/engine.js, or as rollup bundled
 * it), and bench/instructions.ts's --one (the first four lines). package.json's build:bundle bundles
 * it into dist/bundle/bench/engine.js, one scope as the pool's worker bundle is, so `node
 * dist/bench/instructions.js DIR DIR/dist/bundle/bench/engine.js` counts the two builds of one tree
 * and `npm run bench` measures the engine the pool's workers run (docs/perf/bundle.md). The ceiling
 * loop (bench/ceiling.ts) stays out: it is the yardstick, compiled by tsc under either engine.
 */
export { scenarios } from './cases.js';
export { runHosts, hostGuests } from '../src/run/simulate.js';
export { TotalsAccumulator } from '../src/run/totals.js';
export { REPO_ROOT, loadModelData, exitCostTable, hostModel } from '../src/model/data.js';
export { loadScenarioFile } from '../src/scenario/load.js';
export { Counter } from '../src/core/vcpu/machine.js';
export { HostSimulation } from '../src/core/engine/host.js';
export { EV_COUNT, EV_NAMES } from '../src/core/engine/events.js';
export { resolvePolicy } from '../src/core/hypervisor/policy.js';
