import { loadModelData } from '../model/data.js';
import {
  TIMELINE_MAX_EVENTS,
  buildTimeline,
  parseWindow,
  renderTrace,
  type TimelineVariant,
} from '../report/timeline.js';
import { hostOfGuest, ReplayError } from '../run/replay.js';
import { formatSeconds } from '../input/units.js';
import { recordTimeline } from '../run/timelineRun.js';
import { durationLimitNs, type Scenario } from '../scenario/types.js';
import { badOptionValue, type CliIo } from './io.js';
import { writableOut, writeOneOutput } from './outputs.js';
import { rerunProgress } from './progress.js';

/** `run --timeline FILE [--timeline-guest G] [--timeline-window FROM..TO]` (docs/TIMELINE.md). */
export interface TimelineRequest {
  readonly file: string;
  /** Global guest index. */
  readonly guest: number;
  /** Simulated ns [from, to]. */
  readonly window: readonly [number, number];
}

/** The --timeline options of `run`, checked; undefined without --timeline. Throws Error with the message. */
export function parseTimelineOptions(
  o: {
    readonly timeline?: string;
    readonly 'timeline-guest'?: string;
    readonly 'timeline-window'?: string;
  },
  files: number,
): TimelineRequest | undefined {
  if ((o['timeline-guest'] !== undefined || o['timeline-window'] !== undefined) && o.timeline === undefined)
    throw new Error('--timeline-guest and --timeline-window need --timeline FILE');
  if (o.timeline === undefined) return undefined;
  if (files !== 1) {
    // `--timeline-window SCENARIO` (its value left out): parseArgs takes the file as the value.
    const took = (['timeline', 'timeline-window', 'timeline-guest'] as const).find((k) => /\.ya?ml$/i.test(o[k] ?? ''));
    const what = {
      timeline: 'FILE, the trace to write',
      'timeline-window': 'FROM..TO, e.g. 2..2.05',
      'timeline-guest': 'G, a guest index',
    };
    throw new Error(
      files === 0
        ? `--timeline takes one scenario file, found none${took === undefined ? '' : `: --${took} took ${JSON.stringify(o[took])} as its value (give --${took} ${what[took]}, then the scenario file)`}`
        : `--timeline takes one scenario file, found ${files}`,
    );
  }
  let guest = 0;
  if (o['timeline-guest'] !== undefined) {
    guest = Number(o['timeline-guest']);
    if (!/^\d+$/.test(o['timeline-guest']) || !Number.isSafeInteger(guest))
      throw badOptionValue('--timeline-guest', 'a guest index (an integer >= 0)', o['timeline-guest']);
  }
  let window: [number, number] = [0, 1e9];
  if (o['timeline-window'] !== undefined) {
    const w = parseWindow(o['timeline-window']);
    if (!w)
      throw badOptionValue(
        '--timeline-window',
        'FROM..TO in simulated seconds with FROM < TO, e.g. 2..2.05',
        o['timeline-window'],
      );
    window = w;
  }
  return { file: writableOut(o.timeline, `--timeline ${o.timeline}`), guest, window };
}

/** Why a --timeline request cannot be served (unknown guest, window after the end), before anything runs. */
export function timelineProblem(scenario: Scenario, { guest, window: [fromNs] }: TimelineRequest): string | undefined {
  try {
    scenario.variants.forEach((_, vi) => hostOfGuest(scenario, vi, guest));
  } catch (e) {
    if (e instanceof ReplayError) return e.message;
    throw e;
  }
  const limit = durationLimitNs(scenario);
  if (fromNs >= limit)
    return `the window starts at ${formatSeconds(fromNs)} s, after the scenario's ${formatSeconds(limit)} simulated seconds`;
  return undefined;
}

/**
 * Record the guest's window under every variant, write the trace, and say how big it is or where it
 * stops (`maxEvents`: the file's bound, split evenly over the variants).
 */
export function writeTimeline(
  io: CliIo,
  scenario: Scenario,
  { file, guest, window: [fromNs, toNs] }: TimelineRequest,
  quiet: boolean,
  maxEvents = TIMELINE_MAX_EVENTS,
): boolean {
  const data = loadModelData();
  const limit = durationLimitNs(scenario);
  const to = Math.min(toNs, limit);
  const perVariant = Math.floor(maxEvents / Math.max(1, scenario.variants.length));
  // The guest's host is re-run once per variant after the run: as long as a variant of it for a late
  // window, so it shows where it is on stderr as the run did.
  const progress = quiet
    ? undefined
    : rerunProgress(
        io,
        scenario,
        `${scenario.name} --timeline guest ${guest}`,
        scenario.variants,
        Math.min(limit, to + 1),
      );
  const variants: TimelineVariant[] = [];
  try {
    scenario.variants.forEach((v, vi) =>
      variants.push({
        name: v.name,
        cpu: v.host.cpu.id,
        policy: v.hypervisor.policy,
        run: recordTimeline({
          scenario,
          variantIndex: vi,
          data,
          guest,
          fromNs,
          toNs: to,
          maxRecords: perVariant,
          ...(progress ? { onStep: (simNs: number, work: number | undefined) => progress.step(vi, simNs, work) } : {}),
        }),
      }),
    );
  } finally {
    progress?.done();
  }
  const built = buildTimeline(variants, {
    scenario: scenario.name,
    seed: scenario.seed,
    fromNs,
    toNs: to,
    maxEventsPerVariant: perVariant,
  });
  if (!writeOneOutput('run', io, file, renderTrace(built.trace), 'the timeline', '--timeline')) return false;
  for (const t of built.truncated)
    io.err(
      `vmexit-lab run: --timeline: variant ${t.variant}: more than ${perVariant} events in the window ` +
        `(${maxEvents} per file); its trace stops at ${formatSeconds(t.atNs)} s simulated: narrow --timeline-window`,
    );
  if (!quiet) {
    const g = variants[0].run.target;
    io.err(
      `timeline: ${file}: guest ${guest} (${g.label}, host ${variants[0].run.host}), ${formatSeconds(fromNs)}..${formatSeconds(to)} s, ` +
        `${variants.length} variant${variants.length === 1 ? '' : 's'}, ${built.events} events: open it in ui.perfetto.dev or chrome://tracing`,
    );
  }
  return true;
}
