/**
 * vCPUs waiting for a spin lock (phase lock-spin; docs/MODEL.md §3 and §4 "PAUSE-loop exiting"):
 * they run flat out in a PAUSE loop at CPL 0 - Linux's spin-wait (cpu_relax, "rep; nop", between
 * reads of the lock word), Windows' KeAcquireSpinLock (YieldProcessor). Under PAUSE-loop exiting
 * each loop exits once its time since its first PAUSE passes the window (vmx/pauseLoop.ts), so the
 * exit rate follows from the window in TSC ticks, the CPU's TSC rate (its base clock) and the exit's
 * host time; nothing here is fitted. KVM then grows the window (handle_pause -> grow_ple_window) and
 * yields (kvm_vcpu_on_spin); the yield is a no-op without a preempted vCPU to boost, which is all the
 * model has (processor sharing, no runqueues), so the spin goes on. The window shrinks when the vCPU
 * thread is scheduled in after a halt (HostState.setRunnable).
 * On AMD the pause filter does the same with a count of PAUSEs (svm/pauseFilter.ts): #VMEXIT_PAUSE
 * once the loop has run PauseFilterCount PAUSEs, each no more than PauseFilterThreshold after the
 * last; KVM grows and shrinks the count with the same helpers (svm.c grow_ple_window /
 * shrink_ple_window, pause_interception -> kvm_vcpu_on_spin).
 */
import { Mode, V8, Vf, type HostState } from '../engine/state.js';
import { EXIT_SLOT_COUNT, Slot, SVM_PAUSE_SLOT } from '../vcpu/exits.js';
import { RepeatOp } from '../vcpu/machine.js';
import { pauseFilterExitTsc } from '../svm/pauseFilter.js';
import { kvmGrowPleWindow, pauseLoopExitTsc } from '../vmx/pauseLoop.js';

/** vCPU `v` spins now: it takes a lock-spin phase, runs guest code and is in no raised section. */
export function isSpinning(h: HostState, v: number): boolean {
  return (
    h.v8[v * V8.STRIDE + V8.SPIN] === 1 && h.mode(v) === Mode.RUN && h.vf[v * Vf.STRIDE + Vf.RAISED_END] === Infinity
  );
}

/** All exits of vCPU `v` so far. */
function exitsOf(h: HostState, v: number): number {
  let n = 0;
  for (let s = 0; s < EXIT_SLOT_COUNT; s++) n += h.machine.exitCount(v, s);
  return n;
}

/**
 * `wall` ns of running time of spinning vCPU `v`: the PAUSE loop's guest time and its PAUSE-loop
 * exits (Slot.PAUSE, reason 40; on AMD #VMEXIT_PAUSE, 77h), each exit's host time taken from the same wall time (what does not
 * fit is carried as debt, like the %cr8 stream's). Any other exit since the last call was a VM entry
 * after which the next PAUSE starts a new loop. Returns guest ns.
 */
export function spinRun(h: HostState, v: number, wall: number): number {
  const m = h.machine;
  const ple = h.config.traits.ple;
  const interval = h.config.pauseLoopIntervalTsc;
  if (ple === null || interval === undefined || !m.pauseLoopExiting(v)) return wall;
  const b = v * Vf.STRIDE;
  const tscPerNs = h.config.profile.baseClockMHz / 1000;
  const intel = h.config.profile.vendor === 'intel';
  const slot = intel ? Slot.PAUSE : SVM_PAUSE_SLOT;
  const cost = m.exitCostNs[slot];
  let loop = exitsOf(h, v) === h.vf[b + Vf.PLE_EXITS_SEEN] ? h.vf[b + Vf.PLE_LOOP_NS] : 0;
  const before = m.vcpuHostNs[v];
  let left = wall;
  let guestNs = 0;
  while (left > 0) {
    const window = h.vf[b + Vf.PLE_WINDOW];
    const period =
      (intel ? pauseLoopExitTsc(interval, ple.gap, window) : pauseFilterExitTsc(interval, ple.gap, window)) / tscPerNs;
    const toExit = period - loop;
    if (left < toExit) {
      guestNs += left;
      loop += left;
      break;
    }
    // A window that no longer changes (fixed, or at ple_window_max) repeats: count those exits at once.
    const grown = kvmGrowPleWindow(window, ple.window, ple.grow, ple.max);
    const k = grown === window ? 1 + Math.floor((left - toExit) / (period + cost)) : 1;
    m.repeat(v, k, RepeatOp.OPAQUE_EXIT, slot, 0);
    h.vf[b + Vf.PLE_WINDOW] = grown;
    guestNs += toExit + (k - 1) * period;
    left -= toExit + (k - 1) * (period + cost) + cost;
    loop = 0;
  }
  const spent = m.vcpuHostNs[v] - before;
  m.vcpuHostNs[v] = before;
  h.vf[b + Vf.DEBT] += spent - (wall - guestNs);
  h.vf[b + Vf.PLE_LOOP_NS] = loop;
  h.vf[b + Vf.PLE_EXITS_SEEN] = exitsOf(h, v);
  h.drainDeliveries();
  return guestNs;
}
