import type { CpuProfile, VmxCapabilities } from '../cpu/profile.js';
import { ExitControls, PinBased, ProcBased, ProcBased2 } from '../vmx/controls.js';
import { checkVmEntry, describeEntryFailures, ENTRY_CHECK_TEXT, EntryCheck } from '../vmx/entryChecks.js';
import { VmInstructionError } from '../vmx/exitReasons.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import {
  ApicOffset,
  X2apicMsr,
  x2apicMsrExists,
  x2apicMsrReadOnly,
  x2apicMsrToOffset,
  x2apicMsrWriteOnly,
} from '../apic/registers.js';
import { priorityClass, vecClear, vecHighest, vecSet, vecTest } from '../apic/vectors.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT, LOCAL_SLOT, Slot, VENDOR_SLOTS } from './exits.js';
import { F, Flag, ISRVEC_STK_SIZE, STRIDE, SvmIntercept } from './layout.js';

/** Explicit VMCS control overrides, applied after the policy (kvm-unit-tests style experiments). */
export interface VmcsOverrides {
  readonly pinSet?: number;
  readonly pinClear?: number;
  readonly procSet?: number;
  readonly procClear?: number;
  readonly proc2Set?: number;
  readonly proc2Clear?: number;
  readonly exitSet?: number;
  readonly exitClear?: number;
  readonly tprThreshold?: number;
}

export interface VcpuSetup {
  /** Guest index this vCPU belongs to (for reports). */
  readonly guest: number;
  /** The guest's LAPIC runs in x2APIC mode. */
  readonly x2apic: boolean;
  readonly apicId: number;
}

export interface MachineConfig {
  readonly profile: CpuProfile;
  readonly traits: PolicyTraits;
  readonly vcpus: readonly VcpuSetup[];
  /** Run the consistency checks after every operation (slower; always run at the end of a run). */
  readonly debugChecks?: boolean;
  readonly overrides?: VmcsOverrides;
}

export interface Violation {
  /** Check name, e.g. `isr_isrvec_stk_out_of_sync`. */
  readonly check: string;
  /** What the real hypervisor prints (bhyve's panic string) or the rule broken. */
  readonly message: string;
  readonly vcpu: number;
  readonly guest: number;
  readonly step: number;
  readonly state: VcpuSnapshot;
}

export interface EntryFailure {
  readonly vcpu: number;
  readonly guest: number;
  readonly step: number;
  readonly vmInstructionError: number;
  readonly message: string;
  readonly failedChecks: readonly string[];
  readonly details: readonly string[];
}

export interface VcpuSnapshot {
  readonly tpr: number;
  readonly ppr: number;
  readonly isr: number[];
  readonly irr: number[];
  readonly isrvecStk: number[];
  readonly svi: number;
  readonly rvi: number;
  readonly tprThreshold: number;
}

/** Result of a guest RDMSR/WRMSR/MMIO access that the architecture refuses. */
export const Fault = { NONE: -1, GP: 13 } as const;

/** Interrupt-delivery outcome counters per vCPU (Float64Array columns). */
export const Counter = {
  RAISED: 0,
  COALESCED: 1,
  INJECTED: 2,
  VIRTUAL_DELIVERED: 3,
  DELIVERED: 4,
  CR8_READS: 5,
  CR8_WRITES: 6,
  TPR_MMIO_WRITES: 7,
  TPR_MSR_WRITES: 8,
  EOIS: 9,
  IPIS_SENT: 10,
  POSTED: 11,
  ENTRY_FAILURES: 12,
  COUNT: 13,
} as const;

const STEP_LOG = 64;
const REPEAT_CR8_PAIR = 0;
const REPEAT_HOST_INTERRUPT = 1;

/**
 * Operations `repeat` can run in bulk (workload-profile guests, src/core/guests/workload.ts): each
 * is executed by the same per-instruction rules as its single-step method.
 */
export const RepeatOp = {
  /** MOV to CR8 twice: `a` (raise) then `b` (lower). */
  CR8_WRITE_PAIR: 2,
  /** MOV from CR8. */
  CR8_READ: 3,
  CPUID: 4,
  /** IN/OUT on port `a`. */
  IO: 5,
  /** A write to an emulated device's MMIO page. */
  MMIO: 6,
  /** RDMSR of MSR `a`. */
  RDMSR: 7,
  /** WRMSR of MSR `a` (value `b`). */
  WRMSR: 8,
  /**
   * An exit the model does not derive from guest instructions (slot `a`): the hypervisor's common
   * exit path runs (so e.g. bhyve's per-exit PPR sync still happens), nothing else changes.
   */
  OPAQUE_EXIT: 9,
  /** A write of `a` to the LAPIC timer's initial-count register, as the vCPU's LAPIC mode does it. */
  TIMER_INITIAL_COUNT: 10,
} as const;

// Per-step scratch logs, shared by every Machine of this thread: a machine resets them in
// beginStep() and only one machine executes at a time, so sharing saves ~1.5 KiB per host.
const SHARED_STEP_EXITS = new Int32Array(STEP_LOG);
const SHARED_STEP_EXIT_QUAL = new Int32Array(STEP_LOG);
const SHARED_STEP_DELIVERED = new Int32Array(STEP_LOG);
const SHARED_STEP_DELIVERED_VCPU = new Int32Array(STEP_LOG);
const SHARED_IPI_OUT_TARGET = new Int32Array(STEP_LOG);
const SHARED_IPI_OUT_VECTOR = new Int32Array(STEP_LOG);
const SHARED_PAIR_SCRATCH = new Int32Array(2 * 32);

/** Kinds of exit-recorder records (Machine.startRecorder; src/run/replay.ts reads them). */
export const RecKind = {
  /** One exit: code = exit slot, qual = exit qualification, value = 1. */
  EXIT: 0,
  /** Exits counted in bulk by the exact fast-forward of %cr8 raise/lower pairs: value = count. */
  BULK_CR8_PAIRS: 1,
  /** Exits counted in bulk by the fast-forward of host timer interrupts: value = count. */
  BULK_HOST_INTERRUPTS: 2,
  /** An interrupt delivery (written by the engine): code = vector, value = latency ns or -1. */
  DELIVERY: 3,
} as const;

const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);

/**
 * A host's vCPUs under one hypervisor policy on one CPU profile: the exact model of which guest
 * operation exits, with which reason, and what state it leaves. Pure: no I/O, no allocation on the
 * operation paths (violations and entry failures allocate their report, which stops the vCPU).
 *
 * Rules cite Intel SDM vol. 3 chapter "APIC Virtualization and Virtual Interrupts" (SDM-29 below),
 * "VMX Non-Root Operation" (SDM-26), "Advanced Programmable Interrupt Controller" (SDM-11) and
 * AMD APM vol. 2 chapter 15 "Secure Virtual Machine" (APM-15); docs/MODEL.md has the full list.
 */
export class Machine {
  readonly n: number;
  readonly s: Int32Array;
  /** Exits per vCPU and kind of this CPU's vendor: index v * slotStride + LOCAL_SLOT[slot] (use exitCount). */
  readonly exitCounts: Float64Array;
  readonly slotStride: number;
  readonly counters: Float64Array;
  readonly traits: PolicyTraits;
  readonly profile: CpuProfile;
  readonly intel: boolean;
  readonly debugChecks: boolean;
  private readonly caps: VmxCapabilities | undefined;
  /** Host nanoseconds charged per exit slot (set by the engine from the cost model). */
  readonly exitCostNs: Float64Array;
  /** Host nanoseconds spent in exits per vCPU since the engine last drained it. */
  readonly vcpuHostNs: Float64Array;
  /** Host nanoseconds spent in exits per slot, all vCPUs of the host (never reset). */
  readonly exitHostNs: Float64Array;
  /** Exits per slot, all vCPUs of the host (never reset): cheap to read once per epoch for time series. */
  readonly exitTotals: Float64Array;

  // Per-step log, read by trace and by the engine after each operation.
  readonly stepExits = SHARED_STEP_EXITS;
  readonly stepExitQual = SHARED_STEP_EXIT_QUAL;
  stepExitCount = 0;
  readonly stepDelivered = SHARED_STEP_DELIVERED;
  readonly stepDeliveredVcpu = SHARED_STEP_DELIVERED_VCPU;
  stepDeliveredCount = 0;
  stepFault: number = Fault.NONE;
  stepHostNs = 0;
  step = 0;

  readonly violations: Violation[] = [];
  readonly entryFailures: EntryFailure[] = [];

  /** Simulated ns the engine is at (stamps recorder records; the machine itself has no clock). */
  clockNs = 0;
  /**
   * Exit recorder, off by default: the hot path pays one boolean test. When on, every exit of the
   * vCPUs [recFirst, recEnd) goes into a preallocated ring of `recCapacity` records (struct of
   * typed arrays); `recWritten` counts records ever written, so a reader that drained up to n lost
   * records when recWritten - n > recCapacity.
   */
  recOn = false;
  recFirst = 0;
  recEnd = 0;
  recCapacity = 0;
  recWritten = 0;
  recTimeNs: Float64Array = EMPTY_F64;
  recValue: Float64Array = EMPTY_F64;
  recVcpu: Int32Array = EMPTY_I32;
  recKind: Int32Array = EMPTY_I32;
  recCode: Int32Array = EMPTY_I32;
  recQual: Int32Array = EMPTY_I32;

  /**
   * When set (by the event engine), IPIs the guest sends are not raised at the target at once but
   * queued here for the engine to deliver after the interconnect latency. Trace mode leaves it off.
   */
  deferIpis = false;
  readonly ipiOutTarget = SHARED_IPI_OUT_TARGET;
  readonly ipiOutVector = SHARED_IPI_OUT_VECTOR;
  ipiOutCount = 0;

  constructor(config: MachineConfig) {
    this.profile = config.profile;
    this.traits = config.traits;
    this.intel = config.profile.vendor === 'intel';
    this.caps = config.profile.vmx;
    this.n = config.vcpus.length;
    this.s = new Int32Array(this.n * STRIDE);
    // Per vCPU only its vendor's exit kinds (LOCAL_SLOT): the other vendor's would stay 0.
    this.slotStride = VENDOR_SLOTS[config.profile.vendor].length;
    this.exitCounts = new Float64Array(this.n * this.slotStride);
    this.counters = new Float64Array(this.n * Counter.COUNT);
    this.exitCostNs = new Float64Array(EXIT_SLOT_COUNT);
    this.vcpuHostNs = new Float64Array(this.n);
    this.exitHostNs = new Float64Array(EXIT_SLOT_COUNT);
    this.exitTotals = new Float64Array(EXIT_SLOT_COUNT);
    this.debugChecks = config.debugChecks === true;
    if (this.intel && !this.caps) throw new Error(`CPU profile ${config.profile.id} has no VMX capabilities`);
    for (let v = 0; v < this.n; v++) this.resetVcpu(v, config.vcpus[v], config.overrides);
  }

  // ---------------------------------------------------------------- setup

  private resetVcpu(v: number, setup: VcpuSetup, overrides: VmcsOverrides | undefined): void {
    const s = this.s;
    const b = v * STRIDE;
    s.fill(0, b, b + STRIDE);
    s[b + F.VCPU_ID] = v;
    s[b + F.GUEST_INDEX] = setup.guest;
    s[b + F.APIC_ID] = setup.apicId;
    s[b + F.SVR] = 0x1ff; // software-enabled, spurious vector 0xFF
    s[b + F.PENDING_INJECT] = -1;
    let flags = Flag.IF;
    if (setup.x2apic) flags |= Flag.X2APIC;
    const t = this.traits;
    if (this.intel) {
      const caps = this.caps!;
      let pin = caps.pinBased.allowed0 | PinBased.ExternalInterruptExiting | PinBased.NmiExiting;
      if (caps.pinBased.allowed1 & PinBased.VirtualNmis) pin |= PinBased.VirtualNmis;
      // Both bhyve and KVM exit on HLT, use MSR and I/O bitmaps, and start with CR8 exiting on
      // (bhyve vmx.c PROCBASED_CTLS_ONE_SETTING; KVM vmx.c setup_vmcs_config).
      let proc =
        caps.procBased.allowed0 |
        ProcBased.HltExiting |
        ProcBased.UseMsrBitmaps |
        ProcBased.UseIoBitmaps |
        ProcBased.Cr8LoadExiting |
        ProcBased.Cr8StoreExiting;
      let proc2 = 0;
      if (caps.procBased.allowed1 & ProcBased.ActivateSecondaryControls) {
        proc |= ProcBased.ActivateSecondaryControls;
        proc2 =
          caps.procBased2.allowed0 |
          (caps.procBased2.allowed1 & (ProcBased2.EnableEpt | ProcBased2.EnableVpid | ProcBased2.UnrestrictedGuest));
      }
      let exitCtls = caps.exit.allowed0 | (caps.exit.allowed1 & ExitControls.AcknowledgeInterruptOnExit);
      if (t.vid) {
        // bhyve vmx_init(): APICv turns on the TPR shadow and all three APIC-virtualization controls
        // and drops CR8 exiting; in x2APIC mode vmx_enable_x2apic_mode_vid() swaps APIC-access
        // virtualization for x2APIC-mode virtualization (SDM-26 checks forbid both at once).
        proc |= ProcBased.UseTprShadow;
        proc &= ~(ProcBased.Cr8LoadExiting | ProcBased.Cr8StoreExiting);
        proc2 |= ProcBased2.ApicRegisterVirtualization | ProcBased2.VirtualInterruptDelivery;
        proc2 |= setup.x2apic ? ProcBased2.VirtualizeX2apicMode : ProcBased2.VirtualizeApicAccesses;
        flags |= Flag.VID;
        if (t.postedInterrupts) {
          pin |= PinBased.ProcessPostedInterrupts;
          exitCtls |= ExitControls.AcknowledgeInterruptOnExit;
          flags |= Flag.POSTED;
        }
      } else if (t.tprShadowing && !(t.noTprShadowInX2apic && setup.x2apic)) {
        proc |= ProcBased.UseTprShadow;
        proc &= ~(ProcBased.Cr8LoadExiting | ProcBased.Cr8StoreExiting);
        flags |= Flag.SOFT_TPR_SHADOW;
        if (t.hypervisor === 'kvm') {
          // KVM FlexPriority: APIC-access virtualization in xAPIC mode, x2APIC-mode virtualization in x2APIC mode.
          const want = setup.x2apic ? ProcBased2.VirtualizeX2apicMode : ProcBased2.VirtualizeApicAccesses;
          if (caps.procBased2.allowed1 & want) proc2 |= want;
        }
      }
      if (overrides) {
        pin = (pin | (overrides.pinSet ?? 0)) & ~(overrides.pinClear ?? 0);
        proc = ((proc | (overrides.procSet ?? 0)) & ~(overrides.procClear ?? 0)) >>> 0;
        proc2 = (proc2 | (overrides.proc2Set ?? 0)) & ~(overrides.proc2Clear ?? 0);
        exitCtls = (exitCtls | (overrides.exitSet ?? 0)) & ~(overrides.exitClear ?? 0);
        if (overrides.tprThreshold !== undefined) s[b + F.TPR_THRESHOLD] = overrides.tprThreshold;
        // Overrides may switch VID / posted interrupts / TPR shadow: derive the flags from the controls.
        flags &= ~(Flag.VID | Flag.POSTED | Flag.SOFT_TPR_SHADOW);
        const secondary = (proc & ProcBased.ActivateSecondaryControls) !== 0;
        if (secondary && proc2 & ProcBased2.VirtualInterruptDelivery) flags |= Flag.VID;
        if (pin & PinBased.ProcessPostedInterrupts) flags |= Flag.POSTED;
        if (proc & ProcBased.UseTprShadow && !(flags & Flag.VID)) flags |= Flag.SOFT_TPR_SHADOW;
      }
      s[b + F.PIN] = pin;
      s[b + F.PROC] = proc | 0;
      s[b + F.PROC2] = proc2;
      s[b + F.EXIT_CTLS] = exitCtls;
    } else {
      // SVM: both hypervisors set V_INTR_MASKING, so guest CR8 accesses use V_TPR (APM-15 "Virtual
      // Interrupts"); physical INTR, HLT and MSR accesses are intercepted.
      s[b + F.V_INTR_MASKING] = 1;
      s[b + F.SVM_INTERCEPTS] = SvmIntercept.INTR | SvmIntercept.HLT | SvmIntercept.MSR;
      if (t.avic && !setup.x2apic) flags |= Flag.AVIC;
    }
    s[b + F.FLAGS] = flags;
    s[b + F.STK_TOP] = 0;
    s[b + F.STK] = 0;
  }

  /** Validate the initial VMCS of every vCPU (the first VM entry). */
  launch(): void {
    for (let v = 0; v < this.n; v++) this.enter(v);
  }

  // ---------------------------------------------------------------- accessors

  flags(v: number): number {
    return this.s[v * STRIDE + F.FLAGS];
  }

  /** Exits of vCPU `v` in exit slot `slot` (0 for the other vendor's kinds). */
  exitCount(v: number, slot: number): number {
    if (EXIT_KINDS[slot].vendor !== (this.intel ? 'intel' : 'amd')) return 0;
    return this.exitCounts[v * this.slotStride + LOCAL_SLOT[slot]];
  }

  isStopped(v: number): boolean {
    return (this.s[v * STRIDE + F.FLAGS] & Flag.STOPPED) !== 0;
  }

  isHalted(v: number): boolean {
    return (this.s[v * STRIDE + F.FLAGS] & Flag.HALTED) !== 0;
  }

  /** The guest-visible TPR: VTPR / V_TPR when virtualized, else the vlapic TPR. */
  tpr(v: number): number {
    const b = v * STRIDE;
    if (!this.intel) return (this.s[b + F.V_TPR] & 0xf) << 4;
    return this.s[b + F.TPR] & 0xff;
  }

  /** The architectural PPR computed from TPR and the highest in-service vector (SDM-11 "Processor Priority Register"). */
  archPpr(v: number): number {
    const b = v * STRIDE;
    const tpr = this.tpr(v);
    const isrv = Math.max(vecHighest(this.s, b + F.ISR), 0);
    return ((tpr >>> 4) & 0xf) >= ((isrv >>> 4) & 0xf) ? tpr : isrv & 0xf0;
  }

  /** The PPR field of the (virtual-)APIC page as the hypervisor/CPU last wrote it. */
  pprField(v: number): number {
    return this.s[v * STRIDE + F.PPR];
  }

  /** Record the exits of vCPUs [first, end) into a fresh ring of `capacity` records (see recOn). */
  startRecorder(capacity: number, first: number, end: number): void {
    this.recCapacity = capacity;
    this.recTimeNs = new Float64Array(capacity);
    this.recValue = new Float64Array(capacity);
    this.recVcpu = new Int32Array(capacity);
    this.recKind = new Int32Array(capacity);
    this.recCode = new Int32Array(capacity);
    this.recQual = new Int32Array(capacity);
    this.recFirst = first;
    this.recEnd = end;
    this.recWritten = 0;
    this.recOn = true;
  }

  private rec(v: number, kind: number, code: number, qual: number, value: number): void {
    if (v < this.recFirst || v >= this.recEnd) return;
    const i = this.recWritten % this.recCapacity;
    this.recTimeNs[i] = this.clockNs;
    this.recVcpu[i] = v;
    this.recKind[i] = kind;
    this.recCode[i] = code;
    this.recQual[i] = qual;
    this.recValue[i] = value;
    this.recWritten++;
  }

  /** The engine's note of a delivery (latency ns, or -1 when the arrival was not timed). */
  recordDeliveryNote(v: number, vector: number, latencyNs: number): void {
    this.rec(v, RecKind.DELIVERY, vector, 0, latencyNs);
  }

  beginStep(step: number): void {
    this.step = step;
    this.stepExitCount = 0;
    this.stepDeliveredCount = 0;
    this.stepFault = Fault.NONE;
    this.stepHostNs = 0;
    this.ipiOutCount = 0;
  }

  // ---------------------------------------------------------------- exits

  private recordExit(v: number, slot: number, qualification: number): void {
    this.exitCounts[v * this.slotStride + LOCAL_SLOT[slot]]++;
    const cost = this.exitCostNs[slot];
    this.stepHostNs += cost;
    this.vcpuHostNs[v] += cost;
    this.exitHostNs[slot] += cost;
    this.exitTotals[slot]++;
    if (this.recOn) this.rec(v, RecKind.EXIT, slot, qualification, 1);
    const i = this.stepExitCount;
    if (i < STEP_LOG) {
      this.stepExits[i] = slot;
      this.stepExitQual[i] = qualification;
    }
    this.stepExitCount = i + 1;
  }

  private recordDelivery(v: number, vector: number): void {
    this.counters[v * Counter.COUNT + Counter.DELIVERED]++;
    const i = this.stepDeliveredCount;
    if (i < STEP_LOG) {
      this.stepDelivered[i] = vector;
      this.stepDeliveredVcpu[i] = v;
    }
    this.stepDeliveredCount = i + 1;
  }

  /**
   * A VM exit happened: the hypervisor does its common exit work (bhyve review v1/v2: sync PPR after
   * every exit while TPR shadowing), then the caller emulates, then `enter` runs the entry path.
   */
  private exit(v: number, slot: number, qualification: number): void {
    this.recordExit(v, slot, qualification);
    const b = v * STRIDE;
    const t = this.traits;
    if (this.intel && t.pprSync === 'every-exit') {
      const f = this.s[b + F.FLAGS];
      if ((f & Flag.SOFT_TPR_SHADOW) !== 0 || ((f & Flag.VID) !== 0 && t.pprSyncWithVid)) this.vlapicUpdatePpr(v);
    }
    if (!this.intel) this.svmSyncCr8ToLapic(v);
  }

  // ---------------------------------------------------------------- software vlapic (hypervisor side)

  /**
   * bhyve vlapic_update_ppr(): recompute PPR from the TPR and the top of the in-service stack, first
   * running vlapic.c's consistency checks (the "ISR and isrvec_stk out of sync" panic). KVM's
   * apic_update_ppr() uses the highest ISR bit instead and has no stack.
   */
  private vlapicUpdatePpr(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if (this.traits.isrvecStack) {
      if (!this.checkIsrvecStack(v)) return;
      const top = s[b + F.STK_TOP];
      const isrvec = s[b + F.STK + top];
      const tpr = s[b + F.TPR] & 0xff;
      s[b + F.PPR] = priorityClass(tpr) >= priorityClass(isrvec) ? tpr : isrvec & 0xf0;
    } else {
      s[b + F.PPR] = this.archPpr(v);
    }
  }

  /** bhyve vlapic.c checks inside vlapic_update_ppr(); false (and the vCPU stopped) on a violation. */
  private checkIsrvecStack(v: number): boolean {
    const s = this.s;
    const b = v * STRIDE;
    const top = s[b + F.STK_TOP];
    if (top === 0 && s[b + F.STK] !== 0)
      return this.violate(v, 'isrvec_stk_corrupted', `isrvec_stk is corrupted: ${s[b + F.STK]}`);
    let lastPrio = -1;
    for (let i = 1; i <= top; i++) {
      const cur = priorityClass(s[b + F.STK + i]);
      if (cur <= lastPrio) return this.violate(v, 'isrvec_stk_order', 'isrvec_stk does not satisfy invariant');
      lastPrio = cur;
    }
    // Every ISR bit, lowest vector first, must match the stack from the bottom up.
    let i = 1;
    for (let w = 0; w < 8; w++) {
      let word = s[b + F.ISR + w] >>> 0;
      while (word !== 0) {
        const bit = 31 - Math.clz32(word & -word);
        const vector = (w << 5) + bit;
        if (i > top || s[b + F.STK + i] !== vector) {
          return this.violate(v, 'isr_isrvec_stk_out_of_sync', 'ISR and isrvec_stk out of sync');
        }
        i++;
        word &= word - 1;
      }
    }
    return true;
  }

  private violate(v: number, check: string, message: string): false {
    const b = v * STRIDE;
    this.s[b + F.FLAGS] |= Flag.STOPPED;
    this.violations.push({
      check,
      message,
      vcpu: v,
      guest: this.s[b + F.GUEST_INDEX],
      step: this.step,
      state: this.snapshot(v),
    });
    return false;
  }

  snapshot(v: number): VcpuSnapshot {
    const s = this.s;
    const b = v * STRIDE;
    const list = (base: number): number[] => {
      const out: number[] = [];
      for (let vec = 0; vec < 256; vec++) if (vecTest(s, base, vec)) out.push(vec);
      return out;
    };
    const stk: number[] = [];
    for (let i = 1; i <= s[b + F.STK_TOP]; i++) stk.push(s[b + F.STK + i]);
    return {
      tpr: this.tpr(v),
      ppr: s[b + F.PPR],
      isr: list(b + F.ISR),
      irr: list(b + F.IRR),
      isrvecStk: stk,
      svi: s[b + F.SVI],
      rvi: s[b + F.RVI],
      tprThreshold: s[b + F.TPR_THRESHOLD],
    };
  }

  /** bhyve vlapic_set_tpr / KVM kvm_lapic_set_tpr: a TPR write the hypervisor emulated. */
  private vlapicSetTpr(v: number, tpr: number): void {
    const b = v * STRIDE;
    this.s[b + F.TPR] = tpr & 0xff;
    if (!this.intel) this.s[b + F.V_TPR] = (tpr >>> 4) & 0xf;
    this.vlapicUpdatePpr(v);
  }

  /** Highest IRR vector whose class beats PPR (bhyve vlapic_pending_intr / KVM apic_has_interrupt_for_ppr), or -1. */
  private vlapicPendingIntr(v: number): number {
    const b = v * STRIDE;
    const vector = vecHighest(this.s, b + F.IRR);
    if (vector < 0) return -1;
    return priorityClass(vector) > priorityClass(this.s[b + F.PPR]) ? vector : -1;
  }

  /** bhyve vlapic_intr_accepted: the injected vector moves IRR -> ISR and is pushed on isrvec_stk. */
  private vlapicIntrAccepted(v: number, vector: number): void {
    const s = this.s;
    const b = v * STRIDE;
    vecClear(s, b + F.IRR, vector);
    vecSet(s, b + F.ISR, vector);
    if (this.traits.isrvecStack) {
      const top = s[b + F.STK_TOP] + 1;
      if (top > ISRVEC_STK_SIZE) {
        this.violate(v, 'isrvec_stk_overflow', `isrvec_stk_top overflow ${top}`);
        return;
      }
      s[b + F.STK_TOP] = top;
      s[b + F.STK + top] = vector;
    }
    this.vlapicUpdatePpr(v);
  }

  /** bhyve vlapic_process_eoi / KVM apic_set_eoi: clear the highest ISR bit, pop the stack. */
  private vlapicProcessEoi(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    this.counters[v * Counter.COUNT + Counter.EOIS]++;
    const vector = vecHighest(s, b + F.ISR);
    if (vector >= 0) {
      vecClear(s, b + F.ISR, vector);
      if (this.traits.isrvecStack) {
        const top = s[b + F.STK_TOP];
        if (top === 0) {
          this.violate(v, 'isrvec_stk_underflow', 'invalid vlapic isrvec_stk_top 0');
          return;
        }
        s[b + F.STK_TOP] = top - 1;
      }
      if (vecTest(s, b + F.TMR, vector)) vecClear(s, b + F.TMR, vector); // level: broadcast EOI to the I/O APIC
    }
    this.vlapicUpdatePpr(v);
  }

  // ---------------------------------------------------------------- VM entry

  /**
   * The hypervisor's entry path: sync state, inject or request a window, program the TPR threshold
   * (or SVM CR8 intercept), run the VM-entry checks, then let the CPU deliver what it may.
   */
  private enter(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    let f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    if (this.intel) this.vmxPrepareEntry(v);
    else this.svmPrepareEntry(v);
    f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    if (this.intel) {
      const failed = checkVmEntry(
        this.caps!,
        s[b + F.PIN],
        s[b + F.PROC] >>> 0,
        s[b + F.PROC2],
        s[b + F.EXIT_CTLS],
        s[b + F.TPR_THRESHOLD],
        s[b + F.TPR],
      );
      if (failed !== 0) {
        this.failEntry(v, failed);
        return;
      }
    }
    if ((f & Flag.HALTED) !== 0) return; // still asleep in the host
    this.afterEntry(v);
  }

  private failEntry(v: number, failed: number): void {
    const b = v * STRIDE;
    this.s[b + F.FLAGS] |= Flag.STOPPED | Flag.ENTRY_FAILED;
    this.counters[v * Counter.COUNT + Counter.ENTRY_FAILURES]++;
    const names = describeEntryFailures(failed);
    this.entryFailures.push({
      vcpu: v,
      guest: this.s[b + F.GUEST_INDEX],
      step: this.step,
      vmInstructionError: VmInstructionError.EntryInvalidControlFields,
      message: 'VM entry with invalid control field(s)',
      failedChecks: names,
      details: names.map((n) => ENTRY_CHECK_TEXT[EntryCheck[n as keyof typeof EntryCheck]]),
    });
  }

  /** What happens right after a successful VM entry (guest now running). */
  private afterEntry(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if (this.intel) {
      const proc = s[b + F.PROC];
      const proc2 = s[b + F.PROC2];
      // SDM-27 "VM Exits Induced by the TPR Threshold": with use TPR shadow and virtualize APIC
      // accesses on and VID off, a threshold above VTPR[7:4] exits right after entry.
      if (
        proc & ProcBased.UseTprShadow &&
        !(f & Flag.VID) &&
        proc2 & ProcBased2.VirtualizeApicAccesses &&
        (s[b + F.TPR_THRESHOLD] & 0xf) > ((s[b + F.TPR] >>> 4) & 0xf)
      ) {
        this.tprBelowThresholdExit(v);
        return;
      }
    }
    const pending = s[b + F.PENDING_INJECT];
    if (pending >= 0) {
      // VM-entry event injection delivers the event through the guest IDT at once (SDM-27 "Event Injection").
      s[b + F.PENDING_INJECT] = -1;
      this.counters[v * Counter.COUNT + Counter.INJECTED]++;
      this.guestTakesInterrupt(v, pending);
    }
    if ((f & Flag.VID) !== 0 || (f & Flag.AVIC) !== 0) this.evaluatePendingVirtualInterrupts(v);
  }

  /** The guest vectors through its IDT: RFLAGS.IF is cleared by the interrupt gate. */
  private guestTakesInterrupt(v: number, vector: number): void {
    const b = v * STRIDE;
    this.checkDeliveryPriority(v, vector);
    this.s[b + F.FLAGS] &= ~(Flag.IF | Flag.HALTED);
    this.recordDelivery(v, vector);
  }

  /**
   * Invariant: an interrupt is delivered only when its class beats the architectural PPR as it
   * stood before delivery (SDM-11 "Interrupt Acceptance"). `vector` is already in ISR here, so
   * compute PPR from TPR and the ISR without it.
   */
  private checkDeliveryPriority(v: number, vector: number): void {
    const s = this.s;
    const b = v * STRIDE;
    vecClear(s, b + F.ISR, vector);
    const ppr = this.archPpr(v);
    vecSet(s, b + F.ISR, vector);
    if (priorityClass(vector) <= priorityClass(ppr)) {
      this.violate(
        v,
        'delivered_at_or_below_ppr',
        `vector 0x${vector.toString(16)} delivered with PPR 0x${ppr.toString(16)}`,
      );
    }
  }

  private vmxPrepareEntry(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    const t = this.traits;
    if ((f & Flag.VID) !== 0) {
      // Posted interrupts not yet processed and interrupts the vlapic holds become RVI
      // (bhyve vmx_inject_pir / KVM vmx_sync_pir_to_irr); the CPU delivers them after entry.
      this.syncPirToIrr(v);
      return;
    }
    if ((f & Flag.SOFT_TPR_SHADOW) !== 0 && t.pprSync === 'interrupt-processing') this.vlapicUpdatePpr(v); // v3 vlapic_sync_tpr
    if (t.hypervisor === 'kvm' && (f & Flag.SOFT_TPR_SHADOW) !== 0) this.vlapicUpdatePpr(v); // kvm_lapic_sync_from_vapic
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (s[b + F.PENDING_INJECT] < 0) {
      const vector = this.vlapicPendingIntr(v);
      if (vector >= 0) {
        if (this.guestInterruptible(v)) {
          s[b + F.PENDING_INJECT] = vector;
          this.vlapicIntrAccepted(v, vector);
          s[b + F.PROC] &= ~ProcBased.InterruptWindowExiting;
        } else {
          s[b + F.PROC] |= ProcBased.InterruptWindowExiting; // exit as soon as the guest can take it
        }
      } else {
        s[b + F.PROC] &= ~ProcBased.InterruptWindowExiting;
      }
    }
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    // After an injection another interrupt may still wait: ask for a window (bhyve vmx_inject_interrupts).
    if (s[b + F.PENDING_INJECT] >= 0 && this.vlapicPendingIntrAfterInject(v))
      s[b + F.PROC] |= ProcBased.InterruptWindowExiting;
    this.programTprThreshold(v);
  }

  private vlapicPendingIntrAfterInject(v: number): boolean {
    return this.vlapicPendingIntr(v) >= 0;
  }

  /**
   * TPR threshold on the software path (VID off, TPR shadow on), programmed before each entry:
   * - bhyve review v2/v3 (sys/amd64/vmm/intel/vmx.c vmx_run): threshold = the guest's current TPR
   *   class (vlapic_get_cr8), so any lowering below the entry-time TPR exits once (trap-like exit
   *   43) and the hypervisor re-evaluates pending interrupts. A masked vector gets no window exit.
   * - KVM vmx_update_cr8_intercept(): threshold = max_irr class when tpr class >= it, else 0, so
   *   the guest exits exactly when it lowers TPR enough to take the pending interrupt.
   */
  private programTprThreshold(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.SOFT_TPR_SHADOW) === 0 || this.traits.tprThreshold === 'none') return;
    const tprClass = (s[b + F.TPR] >>> 4) & 0xf;
    if (this.traits.tprThreshold === 'bhyve') {
      s[b + F.TPR_THRESHOLD] = tprClass;
      return;
    }
    const irr = vecHighest(s, b + F.IRR);
    s[b + F.TPR_THRESHOLD] = irr >= 0 && priorityClass(irr) <= tprClass ? priorityClass(irr) : 0;
  }

  private guestInterruptible(v: number): boolean {
    const b = v * STRIDE;
    return (this.s[b + F.FLAGS] & Flag.IF) !== 0 && this.s[b + F.INTR_SHADOW] === 0;
  }

  /** SDM-29 "Posted-Interrupt Processing": PIR is ORed into VIRR, RVI raised to the highest. */
  private syncPirToIrr(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    let any = false;
    for (let w = 0; w < 8; w++) {
      const p = s[b + F.PIR + w];
      if (p !== 0) {
        s[b + F.IRR + w] |= p;
        s[b + F.PIR + w] = 0;
        any = true;
      }
    }
    s[b + F.PIR_ON] = 0;
    const high = vecHighest(s, b + F.IRR);
    if (any || high > s[b + F.RVI]) s[b + F.RVI] = Math.max(high, 0);
  }

  /**
   * SDM-29 "Evaluation of Pending Virtual Interrupts" and "Virtual-Interrupt Delivery": if
   * RVI[7:4] > VPPR[7:4] and the guest is interruptible, the CPU delivers RVI without a VM exit:
   * VISR[RVI] = 1, SVI = RVI, VPPR = RVI & 0xF0, VIRR[RVI] = 0, RVI = highest VIRR.
   * AVIC (APM-15 "AVIC") behaves the same way from the vAPIC backing page.
   */
  private evaluatePendingVirtualInterrupts(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const avic = (s[b + F.FLAGS] & Flag.AVIC) !== 0;
    for (let guard = 0; guard < 256; guard++) {
      if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
      const rvi = avic ? Math.max(vecHighest(s, b + F.IRR), 0) : s[b + F.RVI];
      const vppr = avic ? this.archPpr(v) : s[b + F.PPR];
      if (rvi === 0 || priorityClass(rvi) <= priorityClass(vppr)) return;
      if (!this.guestInterruptible(v)) return; // recognized, delivered once RFLAGS.IF = 1
      vecSet(s, b + F.ISR, rvi);
      vecClear(s, b + F.IRR, rvi);
      s[b + F.SVI] = rvi;
      s[b + F.PPR] = rvi & 0xf0;
      s[b + F.RVI] = Math.max(vecHighest(s, b + F.IRR), 0);
      this.counters[v * Counter.COUNT + Counter.VIRTUAL_DELIVERED]++;
      this.guestTakesInterrupt(v, rvi);
      return; // IF is now clear: one delivery per evaluation
    }
  }

  /** SDM-29 "PPR Virtualization": VPPR from VTPR and SVI. */
  private pprVirtualization(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const vtpr = s[b + F.TPR] & 0xff;
    const svi = s[b + F.SVI];
    s[b + F.PPR] = priorityClass(vtpr) >= priorityClass(svi) ? vtpr : svi & 0xf0;
  }

  /**
   * SDM-29 "TPR Virtualization", run after a virtualized TPR write (MOV to CR8, xAPIC TPR through
   * the APIC-access page, WRMSR 0x808). VID on: PPR virtualization and evaluation of pending virtual
   * interrupts. VID off: a trap-like TPR-below-threshold exit when VTPR[7:4] < threshold[3:0].
   */
  private tprVirtualization(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.VID) !== 0) {
      this.pprVirtualization(v);
      this.evaluatePendingVirtualInterrupts(v);
      return;
    }
    if (((s[b + F.TPR] >>> 4) & 0xf) < (s[b + F.TPR_THRESHOLD] & 0xf)) this.tprBelowThresholdExit(v);
  }

  /**
   * A TPR-below-threshold exit (SDM-29 "TPR Virtualization"; SDM-26 "VM Exits Induced by the TPR
   * Threshold"). bhyve v2/v3 (vlapic_sync_tpr) and KVM (handle_tpr_below_threshold) handle it and
   * re-arm the threshold before the next entry. bhyve-12.1 and review v1 never program the threshold
   * (reachable only through VmcsOverrides) and vmx_exit_process has no EXIT_REASON_TPR case there: an
   * unhandled exit that bhyve(8) aborts the VM on. Re-entering with the same threshold would exit
   * again forever (unbounded recursion here), so the vCPU stops instead.
   */
  private tprBelowThresholdExit(v: number): void {
    this.exit(v, Slot.TPR_BELOW_THRESHOLD, 0);
    if ((this.s[v * STRIDE + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (this.traits.tprThreshold === 'none') {
      this.violate(v, 'unhandled_vm_exit', 'vm exit: reason VMX, exit_reason 43 (TPR below threshold) not handled');
      return;
    }
    this.enter(v);
  }

  /**
   * SDM-29 "EOI Virtualization": VISR[SVI] = 0, SVI = highest VISR, PPR virtualization, then a
   * virtualized-EOI exit if the vector's EOI-exit-bitmap bit is set, else evaluate pending interrupts.
   */
  private eoiVirtualization(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    this.counters[v * Counter.COUNT + Counter.EOIS]++;
    const vector = s[b + F.SVI];
    vecClear(s, b + F.ISR, vector);
    s[b + F.SVI] = Math.max(vecHighest(s, b + F.ISR), 0);
    this.pprVirtualization(v);
    if (vecTest(s, b + F.EOI_EXIT, vector)) {
      this.exit(v, Slot.VIRTUALIZED_EOI, vector);
      vecClear(s, b + F.TMR, vector); // the hypervisor forwards the level EOI to its I/O APIC
      this.enter(v);
      return;
    }
    this.evaluatePendingVirtualInterrupts(v);
  }

  // ---------------------------------------------------------------- SVM

  /** KVM sync_cr8_to_lapic / bhyve: on every #VMEXIT the vlapic TPR follows V_TPR. */
  private svmSyncCr8ToLapic(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.SVM_INTERCEPTS] & SvmIntercept.CR8_WRITE) !== 0) return;
    const tpr = (s[b + F.V_TPR] & 0xf) << 4;
    if (tpr !== s[b + F.TPR]) {
      s[b + F.TPR] = tpr;
      this.vlapicUpdatePpr(v);
    }
  }

  private svmPrepareEntry(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.AVIC) !== 0) return; // AVIC hardware delivers from the backing page
    if (s[b + F.PENDING_INJECT] < 0) {
      const vector = this.vlapicPendingIntr(v);
      if (vector >= 0 && this.guestInterruptible(v)) {
        s[b + F.PENDING_INJECT] = vector; // EVENTINJ (APM-15 "Event Injection")
        this.vlapicIntrAccepted(v, vector);
        if (this.traits.hypervisor === 'bhyve') {
          // bhyve svm_inj_interrupts() sets need_intr_window = 1 after every injection ("Force a
          // VM-exit as soon as the vcpu is ready to accept another interrupt"): V_IRQ + V_IGN_TPR +
          // VINTR stay armed, so the guest's next STI/IRET exits unless another exit disarms it first.
          s[b + F.V_IRQ] = 1;
          s[b + F.V_IGN_TPR] = 1;
          s[b + F.SVM_INTERCEPTS] |= SvmIntercept.VINTR;
        } else {
          s[b + F.V_IRQ] = 0;
          s[b + F.SVM_INTERCEPTS] &= ~SvmIntercept.VINTR;
        }
      } else if (vector >= 0) {
        // Interrupt window: a dummy V_IRQ with V_IGN_TPR and the VINTR intercept (bhyve svm.c
        // enable_intr_window_exiting, KVM svm_enable_irq_window).
        s[b + F.V_IRQ] = 1;
        s[b + F.V_IGN_TPR] = 1;
        s[b + F.SVM_INTERCEPTS] |= SvmIntercept.VINTR;
      } else {
        s[b + F.V_IRQ] = 0;
        s[b + F.SVM_INTERCEPTS] &= ~SvmIntercept.VINTR;
      }
    }
    if (this.traits.svmCr8WriteInterceptToggle) {
      // svm_update_cr8_intercept(): intercept CR8 writes while the TPR masks the highest IRR.
      s[b + F.SVM_INTERCEPTS] &= ~SvmIntercept.CR8_WRITE;
      const irr = vecHighest(s, b + F.IRR);
      if (irr >= 0 && ((s[b + F.TPR] >>> 4) & 0xf) >= priorityClass(irr))
        s[b + F.SVM_INTERCEPTS] |= SvmIntercept.CR8_WRITE;
    }
    s[b + F.V_TPR] = (s[b + F.TPR] >>> 4) & 0xf; // sync_lapic_to_cr8
  }

  /** APM-15 "Virtual Interrupt Intercept": VINTR exits once the guest can take the virtual interrupt. */
  private svmCheckVintr(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.SVM_INTERCEPTS] & SvmIntercept.VINTR) === 0 || s[b + F.V_IRQ] === 0) return;
    if (!this.guestInterruptible(v)) return;
    if (s[b + F.V_IGN_TPR] === 0 && (s[b + F.V_INTR_PRIO] & 0xf) <= (s[b + F.V_TPR] & 0xf)) return;
    this.exit(v, Slot.VMEXIT_VINTR, 0);
    s[b + F.V_IRQ] = 0;
    s[b + F.SVM_INTERCEPTS] &= ~SvmIntercept.VINTR;
    this.enter(v);
  }

  // ---------------------------------------------------------------- guest operations

  /** MOV to CR8 (SDM-26 "Instructions That Cause VM Exits Conditionally", SDM-29 "Virtualizing CR8-Based TPR Accesses"). */
  writeCr8(v: number, value: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.counters[v * Counter.COUNT + Counter.CR8_WRITES]++;
    const cr8 = value & 0xf;
    if (this.intel) {
      const proc = s[b + F.PROC];
      if ((proc & ProcBased.Cr8LoadExiting) !== 0) {
        // CR-access exit, qualification: CR 8, access type 0 (MOV to CR), GPR (rax = 0 here).
        this.exit(v, Slot.CR_ACCESS, 8);
        this.vlapicSetTpr(v, cr8 << 4);
        this.enter(v);
        return;
      }
      if ((proc & ProcBased.UseTprShadow) !== 0) {
        s[b + F.TPR] = cr8 << 4; // VTPR[7:4] = CR8[3:0], the rest cleared
        this.tprVirtualization(v);
        return;
      }
      s[b + F.TPR] = cr8 << 4; // no exiting, no shadow: the guest writes the real TPR (not a valid VMM setup)
      return;
    }
    if ((s[b + F.SVM_INTERCEPTS] & SvmIntercept.CR8_WRITE) !== 0) {
      this.exit(v, Slot.VMEXIT_CR8_WRITE, 0);
      this.vlapicSetTpr(v, cr8 << 4);
      this.enter(v);
      return;
    }
    // V_INTR_MASKING = 1: the write goes to V_TPR only (APM-15 "Virtualizing APIC.TPR").
    s[b + F.V_TPR] = cr8;
    if ((s[b + F.FLAGS] & Flag.AVIC) !== 0) {
      s[b + F.TPR] = cr8 << 4; // AVIC keeps the backing page TPR and V_TPR in step
      this.evaluatePendingVirtualInterrupts(v);
    }
    this.svmCheckVintr(v);
  }

  /** MOV from CR8. Returns CR8 (TPR[7:4]). */
  readCr8(v: number): number {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return 0;
    this.counters[v * Counter.COUNT + Counter.CR8_READS]++;
    if (this.intel) {
      const proc = s[b + F.PROC];
      if ((proc & ProcBased.Cr8StoreExiting) !== 0) {
        this.exit(v, Slot.CR_ACCESS, 8 | (1 << 4));
        const value = (s[b + F.TPR] >>> 4) & 0xf;
        this.enter(v);
        return value;
      }
      return (s[b + F.TPR] >>> 4) & 0xf; // from VTPR with the shadow
    }
    if ((s[b + F.SVM_INTERCEPTS] & SvmIntercept.CR8_READ) !== 0) {
      this.exit(v, Slot.VMEXIT_CR8_READ, 0);
      const value = (s[b + F.TPR] >>> 4) & 0xf;
      this.enter(v);
      return value;
    }
    return s[b + F.V_TPR] & 0xf;
  }

  /** STI: RFLAGS.IF = 1; an interrupt window opens (after the STI shadow, modelled as immediate). */
  sti(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    s[b + F.FLAGS] |= Flag.IF;
    this.interruptWindowOpened(v);
  }

  /** IRET from an interrupt handler: RFLAGS.IF restored to 1 (the interrupted context was interruptible). */
  iret(v: number): void {
    this.sti(v);
  }

  cli(v: number): void {
    const b = v * STRIDE;
    if ((this.s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.s[b + F.FLAGS] &= ~Flag.IF;
  }

  /** RFLAGS.IF became 1: interrupt-window exit (SDM-26 "Interrupt-Window Exiting"), VINTR, or virtual delivery. */
  private interruptWindowOpened(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if (this.intel) {
      if ((s[b + F.PROC] & ProcBased.InterruptWindowExiting) !== 0) {
        this.exit(v, Slot.INTERRUPT_WINDOW, 0);
        s[b + F.PROC] &= ~ProcBased.InterruptWindowExiting;
        this.enter(v);
        return;
      }
      if ((f & Flag.VID) !== 0) this.evaluatePendingVirtualInterrupts(v);
      return;
    }
    if ((f & Flag.AVIC) !== 0) this.evaluatePendingVirtualInterrupts(v);
    this.svmCheckVintr(v);
  }

  /** HLT: exits (HLT exiting on in both hypervisors); the vCPU sleeps until an interrupt is pending. */
  hlt(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.exit(v, this.intel ? Slot.HLT : Slot.VMEXIT_HLT, 0);
    // bhyve vm_handle_hlt / KVM kvm_vcpu_block: sleep unless an interrupt the guest can take is pending.
    if (!this.hasWakeupPending(v)) s[b + F.FLAGS] |= Flag.HALTED;
    this.enter(v);
  }

  private hasWakeupPending(v: number): boolean {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.IF) === 0) return false;
    if ((s[b + F.FLAGS] & (Flag.VID | Flag.AVIC)) !== 0) {
      this.syncPirToIrr(v);
      const rvi = (s[b + F.FLAGS] & Flag.AVIC) !== 0 ? vecHighest(s, b + F.IRR) : s[b + F.RVI];
      const ppr = (s[b + F.FLAGS] & Flag.AVIC) !== 0 ? this.archPpr(v) : s[b + F.PPR];
      return rvi > 0 && priorityClass(rvi) > priorityClass(ppr);
    }
    if (this.intel && (s[b + F.FLAGS] & Flag.SOFT_TPR_SHADOW) !== 0) this.vlapicUpdatePpr(v);
    return this.vlapicPendingIntr(v) >= 0;
  }

  /**
   * An interrupt arrives at this vCPU's LAPIC (device, timer or IPI), through the hypervisor's
   * vlapic_set_intr_ready. Running vCPUs are kicked with a host IPI: an external-interrupt exit
   * (VT-x) or INTR intercept (SVM), unless posted interrupts / AVIC take it without an exit.
   * Halted vCPUs are woken (their HLT exit already happened). Returns false if coalesced.
   */
  raiseInterrupt(v: number, vector: number, level: boolean): boolean {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return false;
    const c = v * Counter.COUNT;
    this.counters[c + Counter.RAISED]++;
    if (vector < 16) {
      s[b + F.ESR] |= 1 << 6; // "Received Illegal Vector" (SDM-11 "Error Handling")
      return false;
    }
    const f = s[b + F.FLAGS];
    const halted = (f & Flag.HALTED) !== 0;
    if ((f & Flag.POSTED) !== 0) {
      // SDM-29 "Posted-Interrupt Processing": set PIR bit and ON; the notification vector reaches a
      // running vCPU with no VM exit. bhyve vmx_set_intr_ready / KVM vmx_deliver_posted_interrupt.
      if (vecTest(s, b + F.PIR, vector) || vecTest(s, b + F.IRR, vector)) {
        this.counters[c + Counter.COALESCED]++;
        return false;
      }
      vecSet(s, b + F.PIR, vector);
      if (level) {
        vecSet(s, b + F.TMR, vector);
        vecSet(s, b + F.EOI_EXIT, vector);
      } else vecClear(s, b + F.TMR, vector); // SDM-11 "Interrupt Acceptance for Fixed Interrupts": edge clears TMR (as below; KVM __apic_accept_irq)
      s[b + F.PIR_ON] = 1;
      this.counters[c + Counter.POSTED]++;
      if (halted) {
        // Wake only for an interrupt the guest can take, as on the other paths: a HLT with
        // RFLAGS.IF = 0 keeps sleeping (bhyve vm_handle_hlt(intr_disabled), KVM kvm_arch_vcpu_runnable).
        if (this.hasWakeupPending(v)) {
          s[b + F.FLAGS] &= ~Flag.HALTED;
          this.enter(v);
        }
      } else {
        this.syncPirToIrr(v);
        this.evaluatePendingVirtualInterrupts(v);
      }
      return true;
    }
    if (vecTest(s, b + F.IRR, vector)) {
      this.counters[c + Counter.COALESCED]++;
      return false;
    }
    vecSet(s, b + F.IRR, vector);
    if (level) {
      vecSet(s, b + F.TMR, vector);
      if ((f & Flag.VID) !== 0) vecSet(s, b + F.EOI_EXIT, vector); // bhyve vmx_set_tmr
    } else {
      vecClear(s, b + F.TMR, vector);
    }
    if ((f & Flag.AVIC) !== 0) {
      // AVIC: IRR in the backing page plus a doorbell to the running vCPU; no #VMEXIT.
      if (halted) {
        if (this.hasWakeupPending(v)) {
          s[b + F.FLAGS] &= ~Flag.HALTED;
          this.enter(v);
        }
      } else {
        this.evaluatePendingVirtualInterrupts(v);
      }
      return true;
    }
    if ((f & Flag.VID) !== 0) s[b + F.RVI] = Math.max(s[b + F.RVI], vector);
    if (halted) {
      if (this.hasWakeupPending(v)) {
        s[b + F.FLAGS] &= ~Flag.HALTED;
        this.enter(v);
      }
      return true;
    }
    // vcpu_notify_event -> IPI to the host CPU running the vCPU -> exit.
    this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
    this.enter(v);
    return true;
  }

  /**
   * An I/O instruction (IN/OUT): both hypervisors intercept every port (bhyve: unconditional I/O
   * exiting via a full I/O bitmap; SVM IOIO intercept), so it always exits (SDM-26, APM-15).
   */
  ioInstruction(v: number, port: number): void {
    this.exitAndReenter(v, this.intel ? Slot.IO_INSTRUCTION : Slot.VMEXIT_IOIO, (port & 0xffff) << 16);
  }

  /**
   * A guest access to an emulated device's MMIO register (e.g. an AHCI doorbell): not mapped in the
   * EPT / nested page tables, so an EPT-violation exit (SVM: nested page fault) and emulation.
   */
  mmio(v: number): void {
    this.exitAndReenter(v, this.intel ? Slot.EPT_VIOLATION : Slot.VMEXIT_NPF, 0);
  }

  /**
   * A host interrupt (the host's own timer tick) arrives while the vCPU runs: an external-interrupt
   * exit (VT-x external-interrupt exiting; SVM INTR intercept), handled by the host, then re-entry.
   */
  hostInterrupt(v: number): void {
    const f = this.s[v * STRIDE + F.FLAGS];
    if ((f & (Flag.STOPPED | Flag.HALTED)) !== 0) return;
    this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
    this.enter(v);
  }

  /**
   * `pairs` IRQL raise/lower pairs as Windows does them (KfRaiseIrql: read CR8, write `raised`;
   * KeLowerIrql: write `base`), executed by the exact per-instruction rules. Once two consecutive
   * pairs leave the vCPU in the same state with the same exits, every further pair repeats them
   * exactly, so their counts are added without re-executing (exact fast-forward). Returns the
   * number of pairs executed one by one.
   */
  cr8Pairs(v: number, pairs: number, raised: number, base: number): number {
    return this.repeatOp(v, pairs, REPEAT_CR8_PAIR, raised, base);
  }

  /**
   * `count` host timer interrupts while the vCPU runs (hostInterrupt each), with the same exact
   * fast-forward as cr8Pairs. Returns the number executed one by one.
   */
  hostInterrupts(v: number, count: number): number {
    return this.repeatOp(v, count, REPEAT_HOST_INTERRUPT, 0, 0);
  }

  /** `count` repetitions of a RepeatOp, with the same exact fast-forward as cr8Pairs. */
  repeat(v: number, count: number, op: number, a: number, b: number): number {
    return this.repeatOp(v, count, op, a, b);
  }

  /**
   * Run an operation `count` times by the exact per-instruction rules until two consecutive runs
   * leave the same state (the words in PAIR_WORDS, compared exactly) with the same exits and no
   * delivery; from then on every run repeats them, so the rest are counted without re-executing.
   */
  private repeatOp(v: number, count: number, op: number, a: number, b: number): number {
    if (count <= 0) return 0;
    const s = this.s;
    const base = v * STRIDE;
    const c = v * Counter.COUNT;
    let executed = 0;
    this.pairScratch.fill(-1);
    let prevExitStart = -1;
    let prevExitCount = 0;
    while (executed < count) {
      if ((s[base + F.FLAGS] & Flag.STOPPED) !== 0) return executed;
      const exitStart = this.stepExitCount;
      const deliveredBefore = this.stepDeliveredCount;
      switch (op) {
        case REPEAT_CR8_PAIR:
          this.readCr8(v);
          this.writeCr8(v, a);
          this.writeCr8(v, b);
          break;
        case REPEAT_HOST_INTERRUPT:
          this.hostInterrupt(v);
          break;
        case RepeatOp.CR8_WRITE_PAIR:
          this.writeCr8(v, a);
          this.writeCr8(v, b);
          break;
        case RepeatOp.CR8_READ:
          this.readCr8(v);
          break;
        case RepeatOp.CPUID:
          this.cpuid(v);
          break;
        case RepeatOp.IO:
          this.ioInstruction(v, a);
          break;
        case RepeatOp.MMIO:
          this.mmio(v);
          break;
        case RepeatOp.RDMSR:
          this.rdmsr(v, a);
          break;
        case RepeatOp.WRMSR:
          this.wrmsr(v, a, b, 0);
          break;
        case RepeatOp.TIMER_INITIAL_COUNT:
          this.timerInitialCount(v, a);
          break;
        case RepeatOp.OPAQUE_EXIT:
          this.exitAndReenter(v, a, 0);
          break;
      }
      executed++;
      const exitCount = this.stepExitCount - exitStart;
      const repeats = this.pairStateRepeats(v);
      if (
        this.stepDeliveredCount === deliveredBefore &&
        repeats &&
        exitCount === prevExitCount &&
        exitCount <= 4 &&
        exitStart + exitCount <= this.stepExits.length &&
        this.sameExits(prevExitStart, exitStart, exitCount)
      ) {
        const remaining = count - executed;
        if (remaining > 0) {
          if (op === REPEAT_CR8_PAIR || op === RepeatOp.CR8_READ) this.counters[c + Counter.CR8_READS] += remaining;
          if (op === REPEAT_CR8_PAIR || op === RepeatOp.CR8_WRITE_PAIR)
            this.counters[c + Counter.CR8_WRITES] += 2 * remaining;
          for (let e = 0; e < exitCount; e++) {
            const slot = this.stepExits[exitStart + e];
            const cost = this.exitCostNs[slot] * remaining;
            this.exitCounts[v * this.slotStride + LOCAL_SLOT[slot]] += remaining;
            this.stepHostNs += cost;
            this.vcpuHostNs[v] += cost;
            this.exitHostNs[slot] += cost;
            this.exitTotals[slot] += remaining;
            if (this.recOn)
              this.rec(
                v,
                op === REPEAT_CR8_PAIR ? RecKind.BULK_CR8_PAIRS : RecKind.BULK_HOST_INTERRUPTS,
                slot,
                this.stepExitQual[exitStart + e],
                remaining,
              );
          }
        }
        return executed;
      }
      prevExitStart = exitStart;
      prevExitCount = exitCount;
    }
    return executed;
  }

  /** Nothing requested, in service or being injected: host-side exits cannot change what the guest sees. */
  isQuiet(v: number): boolean {
    const s = this.s;
    const b = v * STRIDE;
    if (s[b + F.PENDING_INJECT] >= 0) return false;
    for (let w = 0; w < 8; w++) if ((s[b + F.IRR + w] | s[b + F.ISR + w] | s[b + F.PIR + w]) !== 0) return false;
    return true;
  }

  private sameExits(a: number, b: number, count: number): boolean {
    if (a < 0) return false;
    for (let i = 0; i < count; i++) if (this.stepExits[a + i] !== this.stepExits[b + i]) return false;
    return true;
  }

  /** Words a CR8 pair can change or depend on; compared exactly (no hashing) for the fast-forward. */
  private static readonly PAIR_WORDS: readonly number[] = [
    F.TPR,
    F.PPR,
    F.TPR_THRESHOLD,
    F.V_TPR,
    F.PROC,
    F.PROC2,
    F.FLAGS,
    F.SVM_INTERCEPTS,
    F.PENDING_INJECT,
    F.STK_TOP,
    F.RVI,
    F.SVI,
    F.V_IRQ,
    F.IRR,
    F.IRR + 1,
    F.IRR + 2,
    F.IRR + 3,
    F.IRR + 4,
    F.IRR + 5,
    F.IRR + 6,
    F.IRR + 7,
    F.ISR,
    F.ISR + 1,
    F.ISR + 2,
    F.ISR + 3,
    F.ISR + 4,
    F.ISR + 5,
    F.ISR + 6,
    F.ISR + 7,
  ];
  private readonly pairScratch = SHARED_PAIR_SCRATCH;
  private pairScratchSide = 0;

  /** Snapshot the pair words into alternating halves of the scratch; true when equal to the previous snapshot. */
  private pairStateRepeats(v: number): boolean {
    const b = v * STRIDE;
    const words = Machine.PAIR_WORDS;
    const cur = this.pairScratchSide * 32;
    const prev = (1 - this.pairScratchSide) * 32;
    let same = true;
    for (let i = 0; i < words.length; i++) {
      const w = this.s[b + words[i]];
      this.pairScratch[cur + i] = w;
      if (this.pairScratch[prev + i] !== w) same = false;
    }
    this.pairScratchSide = 1 - this.pairScratchSide;
    return same;
  }

  /**
   * An exit that needs no emulation beyond the hypervisor's common path (unconditional and
   * intercepted instructions, RepeatOp.OPAQUE_EXIT), then the entry path. Nothing on a stopped vCPU.
   */
  private exitAndReenter(v: number, slot: number, qualification: number): void {
    if (this.isStopped(v)) return;
    this.exit(v, slot, qualification);
    this.enter(v);
  }

  /** CPUID exits unconditionally in VMX non-root operation (SDM-26 "Instructions That Cause VM Exits Unconditionally"); SVM: CPUID intercept. */
  cpuid(v: number): void {
    this.exitAndReenter(v, this.intel ? Slot.CPUID : Slot.VMEXIT_CPUID, 0);
  }

  /** End of interrupt, the way the guest's LAPIC mode does it (MMIO 0xB0 or WRMSR 0x80B). */
  eoi(v: number): void {
    const b = v * STRIDE;
    if ((this.s[b + F.FLAGS] & Flag.X2APIC) !== 0) this.wrmsr(v, X2apicMsr.Eoi, 0, 0);
    else this.writeApic(v, ApicOffset.Eoi, 0);
  }

  /** Arm the LAPIC timer (initial-count register) the way the LAPIC mode does it (MMIO 0x380 or WRMSR 0x838). */
  timerInitialCount(v: number, value: number): void {
    if ((this.s[v * STRIDE + F.FLAGS] & Flag.X2APIC) !== 0) this.wrmsr(v, X2apicMsr.TimerInitialCount, value, 0);
    else this.writeApic(v, ApicOffset.TimerInitialCount, value);
  }

  /**
   * xAPIC MMIO write (SDM-29 "Virtualizing Memory-Mapped APIC Accesses"). Without APIC-access
   * virtualization the APIC page is unmapped in the EPT and every access is an EPT-violation exit
   * emulated by the hypervisor (bhyve, KVM without FlexPriority); SVM: a nested page fault.
   */
  writeApic(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    if ((f & Flag.X2APIC) !== 0) {
      // In x2APIC mode the xAPIC MMIO window is not decoded (SDM-11 "x2APIC Mode"): the write goes nowhere.
      return;
    }
    if (offset === ApicOffset.Tpr) this.counters[v * Counter.COUNT + Counter.TPR_MMIO_WRITES]++;
    if (this.intel) {
      const proc2 = (s[b + F.PROC] & ProcBased.ActivateSecondaryControls) !== 0 ? s[b + F.PROC2] : 0;
      if ((proc2 & ProcBased2.VirtualizeApicAccesses) !== 0) {
        const regVirt = (proc2 & ProcBased2.ApicRegisterVirtualization) !== 0;
        const vid = (proc2 & ProcBased2.VirtualInterruptDelivery) !== 0;
        if (offset === ApicOffset.Tpr && (s[b + F.PROC] & ProcBased.UseTprShadow) !== 0) {
          s[b + F.TPR] = value & 0xff; // virtualized write to VTPR, then TPR virtualization
          this.tprVirtualization(v);
          return;
        }
        if (offset === ApicOffset.Eoi && vid) {
          this.eoiVirtualization(v);
          return;
        }
        if (regVirt && isApicWriteVirtualized(offset)) {
          // APIC-write emulation: the data lands on the virtual-APIC page, then a trap-like APIC-write exit.
          this.exit(v, Slot.APIC_WRITE, offset);
          this.emulateApicWrite(v, offset, value);
          this.enter(v);
          return;
        }
        // Fault-like APIC-access exit, qualification: offset, access type 1 (linear write).
        this.exit(v, Slot.APIC_ACCESS, offset | (1 << 12));
        this.emulateApicWrite(v, offset, value);
        this.enter(v);
        return;
      }
      this.exit(v, Slot.EPT_VIOLATION, 0);
      this.emulateApicWrite(v, offset, value);
      this.enter(v);
      return;
    }
    if ((f & Flag.AVIC) !== 0) {
      // APM-15 "AVIC" register access table: TPR and EOI (edge) accelerated, ICR low sends the IPI
      // by doorbell; other writes trap with AVIC_NOACCEL.
      if (offset === ApicOffset.Tpr) {
        s[b + F.TPR] = value & 0xff;
        s[b + F.V_TPR] = (value >>> 4) & 0xf;
        this.evaluatePendingVirtualInterrupts(v);
        return;
      }
      if (offset === ApicOffset.Eoi) {
        const vector = vecHighest(s, b + F.ISR);
        const level = vector >= 0 && vecTest(s, b + F.TMR, vector);
        this.counters[v * Counter.COUNT + Counter.EOIS]++;
        if (vector >= 0) vecClear(s, b + F.ISR, vector);
        if (level) {
          this.exit(v, Slot.VMEXIT_AVIC_NOACCEL, offset);
          vecClear(s, b + F.TMR, vector);
          this.enter(v);
          return;
        }
        this.evaluatePendingVirtualInterrupts(v);
        return;
      }
      if (offset === ApicOffset.IcrHigh) {
        s[b + F.ICR_HIGH] = value;
        return;
      }
      if (offset === ApicOffset.IcrLow) {
        s[b + F.ICR_LOW] = value;
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, true);
        return;
      }
      this.exit(v, Slot.VMEXIT_AVIC_NOACCEL, offset);
      this.emulateApicWrite(v, offset, value);
      this.enter(v);
      return;
    }
    this.exit(v, Slot.VMEXIT_NPF, 0);
    this.emulateApicWrite(v, offset, value);
    this.enter(v);
  }

  /** xAPIC MMIO read. Returns the 32-bit value the guest sees. */
  readApic(v: number, offset: number): number {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0 || (f & Flag.X2APIC) !== 0) return 0;
    if (this.intel) {
      const proc2 = (s[b + F.PROC] & ProcBased.ActivateSecondaryControls) !== 0 ? s[b + F.PROC2] : 0;
      if ((proc2 & ProcBased2.VirtualizeApicAccesses) !== 0) {
        const regVirt = (proc2 & ProcBased2.ApicRegisterVirtualization) !== 0;
        if (offset === ApicOffset.Tpr && (s[b + F.PROC] & ProcBased.UseTprShadow) !== 0) return s[b + F.TPR] & 0xff;
        if (regVirt && isApicReadVirtualized(offset)) return this.apicRegisterValue(v, offset);
        this.exit(v, Slot.APIC_ACCESS, offset);
        const value = this.apicRegisterValue(v, offset);
        this.enter(v);
        return value;
      }
      this.exit(v, Slot.EPT_VIOLATION, 0);
      const value = this.apicRegisterValue(v, offset);
      this.enter(v);
      return value;
    }
    if ((f & Flag.AVIC) !== 0 && offset !== ApicOffset.TimerCurrentCount) return this.apicRegisterValue(v, offset);
    this.exit(v, (f & Flag.AVIC) !== 0 ? Slot.VMEXIT_AVIC_NOACCEL : Slot.VMEXIT_NPF, offset);
    const value = this.apicRegisterValue(v, offset);
    this.enter(v);
    return value;
  }

  /**
   * WRMSR. x2APIC MSRs (0x800-0x8FF) under "virtualize x2APIC mode" are virtualized for TPR (0x808)
   * and, with VID, EOI (0x80B) and SELF IPI (0x83F) (SDM-29 "Virtualizing MSR-Based APIC Accesses");
   * everything else exits through the MSR bitmap (MSR_WRITE; SVM: VMEXIT_MSR).
   */
  wrmsr(v: number, msr: number, valueLow: number, valueHigh: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    const isApicMsr = msr >= X2apicMsr.Base && msr <= X2apicMsr.Last;
    if (isApicMsr && ((f & Flag.X2APIC) === 0 || !x2apicMsrExists(msr) || x2apicMsrReadOnly(msr))) {
      // Not an MSR the guest may write now (xAPIC mode, nonexistent, read-only): the MSR bitmap
      // intercepts it first (SDM 25.1.3: the exit has priority), the hypervisor's emulation refuses
      // it and injects #GP.
      this.exit(v, this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR, 0);
      this.stepFault = Fault.GP;
      this.enter(v);
      return;
    }
    if (msr === X2apicMsr.Tpr) this.counters[v * Counter.COUNT + Counter.TPR_MSR_WRITES]++;
    if (this.intel && isApicMsr) {
      const proc2 = (s[b + F.PROC] & ProcBased.ActivateSecondaryControls) !== 0 ? s[b + F.PROC2] : 0;
      if ((proc2 & ProcBased2.VirtualizeX2apicMode) !== 0) {
        const vid = (proc2 & ProcBased2.VirtualInterruptDelivery) !== 0;
        if (msr === X2apicMsr.Tpr) {
          if (valueHigh !== 0 || (valueLow & ~0xff) !== 0) {
            this.stepFault = Fault.GP; // reserved bits of the x2APIC TPR
            return;
          }
          s[b + F.TPR] = valueLow & 0xff;
          this.tprVirtualization(v);
          return;
        }
        if (vid && msr === X2apicMsr.Eoi) {
          if (valueLow !== 0 || valueHigh !== 0) {
            this.stepFault = Fault.GP;
            return;
          }
          this.eoiVirtualization(v);
          return;
        }
        if (vid && msr === X2apicMsr.SelfIpi) {
          // Self-IPI virtualization: VIRR[vector] = 1, RVI = max(RVI, vector), evaluate.
          const vector = valueLow & 0xff;
          vecSet(s, b + F.IRR, vector);
          s[b + F.RVI] = Math.max(s[b + F.RVI], vector);
          this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
          this.evaluatePendingVirtualInterrupts(v);
          return;
        }
      }
    }
    this.exit(v, this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR, 0); // qualification 0: ECX holds the MSR
    if (isApicMsr) this.emulateX2apicWrite(v, msr, valueLow, valueHigh);
    this.enter(v);
  }

  /** RDMSR; returns the low 32 bits. */
  rdmsr(v: number, msr: number): number {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return 0;
    const isApicMsr = msr >= X2apicMsr.Base && msr <= X2apicMsr.Last;
    if (isApicMsr && ((f & Flag.X2APIC) === 0 || !x2apicMsrExists(msr) || x2apicMsrWriteOnly(msr))) {
      this.exit(v, this.intel ? Slot.MSR_READ : Slot.VMEXIT_MSR, 0); // intercepted, then #GP injected
      this.stepFault = Fault.GP;
      this.enter(v);
      return 0;
    }
    if (this.intel && isApicMsr) {
      const proc2 = (s[b + F.PROC] & ProcBased.ActivateSecondaryControls) !== 0 ? s[b + F.PROC2] : 0;
      if ((proc2 & ProcBased2.VirtualizeX2apicMode) !== 0) {
        if (msr === X2apicMsr.Tpr) return s[b + F.TPR] & 0xff;
        // With APIC-register virtualization a read the MSR bitmap lets through is served from the
        // virtual-APIC page (SDM "Virtualizing MSR-Based APIC Accesses"). KVM
        // (vmx_update_msr_bitmap_x2apic) opens every readable register but the timer current count;
        // bhyve (vmx_allow_x2apic_msrs, guest_msr_ro) opens ID, version, LDR, SVR, ISR/TMR/IRR, ESR,
        // the LVTs, timer initial count / divide and ICR - not PPR, CMCI or the current count.
        if (
          (proc2 & ProcBased2.ApicRegisterVirtualization) !== 0 &&
          x2apicReadPassedThrough(this.traits.hypervisor, msr)
        ) {
          return this.apicRegisterValue(v, x2apicMsrToOffset(msr));
        }
      }
    }
    this.exit(v, this.intel ? Slot.MSR_READ : Slot.VMEXIT_MSR, 0);
    const value = isApicMsr ? this.apicRegisterValue(v, x2apicMsrToOffset(msr)) : 0;
    this.enter(v);
    return value;
  }

  /**
   * Guest sends a fixed IPI to `target` (xAPIC: ICR high then ICR low; x2APIC: one WRMSR 0x830).
   */
  sendIpi(v: number, target: number, vector: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    const dest = this.s[target * STRIDE + F.APIC_ID];
    if ((s[b + F.FLAGS] & Flag.X2APIC) !== 0) {
      this.wrmsr(v, X2apicMsr.Icr, vector & 0xff, dest);
    } else {
      this.writeApic(v, ApicOffset.IcrHigh, dest << 24);
      this.writeApic(v, ApicOffset.IcrLow, vector & 0xff);
    }
  }

  // ---------------------------------------------------------------- emulation helpers (hypervisor)

  private emulateApicWrite(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * STRIDE;
    switch (offset) {
      case ApicOffset.Tpr:
        this.vlapicSetTpr(v, value & 0xff);
        return;
      case ApicOffset.Eoi:
        this.vlapicProcessEoi(v);
        return;
      case ApicOffset.IcrHigh:
        s[b + F.ICR_HIGH] = value;
        return;
      case ApicOffset.IcrLow:
        s[b + F.ICR_LOW] = value;
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, false);
        return;
      case ApicOffset.Svr:
        s[b + F.SVR] = value;
        return;
      case ApicOffset.Ldr:
        s[b + F.LDR] = value;
        return;
      case ApicOffset.LvtTimer:
        s[b + F.LVT_TIMER] = value;
        return;
      case ApicOffset.TimerInitialCount:
        s[b + F.TIMER_INITIAL] = value;
        return;
      case ApicOffset.TimerDivideConfig:
        s[b + F.TIMER_DIVIDE] = value;
        return;
      case ApicOffset.Esr:
        s[b + F.ESR] = 0;
        return;
      default:
        return;
    }
  }

  private emulateX2apicWrite(v: number, msr: number, low: number, high: number): void {
    if (msr === X2apicMsr.Icr) {
      this.s[v * STRIDE + F.ICR_LOW] = low;
      this.sendIpiFromIcr(v, low, high, false);
      return;
    }
    if (msr === X2apicMsr.SelfIpi) {
      this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
      this.raiseLocal(v, low & 0xff);
      return;
    }
    this.emulateApicWrite(v, x2apicMsrToOffset(msr), low);
  }

  /** A self-IPI the hypervisor emulated: straight into IRR, no kick (the vCPU is in the hypervisor). */
  private raiseLocal(v: number, vector: number): void {
    const s = this.s;
    const b = v * STRIDE;
    this.counters[v * Counter.COUNT + Counter.RAISED]++;
    if ((s[b + F.FLAGS] & Flag.POSTED) !== 0 || (s[b + F.FLAGS] & Flag.VID) !== 0) {
      vecSet(s, b + F.IRR, vector);
      s[b + F.RVI] = Math.max(s[b + F.RVI], vector);
      return;
    }
    vecSet(s, b + F.IRR, vector);
  }

  /** Fixed-mode, physical-destination IPI (delivery mode 000, no shorthand). */
  private sendIpiFromIcr(v: number, icrLow: number, dest: number, avicDoorbell: boolean): void {
    this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
    const vector = icrLow & 0xff;
    let target = -1;
    for (let t = 0; t < this.n; t++) {
      if (
        this.s[t * STRIDE + F.APIC_ID] === dest &&
        this.s[t * STRIDE + F.GUEST_INDEX] === this.s[v * STRIDE + F.GUEST_INDEX]
      ) {
        target = t;
        break;
      }
    }
    if (target < 0) {
      this.s[v * STRIDE + F.ESR] |= 1 << 2; // "Send Accept Error": no APIC took it
      return;
    }
    if (this.deferIpis) {
      if (this.ipiOutCount < STEP_LOG) {
        this.ipiOutTarget[this.ipiOutCount] = target;
        this.ipiOutVector[this.ipiOutCount] = vector;
        this.ipiOutCount++;
      }
      if (avicDoorbell && this.isHalted(target)) {
        this.exit(v, Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 0);
        this.enter(v);
      }
      return;
    }
    if (avicDoorbell && this.isHalted(target)) {
      // AVIC: the target is not running, so the CPU reports an incomplete IPI (APM-15 "AVIC_INCOMPLETE_IPI").
      this.exit(v, Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 0);
      this.raiseInterrupt(target, vector, false);
      this.enter(v);
      return;
    }
    this.raiseInterrupt(target, vector, false);
  }

  private apicRegisterValue(v: number, offset: number): number {
    const s = this.s;
    const b = v * STRIDE;
    if (offset >= ApicOffset.Isr0 && offset < ApicOffset.Isr0 + 0x80)
      return s[b + F.ISR + ((offset - ApicOffset.Isr0) >> 4)] >>> 0;
    if (offset >= ApicOffset.Tmr0 && offset < ApicOffset.Tmr0 + 0x80)
      return s[b + F.TMR + ((offset - ApicOffset.Tmr0) >> 4)] >>> 0;
    if (offset >= ApicOffset.Irr0 && offset < ApicOffset.Irr0 + 0x80)
      return s[b + F.IRR + ((offset - ApicOffset.Irr0) >> 4)] >>> 0;
    switch (offset) {
      case ApicOffset.Id:
        return (s[b + F.FLAGS] & Flag.X2APIC) !== 0 ? s[b + F.APIC_ID] : (s[b + F.APIC_ID] << 24) >>> 0;
      case ApicOffset.Version:
        return 0x50014; // version 0x14, max LVT entry 5 (bhyve vlapic)
      case ApicOffset.Tpr:
        return this.tpr(v);
      case ApicOffset.Ppr:
        return this.intel && (s[b + F.FLAGS] & Flag.VID) !== 0 ? s[b + F.PPR] : this.archPpr(v);
      case ApicOffset.Ldr:
        return s[b + F.LDR] >>> 0;
      case ApicOffset.Svr:
        return s[b + F.SVR];
      case ApicOffset.Esr:
        return s[b + F.ESR];
      case ApicOffset.IcrLow:
        return s[b + F.ICR_LOW] >>> 0;
      case ApicOffset.IcrHigh:
        return s[b + F.ICR_HIGH] >>> 0;
      case ApicOffset.LvtTimer:
        return s[b + F.LVT_TIMER] >>> 0;
      case ApicOffset.TimerInitialCount:
        return s[b + F.TIMER_INITIAL] >>> 0;
      case ApicOffset.TimerDivideConfig:
        return s[b + F.TIMER_DIVIDE] >>> 0;
      default:
        return 0;
    }
  }

  // ---------------------------------------------------------------- invariants

  /**
   * The consistency checks, run after every operation in debug mode and at the end of every run.
   * Returns the number of new violations.
   */
  checkInvariants(v: number): number {
    const before = this.violations.length;
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return 0;
    const t = this.traits;
    const softwarePath = !(f & (Flag.VID | Flag.AVIC));
    if (softwarePath && t.isrvecStack) {
      if (!this.checkIsrvecStack(v)) return this.violations.length - before;
    }
    if ((f & Flag.VID) !== 0) {
      // SDM-29: SVI is the highest in-service virtual interrupt; RVI the highest requested one.
      const hiIsr = Math.max(vecHighest(s, b + F.ISR), 0);
      if (s[b + F.SVI] !== hiIsr) {
        this.violate(
          v,
          'svi_not_highest_isr',
          `SVI 0x${s[b + F.SVI].toString(16)} but highest VISR 0x${hiIsr.toString(16)}`,
        );
        return this.violations.length - before;
      }
      const hiIrr = Math.max(vecHighest(s, b + F.IRR), 0);
      if (s[b + F.RVI] < hiIrr) {
        this.violate(
          v,
          'rvi_below_highest_irr',
          `RVI 0x${s[b + F.RVI].toString(16)} below highest VIRR 0x${hiIrr.toString(16)}`,
        );
        return this.violations.length - before;
      }
    }
    const ppr = this.archPpr(v);
    if (priorityClass(ppr) < priorityClass(this.tpr(v))) this.violate(v, 'ppr_below_tpr', 'PPR[7:4] below TPR[7:4]');
    return this.violations.length - before;
  }

  checkAllInvariants(): number {
    let n = 0;
    for (let v = 0; v < this.n; v++) n += this.checkInvariants(v);
    return n;
  }
}

/** x2APIC MSRs whose RDMSR the hypervisor's MSR bitmap passes through with APICv (see `rdmsr`). */
function x2apicReadPassedThrough(hypervisor: 'bhyve' | 'kvm', msr: number): boolean {
  if (msr === X2apicMsr.TimerCurrentCount) return false;
  if (hypervisor === 'kvm') return true;
  if (msr >= X2apicMsr.Isr0 && msr <= 0x827) return true; // ISR, TMR, IRR
  switch (msr) {
    case X2apicMsr.Id:
    case X2apicMsr.Version:
    case X2apicMsr.Ldr:
    case X2apicMsr.Svr:
    case X2apicMsr.Esr:
    case X2apicMsr.Icr:
    case 0x832:
    case 0x833:
    case 0x834:
    case 0x835:
    case 0x836:
    case 0x837:
    case X2apicMsr.TimerInitialCount:
    case X2apicMsr.TimerDivideConfig:
      return true;
    default:
      return false;
  }
}

/** SDM-29 "Virtualizing Reads from the APIC-Access Page": offsets virtualized with APIC-register virtualization. */
export function isApicReadVirtualized(offset: number): boolean {
  if (offset >= 0x100 && offset <= 0x270) return true; // ISR, TMR, IRR
  switch (offset) {
    case 0x20:
    case 0x30:
    case 0x80:
    case 0xb0:
    case 0xd0:
    case 0xe0:
    case 0xf0:
    case 0x280:
    case 0x2f0:
    case 0x300:
    case 0x310:
    case 0x320:
    case 0x330:
    case 0x340:
    case 0x350:
    case 0x360:
    case 0x370:
    case 0x380:
    case 0x3e0:
      return true;
    default:
      return false;
  }
}

/** SDM-29 "Virtualizing Writes to the APIC-Access Page": offsets written to the page with an APIC-write exit. */
export function isApicWriteVirtualized(offset: number): boolean {
  switch (offset) {
    case 0x20:
    case 0x80:
    case 0xb0:
    case 0xd0:
    case 0xe0:
    case 0xf0:
    case 0x280:
    case 0x2f0:
    case 0x300:
    case 0x310:
    case 0x320:
    case 0x330:
    case 0x340:
    case 0x350:
    case 0x360:
    case 0x370:
    case 0x380:
    case 0x3e0:
      return true;
    default:
      return false;
  }
}
