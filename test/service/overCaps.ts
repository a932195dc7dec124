/**
 * Scenarios over several of a run's caps at once, for the three places that hold a scenario to
 * them (src/service/caps.ts checkCaps, POST /api/runs, `vmexit-lab start`): each row names the caps
 * its scenario is over, in checkCaps' order, under OVER_CAPS_LIMITS.
 */
import type { Cap } from '../../src/service/caps.js';
import type { ServiceLimits } from '../../src/service/caps.js';

/** Every cap low enough for a small scenario to cross it; the row's 1-host, 1 s scenario fits all. */
export const OVER_CAPS_LIMITS = {
  maxGuests: 100,
  maxDurationSeconds: 60,
  maxRunSeconds: 60,
  maxRunCost: 1,
  maxSeries: 200,
} satisfies Partial<ServiceLimits>;

/** OVER_CAPS_LIMITS as `serve`/`start` options. */
export const OVER_CAPS_ARGS = [
  ...['--max-guests', '100', '--max-duration', '60', '--max-run-time', '60'],
  ...['--max-run-cost', '1', '--max-series', '200'],
];

interface Shape {
  /** Hosts of 3 guests each (100: 300 guests, over --max-guests). */
  readonly hosts?: number;
  /** 2m: over --max-duration, over --max-run-time at realtime pace, and 100 hosts over --max-run-cost. */
  readonly duration?: string;
  /** The scenario's own cardinalityBudget (100: under its 118 series). */
  readonly budget?: number;
  /** 2 policies x 2 CPUs: 4 variants, 436 series, over --max-series. */
  readonly matrix?: boolean;
}

export function overCapsYaml(s: Shape): string {
  return `name: over-caps
host: { ${s.matrix ? '' : 'cpu: i7-6700K, '}cores: 8, count: ${s.hosts ?? 1} }
${s.matrix ? 'matrix:\n  policy: [bhyve-12.1, kvm]\n  cpu: [i7-6700K, xeon-e5-2667v4]' : 'hypervisor: { policy: bhyve-12.1 }'}
guests:
  - { os: freebsd-12.1, count: 3, vcpus: 1, phases: [{ phase: idle }] }
duration: ${s.duration ?? '1s'}
${s.budget !== undefined ? `cardinalityBudget: ${s.budget}\n` : ''}`;
}

export interface OverCapsRow {
  readonly name: string;
  readonly shape: Shape;
  readonly pace: 'max' | 'realtime';
  /** The caps it is over, in order; the guests', duration's and realtime length's least admitting value. */
  readonly over: readonly { readonly cap: Cap; readonly atLeast?: number }[];
}

export const OVER_CAPS_ROWS: readonly OverCapsRow[] = [
  { name: 'within every cap', shape: {}, pace: 'realtime', over: [] },
  { name: 'guests only', shape: { hosts: 100 }, pace: 'realtime', over: [{ cap: 'guests', atLeast: 300 }] },
  {
    name: 'guests and its own cardinalityBudget',
    shape: { hosts: 100, budget: 100 },
    pace: 'realtime',
    over: [{ cap: 'guests', atLeast: 300 }, { cap: 'cardinality_budget' }],
  },
  {
    name: 'guests, cardinalityBudget and series',
    shape: { hosts: 100, budget: 100, matrix: true },
    pace: 'realtime',
    over: [{ cap: 'guests', atLeast: 1200 }, { cap: 'cardinality_budget' }, { cap: 'series' }],
  },
  {
    name: 'guests, duration and cost at max pace',
    shape: { hosts: 100, duration: '2m' },
    pace: 'max',
    over: [{ cap: 'guests', atLeast: 300 }, { cap: 'duration', atLeast: 120 }, { cap: 'cost' }],
  },
  {
    name: 'all six',
    shape: { hosts: 100, duration: '2m', budget: 100, matrix: true },
    pace: 'realtime',
    over: [
      { cap: 'guests', atLeast: 1200 },
      { cap: 'duration', atLeast: 120 },
      { cap: 'realtime_length', atLeast: 120 },
      { cap: 'cost' },
      { cap: 'cardinality_budget' },
      { cap: 'series' },
    ],
  },
];

/** The option each cap names, and the start of its message (the figure and the cap). */
export const CAP_TEXT: Readonly<Record<Cap, { option?: string; message: RegExp }>> = {
  guests: {
    option: '--max-guests',
    message: /^the scenario simulates \d+ guests; this service allows at most 100 per run/,
  },
  duration: {
    option: '--max-duration',
    message: /^the scenario lasts up to 120 simulated seconds; this service allows at most 60 /,
  },
  realtime_length: {
    option: '--max-run-time',
    message: /^the scenario runs at realtime pace for 120 s; this service stops a run after 60 s/,
  },
  cost: {
    option: '--max-run-cost',
    message: /^scenario over-caps is predicted to cost [\d,]+ core-seconds .* at most 1 per run/,
  },
  cardinality_budget: {
    message: /^scenario over-caps would create \d+ metric series, over its cardinalityBudget of 100;/,
  },
  series: {
    option: '--max-series',
    message: /^scenario over-caps would create \d+ metric series; this service exports at most 200 /,
  },
};
