/**
 * KVM's halt polling and the cold exit after a blocked halt (issue #14, docs/MODEL.md section 5).
 *
 * A halting vCPU thread polls for a wake-up for up to its own window (vcpu->halt_poll_ns) before it
 * blocks (torvalds/linux virt/kvm/kvm_main.c kvm_vcpu_halt). A halt that outlasts the window blocks
 * the thread and lets its host CPU go idle, where the deeper C-states flush the TLB and, in core C6,
 * the core's caches (drivers/idle/intel_idle.c: CPUIDLE_FLAG_TLB_FLUSHED on C3 and deeper). The first
 * exit after such a wake-up runs the exit path cold and pays `coldRefillNs` on top of its warm cost;
 * a vCPU that polled through its halt, or never halted, stays warm.
 *
 * State per vCPU in a machine-carved Float64Array (MachineArrays.haltPoll, stride HaltPoll.STRIDE):
 * the refill the next exit pays (0: warm; MachineCore.countExits charges and clears it), when the
 * current halt began, and the vCPU's poll window. Pure functions, no allocation.
 */

/** Words per vCPU. */
export const enum HaltPoll {
  /** Host ns the vCPU's next exit pays on top of its cost (0: warm). Read and cleared per exit. */
  COLD_NS = 0,
  /** Simulated ns the current halt began (the engine's clock at HLT). */
  HALT_START = 1,
  /** KVM's per-vCPU poll window, vcpu->halt_poll_ns (starts at 0: kvm_vcpu_init). */
  WINDOW = 2,
  STRIDE = 3,
}

/**
 * KVM's window growth (kvm_main.c): halt_poll_ns_grow 2 (the window doubles) from
 * halt_poll_ns_grow_start 10,000 ns; shrink: halt_poll_ns_shrink 0 resets the window to 0 (the
 * default of the 2015-2023 kernels of the validation corpus; newer kernels halve it).
 */
export const HALT_POLL_GROW = 2;
export const HALT_POLL_GROW_START_NS = 10_000;

/** What a host's halts cost on wake-up: the poll ceiling (0: no polling) and the cold refill. */
export interface HaltPollParams {
  /** halt_poll_ns, the ceiling of every vCPU's window (KVM_HALT_POLL_NS_DEFAULT on x86); 0: never polls. */
  readonly maxPollNs: number;
  /** Host ns the first exit after a blocked halt pays (0: none). */
  readonly coldRefillNs: number;
  /** The refill reaches every exit until the next HLT (stored negated in COLD_NS), not the first only. */
  readonly untilHalt: boolean;
}

/** vCPU `v` halts at `nowNs`. */
export function haltBegins(w: Float64Array, v: number, nowNs: number): void {
  w[v * HaltPoll.STRIDE + HaltPoll.HALT_START] = nowNs;
  w[v * HaltPoll.STRIDE + HaltPoll.COLD_NS] = 0;
}

/**
 * vCPU `v`'s halt ends at `nowNs`: a halt no longer than the window was polled through (warm);
 * a longer one blocked the thread and marks the next exit cold. Then the window adapts as
 * kvm_vcpu_halt does it: unchanged when the halt fit in it; after a block longer than the ceiling,
 * shrunk (reset); after a shorter halt the window missed, grown, capped at the ceiling. Returns
 * whether the thread blocked.
 */
export function haltEnds(w: Float64Array, v: number, nowNs: number, p: HaltPollParams): boolean {
  const b = v * HaltPoll.STRIDE;
  const haltNs = nowNs - w[b + HaltPoll.HALT_START];
  const window = w[b + HaltPoll.WINDOW];
  if (haltNs <= window) return false;
  if (p.coldRefillNs > 0) w[b + HaltPoll.COLD_NS] = p.untilHalt ? -p.coldRefillNs : p.coldRefillNs;
  const max = p.maxPollNs;
  if (max > 0) {
    if (window > 0 && haltNs > max) w[b + HaltPoll.WINDOW] = 0;
    else if (window < max && haltNs < max)
      w[b + HaltPoll.WINDOW] = Math.min(max, Math.max(HALT_POLL_GROW_START_NS, window * HALT_POLL_GROW));
  }
  return true;
}
