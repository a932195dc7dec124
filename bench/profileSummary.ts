/**
 * Self time by function of a V8 CPU profile (`node --cpu-prof`), the top N, for docs/PERF.md:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/run.js --case idle-fleet
 *   node dist/bench/profileSummary.js /tmp/prof/*.cpuprofile [--top 25]
 *
 * Each function is named with its file (the part after dist/); (garbage collector), (program) and
 * (idle) are V8's own entries. Several profiles are summed (a run's main thread and its workers).
 */
import { readFileSync } from 'node:fs';
import { benchArgs } from './args.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = benchArgs(
  'node dist/bench/profileSummary.js [--top N] FILE.cpuprofile [...]: self time by function of V8 CPU profiles, summed',
  { top: { type: 'string', default: '25', value: 'N', help: 'functions listed' } },
  { allowPositionals: true },
);
const self = new Map<string, number>();
let total = 0;
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  // Time per sample: the delta to the next sample (V8 attributes the interval to the sampled node).
  for (let i = 0; i < p.samples.length; i++) {
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    const n = byId.get(p.samples[i]);
    if (n === undefined) continue;
    const url = n.callFrame.url;
    const at = url.includes('/dist/') ? url.slice(url.indexOf('/dist/') + 6) : url.replace(/^.*\//, '');
    const key = `${n.callFrame.functionName || '(anonymous)'}${at ? ` ${at}:${n.callFrame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
}
const idle = self.get('(idle)') ?? 0;
const busy = total - idle;
const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
console.log(`self time, ${(busy / 1e6).toFixed(1)} s busy (idle excluded):`);
for (const [k, us] of rows.slice(0, Number(values.top)))
  console.log(`${((us / busy) * 100).toFixed(1).padStart(5)} %  ${k}`);
