import type { HostState } from '../../src/core/engine/state.js';

type Words = Float64Array | Int32Array | Int8Array | Uint32Array;

/** Every word of a host's machine and engine state, as live views (copy them to keep a snapshot). */
export function hostWords(h: HostState): Words[] {
  const m = h.machine;
  const heap = (h as unknown as { heap: { key: Float64Array } }).heap;
  return [
    m.s,
    m.exitCounts,
    m.exitTotals,
    m.counters,
    m.vcpuHostNs,
    m.exitHostNs,
    Float64Array.of(m.stepExitCount, m.ipiOutCount, m.stepDeliveredCount, m.stepHostNs),
    h.vf,
    h.vi,
    h.v8,
    h.gf,
    h.gi32,
    h.g8,
    h.guestCounters,
    h.rng.state,
    heap.key,
  ];
}

/** What each of hostWords' arrays is, in its order. */
const NAMES = [
  'machine words',
  'exit counts',
  'exit totals',
  'counters',
  'vCPU host ns',
  'exit host ns',
  'step',
  'vf',
  'vi',
  'v8',
  'gf',
  'gi32',
  'g8',
  'guest counters',
  'rng',
  'event heap',
];

/** Which of two hostWords lists differ, bit for bit, by name ('' none). */
export function wordsDiffer(x: Words[], y: Words[]): string {
  const moved: string[] = [];
  for (let i = 0; i < x.length; i++) {
    const p = Buffer.from(x[i].buffer, x[i].byteOffset, x[i].byteLength);
    const q = Buffer.from(y[i].buffer, y[i].byteOffset, y[i].byteLength);
    if (!p.equals(q)) moved.push(NAMES[i]);
  }
  return moved.join(', ');
}
