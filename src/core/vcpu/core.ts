import { mmioExitSlot } from '../hypervisor/policy.js';
import { syncAtExit } from '../hypervisor/exitPath.js';
import { broadcastEoi, EoiBy, requestEoiExit } from '../apic/eoi.js';
import { ApicOffset } from '../apic/registers.js';
import {
  vlapicAutoEoiAccepted,
  vlapicIntrAccepted,
  vlapicPendingIntr,
  vlapicProcessEoi,
  vlapicSetIntrReady,
  vlapicSetTpr,
  vlapicUpdatePpr,
} from '../apic/vlapic.js';
import { eoiVirtualization, pprVirtualization } from '../vmx/apicVirtualization.js';
import { Cr8Qualification } from '../vmx/apicAccess.js';
import { tprFromCr8 } from '../apic/priority.js';
import { priorityClass } from '../apic/vectors.js';
import {
  clearInterruptWindow,
  interruptWindowExitsAfterEntry,
  programTprThreshold,
  requestWindowAfterInjection,
  syncsPprAtEntry,
  tprThresholdExitsAfterEntry,
  VmEntryChecks,
  vmxInjectOrRequestWindow,
} from '../vmx/entry.js';
import {
  deliverVirtualInterrupt,
  pendingVirtualInterrupt,
  postInterrupt,
  requestVirtualInterrupt,
  syncPirToIrr,
} from '../vmx/virtualInterrupts.js';
import { avicEoi, avicPendingInterrupt } from '../svm/avic.js';
import {
  cr8Intercepted,
  disarmVintr,
  programVmcbBeforeRun,
  svmInjectOrRequestWindow,
  vintrExits,
  vTprWrite,
} from '../svm/intercepts.js';
import { Slot } from './exits.js';
import { deliveryInvariant } from './invariants.js';
import { Counter } from './counters.js';
import { ringQual, ringSlot } from './fastForward.js';
import type { MachineConfig } from './machineSetup.js';
import { MachineState, STEP_LOG } from './machineState.js';
import { F, Flag, guestInterruptible } from './layout.js';
import { Next } from './outcomes.js';
import { apicWhy, DeliveryVia, EOI_DATA_LEVEL, ExitWhy, RecKind, WHY_OPERAND_SHIFT } from './recorder.js';
import { entryFailureOf } from './reports.js';

/**
 * The machinery every guest operation of a Machine (machine.ts) runs through, on the state and
 * records of machineState.ts: the hypervisor's exit and entry paths, the CPU's evaluation of pending
 * virtual interrupts, the one EOI path, interrupt arrival and wake-up (IPIs: emulation.ts).
 * The rules themselves live in apic/, vmx/, svm/ and hypervisor/ as functions of the state that
 * return what happens next (vcpu/outcomes.ts); this class performs it.
 */
export class MachineCore extends MachineState {
  /** VT-x: the VM-entry checks, re-evaluated when the controls change (vmx/entry.ts). */
  private readonly entryChecks: VmEntryChecks | undefined;
  // What the policy's exit and entry paths do, chosen once (hypervisor/exitPath.ts, vmx/entry.ts).
  /** The common exit path can change the state: SVM, or a per-exit PPR sync. */
  private readonly syncsAtExit: boolean;
  /** The software path recomputes the vlapic PPR before injecting. */
  private readonly syncsPprAtEntry: boolean;
  /** The software path programs a TPR threshold. */
  private readonly programsThreshold: boolean;
  /** The exit of a guest access to unbacked guest-physical memory (device MMIO), by policy (D9). */
  protected readonly mmioSlot: number;
  /** The exit a guest timer expiry takes on a running vCPU, by policy (PolicyTraits.guestTimer). */
  protected readonly timerSlot: number;
  /**
   * Host ns of an MSR-write exit to an x2APIC register other than the timer's (EOI, ICR, LVT, ...): KVM
   * arms no host timer for those, so they take the short field part, not the MSR_WRITE slot's
   * (docs/MODEL.md §5); -1: the slot's cost. Machine.repeat's only MSR write is IA32_TSC_DEADLINE.
   */
  apicMsrWriteCostNs = -1;
  /**
   * The exits charged by that rule (apicMsrExit) since the step's exit number `apicCostFrom`: bit k
   * for exit apicCostFrom + k (the table's capture reads it to replay the cost: interned.ts).
   */
  protected apicCostMask = 0;
  protected apicCostFrom = 0;

  constructor(config: MachineConfig) {
    super(config);
    this.syncsAtExit = !this.intel || this.traits.pprSync === 'every-exit';
    this.syncsPprAtEntry = syncsPprAtEntry(this.traits);
    this.programsThreshold = this.traits.tprThreshold !== 'none';
    this.mmioSlot = mmioExitSlot(this.traits);
    this.timerSlot = !this.intel
      ? Slot.VMEXIT_INTR
      : this.traits.guestTimer === 'preemption-timer'
        ? Slot.VMX_PREEMPTION_TIMER
        : Slot.EXTERNAL_INTERRUPT;
    const vmx = this.intel ? this.caps : undefined;
    this.entryChecks = vmx && VmEntryChecks.of(vmx);
  }

  // ---------------------------------------------------------------- exit and entry

  /**
   * A VM exit happened: the hypervisor does its common exit work (hypervisor/exitPath.ts), then the
   * caller emulates, then `enter` runs the entry path.
   */
  protected exit(v: number, slot: number, qualification: number, costNs: number = this.exitCostNs[slot]): void {
    this.countExits(v, slot, qualification, 1, RecKind.EXIT, costNs);
    const i = this.stepExitCount;
    this.ff[ringSlot(i)] = slot;
    this.ff[ringQual(i)] = qualification;
    if (this.logExits && i < STEP_LOG) {
      this.stepExits[i] = slot;
      this.stepExitQual[i] = qualification;
      this.stepExitWhy[i] = 0;
    }
    this.stepExitCount = i + 1;
    if (this.whyNext !== 0) {
      this.exitWhy(v, this.whyNext);
      this.whyNext = 0;
    }
    if (this.syncsAtExit && syncAtExit(this.s, v * F.STRIDE, this.traits, this.intel)) this.updatePpr(v);
  }

  /**
   * An x2APIC (or hv-vapic) MSR-write exit that arms no host timer: apicMsrWriteCostNs when the
   * machine has one, else the slot's cost; marked in apicCostMask.
   */
  protected apicMsrExit(v: number, slot: number): void {
    const k = this.stepExitCount - this.apicCostFrom;
    if (k >= 0 && k < 31) this.apicCostMask |= 1 << k;
    this.exit(v, slot, 0, this.apicMsrWriteCostNs >= 0 ? this.apicMsrWriteCostNs : this.exitCostNs[slot]);
  }

  /**
   * The hypervisor's entry path: sync state, inject or request a window, program the TPR threshold
   * (or SVM CR8 intercept), run the VM-entry checks, then let the CPU deliver what it may.
   */
  protected enter(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (this.intel) this.vmxPrepareEntry(v);
    else this.svmPrepareEntry(v);
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    if (this.intel) {
      const failed = this.entryChecks!.failed(s, b);
      if (failed !== 0) {
        s[b + F.FLAGS] |= Flag.STOPPED | Flag.ENTRY_FAILED;
        this.counters[v * Counter.COUNT + Counter.ENTRY_FAILURES]++;
        this.reportEntryFailure(entryFailureOf(v, s[b + F.GUEST_INDEX], this.step, failed));
        return;
      }
    }
    if ((f & Flag.HALTED) !== 0) return; // still asleep in the host
    // The guest runs: what happens right after a successful VM entry, in the manual's order.
    const pending = s[b + F.PENDING_INJECT];
    if (pending >= 0) {
      // VM-entry event injection delivers the event through the guest IDT at once (SDM-27 "Event Injection").
      s[b + F.PENDING_INJECT] = -1;
      this.counters[v * Counter.COUNT + Counter.INJECTED]++;
      this.guestTakesInterrupt(v, pending, this.intel ? DeliveryVia.EVENT_INJECTION : DeliveryVia.EVENTINJ);
    }
    if (this.intel) {
      // TPR-threshold and interrupt-window exits follow event injection (SDM 26.7.7, 26.7.5; D5, D4).
      if (tprThresholdExitsAfterEntry(s, b)) {
        this.tprBelowThresholdExit(v);
        return;
      }
      if (interruptWindowExitsAfterEntry(s, b)) {
        this.interruptWindowExit(v);
        return;
      }
      if ((f & Flag.VID) !== 0) {
        // VM entry with VID: PPR virtualization, then the evaluation of pending virtual interrupts
        // (SDM 26.3.2.5 "Updating Non-Register State"; D6).
        pprVirtualization(s, b);
        this.evaluatePendingVirtualInterrupts(v);
      }
    } else if ((f & Flag.AVIC) !== 0) this.evaluatePendingVirtualInterrupts(v);
  }

  /** An interrupt-window exit (reason 7): the handler clears the control, the next entry decides anew. */
  protected interruptWindowExit(v: number): void {
    this.exit(v, Slot.INTERRUPT_WINDOW, 0);
    clearInterruptWindow(this.s, v * F.STRIDE);
    this.enter(v);
  }

  /** VT-x entry (vmx/entry.ts); the vlapic accepts an injected vector in between. */
  private vmxPrepareEntry(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.VID) !== 0) {
      // Posted interrupts not yet processed and interrupts the vlapic holds become RVI
      // (bhyve vmx_inject_pir / KVM vmx_sync_pir_to_irr); the CPU delivers them after entry.
      this.hypervisorSyncsPir(v);
      return;
    }
    const soft = (f & Flag.SOFT_TPR_SHADOW) !== 0;
    if (soft && this.syncsPprAtEntry) this.updatePpr(v);
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    const vector = vmxInjectOrRequestWindow(s, b);
    if (vector >= 0) this.acceptInjected(v, vector);
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (s[b + F.PENDING_INJECT] >= 0) requestWindowAfterInjection(s, b);
    if (soft && this.programsThreshold) programTprThreshold(s, b, this.traits);
  }

  /** The vlapic accepts the vector it injects: into ISR (bhyve vlapic_intr_accepted), or, for a SynIC AutoEOI SINT, not. */
  private acceptInjected(v: number, vector: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    const stack = this.traits.isrvecStack;
    if (s[b + F.HV] >>> 8 === vector) this.checkStack(v, vlapicAutoEoiAccepted(s, b, vector, stack, this.intel));
    else this.checkStack(v, vlapicIntrAccepted(s, b, vector, stack, this.intel));
  }

  /** SVM entry (svm/intercepts.ts): AVIC hardware delivers from the backing page by itself. */
  private svmPrepareEntry(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.AVIC) !== 0) return;
    const vector = svmInjectOrRequestWindow(s, b, this.traits.svmIntrWindow === 'until-exit');
    if (vector >= 0) this.acceptInjected(v, vector);
    programVmcbBeforeRun(s, b, this.traits, vector >= 0);
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
    if ((this.s[v * F.STRIDE + F.FLAGS] & Flag.STOPPED) !== 0) return;
    if (this.traits.tprThreshold === 'none') {
      this.violate(v, {
        check: 'unhandled_vm_exit',
        message: 'vm exit: reason VMX, exit_reason 43 (TPR below threshold) not handled',
      });
      return;
    }
    this.enter(v);
  }

  /** APM-15 "Virtual Interrupt Intercept": VINTR exits once the guest can take the virtual interrupt. */
  protected svmCheckVintr(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if (!vintrExits(s, b)) return;
    this.exit(v, Slot.VMEXIT_VINTR, 0);
    disarmVintr(s, b);
    this.enter(v);
  }

  /** A MOV to CR8 under SVM: intercepted, or V_TPR (svm/intercepts.ts), then the VINTR check. */
  protected svmWriteCr8(v: number, cr8: number): void {
    if (cr8Intercepted(this.s, v * F.STRIDE, true)) {
      this.interceptedTprWrite(v, Slot.VMEXIT_CR8_WRITE, 0, cr8);
      return;
    }
    this.next(v, vTprWrite(this.s, v * F.STRIDE, cr8));
    this.svmCheckVintr(v);
  }

  /** An intercepted MOV to CR8: the exit, the hypervisor's emulated TPR write, the entry. */
  protected interceptedTprWrite(v: number, slot: number, qualification: number, cr8: number): void {
    this.exit(v, slot, qualification);
    this.setTpr(v, tprFromCr8(cr8));
    this.enter(v);
  }

  /** An intercepted MOV from CR8: the exit, the hypervisor reads its vlapic TPR, the entry. */
  protected interceptedTprRead(v: number): number {
    if (this.intel) this.exit(v, Slot.CR_ACCESS, Cr8Qualification.MOV_FROM);
    else this.exit(v, Slot.VMEXIT_CR8_READ, 0);
    const value = priorityClass(this.s[v * F.STRIDE + F.TPR]);
    this.enter(v);
    return value;
  }

  /** Do what a rule asked for (vcpu/outcomes.ts). */
  protected next(v: number, what: Next): void {
    if (what === Next.EVALUATE_PENDING) this.evaluatePendingVirtualInterrupts(v);
    else if (what === Next.TPR_BELOW_THRESHOLD_EXIT) this.tprBelowThresholdExit(v);
  }

  // ---------------------------------------------------------------- the vlapic's TPR and PPR

  /** A TPR write the hypervisor emulates (vlapic_set_tpr, apic/vlapic.ts), its isrvec_stk checks reported. */
  protected setTpr(v: number, tpr: number): void {
    this.checkStack(v, vlapicSetTpr(this.s, v * F.STRIDE, tpr, this.traits.isrvecStack, this.intel));
  }

  /** The vlapic's PPR update (apic/vlapic.ts), its isrvec_stk checks reported. */
  protected updatePpr(v: number): void {
    this.checkStack(v, vlapicUpdatePpr(this.s, v * F.STRIDE, this.traits.isrvecStack, this.intel));
  }

  // ---------------------------------------------------------------- interrupts

  /** The guest vectors through its IDT: RFLAGS.IF is cleared by the interrupt gate. */
  private guestTakesInterrupt(v: number, vector: number, via: DeliveryVia): void {
    const b = v * F.STRIDE;
    const broken = deliveryInvariant(this.s, b, vector, this.intel);
    if (broken) this.violate(v, broken);
    this.s[b + F.FLAGS] &= ~(Flag.IF | Flag.HALTED);
    this.recordDelivery(v, vector, via);
  }

  /**
   * The CPU evaluates pending virtual interrupts and delivers a recognized one without a VM exit once
   * the guest is interruptible (vmx/virtualInterrupts.ts; AVIC: svm/avic.ts, same delivery steps).
   * `posted`: called by the posted-interrupt processing of a running vCPU (raiseInterrupt).
   */
  protected evaluatePendingVirtualInterrupts(v: number, posted = false): void {
    const s = this.s;
    const b = v * F.STRIDE;
    const f = s[b + F.FLAGS];
    if ((f & Flag.STOPPED) !== 0) return;
    const vector = (f & Flag.AVIC) !== 0 ? avicPendingInterrupt(s, b) : pendingVirtualInterrupt(s, b);
    if (vector < 0) return;
    if (!guestInterruptible(s, b)) return; // recognized, delivered once RFLAGS.IF = 1
    deliverVirtualInterrupt(s, b, vector);
    this.counters[v * Counter.COUNT + Counter.VIRTUAL_DELIVERED]++;
    this.guestTakesInterrupt(
      v,
      vector,
      (f & Flag.AVIC) !== 0
        ? DeliveryVia.AVIC
        : this.keepsWhy && this.tookMovedPir(v, vector)
          ? DeliveryVia.PIR_MOVED_BY_HYPERVISOR
          : posted
            ? DeliveryVia.POSTED_INTERRUPT
            : DeliveryVia.VIRTUAL_INTERRUPT_DELIVERY,
    );
  }

  /**
   * The hypervisor moves the PIR to the VIRR while the vCPU is out of guest mode: before VM entry
   * (KVM vcpu_enter_guest -> vmx_sync_pir_to_irr; bhyve vmx_run -> vmx_inject_pir) and when it asks
   * whether a halted vCPU has an interrupt to wake for (KVM kvm_vcpu_has_events -> the same sync).
   * A posted interrupt whose notification the CPU processed in guest mode never gets here
   * (raiseInterrupt). While causes are kept, the vectors moved are noted (pirMoved).
   */
  private hypervisorSyncsPir(v: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    if (this.keepsWhy) for (let w = 0; w < 8; w++) this.pirMoved[(v << 3) + w] |= s[b + F.PIR + w];
    syncPirToIrr(s, b);
  }

  /** `vector` of vCPU `v` was moved from the PIR by the hypervisor (hypervisorSyncsPir); forgets it. */
  private tookMovedPir(v: number, vector: number): boolean {
    const w = (v << 3) + (vector >>> 5);
    const bit = 1 << (vector & 31);
    if ((this.pirMoved[w] & bit) === 0) return false;
    this.pirMoved[w] &= ~bit;
    return true;
  }

  /**
   * The one EOI path (apic/eoi.ts): an EOI the guest wrote, performed by the hypervisor's vlapic
   * after an exit, by VT-x EOI virtualization or by AVIC. When the CPU's EOI leaves the vector to the
   * hypervisor (its EOI-exit-bitmap bit under VT-x; a level one under AVIC: AVIC_NOACCEL), it exits,
   * the hypervisor forwards the EOI to its I/O APIC, and re-enters; else the CPU evaluates pending ones.
   */
  protected endOfInterrupt(v: number, by: EoiBy): void {
    const s = this.s;
    const b = v * F.STRIDE;
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
    else {
      this.exit(v, Slot.VMEXIT_AVIC_NOACCEL, ApicOffset.Eoi);
      if (this.keepsWhy)
        this.exitWhy(v, apicWhy(ExitWhy.APIC_REGISTER, true, ApicOffset.Eoi, EOI_DATA_LEVEL | trapped));
    }
    broadcastEoi(s, b, trapped); // the hypervisor forwards the level EOI to its I/O APIC
    this.enter(v);
  }

  /**
   * An interrupt arrives at this vCPU's LAPIC (device, timer or IPI), through the hypervisor's
   * vlapic_set_intr_ready; `eoiExit`: the hypervisor's policy asks to see its EOI (apic/eoi.ts).
   * Running vCPUs are kicked with a host IPI - an external-interrupt exit (VT-x) or INTR intercept
   * (SVM) - unless posted interrupts / AVIC take it with no exit; halted ones are woken. False if coalesced.
   */
  raiseInterrupt(v: number, vector: number, level: boolean, eoiExit: boolean = level): boolean {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.STOPPED) !== 0) return false;
    const c = v * Counter.COUNT;
    this.counters[c + Counter.RAISED]++;
    if (vector < 16) {
      s[b + F.ESR] |= 1 << 6; // "Received Illegal Vector" (SDM-11 "Error Handling")
      return false;
    }
    if (eoiExit) requestEoiExit(s, b, vector); // the hypervisor's bitmap, whether or not this one coalesces
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
        this.evaluatePendingVirtualInterrupts(v, true);
      }
      return true;
    }
    if (!vlapicSetIntrReady(s, b, vector, level)) {
      this.counters[c + Counter.COALESCED]++;
      return false;
    }
    if ((f & Flag.VID) !== 0) requestVirtualInterrupt(s, b, vector);
    if ((f & Flag.HALTED) !== 0) this.wake(v);
    else if ((f & Flag.AVIC) !== 0)
      this.evaluatePendingVirtualInterrupts(v); // AVIC: IRR in the backing page plus a doorbell to the running vCPU; no #VMEXIT
    else {
      // vcpu_notify_event -> IPI to the host CPU running the vCPU -> exit.
      this.exit(v, this.intel ? Slot.EXTERNAL_INTERRUPT : Slot.VMEXIT_INTR, 0);
      this.exitWhy(v, ExitWhy.KICK | (vector << WHY_OPERAND_SHIFT));
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
    this.s[v * F.STRIDE + F.FLAGS] &= ~Flag.HALTED;
    this.enter(v);
  }

  /** bhyve vm_handle_hlt / KVM kvm_vcpu_block: an interrupt the guest can take is pending. */
  protected hasWakeupPending(v: number): boolean {
    const s = this.s;
    const b = v * F.STRIDE;
    if ((s[b + F.FLAGS] & Flag.IF) === 0) return false;
    if ((s[b + F.FLAGS] & (Flag.VID | Flag.AVIC)) !== 0) {
      this.hypervisorSyncsPir(v);
      if ((s[b + F.FLAGS] & Flag.AVIC) !== 0) return avicPendingInterrupt(s, b) >= 0;
      return pendingVirtualInterrupt(s, b) >= 0;
    }
    if (this.intel && (s[b + F.FLAGS] & Flag.SOFT_TPR_SHADOW) !== 0) this.updatePpr(v);
    return vlapicPendingIntr(s, b) >= 0;
  }
}
