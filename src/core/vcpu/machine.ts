import type { CpuProfile, VmxCapabilities } from '../cpu/profile.js';
import { ProcBased } from '../vmx/controls.js';
import { checkVmEntry, describeEntryFailures, ENTRY_CHECK_TEXT, EntryCheck } from '../vmx/entryChecks.js';
import { VmInstructionError } from '../vmx/exitReasons.js';
import type { PolicyTraits } from '../hypervisor/policy.js';
import { syncAtExit } from '../hypervisor/exitPath.js';
import { setupVcpu, x2apicReadPassedThrough, type VcpuSetup, type VmcsOverrides } from '../hypervisor/vmcs.js';

export type { VcpuSetup, VmcsOverrides };
import { ApicOffset, isX2apicMsr, X2apicMsr, x2apicAccessFaults, x2apicMsrToOffset } from '../apic/registers.js';
import { priorityClass, vecClear, vecHighest, vecSet, vecTest } from '../apic/vectors.js';
import { archPpr, guestTpr, tprFromCr8 } from '../apic/priority.js';
import { checkIsrvecStack, isrvecStackViolation, StackCheck } from '../apic/isrvecStack.js';
import { broadcastEoi, EoiBy } from '../apic/eoi.js';
import { apicRegisterValue, emulateRegisterWrite, fixedIpiTarget, RegisterWrite } from '../apic/emulation.js';
import {
  vlapicIntrAccepted,
  vlapicPendingIntr,
  vlapicProcessEoi,
  vlapicSetIntrReady,
  vlapicSetLocalIntr,
  vlapicSetTpr,
  vlapicUpdatePpr,
} from '../apic/vlapic.js';
import { vmxApicRead, vmxApicWrite, vmxCr8Access, vmxX2apicRead, vmxX2apicWrite } from '../vmx/apicAccess.js';
import { eoiVirtualization, selfIpiVirtualization, tprVirtualization } from '../vmx/apicVirtualization.js';
import {
  requestWindowAndProgramThreshold,
  syncsPprAtEntry,
  tprThresholdExitsAfterEntry,
  vmxInjectOrRequestWindow,
} from '../vmx/entry.js';
import {
  deliverVirtualInterrupt,
  pendingVirtualInterrupt,
  postInterrupt,
  requestVirtualInterrupt,
  syncPirToIrr,
} from '../vmx/virtualInterrupts.js';
import { avicApicRead, avicApicWrite, avicEoi, avicPendingInterrupt, avicTprWrite } from '../svm/avic.js';
import {
  disarmVintr,
  programVmcbBeforeRun,
  svmCr8Access,
  svmInjectOrRequestWindow,
  vintrExits,
  vTprWrite,
} from '../svm/intercepts.js';
import { apicAccessQualification, EXIT_KINDS, EXIT_SLOT_COUNT, LOCAL_SLOT, Slot, VENDOR_SLOTS } from './exits.js';
import { F, Flag, guestInterruptible, STRIDE } from './layout.js';
import { InGuest, Next } from './outcomes.js';

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
    const vmx = this.intel ? this.caps : undefined;
    for (let v = 0; v < this.n; v++) setupVcpu(this.s, v, config.vcpus[v], this.traits, vmx, config.overrides);
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
    return guestTpr(this.s, v * STRIDE, this.intel);
  }

  /** The architectural PPR computed from TPR and the highest in-service vector (SDM-11 "Processor Priority Register"). */
  archPpr(v: number): number {
    return archPpr(this.s, v * STRIDE, this.intel);
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
    if (syncAtExit(this.s, v * STRIDE, this.traits, this.intel)) this.updatePpr(v);
  }

  // ---------------------------------------------------------------- software vlapic (hypervisor side)

  /** A failed isrvec_stk check (bhyve's panic): the vCPU stops; nothing when `code` is OK. */
  private checkStack(v: number, code: number): void {
    if (code === StackCheck.OK) return;
    const { check, message } = isrvecStackViolation(code, this.s, v * STRIDE);
    this.violate(v, check, message);
  }

  /** The vlapic's PPR update (apic/vlapic.ts), its isrvec_stk checks reported. */
  private updatePpr(v: number): void {
    this.checkStack(v, vlapicUpdatePpr(this.s, v * STRIDE, this.traits.isrvecStack, this.intel));
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

  // ---------------------------------------------------------------- VM entry

  /**
   * The hypervisor's entry path: sync state, inject or request a window, program the TPR threshold
   * (or SVM CR8 intercept), run the VM-entry checks, then let the CPU deliver what it may.
   */
  private enter(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (this.intel) this.vmxPrepareEntry(v);
    else this.svmPrepareEntry(v);
    const f = s[b + F.FLAGS];
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
    // The guest runs: what happens right after a successful VM entry.
    if (this.intel && tprThresholdExitsAfterEntry(s, b)) {
      this.tprBelowThresholdExit(v);
      return;
    }
    const pending = s[b + F.PENDING_INJECT];
    if (pending >= 0) {
      // VM-entry event injection delivers the event through the guest IDT at once (SDM-27 "Event Injection").
      s[b + F.PENDING_INJECT] = -1;
      this.counters[v * Counter.COUNT + Counter.INJECTED]++;
      this.guestTakesInterrupt(v, pending);
    }
    if ((f & (Flag.VID | Flag.AVIC)) !== 0) this.evaluatePendingVirtualInterrupts(v);
  }

  /** VT-x entry (vmx/entry.ts); the vlapic accepts an injected vector in between. */
  private vmxPrepareEntry(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.VID) !== 0) {
      // Posted interrupts not yet processed and interrupts the vlapic holds become RVI
      // (bhyve vmx_inject_pir / KVM vmx_sync_pir_to_irr); the CPU delivers them after entry.
      syncPirToIrr(s, b);
      return;
    }
    if (syncsPprAtEntry(f, this.traits)) this.updatePpr(v);
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    const vector = vmxInjectOrRequestWindow(s, b);
    if (vector >= 0) this.checkStack(v, vlapicIntrAccepted(s, b, vector, this.traits.isrvecStack, this.intel));
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    requestWindowAndProgramThreshold(s, b, this.traits);
  }

  /** SVM entry (svm/intercepts.ts): AVIC hardware delivers from the backing page by itself. */
  private svmPrepareEntry(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.AVIC) !== 0) return;
    const vector = svmInjectOrRequestWindow(s, b);
    if (vector >= 0) this.checkStack(v, vlapicIntrAccepted(s, b, vector, this.traits.isrvecStack, this.intel));
    programVmcbBeforeRun(s, b, this.traits, vector >= 0);
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

  /**
   * The CPU evaluates pending virtual interrupts and delivers a recognized one without a VM exit once
   * the guest is interruptible (vmx/virtualInterrupts.ts; AVIC: svm/avic.ts, same delivery steps).
   */
  private evaluatePendingVirtualInterrupts(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    const vector = (f & Flag.AVIC) !== 0 ? avicPendingInterrupt(s, b) : pendingVirtualInterrupt(s, b);
    if (vector < 0) return;
    if (!guestInterruptible(s, b)) return; // recognized, delivered once RFLAGS.IF = 1
    deliverVirtualInterrupt(s, b, vector);
    this.counters[v * Counter.COUNT + Counter.VIRTUAL_DELIVERED]++;
    this.guestTakesInterrupt(v, vector);
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

  /** Do what a rule asked for (vcpu/outcomes.ts). */
  private next(v: number, what: number): void {
    if (what === Next.EVALUATE_PENDING) this.evaluatePendingVirtualInterrupts(v);
    else if (what === Next.TPR_BELOW_THRESHOLD_EXIT) this.tprBelowThresholdExit(v);
  }

  /**
   * The one EOI path (apic/eoi.ts): an EOI the guest wrote, performed by the hypervisor's vlapic
   * after an exit, by VT-x EOI virtualization or by AVIC. When the CPU's EOI leaves a level-triggered
   * vector to the hypervisor (EOI-exit bitmap; AVIC_NOACCEL), it exits, the hypervisor forwards the
   * EOI to its I/O APIC, and re-enters; otherwise the CPU evaluates pending virtual interrupts.
   */
  private endOfInterrupt(v: number, by: number): void {
    const s = this.s;
    const b = v * STRIDE;
    this.counters[v * Counter.COUNT + Counter.EOIS]++;
    if (by === EoiBy.HYPERVISOR) {
      this.checkStack(v, vlapicProcessEoi(s, b, this.traits.isrvecStack, this.intel));
      return;
    }
    const trapped = by === EoiBy.VID ? eoiVirtualization(s, b) : avicEoi(s, b);
    if (trapped < 0) {
      this.evaluatePendingVirtualInterrupts(v);
      return;
    }
    if (by === EoiBy.VID) this.exit(v, Slot.VIRTUALIZED_EOI, trapped);
    else this.exit(v, Slot.VMEXIT_AVIC_NOACCEL, ApicOffset.Eoi);
    broadcastEoi(s, b, trapped); // the hypervisor forwards the level EOI to its I/O APIC
    this.enter(v);
  }

  // ---------------------------------------------------------------- SVM

  /** APM-15 "Virtual Interrupt Intercept": VINTR exits once the guest can take the virtual interrupt. */
  private svmCheckVintr(v: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if (!vintrExits(s, b)) return;
    this.exit(v, Slot.VMEXIT_VINTR, 0);
    disarmVintr(s, b);
    this.enter(v);
  }

  // ---------------------------------------------------------------- guest operations

  /**
   * MOV to CR8 (SDM-26 "Instructions That Cause VM Exits Conditionally", SDM-29 "Virtualizing
   * CR8-Based TPR Accesses"; APM-15 "Virtualizing APIC.TPR").
   */
  writeCr8(v: number, value: number): void {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    this.counters[v * Counter.COUNT + Counter.CR8_WRITES]++;
    const cr8 = value & 0xf;
    const how = this.intel ? vmxCr8Access(s, b, true) : svmCr8Access(s, b, true);
    if (how >= 0) {
      // Intercepted: the hypervisor emulates the TPR write.
      this.exit(v, how, apicAccessQualification(how, 0, true));
      this.checkStack(v, vlapicSetTpr(s, b, tprFromCr8(cr8), this.traits.isrvecStack, this.intel));
      this.enter(v);
      return;
    }
    if (!this.intel) {
      this.next(v, vTprWrite(s, b, cr8));
      this.svmCheckVintr(v);
      return;
    }
    // VTPR[7:4] = CR8[3:0], the rest cleared; with neither exiting nor a shadow the guest writes the
    // real TPR (not a valid VMM setup).
    s[b + F.TPR] = tprFromCr8(cr8);
    if (how === InGuest.TPR_WRITE) this.next(v, tprVirtualization(s, b));
  }

  /** MOV from CR8. Returns CR8 (TPR[7:4]). */
  readCr8(v: number): number {
    const s = this.s;
    const b = v * STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return 0;
    this.counters[v * Counter.COUNT + Counter.CR8_READS]++;
    const how = this.intel ? vmxCr8Access(s, b, false) : svmCr8Access(s, b, false);
    if (how < 0) return this.intel ? priorityClass(s[b + F.TPR]) : s[b + F.V_TPR] & 0xf; // VTPR with the shadow; V_TPR
    this.exit(v, how, apicAccessQualification(how, 0, false));
    const value = priorityClass(s[b + F.TPR]);
    this.enter(v);
    return value;
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
      syncPirToIrr(s, b);
      if ((s[b + F.FLAGS] & Flag.AVIC) !== 0) return avicPendingInterrupt(s, b) >= 0;
      return pendingVirtualInterrupt(s, b) >= 0;
    }
    if (this.intel && (s[b + F.FLAGS] & Flag.SOFT_TPR_SHADOW) !== 0) this.updatePpr(v);
    return vlapicPendingIntr(s, b) >= 0;
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
    if ((f & Flag.POSTED) !== 0) {
      if (!postInterrupt(s, b, vector, level)) {
        this.counters[c + Counter.COALESCED]++;
        return false;
      }
      this.counters[c + Counter.POSTED]++;
      if ((f & Flag.HALTED) !== 0) this.wake(v);
      else {
        syncPirToIrr(s, b);
        this.evaluatePendingVirtualInterrupts(v);
      }
      return true;
    }
    if (!vlapicSetIntrReady(s, b, vector, level)) {
      this.counters[c + Counter.COALESCED]++;
      return false;
    }
    if ((f & Flag.VID) !== 0) requestVirtualInterrupt(s, b, vector, level);
    if ((f & Flag.HALTED) !== 0) this.wake(v);
    else if ((f & Flag.AVIC) !== 0)
      this.evaluatePendingVirtualInterrupts(v); // AVIC: IRR in the backing page plus a doorbell to the running vCPU; no #VMEXIT
    else {
      // vcpu_notify_event -> IPI to the host CPU running the vCPU -> exit.
      this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
      this.enter(v);
    }
    return true;
  }

  /**
   * A halted vCPU wakes only for an interrupt the guest can take: a HLT with RFLAGS.IF = 0 keeps
   * sleeping (bhyve vm_handle_hlt(intr_disabled), KVM kvm_arch_vcpu_runnable).
   */
  private wake(v: number): void {
    if (!this.hasWakeupPending(v)) return;
    this.s[v * STRIDE + F.FLAGS] &= ~Flag.HALTED;
    this.enter(v);
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
   * xAPIC MMIO write (SDM-29 "Virtualizing Memory-Mapped APIC Accesses", vmx/apicAccess.ts; AVIC,
   * svm/avic.ts). Without APIC-access virtualization or AVIC the APIC page is unmapped: an EPT
   * violation (SVM: a nested page fault) the hypervisor emulates.
   */
  writeApic(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    // In x2APIC mode the xAPIC MMIO window is not decoded (SDM-11 "x2APIC Mode"): the write goes nowhere.
    if ((f & Flag.X2APIC) !== 0) return;
    if (offset === ApicOffset.Tpr) this.counters[v * Counter.COUNT + Counter.TPR_MMIO_WRITES]++;
    const how = this.intel
      ? vmxApicWrite(s, b, offset)
      : (f & Flag.AVIC) !== 0
        ? avicApicWrite(offset)
        : Slot.VMEXIT_NPF;
    switch (how) {
      case InGuest.TPR_WRITE:
        s[b + F.TPR] = value & 0xff; // virtualized write to VTPR, then TPR virtualization
        this.next(v, tprVirtualization(s, b));
        return;
      case InGuest.EOI:
        this.endOfInterrupt(v, EoiBy.VID);
        return;
      case InGuest.AVIC_TPR_WRITE:
        this.next(v, avicTprWrite(s, b, value));
        return;
      case InGuest.AVIC_EOI:
        this.endOfInterrupt(v, EoiBy.AVIC);
        return;
      case InGuest.AVIC_ICR_HIGH:
        s[b + F.ICR_HIGH] = value;
        return;
      case InGuest.AVIC_ICR_LOW:
        s[b + F.ICR_LOW] = value;
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, true);
        return;
    }
    // APIC-write exits are trap-like (the data is on the page), APIC-access exits fault-like.
    this.exit(v, how, apicAccessQualification(how, offset, true));
    this.emulateApicWrite(v, offset, value);
    this.enter(v);
  }

  /** xAPIC MMIO read. Returns the 32-bit value the guest sees. */
  readApic(v: number, offset: number): number {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0 || (f & Flag.X2APIC) !== 0) return 0;
    const how = this.intel ? vmxApicRead(s, b, offset) : (f & Flag.AVIC) !== 0 ? avicApicRead(offset) : Slot.VMEXIT_NPF;
    if (how < 0) return apicRegisterValue(s, b, offset, this.intel);
    this.exit(v, how, apicAccessQualification(how, offset, false));
    const value = apicRegisterValue(s, b, offset, this.intel);
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
    const apicMsr = isX2apicMsr(msr);
    const msrExit = this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR;
    if (apicMsr && x2apicAccessFaults((f & Flag.X2APIC) !== 0, msr, true)) {
      this.exit(v, msrExit, 0);
      this.stepFault = Fault.GP;
      this.enter(v);
      return;
    }
    if (msr === X2apicMsr.Tpr) this.counters[v * Counter.COUNT + Counter.TPR_MSR_WRITES]++;
    const how = this.intel && apicMsr ? vmxX2apicWrite(s, b, msr, valueLow, valueHigh) : msrExit;
    switch (how) {
      case InGuest.GP:
        this.stepFault = Fault.GP;
        return;
      case InGuest.TPR_WRITE:
        s[b + F.TPR] = valueLow & 0xff;
        this.next(v, tprVirtualization(s, b));
        return;
      case InGuest.EOI:
        this.endOfInterrupt(v, EoiBy.VID);
        return;
      case InGuest.SELF_IPI:
        this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
        this.next(v, selfIpiVirtualization(s, b, valueLow & 0xff));
        return;
    }
    this.exit(v, how, 0); // qualification 0: ECX holds the MSR
    if (apicMsr) this.emulateX2apicWrite(v, msr, valueLow, valueHigh);
    this.enter(v);
  }

  /** RDMSR; returns the low 32 bits. */
  rdmsr(v: number, msr: number): number {
    const s = this.s;
    const b = v * STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return 0;
    const apicMsr = isX2apicMsr(msr);
    const msrExit = this.intel ? Slot.MSR_READ : Slot.VMEXIT_MSR;
    if (apicMsr && x2apicAccessFaults((f & Flag.X2APIC) !== 0, msr, false)) {
      this.exit(v, msrExit, 0); // intercepted, then #GP injected
      this.stepFault = Fault.GP;
      this.enter(v);
      return 0;
    }
    const how =
      this.intel && apicMsr ? vmxX2apicRead(s, b, msr, x2apicReadPassedThrough(this.traits.hypervisor, msr)) : msrExit;
    if (how < 0) return apicRegisterValue(s, b, x2apicMsrToOffset(msr), this.intel);
    this.exit(v, how, 0);
    const value = apicMsr ? apicRegisterValue(s, b, x2apicMsrToOffset(msr), this.intel) : 0;
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

  /** The hypervisor emulates a register write after an exit (apic/emulation.ts). */
  private emulateApicWrite(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * STRIDE;
    switch (emulateRegisterWrite(s, b, offset, value)) {
      case RegisterWrite.TPR:
        this.checkStack(v, vlapicSetTpr(s, b, value & 0xff, this.traits.isrvecStack, this.intel));
        return;
      case RegisterWrite.EOI:
        this.endOfInterrupt(v, EoiBy.HYPERVISOR);
        return;
      case RegisterWrite.SEND_IPI:
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, false);
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
      this.counters[v * Counter.COUNT + Counter.RAISED]++;
      vlapicSetLocalIntr(this.s, v * STRIDE, low & 0xff);
      return;
    }
    this.emulateApicWrite(v, x2apicMsrToOffset(msr), low);
  }

  /** Fixed-mode, physical-destination IPI (delivery mode 000, no shorthand; apic/emulation.ts fixedIpiTarget). */
  private sendIpiFromIcr(v: number, icrLow: number, dest: number, avicDoorbell: boolean): void {
    this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
    const vector = icrLow & 0xff;
    const target = fixedIpiTarget(this.s, this.n, v, dest);
    if (target < 0) return;
    // AVIC: a doorbell to a target that is not running is an incomplete IPI (APM-15 "AVIC_INCOMPLETE_IPI").
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
      this.exit(v, Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 0);
      this.raiseInterrupt(target, vector, false);
      this.enter(v);
      return;
    }
    this.raiseInterrupt(target, vector, false);
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
      const check = checkIsrvecStack(s, b);
      if (check !== StackCheck.OK) {
        this.checkStack(v, check);
        return this.violations.length - before;
      }
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
