/**
 * Workload-profile guests (src/core/guests/workload.ts, docs/IMPORT.md): no OS behaviour; the
 * profile's instructions run in bulk through Machine.repeat as guest time passes (exact mean counts,
 * fractions carried), and its device interrupts (per wall second), HLTs and IPIs (per guest second)
 * are events. Their exit time is charged like the %cr8 stream of modelled guests: predicted from the
 * last measured cost, the difference carried as debt.
 */
import {
  Gi,
  Mode,
  Source,
  V8,
  Vf,
  Vi,
  WL,
  WL_CARRY,
  WL_COST,
  WL_DYN_LEFT,
  WL_HOST_IRQ_CARRY,
  WL_IRQ_AT,
  WL_OPAQUE_CARRY,
  type HostState,
} from '../engine/state.js';
import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
import { RepeatOp } from '../vcpu/machine.js';
import { sendIpi } from './devices.js';
import { halt, raise } from './interrupts.js';
import {
  WorkloadOp,
  WORKLOAD_IO_PORT,
  WORKLOAD_MSR,
  WORKLOAD_RAISED_CR8,
  WORKLOAD_TIMER_COUNT,
  type WorkloadSpec,
} from './workload.js';

/** Machine operation and its operands for each WorkloadOp. */
const WL_REPEAT: readonly (readonly [number, number, number])[] = [
  [RepeatOp.CR8_WRITE_PAIR, WORKLOAD_RAISED_CR8, 0],
  [RepeatOp.CR8_READ, 0, 0],
  [RepeatOp.CPUID, 0, 0],
  [RepeatOp.IO, WORKLOAD_IO_PORT, 0],
  [RepeatOp.MMIO, 0, 0],
  [RepeatOp.RDMSR, WORKLOAD_MSR, 0],
  [RepeatOp.WRMSR, WORKLOAD_MSR, 0],
  [RepeatOp.TIMER_INITIAL_COUNT, WORKLOAD_TIMER_COUNT, 0],
];

/** A phase starts for workload guest `gi`: its vCPUs' first interrupt and HLT/IPI deadlines. */
export function setupWorkload(h: HostState, gi: number, w: WorkloadSpec): void {
  const guest = h.guests[gi];
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  const dynRate = w.hltsPerGuestSecond + (guest.vcpus > 1 ? w.ipisPerGuestSecond : 0);
  for (let l = 0; l < guest.vcpus; l++) {
    const v = first + l;
    // Always "busy": a workload vCPU idles only through its own HLTs.
    h.v8[v * V8.STRIDE + V8.BUSY] = 1;
    h.vf[v * Vf.STRIDE + Vf.BURST_END] = Infinity;
    if (w.interruptsPerSecond > 0 && h.wl[v * WL + WL_IRQ_AT] === Infinity)
      h.wl[v * WL + WL_IRQ_AT] = h.now + Math.max(1, h.rng.exponentialNs(v, 1e9 / w.interruptsPerSecond));
    if (dynRate > 0 && h.wl[v * WL + WL_DYN_LEFT] === Infinity)
      h.wl[v * WL + WL_DYN_LEFT] = Math.max(1, h.rng.exponentialNs(v, 1e9 / dynRate));
    h.reschedule(v);
  }
}

/** Wall time at which a running workload vCPU has executed up to its next HLT/IPI (Infinity otherwise). */
export function workloadDynTime(h: HostState, v: number): number {
  workloadDynAt(h, v);
  return h.wlDynAt;
}

/**
 * workloadDynTime's answer left in `h.wlDynAt`, for the event walk (events.ts): an absolute time, a
 * double, returned from a call TurboFan does not inline is boxed, and so is the fraction of guest ns
 * left passed to HostState.workWallNs (its rounding written out here, the same arithmetic): an
 * allocation per walk of a workload vCPU (the twenty-first session,
 * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
 */
export function workloadDynAt(h: HostState, v: number): void {
  const left = h.wl[v * WL + WL_DYN_LEFT];
  if (left === Infinity || h.mode(v) !== Mode.RUN) {
    h.wlDynAt = Infinity;
    return;
  }
  h.resumeTime(v); // after the exit time owed, at the vCPU's share (as the event walk)
  const from = h.resumeAt;
  h.progressRate(v);
  h.wlDynAt = from + Math.max(0, Math.ceil(left / h.rate));
}

/**
 * `h.cr8WallNs` ns of running time: the instructions of the profile in that guest time, executed in
 * bulk by the machine's exact rules (RepeatOp), their exit time charged like the %cr8 stream of
 * modelled guests (predicted from the last measured cost, the difference carried as debt). Its guest
 * ns left in `h.cr8GuestNs`. Fields, not an argument and a return, as cr8Stream's (state.ts): the
 * engine's progress passed the wall time, a double, and got the guest time back, both boxed at every
 * advance of a running workload vCPU (TurboFan does not inline this), 9-39 bytes per engine event on
 * scenarios/library/imported-sysbench-policies.yaml (the twenty-first session,
 * docs/perf/history.md#twenty-first-session-the-overcommitted-host-allocates-nothing-per-event-re-keys-without-the-walk-not-kept-advancetos-exit-deopt-ocalloc-16).
 */
export function workloadRun(h: HostState, v: number, w: WorkloadSpec): void {
  const wall = h.cr8WallNs;
  const m = h.machine;
  const wl = h.wl;
  const base = v * WL;
  const guestNs = wall / (1 + wl[base + WL_COST]);
  const seconds = guestNs / 1e9;
  const before = m.vcpuHostNs[v];
  for (let op = 0; op < WorkloadOp.COUNT; op++) {
    const k = dueCount(wl, base + WL_CARRY + op, w.opsPerGuestSecond[op], seconds);
    if (k > 0) m.repeat(v, k, WL_REPEAT[op][0], WL_REPEAT[op][1], WL_REPEAT[op][2]);
  }
  for (let slot = 0; slot < EXIT_SLOT_COUNT; slot++) {
    const k = dueCount(wl, base + WL_OPAQUE_CARRY + slot, w.opaquePerGuestSecond[slot], seconds);
    if (k > 0) m.repeat(v, k, RepeatOp.OPAQUE_EXIT, slot, 0);
  }
  const ticks = dueCount(wl, base + WL_HOST_IRQ_CARRY, w.hostInterruptsPerSecond, seconds);
  if (ticks > 0) m.hostInterrupts(v, ticks);
  const spent = m.vcpuHostNs[v] - before;
  m.vcpuHostNs[v] = before;
  if (guestNs > 0) wl[base + WL_COST] = spent / guestNs;
  h.vf[v * Vf.STRIDE + Vf.DEBT] += spent - (wall - guestNs);
  if (wl[base + WL_DYN_LEFT] !== Infinity) wl[base + WL_DYN_LEFT] -= guestNs;
  h.drainDeliveries();
  h.cr8GuestNs = guestNs;
}

/** Whole events of a `rate` per second due in `seconds`, the fraction carried in wl[carryIndex] (exact mean counts). */
function dueCount(wl: Float64Array, carryIndex: number, rate: number, seconds: number): number {
  if (rate <= 0) return 0;
  const x = rate * seconds + wl[carryIndex];
  const k = Math.floor(x);
  wl[carryIndex] = x - k;
  return k;
}

/** Ev.WL_IRQ: the profile's device interrupt; the next one drawn in wall time. */
export function workloadInterrupt(h: HostState, v: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const w = h.guests[gi].workload!;
  h.rng.meanNs = 1e9 / w.interruptsPerSecond; // a field, not an argument (prng.ts meanNs: a boxed double)
  h.wl[v * WL + WL_IRQ_AT] = time + Math.max(1, h.rng.exponentialDraw(v));
  raise(h, v, h.guests[gi].model.deviceVector, Source.DEVICE);
}

/** Ev.WL_DYN: the next HLT or IPI of the profile, chosen in proportion to their rates. */
export function workloadDynOp(h: HostState, v: number): void {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const guest = h.guests[gi];
  const w = guest.workload!;
  const ipiRate = guest.vcpus > 1 ? w.ipisPerGuestSecond : 0;
  const total = w.hltsPerGuestSecond + ipiRate;
  h.rng.meanNs = 1e9 / total; // fields, not arguments (prng.ts meanNs, scaledBelowBound: boxed doubles)
  h.wl[v * WL + WL_DYN_LEFT] = Math.max(1, h.rng.exponentialDraw(v));
  h.rng.bound = w.hltsPerGuestSecond;
  h.rng.scale = total;
  if (h.rng.scaledBelowBound(v)) {
    halt(h, v);
    return;
  }
  const first = h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  let target = first + h.rng.below(v, guest.vcpus - 1);
  if (target >= v) target++;
  sendIpi(h, v, target, guest.model.ipiVector);
}
