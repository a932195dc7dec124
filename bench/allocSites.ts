/**
 * node dist/bench/allocSites.js: where the engine allocates in the steady state (docs/PERF.md, ninth
 * session). A case of the engine bench (bench/cases.ts) runs --warmup simulated seconds (by default
 * the case's own, WARMUP), then the V8
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
import { USAGE_ERROR, benchArgs, checkChoice, choicesText } from './args.js';
import { CASES, scenarios, type CaseId } from './cases.js';

/**
 * Simulated seconds a case runs before sampling unless --warmup says otherwise: until V8 has
 * optimized what the steady state runs, or its compilations are sampled as the engine's allocations.
 * 10 s for the fleets and the install (docs/PERF.md, bytes per engine event); 120 s for the big
 * host, whose 256 vCPUs under kvm reach the rarely run paths later (docs/perf/history.md, sixteenth
 * session: with 10 s the warm-up's GC was most of what it sampled).
 */
const WARMUP: Record<CaseId, number> = {
  'install-12.1': 10,
  'install-v1': 10,
  'idle-fleet': 10,
  'busy-fleet': 10,
  'big-host': 120,
  'overcommit-host': 10,
  'workload-host': 10,
};

const { values: opts } = benchArgs(
  'node dist/bench/allocSites.js [options]: the engine allocation sites in the steady state, by stack (docs/PERF.md)',
  {
    case: { type: 'string', default: 'idle-fleet', value: 'NAME', help: 'the case (see below)' },
    variant: { type: 'string', default: '0', value: 'I', help: "the case's variant, by index" },
    warmup: {
      type: 'string',
      value: 'S',
      help: `simulated seconds run before sampling (default: the case's, ${Object.entries(WARMUP)
        .map(([id, s]) => `${id} ${s}`)
        .join(', ')})`,
    },
    seconds: { type: 'string', default: '10', value: 'S', help: 'simulated seconds sampled' },
    top: { type: 'string', default: '15', value: 'N', help: 'stacks printed' },
  },
  { more: choicesText('cases', CASES) },
);
checkChoice('case', 'cases', opts.case, CASES);
const { scenario, variants } = scenarios[opts.case];

/** --NAME's value as a number `ok` takes; anything else is a usage error, before any work. */
function numberOption(name: string, text: string, ok: (n: number) => boolean, expected: string): number {
  const n = /^\s*$/.test(text) ? NaN : Number(text);
  if (ok(n)) return n;
  process.stderr.write(`--${name} ${JSON.stringify(text)}: expected ${expected} (--help)\n`);
  process.exit(USAGE_ERROR);
}
const variantIndex = numberOption(
  'variant',
  opts.variant,
  (n) => Number.isInteger(n) && n >= 0 && n < variants.length,
  `a variant index of ${opts.case}, 0..${variants.length - 1} (${variants.map((v) => v.name).join(', ')})`,
);
const warmup =
  opts.warmup === undefined
    ? WARMUP[opts.case]
    : numberOption('warmup', opts.warmup, (n) => Number.isFinite(n) && n >= 0, 'simulated seconds, 0 or more');
const seconds = numberOption('seconds', opts.seconds, (n) => Number.isFinite(n) && n > 0, 'simulated seconds, over 0');
const top = numberOption('top', opts.top, (n) => Number.isInteger(n) && n >= 1, 'a whole number of stacks, 1 or more');

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const data = loadModelData();
const variant = variants[variantIndex];
const { runTo } = lockstepHosts(scenario, variant, data);
const warm = warmup * 1e9;
runTo(warm);
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 64,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
runTo(warm + seconds * 1e9);
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
  `${opts.case} ${variant.name}: sampled allocation by stack (innermost first), ${seconds} s after ${warmup} s of warm-up${opts.warmup === undefined ? " (the case's)" : ''}`,
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${((bytes / total) * 100).toFixed(1).padStart(6)} %  ${site}`);
