/**
 * Instructions per engine event by compiled function, from two callgrind runs of one engine build
 * (docs/perf/engine30.md, "How it was counted"; the thirtieth, thirty-third and thirty-fourth sessions
 * each wrote this as a scratch script):
 *
 *   valgrind --tool=callgrind --dump-instr=yes --smc-check=all-non-file --callgrind-out-file=cg.S.out \
 *     node --predictable --single-threaded --perf-basic-prof --no-compact-code-space \
 *     dist/bench/instructions.js --one ENGINE.js --case C --seconds S        (S = 10, then e.g. 120)
 *   node dist/bench/callgrindSplit.js --events N cg.120.out /tmp/perf-PID1.map cg.10.out /tmp/perf-PID2.map
 *
 * N is the long run's engine events less the short run's (each run prints its own). Each cost line's
 * self count (a call line's inclusive cost left out) is named by the last entry of the run's perf map
 * that covers its address (JIT code: V8 may reuse an address after code is freed), otherwise by its
 * object and function (node's C++: V8's compiler, builtins, the GC). The long run less the short run,
 * per name, over N: start-up cancels out. TurboFan's functions (`JS:*name`) keep their bundle line, so
 * two compiled functions of one name stay apart; other JIT tiers are summed per tier.
 */
import { readFileSync } from 'node:fs';
import { benchArgs, USAGE_ERROR } from './args.js';

interface MapEntry {
  start: number;
  end: number;
  order: number;
  name: string;
}

/** A perf map (`START SIZE NAME` per line, hex), sorted by start. */
function readPerfMap(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  text.split('\n').forEach((line, order) => {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m === null) return;
    const start = parseInt(m[1], 16);
    out.push({ start, end: start + parseInt(m[2], 16), order, name: m[3] });
  });
  return out.sort((a, b) => a.start - b.start);
}

/** The name a JIT code address counts under: TurboFan's function with its file line, or the tier. */
function groupOf(name: string): string {
  const js = /^JS:([*~^+]?)(\S*) \S*?([^/\s]*:\d+):\d+$/.exec(name);
  if (js === null) return name.split(' ')[0];
  return js[1] === '*' ? `${js[2]} ${js[3]}` : `JS other tiers (${js[1] || 'none'})`;
}

/**
 * Self instructions by name in one callgrind output (positions `instr line`, as --dump-instr=yes
 * writes them: an address absolute in hex, or +N / -N / * relative to the last).
 */
function selfByName(cg: string, map: MapEntry[]): Map<string, number> {
  const maxSize = map.reduce((m, e) => Math.max(m, e.end - e.start), 0);
  const starts = map.map((e) => e.start);
  const named = new Map<number, string | null>();
  const jitName = (a: number): string | null => {
    const hit = named.get(a);
    if (hit !== undefined) return hit;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= a) lo = mid + 1;
      else hi = mid;
    }
    let best: MapEntry | null = null;
    for (let k = lo - 1; k >= 0 && map[k].start + maxSize > a; k--)
      if (a < map[k].end && (best === null || map[k].order > best.order)) best = map[k];
    const name = best === null ? null : groupOf(best.name);
    named.set(a, name);
    return name;
  };
  const names = { ob: new Map<string, string>(), fn: new Map<string, string>() };
  let ob = '';
  let fn = '';
  let last = 0;
  let skip = false;
  const sums = new Map<string, number>();
  for (const line of cg.split('\n')) {
    const c = line.charCodeAt(0);
    if ((c >= 48 && c <= 57) || line[0] === '+' || line[0] === '-' || line[0] === '*') {
      const parts = line.split(' ');
      const a = parts[0];
      const num = (s: string): number => (s.startsWith('0x') ? parseInt(s, 16) : Number(s));
      if (a === '*') {
        // the same address
      } else if (a[0] === '+') last += num(a.slice(1));
      else if (a[0] === '-') last -= num(a.slice(1));
      else last = parseInt(a, 16);
      if (skip) {
        skip = false; // a call's inclusive cost: its callee's lines count it
        continue;
      }
      const cost = Number(parts[2] ?? 0);
      const key = ob === '' || ob.endsWith('???') ? (jitName(last) ?? `unnamed ${fn}`) : classify(ob, fn);
      sums.set(key, (sums.get(key) ?? 0) + cost);
      continue;
    }
    if (line.startsWith('calls=')) {
      skip = true;
      continue;
    }
    const m = /^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (m === null) continue;
    const kind = m[2] as 'ob' | 'fn';
    if (m[4] !== undefined) names[kind].set(m[3], m[4]);
    if (m[1] === '') {
      if (kind === 'ob') ob = names.ob.get(m[3]) ?? '?';
      else fn = names.fn.get(m[3]) ?? '?';
    }
  }
  return sums;
}

/** Native code by what it is: V8's compiler, a builtin, or the rest (node, V8's runtime, the GC, libc). */
function classify(ob: string, fn: string): string {
  if (fn.includes('v8::internal::compiler') || fn.includes('v8::internal::maglev')) return "V8's compiler";
  if (fn.startsWith('Builtins_')) return `builtin ${fn}`;
  return 'the rest (node, V8 runtime, GC, libc)';
}

const { values, positionals } = benchArgs(
  'node dist/bench/callgrindSplit.js --events N LONG.out LONG.map SHORT.out SHORT.map: instructions per engine event by compiled function (the long callgrind run less the short)',
  {
    events: { type: 'string', value: 'N', help: "the long run's engine events less the short run's" },
    top: { type: 'string', default: '40', value: 'N', help: 'rows printed (the total counts all)' },
  },
  { allowPositionals: true },
);
const events = Number(values.events);
if (positionals.length !== 4 || !(events > 0)) {
  process.stderr.write('expected --events N (above 0) and LONG.out LONG.map SHORT.out SHORT.map\n');
  process.exit(USAGE_ERROR);
}
const [longCg, longMap, shortCg, shortMap] = positionals.map((p) => readFileSync(p, 'utf8'));
const long = selfByName(longCg, readPerfMap(longMap));
const short = selfByName(shortCg, readPerfMap(shortMap));
const rows = [...new Set([...long.keys(), ...short.keys()])]
  .map((k) => ({ name: k, perEvent: ((long.get(k) ?? 0) - (short.get(k) ?? 0)) / events }))
  .sort((a, b) => b.perEvent - a.perEvent);
const all = rows.reduce((s, r) => s + r.perEvent, 0);
for (const r of rows.slice(0, Number(values.top)))
  console.log(
    `${r.perEvent.toFixed(1).padStart(9)}  ${((100 * r.perEvent) / all).toFixed(1).padStart(5)} %  ${r.name}`,
  );
console.log(`${all.toFixed(1).padStart(9)}          all (${events} events)`);
