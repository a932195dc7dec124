/**
 * The guest's side of an interrupt before its ISR: it arrives at the vCPU's LAPIC (raise), and the
 * guest waits for one with HLT (halt). Delivery and the ISR itself: src/core/guests/isr.ts.
 */
import { GuestCounter, Mode, Source, Vf, Vi, type HostState } from '../engine/state.js';
import {
  HaltPoll,
  grantedPolls,
  haltBegins,
  haltEnds,
  polling,
  pollsEndBy,
  stopPolling,
} from '../hypervisor/haltPoll.js';
import { Slot } from '../vcpu/exits.js';
import { enterRaised } from './irql.js';
import { clockInterrupt } from './timekeeping.js';

/**
 * Interrupt `vector` from `source` (a Source) arrives at vCPU `v`: counted, its arrival time kept for
 * the latency, a halted vCPU's host wake-up charged, the guest possibly caught inside a raised IRQL
 * section, then the machine's delivery rules decide (delivered now, or pending).
 */
export function raise(h: HostState, v: number, vector: number, source: number): void {
  const time = h.now;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  h.guestCounters[gi * GuestCounter.COUNT + GuestCounter.RAISED_TIMER + source]++;
  const a = v * Vf.STRIDE + Vf.ARRIVAL + source;
  if (h.vf[a] < 0) h.vf[a] = time;
  // The woken thread's block/wake-up path, unless it is still halt-polling (KVM kvm_vcpu_block: a
  // wake-up inside the poll leaves the loop without ever sleeping; hypervisor/haltPoll.ts).
  if (h.mode(v) === Mode.HALT && !polling(h.machine, v)) h.vf[v * Vf.STRIDE + Vf.DEBT] += h.config.host.haltWakeupNs;
  enterRaised(h, v);
  // The guest's own timer expires on the host's timer: a running vCPU exits for it (KVM: the
  // VMX-preemption timer, else the host timer's external interrupt; Machine.guestTimerExpires), or
  // it is a synthetic timer or a platform timer (src/core/guests/timekeeping.ts).
  if (source === Source.TIMER) clockInterrupt(h, v, vector);
  else h.machine.raiseInterrupt(v, vector, false);
  if (h.undrained()) h.drainDeliveries();
}

/**
 * Host ns of the HLT exit's entry part - the part of its round trip that runs after the wake-up
 * (leaving the block, the injection, the VM entry: data/cost-model.yaml haltResumeCycles, where its
 * reasoning and sources are) - at the host CPU's base clock, at most the HLT exit's cost there. The
 * ISR cannot start before that entry (SDM Vol. 3C "Event Injection"), so it is paid after the
 * wake-up, as exit debt (wake), and taken out of what the HLT exit charges before the halt
 * (deferEntry): the exit's host time is unchanged, only when the vCPU pays it moves. A whole number
 * (a small integer crosses the call unboxed).
 */
export function haltEntryNs(h: HostState): number {
  if (h.haltEntryMemo < 0) h.haltEntryMemo = haltEntryOf(h);
  return h.haltEntryMemo;
}

/** haltEntryNs worked out (once per host: HostState.haltEntryMemo). */
function haltEntryOf(h: HostState): number {
  const ns = Math.round(((h.config.haltResumeCycles ?? 0) * 1000) / h.config.profile.baseClockMHz);
  const hlt = h.machine.exitCostNs[h.machine.intel ? Slot.HLT : Slot.VMEXIT_HLT];
  return ns < hlt ? ns : Math.floor(hlt);
}

/** vCPU `v` executes HLT: it stops running until an interrupt is delivered. */
export function halt(h: HostState, v: number): void {
  h.advance(v);
  const halting = h.mode(v) !== Mode.HALT;
  h.setRunnable(v, false);
  h.machine.hlt(v);
  if (halting) {
    deferEntry(h, v);
    beginHalt(h, v);
  }
  sleeps(h, v);
}

/**
 * vCPU `v`'s HLT exit has just been charged and its halt begins: the exit's entry part
 * (haltEntryNs) is owed at the wake-up instead (wake), so the thread reaches its block - and its
 * poll - that much sooner. A stopped vCPU took no exit (Machine.hlt) and never wakes.
 */
function deferEntry(h: HostState, v: number): void {
  if (!h.machine.isStopped(v)) h.machine.vcpuHostNs[v] -= haltEntryNs(h);
}

/**
 * The guest's side of a HLT the machine has already executed as part of a fused operation
 * (Machine.eoiCr8IretHlt: an idle vCPU's ISR end, guests/isr.ts), at vCPU `v`'s own event: what halt
 * does around machine.hlt. advance and setRunnable write engine words only, which the machine's HLT
 * does not read, so they may follow it; advance(v) at the time v's event has already advanced it to
 * changes nothing (progress returns at once, the host ticks were brought past it).
 */
export function halted(h: HostState, v: number): void {
  h.advance(v);
  const halting = h.mode(v) !== Mode.HALT;
  h.setRunnable(v, false);
  if (halting) {
    deferEntry(h, v);
    beginHalt(h, v);
  }
  sleeps(h, v);
}

/**
 * vCPU `v`'s thread enters KVM's kvm_vcpu_block once it has finished the exit work it owes (its debt
 * and the HLT exit's own cost, paid at its share of a core: HostState.resumeTime) - the poll starts
 * there. It polls if polling is on (halt_poll_ns > 0) and it is alone on its host CPU: KVM polls only
 * while single_task_running() (kvm_main.c), so here only while the runnable and polling vCPUs leave a
 * core free (freeCore); a vCPU woken later onto a full host ends a poll (wake).
 */
function beginHalt(h: HostState, v: number): void {
  const traits = h.config.traits;
  // bhyve never polls nor keeps KVM's statistics: it has no words (hypervisor/haltPoll.ts
  // keepsHaltPoll). KVM with kvm.halt_poll_ns 0 does not poll but still counts halt_wakeup for every
  // halt that slept (kvm_vcpu_wake_up).
  if (h.machine.haltPoll.length === 0) return;
  h.resumeTime(v);
  h.machine.haltPoll[v * HaltPoll.STRIDE + HaltPoll.HALT_START] = h.now + (h.owedWallNs > 0 ? h.owedWallNs : 0);
  haltBegins(h.machine.haltPoll, v, traits.haltPollNs > 0 && freeCore(h, v));
}

/**
 * Whether a host CPU is free for vCPU `v`'s thread: the other runnable vCPUs and the polling ones
 * (HostState.runnable counts neither `v`, halted, nor the pollers) take fewer than its cores. A host
 * with no more vCPUs than cores always has one, and so has one whose granted polls leave a core free
 * (grantedPolls) or all ended (pollsEndBy): then no scan.
 */
function freeCore(h: HostState, v: number): boolean {
  const cores = h.config.cores;
  const w = h.machine.haltPoll;
  if (h.n <= cores || h.runnable + grantedPolls(w) < cores) return true;
  if (h.now > pollsEndBy(w)) return h.runnable < cores; // no vCPU polls now
  return h.runnable + pollers(h, v) < cores;
}

/** vCPUs other than `v` halted and still polling now. */
function pollers(h: HostState, v: number): number {
  let k = 0;
  for (let u = 0; u < h.n; u++) if (u !== v && h.mode(u) === Mode.HALT && polling(h.machine, u)) k++;
  return k;
}

/**
 * A vCPU woke on a host with more vCPUs than cores: while the runnable and polling vCPUs exceed the
 * cores, a poller shares its CPU with a runnable thread, single_task_running() fails and it stops
 * polling now (then blocks) - the lowest-numbered first.
 */
function endPollsOnFullHost(h: HostState): void {
  const cores = h.config.cores; // more vCPUs than cores, KVM polling: HostState.pollsMayEnd
  const w = h.machine.haltPoll;
  if (h.runnable + grantedPolls(w) <= cores || h.now > pollsEndBy(w)) return;
  let busy = h.runnable + pollers(h, -1);
  for (let u = 0; u < h.n && busy > cores; u++)
    if (h.mode(u) === Mode.HALT && polling(h.machine, u)) {
      stopPolling(h.machine, u);
      busy--;
    }
}

/**
 * Halted vCPU `v` runs again (its thread scheduled in, HostState.setRunnable) - every wake-up of a
 * halted vCPU goes through here. KVM's halt polling is accounted (hypervisor/haltPoll.ts): the host
 * ns the thread polled are host CPU of the vCPU thread inside its HLT exit (perf's kvm_exit to
 * kvm_entry holds them), so they join the HLT slot's host time, which host_cpu_fraction sums; they are
 * not exit time the vCPU owes (no Vf.DEBT): the guest was halted while the host polled.
 */
export function wake(h: HostState, v: number): void {
  if (h.mode(v) !== Mode.HALT) return;
  const m = h.machine;
  // Only where the words are kept (keepsHaltPoll: every KVM host, never bhyve's).
  if (m.haltPoll.length !== 0) pollEnds(h, v);
  // The HLT exit's entry part, deferred at the halt (deferEntry): leaving the block, the entry path's
  // injection and the VM entry happen after the wake-up, before the ISR (cost-model.yaml haltResumeCycles).
  if (!m.isStopped(v)) h.vf[v * Vf.STRIDE + Vf.DEBT] += haltEntryNs(h);
  h.runsAgain(v); // halted: tested above
  if (h.pollsMayEnd) endPollsOnFullHost(h);
}

/** wake's halt-poll accounting, out of its body (wake is inlined where bytes count: engine30.md, E12). */
function pollEnds(h: HostState, v: number): void {
  const m = h.machine;
  haltEnds(m, v, h.config.traits.haltPollNs, m.intel ? Slot.HLT : Slot.VMEXIT_HLT);
}

/** After vCPU `v`'s HLT: what it delivered starts, and a HLT that found an interrupt pending does not sleep. */
function sleeps(h: HostState, v: number): void {
  if (h.undrained()) h.drainDeliveries();
  // hlt() with an interrupt already pending does not sleep: it was delivered above (ISR mode).
  if (h.mode(v) === Mode.HALT && !h.machine.isHalted(v) && h.vf[v * Vf.STRIDE + Vf.ISR_END] === Infinity) wake(h, v);
}
