/**
 * Behavioural guest models: how an OS uses the local APIC and the TPR, as typed parameters.
 * The values come from data/guest-models.yaml (each with its source or "calibrated" plus the figure
 * it was fitted to), validated at the edge by src/model/data.ts; docs/MODEL.md explains them.
 */

export type OsFamily = 'windows' | 'linux' | 'freebsd';

/** What a guest does for a while (docs/MODEL.md "Phases"). */
export type PhaseKind =
  'boot' | 'idle' | 'install' | 'disk-benchmark' | 'build' | 'compute' | 'lock-spin' | 'ping-pong';

/**
 * Results columns of the phases (HostSimulation.phaseDoneNs, results.json). `compute`, `lock-spin`
 * and `ping-pong` are duration-bound only (no completion time), so they have no column.
 */
export const PHASE_ORDER: readonly PhaseKind[] = ['boot', 'idle', 'install', 'disk-benchmark', 'build'];

/** One phase of a guest's plan: bound by a duration, or by work whose completion time is a result. */
export interface PhasePlan {
  readonly phase: PhaseKind;
  readonly durationNs?: number;
  /** install: installer CPU work, guest ns; disk-benchmark: bytes; build: CPU work, guest ns. */
  readonly work?: number;
  /** Only the guest's first `busyVcpus` vCPUs take the phase's behaviour; the others idle. */
  readonly busyVcpus?: number;
  /** ping-pong: guest ns a vCPU runs between the message's arrival and its send to the peer. */
  readonly hopNs?: number;
}

export interface PhaseBehaviour {
  /** Fraction of wall time each vCPU wants to run (the rest it halts), for duration-bound phases. */
  readonly busyFraction: number;
  /** Mean length of a busy burst, ns (bursts and idle gaps alternate, exponentially distributed). */
  readonly burstNs: number;
  /** %cr8 accesses per guest-CPU second while busy. */
  readonly cr8PerBusySecond: number;
  /** Device I/O requests per busy guest second (background disk activity). */
  readonly ioPerBusySecond: number;
  /** Cross-vCPU IPIs per busy guest second (TLB shootdowns, reschedules). */
  readonly ipiPerBusySecond: number;
  /**
   * Clock reads (QueryPerformanceCounter, interrupt-time reads) per busy guest-second: the phase's
   * own where the data gives one, else the model's clock.readsPerBusySecond.
   */
  readonly clockReadsPerBusySecond: number;
}

export interface InstallModel {
  /** Critical-path steps: a CPU chunk, then an I/O whose completion the installer waits for. */
  readonly steps: number;
  /** Total installer CPU work, guest ns (split evenly over the steps). */
  readonly cpuWorkNs: number;
  /** Device service time per install I/O, ns. */
  readonly deviceServiceNs: number;
}

export interface DiskBenchmarkModel {
  readonly requestBytes: number;
  /** Host storage throughput for the emulated disk, bytes per second. */
  readonly deviceBytesPerSecond: number;
  /** Fixed per-request device latency, ns. */
  readonly deviceLatencyNs: number;
  /** Guest CPU work per request (the I/O stack), ns. */
  readonly cpuPerRequestNs: number;
}

export interface GuestModel {
  readonly os: string;
  readonly family: OsFamily;
  /** Whether the OS switches its LAPIC to x2APIC mode when the VM offers x2APIC. */
  readonly usesX2apicWhenOffered: boolean;
  /** IRQL raise/lower through %cr8 (Windows x64); 0 accesses otherwise. */
  readonly usesCr8: boolean;
  /** CR8 value of a raised section (DISPATCH_LEVEL = 2 on Windows). */
  readonly raisedCr8: number;
  /** Fraction of busy time spent raised (spin locks, DPCs at DISPATCH_LEVEL). */
  readonly raisedFraction: number;
  /** Mean length of a raised section, ns. */
  readonly raisedHoldNs: number;
  readonly timer: {
    readonly hz: number;
    readonly vector: number;
    /** No ticks while the vCPU is halted (dynticks / one-shot event timers / Windows tick skipping). */
    readonly tickless: boolean;
    /** Only vCPU 0 keeps ticking while idle (Windows clock owner). */
    readonly clockOwnerTicksWhenIdle: boolean;
    /**
     * One-shot timer: each tick re-arms it, and with `tickless` the guest runs dynticks - idle entry
     * programs the wake-up, the wake-up's interrupt ends the idle period, idle exit restarts the tick.
     */
    readonly oneShotRearm: boolean;
    /** Arms the timer in TSC-deadline mode (WRMSR IA32_TSC_DEADLINE) when the hypervisor offers it. */
    readonly tscDeadline: boolean;
  };
  /** Vector of the storage completion interrupt (its class is the device IRQL on Windows). */
  readonly deviceVector: number;
  /**
   * Vector that tells the originating vCPU an I/O completed when the interrupt landed elsewhere
   * (Windows: DPC/APC request at class 2; Linux/FreeBSD: reschedule IPI).
   */
  readonly completionIpiVector: number;
  /** Vector of general cross-vCPU IPIs (TLB shootdown). */
  readonly ipiVector: number;
  /**
   * Vector of the clock IPI the clock owner forwards the platform timer's tick with (Windows:
   * 0xD2, HalpTimerClockIpiRoutine); 0: the OS has none.
   */
  readonly clockIpiVector: number;
  readonly isrNs: number;
  readonly timerIsrNs: number;
  /** Timekeeping under KVM (src/core/guests/clock.ts); 0 for guests whose clock never exits. */
  readonly clock: {
    /** Clock reads (QueryPerformanceCounter, interrupt time) per busy guest-second. */
    readonly readsPerBusySecond: number;
    /** Clock reads of the clock owner's own tick (Windows KiUpdateTime), per tick. */
    readonly readsPerOwnerTick: number;
    /** Platform-timer (RTC / HPET) interrupts per second on the clock owner without synthetic timers. */
    readonly platformTimerHz: number;
  };
  readonly phases: {
    readonly boot: PhaseBehaviour;
    readonly idle: PhaseBehaviour;
    readonly install: PhaseBehaviour;
    readonly build: PhaseBehaviour;
    readonly 'disk-benchmark': PhaseBehaviour;
    /**
     * A CPU-bound thread with no system calls (sysbench cpu; a Windows thread or kernel loop that
     * never waits): the vCPUs that take it run flat out, like a build share, for the phase's
     * duration, with no I/O and no IPIs.
     */
    readonly compute: PhaseBehaviour;
    /**
     * vCPUs waiting for a spin lock: a compute phase whose instruction stream is a PAUSE loop at
     * CPL 0 (src/core/guests/spin.ts); the same behaviour otherwise (no I/O, no IPIs, ticks only).
     */
    readonly 'lock-spin': PhaseBehaviour;
    /**
     * Pairs of vCPUs passing one message back and forth by reschedule IPI (src/core/guests/
     * pingPong.ts): between the message's hops a vCPU behaves as in idle, so this is the idle
     * phase's behaviour without its background I/O and IPIs (the processes do none); the hops come
     * on top.
     */
    readonly 'ping-pong': PhaseBehaviour;
  };
  readonly install: InstallModel;
  readonly diskBenchmark: DiskBenchmarkModel;
}

/** Host-side constants the engine needs beyond per-exit costs. */
export interface HostModel {
  /** Host timer interrupts per second on a CPU running a vCPU (each an external-interrupt exit). */
  readonly hostTickHz: number;
  /** Time from an IPI send (ICR write) to the target LAPIC, ns. */
  readonly ipiLatencyNs: number;
  /** Host time to wake a halted vCPU thread, ns (adds to interrupt latency). */
  readonly haltWakeupNs: number;
  /** The sender's host time to wake a vCPU blocked in HLT, ns, added to the exit that sent the IPI (MachineCore.wakeupWakerNs). */
  readonly wakeupWakerNs: number;
  /** VMM host time outside any exit per period of an emulated platform timer (RTC / HPET), ns. */
  readonly deviceModelTickNs: number;
}

/** Exit costs for one variant: host ns per exit slot (round trip + handler). */
export type ExitCostTable = Float64Array;
