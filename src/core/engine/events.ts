/**
 * The event table of a host simulation: every kind of event a vCPU can have pending, declared once,
 * with three columns read left to right in this file:
 *   - its priority and the reason for it: `Ev`, whose value is the priority (as gem5's
 *     src/sim/eventq.hh names its priorities): when several kinds are due at the same time on one
 *     vCPU, the lowest value runs first;
 *   - when it is due: one block per kind in `walk`, in priority order;
 *   - what it does: its case in `dispatch`, a guest behaviour (src/core/guests/).
 * Both of the engine's questions come from the one walk: when is this vCPU's next event (the
 * earliest due time over the kinds that wake it: nextEventTime) and which due event runs first (the
 * lowest kind whose time has come: firstDue). Two kinds are one-sided: TIMER_STALE runs but never
 * wakes the vCPU, HOST_TICK wakes it but never runs.
 *
 * Exactly one event runs per pop; the vCPU is then re-keyed and, if another kind is due at the same
 * time, pops again (vCPUs due at the same time pop in index order, src/core/engine/heap.ts). The
 * order is the tie-break results depend on: reordering two kinds that can be due together changes
 * results (the golden digests catch it); where an order is a convention rather than a necessity, its
 * reason says so. Payloads (vectors, targets) live in the host's typed arrays (src/core/engine/
 * state.ts); an event is a (vCPU, kind) pair, never an object.
 */
import { burstBoundary } from '../guests/bursts.js';
import { backgroundIo, backgroundIoDone, backgroundIpi, ipiArrives, notifyArrives } from '../guests/devices.js';
import { lowerIrql } from '../guests/irql.js';
import { isrEnd } from '../guests/isr.js';
import { buildShareDone, chunkDone, completePhase, ioCompletes } from '../guests/phases.js';
import { hopDone } from '../guests/pingPong.js';
import { dropStaleTimer, timerActive, timerFires } from '../guests/timers.js';
import { workloadDynAt, workloadDynOp, workloadInterrupt } from '../guests/workloadGuest.js';
import { Gf, Mode, PhaseKind, V8, VcpuIndex, Vf, Vi, WL, WL_IRQ_AT, type HostState } from './state.js';

export const enum Ev {
  /**
   * The ISR in service ends (EOI, IRQL restored, IRET): first, so what arrives at the same instant
   * finds the vector out of service and what the ISR finished (a chain step) follows on at once.
   * (Never due with RAISED_END: an ISR suspends the raised section.)
   */
  ISR_END = 0,
  /** A raised IRQL section ends (MOV CR8 <- 0): before arrivals, so they find the TPR lowered. */
  RAISED_END = 1,
  /**
   * An I/O-completion notice (DPC request / reschedule IPI) arrives. Arrivals (NOTIFY to WL_IRQ) come
   * before the guest's own actions: their times were fixed when they were sent. Among them the order
   * is a convention: the chain's notice first.
   */
  NOTIFY = 2,
  /** A general IPI arrives (arrival; after NOTIFY by convention). */
  IPI = 3,
  /** A background I/O's completion interrupt arrives (arrival; convention). */
  BG_IO_DONE = 4,
  /** A work chain's I/O completion interrupt arrives at its target vCPU (arrival; convention). */
  IO_DONE = 5,
  /** A workload-profile guest's device interrupt (arrival; convention). */
  WL_IRQ = 6,
  /** A workload-profile guest's HLT or IPI: its own action, after arrivals (an HLT then finds them pending). */
  WL_DYN = 7,
  /** The guest's LAPIC timer ticks: after the workload kinds, which it never meets (they have no timer). */
  TIMER = 8,
  /** Background I/O (a doorbell write), on the vCPU's running clock: the guest's own action, after arrivals. */
  BG_IO = 9,
  /** Background IPI (an ICR write), while not halted: own action; after BG_IO by convention. */
  BG_IPI = 10,
  /** A duration-bound phase ends (on the guest's vCPU 0): after what belongs to the old phase. */
  PHASE_END = 11,
  /** The worker finishes an install / disk-benchmark chunk and issues its I/O: work ends after events. */
  CHUNK_END = 12,
  /** A vCPU finishes its build share (never due with CHUNK_END: another phase). */
  BUILD_END = 13,
  /**
   * A ping-pong vCPU finishes its hop, wakes its peer and goes idle: with the other work ends (never
   * due with them: another phase), before BURST_END so an idle burst ending at the same instant
   * finds the hop done and halts the vCPU.
   */
  HOP_END = 14,
  /** Busy/idle boundary: late, so an instant's other events run while busy and a chunk re-draws it first. */
  BURST_END = 15,
  /**
   * A timer deadline that passed while the timer was stopped (tickless halt) is dropped, so the timer
   * re-arms afresh. Passive: it never wakes the vCPU, and runs only when nothing else is due.
   */
  TIMER_STALE = 16,
  /**
   * The host's timer tick on the vCPU's core, as an event of its own only while the vCPU has an
   * interrupt pending or in service (otherwise ticks are applied in bulk). It only wakes the vCPU:
   * its exits are applied when the vCPU is advanced, before anything runs; last, it never runs.
   */
  HOST_TICK = 17,
}
// A const enum: kinds are integer literals in the compiled walk and switch (a jump table).

/** Number of kinds. */
export const EV_COUNT = Ev.HOST_TICK + 1;

/**
 * Each kind by name (a const enum has no object at run time): the mapped type refuses a missing kind
 * or a name bound to another kind's value.
 */
const KIND_OF: { readonly [K in keyof typeof Ev]: (typeof Ev)[K] } = {
  ISR_END: Ev.ISR_END,
  RAISED_END: Ev.RAISED_END,
  NOTIFY: Ev.NOTIFY,
  IPI: Ev.IPI,
  BG_IO_DONE: Ev.BG_IO_DONE,
  IO_DONE: Ev.IO_DONE,
  WL_IRQ: Ev.WL_IRQ,
  WL_DYN: Ev.WL_DYN,
  TIMER: Ev.TIMER,
  BG_IO: Ev.BG_IO,
  BG_IPI: Ev.BG_IPI,
  PHASE_END: Ev.PHASE_END,
  CHUNK_END: Ev.CHUNK_END,
  BUILD_END: Ev.BUILD_END,
  HOP_END: Ev.HOP_END,
  BURST_END: Ev.BURST_END,
  TIMER_STALE: Ev.TIMER_STALE,
  HOST_TICK: Ev.HOST_TICK,
};

/** The kinds' names, indexed by Ev: for diagnostics (bench/run.ts's event mix). */
export const EV_NAMES: readonly string[] = (Object.entries(KIND_OF) as [string, number][])
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

/** Earliest due time over the kinds that wake vCPU `v` (Infinity: none pending). */
export function nextEventTime(h: HostState, v: number): number {
  walk(h, v, false);
  return h.walkNext;
}

/**
 * nextEventTime's answer left in `h.walkNext` instead of returned: the engine's hot path reads it
 * there, so no double crosses a call that is not inlined (V8 boxes it: an allocation per event).
 */
export function walkNextEvent(h: HostState, v: number): void {
  walk(h, v, false);
}

/**
 * The kind that runs first among those due at the event's time `h.now` on vCPU `v` (the lowest), or
 * -1. The time is read from the state, not passed: an absolute time is a double past the small-integer
 * range, and V8 boxes a double argument of a call it does not inline (an allocation per event).
 */
export function firstDue(h: HostState, v: number): Ev | -1 {
  return walk(h, v, true);
}

/**
 * Walk the kinds in priority order on vCPU `v`, working out each one's due time: its deadline, or
 * Infinity when it is not pending or cannot happen in the vCPU's present state. With `due`, returns the
 * first kind that runs and is due at `h.now` or earlier (-1: none); without, walks every kind. Leaves in
 * `h.walkNext` the earliest due time of the walked kinds that wake the vCPU. Reads state only.
 *
 * One block per kind, in Ev order. Straight-line code, not a loop over a switch: that costs an
 * indirect jump per kind on the engine's hottest path (about 10 % of engine speed).
 *
 * Each block tests its time against `next` first and against the due limit only when it is earlier:
 * every kind walked before it was later than the limit (or the walk would have returned), so `next`
 * is too, and a time that is due is before `next`. The same kind returned and the same `next` left as
 * testing both at every block, with the due test skipped where a kind does not set the earliest time
 * (every kind not pending, and in the re-key's walk, whose limit is -Infinity: docs/perf/engine30.md, E21).
 */
function walk(h: HostState, v: number, due: boolean): Ev | -1 {
  // `due === true`, not `due`: a boolean argument's truth test is V8's generic one (false, "", a
  // number, a BigInt each checked), ~10 instructions per walk (docs/perf/engine30.md, E8).
  const limit = due === true ? h.now : -Infinity;
  v = v & VcpuIndex.MASK; // `v` itself, as a range: no overflow check on an index below (E21)
  const vf = h.vf;
  const b = v * Vf.STRIDE;
  // The mode read once, for `halted` and `running` (nothing the walk calls writes it); the guest's
  // index only in the phase kinds' blocks that read its words (E21).
  const v8 = h.v8;
  const mode: Mode = v8[v * V8.STRIDE + V8.MODE];
  const halted = mode === Mode.HALT;
  let next = Infinity;
  let t = vf[b + Vf.ISR_END];
  if (t < next) {
    if (t <= limit) return Ev.ISR_END;
    next = t;
  }
  t = vf[b + Vf.RAISED_END];
  if (t < next) {
    if (t <= limit) return Ev.RAISED_END;
    next = t;
  }
  t = vf[b + Vf.NOTIFY_AT];
  if (t < next) {
    if (t <= limit) return Ev.NOTIFY;
    next = t;
  }
  t = vf[b + Vf.IPI_AT];
  if (t < next) {
    if (t <= limit) return Ev.IPI;
    next = t;
  }
  t = vf[b + Vf.BG_DONE_AT];
  if (t < next) {
    if (t <= limit) return Ev.BG_IO_DONE;
    next = t;
  }
  // IO_DONE and, below, PHASE_END to HOP_END only where a guest's phases can set them (one test for
  // the host: HostState.phaseEvents, E15), and there only the kinds the vCPU's phase words allow (its
  // byte HostState.phaseKinds, E17); a kind skipped would be Infinity and change nothing.
  const kinds = h.phaseEvents === true ? h.phaseKinds[v] : 0; // not a truth test of a field (E8)
  if ((kinds & PhaseKind.IO_DONE) !== 0) {
    t = h.gf[h.vi[v * Vi.STRIDE + Vi.GUEST_OF] * Gf.STRIDE + Gf.IO_DONE_AT]; // ioDoneTime: the bit says the I/O targets `v`
    if (t < next) {
      if (t <= limit) return Ev.IO_DONE;
      next = t;
    }
  }
  if (h.workloadGuests === true) {
    t = h.wl[v * WL + WL_IRQ_AT];
    if (t < next) {
      if (t <= limit) return Ev.WL_IRQ;
      next = t;
    }
    workloadDynAt(h, v); // a field, not a return (a boxed double per walk)
    t = h.wlDynAt;
    if (t < next) {
      if (t <= limit) return Ev.WL_DYN;
      next = t;
    }
  }
  const timerOn = timerActive(h, v);
  t = timerOn ? vf[b + Vf.NEXT_TIMER] : Infinity;
  if (t < next) {
    if (t <= limit) return Ev.TIMER;
    next = t;
  }
  // Background I/O and IPIs when the vCPU has done the guest work they wait for (halts pass none),
  // at its present rate of progress. The rate is worked out once per walk, when first needed, and
  // read from a field: a fraction returned by a call TurboFan does not inline would be boxed.
  // Each due time is the resume time + ceil(guest ns left / rate), written out where it is used for
  // that reason (the blocks below share that shape: a helper returning the rate or the time would box
  // it; one passing them through a Float64Array cell boxes nothing but cost 6,607 instructions per
  // engine event against this form's 6,549: bench/instructions.js --predictable --case idle-fleet
  // --seconds 60). A vCPU does at most one guest ns per wall ns (rate <= 1), so the resume time + the
  // ns left is a lower bound (rounding is monotonic): when that is not before `next` (a due time is,
  // above), the exact time cannot change what the walk returns or leaves, and it is not worked out
  // (most walks of an idle vCPU).
  // Guest work resumes after the exit time the vCPU owes, paid at its share of a core (resumeTime: its
  // debt and the exits' host ns since it was last advanced, over the share). Without the exits the
  // walk put a quarter of the default fleet's background I/Os and burst ends ~680 ns early; without
  // the share, an overcommitted vCPU's were early by the owed time x (1/share - 1), each a wake-up that
  // found its work not done (docs/MODEL.md section 3).
  // Only a vCPU that is not halted uses it (every block below that reads `from` asks !halted or
  // running first): a halted vCPU's walk skips the division and the two fields' stores
  // (docs/perf/engine30.md, E8).
  let from = 0;
  if (!halted) {
    h.resumeTime(v);
    from = h.resumeAt; // state only: it holds throughout
  }
  let rate = -1;
  t = Infinity;
  if (!halted && vf[b + Vf.BG_IO_LEFT] !== Infinity) {
    t = from + vf[b + Vf.BG_IO_LEFT];
    if (t < next) {
      h.progressRate(v);
      rate = h.rate;
      t = from + Math.max(0, Math.ceil(vf[b + Vf.BG_IO_LEFT] / rate));
    }
  }
  if (t < next) {
    if (t <= limit) return Ev.BG_IO;
    next = t;
  }
  t = Infinity;
  if (!halted && vf[b + Vf.BG_IPI_LEFT] !== Infinity) {
    t = from + vf[b + Vf.BG_IPI_LEFT];
    if (t < next) {
      if (rate < 0) {
        h.progressRate(v);
        rate = h.rate;
      }
      t = from + Math.max(0, Math.ceil(vf[b + Vf.BG_IPI_LEFT] / rate));
    }
  }
  if (t < next) {
    if (t <= limit) return Ev.BG_IPI;
    next = t;
  }
  const running = mode === Mode.RUN && vf[b + Vf.RAISED_END] === Infinity;
  if ((kinds & ~PhaseKind.IO_DONE) !== 0) {
    const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
    t = (kinds & PhaseKind.PHASE_END) !== 0 ? h.gf[gi * Gf.STRIDE + Gf.PHASE_END] : Infinity;
    if (t < next) {
      if (t <= limit) return Ev.PHASE_END;
      next = t;
    }
    // The worker's chunk, a build share and a ping-pong hop end when their guest ns are done at the
    // present rate (guests/phases.ts chunkEndTime, buildEndTime; guests/pingPong.ts hopEndTime: the same
    // sums, written out here to share the walk's rate and its lower bound). A chunk's ns left can be
    // negative (not clamped, as chunkEndTime): then its time is worked out, the bound does not hold.
    t = Infinity;
    if (running && (kinds & PhaseKind.CHUNK_END) !== 0) {
      const left = h.gf[gi * Gf.STRIDE + Gf.CHUNK_LEFT];
      t = from + left;
      if (left < 0 || t < next) {
        if (rate < 0) {
          h.progressRate(v);
          rate = h.rate;
        }
        t = from + Math.ceil(left / rate);
      }
    }
    if (t < next) {
      if (t <= limit) return Ev.CHUNK_END;
      next = t;
    }
    // A build share and a ping-pong hop both end when the vCPU's work left is done (HostState.workEndTime
    // of Vf.WORK_LEFT in both buildEndTime and hopEndTime): one due time for the two, the build share's
    // first when both hold, as BUILD_END's place before HOP_END in this walk had it.
    t = Infinity;
    const building = running && (kinds & PhaseKind.BUILD_END) !== 0;
    if (building || (running && (kinds & PhaseKind.HOP_END) !== 0)) {
      t = from + vf[b + Vf.WORK_LEFT];
      if (t < next) {
        if (rate < 0) {
          h.progressRate(v);
          rate = h.rate;
        }
        t = from + Math.max(0, Math.ceil(vf[b + Vf.WORK_LEFT] / rate));
      }
    }
    if (t < next) {
      if (t <= limit) return building ? Ev.BUILD_END : Ev.HOP_END;
      next = t;
    }
  }
  // An idle gap's end (or a flat-out vCPU's Infinity); a busy burst's when its work is done at the
  // present rate, held by an ISR or raised section (src/core/guests/burstWork.ts).
  // Its due time as the background work's above, with the rate worked out at most once per walk.
  t = vf[b + Vf.BURST_END];
  if (v8[v * V8.STRIDE + V8.BUSY] === 1 && vf[b + Vf.BURST_WORK] !== Infinity) {
    t = Infinity;
    if (running) {
      t = from + vf[b + Vf.BURST_WORK];
      if (t < next) {
        if (rate < 0) {
          h.progressRate(v);
          rate = h.rate;
        }
        t = from + Math.max(0, Math.ceil(vf[b + Vf.BURST_WORK] / rate));
      }
    }
  }
  if (t < next) {
    if (t <= limit) return Ev.BURST_END;
    next = t;
  }
  // TIMER_STALE runs but never wakes the vCPU.
  t = timerOn ? Infinity : vf[b + Vf.NEXT_TIMER];
  if (t <= limit) return Ev.TIMER_STALE;
  // HOST_TICK wakes the vCPU but never runs. While nothing is pending or in service a host tick
  // cannot change what the guest sees, so ticks are applied in bulk when the vCPU is next advanced;
  // otherwise each is its own event. (isQuiet is asked only when the tick could be the earliest.)
  t = vf[b + Vf.NEXT_HOST_TICK];
  if (!halted && t < next && !h.machine.isQuiet(v)) next = t;
  h.walkNext = next;
  return -1;
}

/** Run event `kind` of vCPU `v` at `h.now`: the kind's handler. */
export function dispatch(h: HostState, v: number, kind: Ev): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  switch (kind) {
    case Ev.ISR_END:
      isrEnd(h, v);
      break;
    case Ev.RAISED_END:
      lowerIrql(h, v);
      break;
    case Ev.NOTIFY:
      notifyArrives(h, v);
      break;
    case Ev.IPI:
      ipiArrives(h, v);
      break;
    case Ev.BG_IO_DONE:
      backgroundIoDone(h, v);
      break;
    case Ev.IO_DONE:
      ioCompletes(h, gi, v);
      break;
    case Ev.WL_IRQ:
      workloadInterrupt(h, v);
      break;
    case Ev.WL_DYN:
      workloadDynOp(h, v);
      break;
    case Ev.TIMER:
      timerFires(h, v);
      break;
    case Ev.BG_IO:
      backgroundIo(h, v);
      break;
    case Ev.BG_IPI:
      backgroundIpi(h, v);
      break;
    case Ev.PHASE_END:
      completePhase(h, gi);
      break;
    case Ev.CHUNK_END:
      chunkDone(h, gi, v);
      break;
    case Ev.BUILD_END:
      buildShareDone(h, v);
      break;
    case Ev.HOP_END:
      hopDone(h, v);
      break;
    case Ev.BURST_END:
      burstBoundary(h, v);
      break;
    case Ev.TIMER_STALE:
      dropStaleTimer(h, v);
      break;
    case Ev.HOST_TICK:
      break; // never runs: its exits are applied when the vCPU is advanced
  }
}
