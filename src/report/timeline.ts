/**
 * `run --timeline FILE`: one guest's vCPUs over a window of simulated time as a Chrome trace-event
 * file, the JSON that Perfetto (ui.perfetto.dev) and chrome://tracing open. The format is the
 * "Trace Event Format" document (Google, Nat Duca et al., docs.google.com/document/d/
 * 1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU): the JSON Object Format `{"traceEvents": [...],
 * "displayTimeUnit": "ns", "otherData": {...}}` with Complete events (ph X: ts, dur), Instant
 * events (ph i, scope s = t thread or p process) and Metadata events (ph M: process_name,
 * process_sort_index, thread_name, thread_sort_index). `ts` and `dur` are microseconds: here
 * simulated microseconds since the run started.
 *
 * One process per variant (the same guest on the same random streams under each variant: an A/B
 * in one view), one thread per vCPU of the guest. On each vCPU's track, slices one after another:
 *  - an exit, named by its reason (the manual's name, as results.json), lasting the host time the
 *    model charges it (a constant per kind), with its qualification and decoded cause in args;
 *    exits the engine counts in bulk (fast-forwarded %cr8 raise/lower pairs, host timer ticks, other repeated operations) are
 *    one slice with args.exits = their count, ending where they were counted;
 *  - `halted` from a HLT exit to the vCPU's next event (the interrupt that wakes it);
 *  - `running` in between.
 * Interrupts are instants on the vCPU's track: `interrupt delivered` (vector, source, latency) and
 * `interrupt arrives` at delivery time minus latency, so an interrupt that waits (for a TPR that
 * masks it, for the next exit to inject it) shows as the gap between the two. Violations of the
 * guest are process-scoped instants. Records come from src/run/timelineRun.ts (the exit recorder
 * of `vmexit-lab replay`, docs/REPLAY.md), so the exits in a window equal the run's own.
 */
import { EXIT_KINDS, Slot } from '../core/vcpu/exits.js';
import { deliveryViaName, exitCause, type ReplayRecord } from '../run/replay.js';
import { formatSeconds } from '../input/units.js';
import type { TimelineRun } from '../run/timelineRun.js';
import { TOOL_VERSION } from '../version.js';
import { violationWhy } from './violationWhy.js';

/** Default bound of a trace file: events over all variants (about 150 bytes each). */
export const TIMELINE_MAX_EVENTS = 200_000;

export interface TraceEvent {
  readonly name: string;
  readonly cat?: string;
  readonly ph: 'X' | 'i' | 'M';
  readonly ts: number;
  readonly dur?: number;
  readonly pid: number;
  readonly tid: number;
  readonly s?: 't' | 'p' | 'g';
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface TraceFile {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: 'ns';
  readonly otherData: Readonly<Record<string, unknown>>;
}

export interface TimelineVariant {
  readonly name: string;
  readonly cpu: string;
  readonly policy: string;
  readonly run: TimelineRun;
}

export interface TimelineOptions {
  readonly scenario: string;
  readonly seed: number;
  readonly fromNs: number;
  readonly toNs: number;
  /** Most events per variant (the runner's record budget is the same number). */
  readonly maxEventsPerVariant: number;
}

export interface TimelineBuild {
  readonly trace: TraceFile;
  readonly events: number;
  /** Variants whose trace stops early (the event bound), and where. */
  readonly truncated: readonly { readonly variant: string; readonly atNs: number }[];
}

/**
 * Simulated ns as the trace's microseconds, in whole ns: on an overcommitted host the engine keeps a
 * vCPU's times as doubles (its share of a core), which printed as `"ts":1003232.1354825601`. Cut to
 * the ns below here, at the edge, as formatSeconds and replay's `tNs` give a time; a slice's `dur` is
 * the difference of its cut ends, so slices still abut.
 */
const us = (ns: number): number => Math.floor(ns) / 1000;
const usBetween = (fromNs: number, toNs: number): number => (Math.floor(toNs) - Math.floor(fromNs)) / 1000;

/** The interrupt source of a vector, from the guest model's vectors (as the engine counts them). */
function sourceOf(run: TimelineRun, vector: number): string {
  const m = run.target.model;
  if (vector === m.timer.vector) return 'timer';
  if (vector === m.deviceVector) return 'device';
  if (vector === m.ipiVector || vector === m.completionIpiVector) return 'ipi';
  return 'other';
}

const isHlt = (slot: Slot): boolean => slot === Slot.HLT || slot === Slot.VMEXIT_HLT;

/** The slices and instants of one variant: per vCPU, in time order, never overlapping on a track. */
function variantEvents(
  v: TimelineVariant,
  pid: number,
  options: TimelineOptions,
): { events: TraceEvent[]; truncatedAtNs?: number } {
  const run = v.run;
  const events: TraceEvent[] = [];
  const budget = options.maxEventsPerVariant;
  const g = run.target;
  events.push(
    {
      name: 'process_name',
      ph: 'M',
      ts: 0,
      pid,
      tid: 0,
      args: { name: `${v.name} (${v.cpu}, ${v.policy}), host ${run.host}` },
    },
    { name: 'process_sort_index', ph: 'M', ts: 0, pid, tid: 0, args: { sort_index: pid } },
  );
  for (let c = 0; c < g.vcpus; c++)
    events.push(
      { name: 'thread_name', ph: 'M', ts: 0, pid, tid: c + 1, args: { name: `vCPU ${c} of ${g.label}` } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid: c + 1, args: { sort_index: c } },
    );
  let truncatedAtNs = run.truncatedAtNs;
  let endNs = run.stoppedAtNs !== undefined ? Math.min(run.endNs, run.stoppedAtNs) : run.endNs;
  // Per vCPU: where its track is filled up to, and whether it is halted.
  const cursor = Array.from({ length: g.vcpus }, () => options.fromNs);
  const halted = run.before.map((r) => r !== undefined && r.kind === 'exit' && isHlt(r.slot));
  const fill = (out: TraceEvent[], c: number, to: number): void => {
    if (to <= cursor[c]) return;
    // Within one ns: nothing to draw in whole ns.
    if (Math.floor(to) === Math.floor(cursor[c])) {
      cursor[c] = to;
      return;
    }
    out.push({
      name: halted[c] ? 'halted' : 'running',
      cat: 'vcpu',
      ph: 'X',
      ts: us(cursor[c]),
      dur: usBetween(cursor[c], to),
      pid,
      tid: c + 1,
    });
    cursor[c] = to;
  };
  // Fast-forwards: on a vCPU, the exits stamped with one time up to its last bulk record are the
  // guest progress up to that time (the engine runs a few %cr8 pairs one by one, then the rest in
  // bulk); the first of them maps to the run's total host time, so the run ends at its stamp.
  const pastRun = new Map<ReplayRecord, number>();
  const inPastRun = new Set<ReplayRecord>();
  {
    const byVcpu: ReplayRecord[][] = Array.from({ length: g.vcpus }, () => []);
    for (const r of run.records) byVcpu[r.vcpu]?.push(r);
    for (const list of byVcpu) {
      for (let i = 0; i < list.length;) {
        let j = i;
        let lastBulk = -1;
        while (j < list.length && list[j].timeNs === list[i].timeNs) {
          const x = list[j];
          if (x.kind === 'exit' && x.bulk) lastBulk = j;
          j++;
        }
        if (lastBulk >= 0) {
          let total = 0;
          for (let m = i; m <= lastBulk; m++) {
            const x = list[m];
            if (x.kind === 'exit') total += run.exitCostNs[x.slot] * x.count;
          }
          const members = list.slice(i, lastBulk + 1).filter((x) => x.kind === 'exit');
          if (members.length > 0) pastRun.set(members[0], total);
          for (const x of members.slice(1)) inPastRun.add(x);
        }
        i = j;
      }
    }
  }
  const eventsOf = (r: ReplayRecord): TraceEvent[] => {
    const out: TraceEvent[] = [];
    const c = r.vcpu;
    if (r.kind === 'delivery') {
      fill(out, c, Math.max(cursor[c], r.timeNs));
      halted[c] = false;
      const vector = `0x${r.vector.toString(16)}`;
      const source = sourceOf(run, r.vector);
      const latencyNs = Math.round(r.latencyNs);
      if (r.latencyNs >= 0)
        out.push({
          name: 'interrupt arrives',
          cat: 'interrupt',
          ph: 'i',
          s: 't',
          ts: us(Math.floor(r.timeNs) - latencyNs),
          pid,
          tid: c + 1,
          args: { vector, source, deliveredAt: formatSeconds(r.timeNs) },
        });
      out.push({
        name: 'interrupt delivered',
        cat: 'interrupt',
        ph: 'i',
        s: 't',
        ts: us(r.timeNs),
        pid,
        tid: c + 1,
        args: { vector, source, ...(r.latencyNs >= 0 ? { latencyNs } : {}), via: deliveryViaName(r.via) },
      });
      return out;
    }
    const k = EXIT_KINDS[r.slot];
    const dur = run.exitCostNs[r.slot] * r.count;
    // An exit starts when it happened; a fast-forward (its leading single exits and its bulk
    // records, all stamped where the engine caught the vCPU up) ends there instead.
    const back = pastRun.get(r);
    const start =
      back !== undefined
        ? Math.max(cursor[c], r.timeNs - back)
        : inPastRun.has(r)
          ? cursor[c]
          : Math.max(cursor[c], r.timeNs);
    fill(out, c, start);
    const cause = exitCause(r.slot, r.qualification, r.bulk, r.why);
    out.push({
      name: k.name,
      cat: r.bulk ? 'exit,fast-forward' : 'exit',
      ph: 'X',
      ts: us(start),
      dur: us(dur),
      pid,
      tid: c + 1,
      args: {
        reason: k.code,
        qualification: `0x${r.qualification.toString(16)}`,
        exits: r.count,
        hostNs: dur,
        ...(cause ? { cause } : {}),
        ...(r.bulk ? { fastForwarded: r.bulk } : {}),
      },
    });
    cursor[c] = start + dur;
    // HLT: halted until the next event of this vCPU; any other exit returns to the guest.
    halted[c] = isHlt(r.slot);
    return out;
  };
  for (const r of run.records) {
    if (r.timeNs > endNs) break;
    const out = eventsOf(r);
    if (events.length + out.length + g.vcpus > budget) {
      truncatedAtNs = r.timeNs;
      endNs = r.timeNs;
      break;
    }
    events.push(...out);
  }
  for (let c = 0; c < g.vcpus; c++) fill(events, c, Math.max(cursor[c], endNs));
  if (run.stoppedAtNs !== undefined && run.stoppedAtNs <= endNs) {
    for (const viol of run.violations) {
      // The state and why, as replay prints them: the instant says why the guest stopped, not only that.
      const why = violationWhy(viol.check, viol.state, v.policy);
      events.push({
        name: `violation: ${viol.check}`,
        cat: 'violation',
        ph: 'i',
        s: 'p',
        ts: us(viol.simTimeNs),
        pid,
        tid: viol.vcpu + 1,
        args: {
          message: viol.message,
          vcpu: viol.vcpu,
          step: viol.step,
          state: viol.state,
          ...(why !== undefined ? { why } : {}),
        },
      });
    }
  }
  return { events, ...(truncatedAtNs !== undefined ? { truncatedAtNs: Math.floor(truncatedAtNs) } : {}) };
}

/** The trace of every variant (process pid = variant index + 1). */
export function buildTimeline(variants: readonly TimelineVariant[], options: TimelineOptions): TimelineBuild {
  const traceEvents: TraceEvent[] = [];
  const truncated: { variant: string; atNs: number }[] = [];
  variants.forEach((v, i) => {
    const r = variantEvents(v, i + 1, options);
    traceEvents.push(...r.events);
    if (r.truncatedAtNs !== undefined) truncated.push({ variant: v.name, atNs: r.truncatedAtNs });
  });
  const g = variants[0]?.run.target;
  return {
    trace: {
      traceEvents,
      displayTimeUnit: 'ns',
      otherData: {
        tool: `vmexit-lab ${TOOL_VERSION}`,
        scenario: options.scenario,
        seed: options.seed,
        ...(g ? { guest: { index: g.index, label: g.label, os: g.model.os, vcpus: g.vcpus } } : {}),
        window: { from: formatSeconds(options.fromNs), to: formatSeconds(options.toNs) },
        time: 'ts and dur in simulated microseconds since the start of the run',
        slices:
          'per vCPU: running, halted (HLT to the next event), exits by reason lasting the host time the model charges them; fast-forwarded exits are one slice with args.exits',
        ...(truncated.length > 0
          ? { truncated: truncated.map((t) => ({ variant: t.variant, at: formatSeconds(t.atNs) })) }
          : {}),
      },
    },
    events: traceEvents.length,
    truncated,
  };
}

/** The file's text: one event per line, so it diffs and streams line by line. */
export function renderTrace(trace: TraceFile): string {
  const lines = trace.traceEvents.map((e) => JSON.stringify(e));
  return `{"traceEvents":[\n${lines.join(',\n')}\n],\n"displayTimeUnit":${JSON.stringify(trace.displayTimeUnit)},\n"otherData":${JSON.stringify(trace.otherData)}}\n`;
}

/** `FROM..TO` in decimal seconds (exact to the ns) -> [fromNs, toNs]. */
export function parseWindow(text: string): [number, number] | undefined {
  const m = /^(\d+(?:\.\d{1,9})?)\.\.(\d+(?:\.\d{1,9})?)$/.exec(text.trim());
  if (!m) return undefined;
  const ns = (s: string): number => {
    const [w, f = ''] = s.split('.');
    return Number(w) * 1e9 + Number(f.padEnd(9, '0'));
  };
  const from = ns(m[1]);
  const to = ns(m[2]);
  return Number.isSafeInteger(from) && Number.isSafeInteger(to) && to > from ? [from, to] : undefined;
}
