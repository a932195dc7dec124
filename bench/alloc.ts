/**
 * node dist/bench/alloc.js: bytes the engine allocates per engine event in the steady state, for
 * each case of the engine bench (bench/cases.ts): the case's hosts run --warmup simulated seconds,
 * then --seconds more, over which the V8 heap's allocation is counted (bench/allocMeasure.ts).
 * Allocation does not depend on the machine's load, so the figures compare across runs and machines
 * (the same Node); the target (#16) is none in steady state. Each case runs in a process of its own
 * (--case runs one here), its variants one after the other.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadModelData } from '../src/model/data.js';
import { benchArgs, checkChoice, choicesText } from './args.js';
import { measureAllocation } from './allocMeasure.js';
import { CASES, scenarios } from './cases.js';

const { values: opts } = benchArgs(
  'node dist/bench/alloc.js [options]: bytes allocated per engine event in the steady state (docs/PERF.md)',
  {
    case: { type: 'string', value: 'NAME', help: 'only that case (see below)' },
    warmup: { type: 'string', default: '10', value: 'S', help: 'simulated seconds run before measuring' },
    seconds: { type: 'string', default: '20', value: 'S', help: 'simulated seconds measured' },
  },
  { more: choicesText('cases', CASES) },
);
checkChoice('case', 'cases', opts.case, CASES);
const data = loadModelData();
const warm = Number(opts.warmup);
const seconds = Number(opts.seconds);
console.log(`allocation per engine event: ${warm} simulated s of warm-up, then ${seconds} s measured`);
if (opts.case === undefined) {
  // Each case in a process of its own, so that no case runs on code the JIT shaped for another.
  for (const id of Object.keys(CASES)) {
    const args = [fileURLToPath(import.meta.url), '--case', id, '--warmup', String(warm), '--seconds', String(seconds)];
    const out = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`alloc --case ${id} failed: ${out.stderr}`);
    process.stdout.write(out.stdout.split('\n').slice(1).join('\n'));
  }
} else {
  const { scenario, variants } = scenarios[opts.case];
  for (const v of variants) {
    const a = measureAllocation(scenario, v, data, warm, seconds);
    console.log(
      `  ${opts.case} ${v.name}: ${(a.bytes / a.events).toFixed(2)} bytes per engine event ` +
        `[${(a.bytes / 1e6).toFixed(1)} MB over ${(a.events / 1e6).toFixed(2)} M events, ${a.gcs} GCs]`,
    );
  }
}
