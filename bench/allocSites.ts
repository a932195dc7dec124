/**
 * node dist/bench/allocSites.js: where the engine allocates in the steady state (docs/PERF.md, ninth
 * session). A case of the engine bench (bench/cases.ts) runs --warmup simulated seconds, then the V8
 * sampling heap profiler (inspector, HeapProfiler.startSampling, objects collected by the GC
 * included) records --seconds more; printed: the share of the sampled bytes by the stack (innermost
 * frames first) that allocated them. Frames are physical: what V8 inlined into a function is
 * counted in that function, so a boxed number shows at the caller that boxed it (an argument) or
 * in the callee (a return). To see which value it is, read the function's optimized code:
 * `node --print-opt-code --print-opt-code-filter=NAME --code-comments dist/bench/alloc.js --case C`
 * and look for the stores of the heap-number map after an inline allocation.
 */
import { Session } from 'node:inspector/promises';
import { loadModelData } from '../src/model/data.js';
import { lockstepHosts } from './allocMeasure.js';
import { benchArgs, checkChoice, choicesText } from './args.js';
import { CASES, scenarios } from './cases.js';

const { values: opts } = benchArgs(
  'node dist/bench/allocSites.js [options]: the engine allocation sites in the steady state, by stack (docs/PERF.md)',
  {
    case: { type: 'string', default: 'idle-fleet', value: 'NAME', help: 'the case (see below)' },
    variant: { type: 'string', default: '0', value: 'I', help: "the case's variant, by index" },
    warmup: { type: 'string', default: '10', value: 'S', help: 'simulated seconds run before sampling' },
    seconds: { type: 'string', default: '10', value: 'S', help: 'simulated seconds sampled' },
    top: { type: 'string', default: '15', value: 'N', help: 'stacks printed' },
  },
  { more: choicesText('cases', CASES) },
);
checkChoice('case', 'cases', opts.case, CASES);

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const data = loadModelData();
const { scenario, variants } = scenarios[opts.case];
const variant = variants[Number(opts.variant)];
const { runTo } = lockstepHosts(scenario, variant, data);
const warm = Number(opts.warmup) * 1e9;
runTo(warm);
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 64,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
runTo(warm + Number(opts.seconds) * 1e9);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
session.disconnect();

const bySite = new Map<string, number>();
let total = 0;
const walk = (n: ProfileNode, stack: readonly string[]): void => {
  const f = n.callFrame;
  const file = f.url.split('/').slice(-2).join('/');
  const here = [`${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`, ...stack];
  if (n.selfSize > 0) {
    const key = here.slice(0, 4).join(' <- ');
    bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  for (const c of n.children) walk(c, here);
};
walk(profile.head, []);
console.log(
  `${opts.case} ${variant.name}: sampled allocation by stack (innermost first), ${opts.seconds} s after ${opts.warmup} s`,
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top)))
  console.log(`${((bytes / total) * 100).toFixed(1).padStart(6)} %  ${site}`);
