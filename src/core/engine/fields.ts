/**
 * The layout of a host's state (src/core/engine/state.ts, HostState): the field offsets of its strided
 * typed arrays, per vCPU (Vf, Vi, V8) and per guest (Gf, Gi, G8), the workload-profile block (WL_*),
 * the vCPU modes and the results columns. Const enums: the offsets compile to literals on the hot
 * paths. state.ts re-exports every name, so modules import them from there or from here alike.
 */
import { WorkloadOp } from '../guests/workload.js';
import { EXIT_SLOT_COUNT } from '../vcpu/exits.js';
/** Interrupt sources for per-source counts and latency. */
export const Source = { TIMER: 0, DEVICE: 1, IPI: 2, COUNT: 3 } as const;

/** Latency histogram bucket upper bounds, ns (Prometheus-style 1-2.5-5 series, 1 us .. 100 ms). */
export const LATENCY_BOUNDS_NS: readonly number[] = [
  1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8,
];

/** Per-guest results counters (Float64Array columns; all integers, so sums are exact in any order). */
export const GuestCounter = {
  GUEST_CPU_NS: 0,
  RAISED_TIMER: 1,
  RAISED_DEVICE: 2,
  RAISED_IPI: 3,
  DELIVERED_TIMER: 4,
  DELIVERED_DEVICE: 5,
  DELIVERED_IPI: 6,
  IO_BYTES: 7,
  /** VMM host ns outside exits: the device model's platform-timer periods (HostModel.deviceModelTickNs). */
  DEVICE_MODEL_NS: 8,
  COUNT: 9,
} as const;

/**
 * A host's vCPU indices are below 2^24 (HostState's constructor holds it; a scenario allows at most
 * MAX_TOTAL_GUESTS x MAX_VCPUS, 6.4 M, below 2^23), so `v & VcpuIndex.MASK` is `v`, which TurboFan
 * types as a range: index sums on it need no overflow checks (the event walk, docs/perf/engine30.md, E21).
 */
export const enum VcpuIndex {
  MASK = 0xffffff,
}

/** What a vCPU is doing (V8.MODE; read it with HostState.mode). */
export const enum Mode {
  /** Running guest code (busy, or the worker's chunk). */
  RUN = 0,
  /** Halted (HLT): not runnable, no guest time, no host ticks. */
  HALT = 1,
  /** Running an ISR. */
  ISR = 2,
}

/** The worker vCPU of an install / disk-benchmark chain (G8.WORKER_STATE; read it with HostState.worker). */
export const enum Worker {
  /** Running its CPU chunk (flat out). */
  CPU = 0,
  /** Waiting for the step's I/O to complete. */
  WAIT = 1,
  /** No chain in this phase. */
  NONE = 2,
}

/** A ping-pong vCPU's message (V8.HOP; src/core/guests/pingPong.ts). */
export const enum Hop {
  NONE = 0,
  /** The peer sent the message: its reschedule IPI is on the way or pending. */
  SENT = 1,
  /** The vCPU runs its hop (Vf.WORK_LEFT guest ns to go). */
  RUNNING = 2,
}

/** Per-vCPU numbers (`vf`): times in ns, debts, carries. */
export const enum Vf {
  /** Wall time up to which the vCPU has been advanced. */
  T = 0,
  /** Host ns of exits not yet paid from the vCPU's running time. */
  DEBT = 1,
  /** Fractional %cr8 accesses carried between advances. */
  CARRY = 2,
  /** Host ns per %cr8 access, as last measured (before the first: Machine.cr8AccessCostNs, the controls' cost). */
  COST_PER_ACCESS = 3,
  /** Next guest timer tick (also kept, stale, while the timer is stopped; see Ev.TIMER_STALE). */
  NEXT_TIMER = 4,
  /** Next host timer tick on the core running the vCPU (Infinity while halted). */
  NEXT_HOST_TICK = 5,
  /** End of the current busy burst or idle gap. */
  BURST_END = 6,
  /** End of the current raised-IRQL section (Infinity: none, or suspended by an ISR). */
  RAISED_END = 7,
  /** Rest of a raised section an ISR interrupted, resumed after it (0: none). */
  RAISED_LEFT = 8,
  /** End of the ISR in service. */
  ISR_END = 9,
  /** Arrival of a general IPI in flight to this vCPU (coalesced: the IRR would merge them anyway). */
  IPI_AT = 10,
  /** Arrival of an I/O-completion notice (DPC/APC request or reschedule IPI) in flight to this vCPU. */
  NOTIFY_AT = 11,
  /** Completion of a background I/O this vCPU issued. */
  BG_DONE_AT = 12,
  /** Guest ns of build work this vCPU still owes, or of its ping-pong hop (never both: other phases). */
  WORK_LEFT = 13,
  /**
   * Guest ns of the vCPU's work until it next issues background I/O: its guest time counts down, so
   * the rate is per second of guest work (ioPerBusySecond), halts and exit time pass none (issue #14).
   */
  BG_IO_LEFT = 14,
  /** Guest ns until the vCPU next sends a background IPI: like BG_IO_LEFT. */
  BG_IPI_LEFT = 15,
  /** Fractional clock reads carried between advances (src/core/guests/timekeeping.ts). */
  CLOCK_CARRY = 16,
  /** KVM's PLE window for this vCPU, TSC ticks (vmx->ple_window; src/core/guests/spin.ts). */
  PLE_WINDOW = 17,
  /** Guest ns since the first PAUSE of the spin loop in progress (since the last VM entry). */
  PLE_LOOP_NS = 18,
  /** The vCPU's exit count when its spin loop was last advanced: any other exit restarts the loop. */
  PLE_EXITS_SEEN = 19,
  /** Arrival time of the oldest undelivered interrupt, per Source (3 slots; -1: none). */
  ARRIVAL = 20,
  /**
   * Fractional host ticks carried between advances: of the ticks that land after the exit debt, the
   * share in guest mode when the interval's own bulk exits are interleaved with its guest time (host.ts).
   */
  TICK_CARRY = 23,
  /** Guest ns of work left in the busy burst in progress (Infinity: none, or flat out; guests/burstWork.ts). */
  BURST_WORK = 24,
  /** Period of the vCPU's clock interrupt, ns: fixed for the host's life (guests/timekeeping.ts clockPeriodNs). */
  CLOCK_PERIOD = 25,
  /** The phase's %cr8 accesses per busy guest ns (0: the guest does not use %cr8), set when it starts. */
  CR8_PER_NS = 26,
  /** The host's service clock at Vf.T, written when the share changes after T (HostSimulation.shareChanged). */
  SERVICE = 27,
  STRIDE = 28,
}

/** Per-vCPU integers (`vi`). */
export const enum Vi {
  /** Index of the vCPU's guest in the host. */
  GUEST_OF = 0,
  /** The vCPU's index within its guest. */
  LOCAL = 1,
  /** Vector of the ISR in service (-1: none). */
  ISR_VECTOR = 2,
  /** Vector of the general IPI in flight (-1: none). */
  IPI_VECTOR = 3,
  STRIDE = 4,
}

/** Per-vCPU small values (`v8`). */
export const enum V8 {
  MODE = 0,
  /** 1 in a busy burst, 0 in an idle gap. */
  BUSY = 1,
  /** CR8 the ISR in service will restore. */
  ISR_PREV_CR8 = 2,
  /** 1 while this vCPU still owes its share of a build phase (WORK_LEFT may reach 0 between events). */
  BUILD_ACTIVE = 3,
  /** 1 while the vCPU is idle with its one-shot timer programmed for the wake-up (dynticks; Vf.NEXT_TIMER). */
  WAKE_TIMER = 4,
  /** 1 when the timer interrupt in service ended an idle period: its ISR also restarts the tick. */
  RESTART_TICK = 5,
  /** A ping-pong vCPU's message: a Hop value. */
  HOP = 6,
  /** 1 while the phase is a lock-spin the vCPU takes part in (set when the phase starts: guests/spin.ts). */
  SPIN = 7,
  /** How its timer runs: a TimerClass (guests/timers.ts), set once by the engine. */
  TIMER_CLASS = 8,
  /** Which of its phase's work can keep it flat out: a FlatOut (guests/bursts.ts), set when the phase starts. */
  FLAT_OUT = 9,
  STRIDE = 10,
}

/** Per-guest numbers (`gf`). */
export const enum Gf {
  PHASE_START = 0,
  /** End of a duration-bound phase (Infinity: none). */
  PHASE_END = 1,
  /** Guest ns left in the worker's CPU chunk of the current step. */
  CHUNK_LEFT = 2,
  STEPS_LEFT = 3,
  /** Completion of the chain's I/O in flight (Infinity: none). */
  IO_DONE_AT = 4,
  /** Bytes a disk benchmark has still to transfer. */
  BYTES_LEFT = 5,
  /** A Linux guest's last jiffies update (guests/linuxClock.ts), ns; -Infinity: none yet. */
  LAST_JIFFY = 6,
  STRIDE = 7,
}

/** Per-guest integers (`gi32`). */
export const enum Gi {
  FIRST_VCPU = 0,
  PHASE_IDX = 1,
  /** vCPU the chain's I/O completion interrupt goes to; -1 none, -2 its notice is in flight to the worker. */
  IO_TARGET = 2,
  /** vCPU whose next device ISR serves the chain's I/O (-1: none). */
  IO_ISR_VCPU = 3,
  /** Chain I/Os issued (round-robin interrupt affinity). */
  IO_SEQ = 4,
  STRIDE = 5,
}

/** Per-guest small values (`g8`). */
export const enum G8 {
  /** A Worker value. */
  WORKER_STATE = 0,
  STRIDE = 1,
}

// Workload-profile vCPUs (`wl`, allocated only when the host has such guests), stride WL.
/** Next device interrupt arrival, wall ns. */
export const WL_IRQ_AT = 0;
/** Guest ns until the next HLT or IPI. */
export const WL_DYN_LEFT = 1;
/** Host ns of bulk exits per guest ns (last measured). */
export const WL_COST = 2;
/** WorkloadOp.COUNT fractional carries, then EXIT_SLOT_COUNT opaque carries, then host interrupts. */
export const WL_CARRY = 3;
export const WL_OPAQUE_CARRY = WL_CARRY + WorkloadOp.COUNT;
export const WL_HOST_IRQ_CARRY = WL_OPAQUE_CARRY + EXIT_SLOT_COUNT;
export const WL = WL_HOST_IRQ_CARRY + 1;

if (Vf.TICK_CARRY - Vf.ARRIVAL !== Source.COUNT) throw new Error('Vf.ARRIVAL needs one slot per Source');
