import { apicRegisterValue, emulateRegisterWrite, fixedIpiTarget, RegisterWrite } from '../apic/emulation.js';
import { EoiBy, requestEoiExit } from '../apic/eoi.js';
import { X2apicMsr, x2apicMsrToOffset } from '../apic/registers.js';
import { vlapicSetIntrReady, vlapicSetLocalIntr } from '../apic/vlapic.js';
import { vecHighest } from '../apic/vectors.js';
import { guestTpr } from '../apic/priority.js';
import { HvAccess, hvMsrAccess } from '../hypervisor/hyperv.js';
import { polling } from '../hypervisor/haltPoll.js';
import { postInterrupt, requestVirtualInterrupt } from '../vmx/virtualInterrupts.js';
import { Counter, Fault } from './counters.js';
import { MachineCore } from './core.js';
import { STEP_LOG } from './machineState.js';
import { ExitWhy, WHY_OPERAND_SHIFT } from './recorder.js';
import { Slot } from './exits.js';
import { ringSlot } from './fastForward.js';
import { F, Flag } from './layout.js';

/**
 * What the hypervisor does after an exit that emulates a LAPIC access (bhyve vlapic_write /
 * vlapic_icrlo_write_handler, KVM kvm_lapic_reg_write): register writes, x2APIC MSR writes,
 * register reads, and the IPIs an ICR write sends. Between the machinery of core.ts and the guest's
 * instructions (instructions.ts), which call these after their exit.
 */
export class HypervisorEmulation extends MachineCore {
  /**
   * Host ns the sender's exit spends waking a vCPU blocked in HLT (cost-model.yaml wakeupWakerNs; 0:
   * none, bhyve). KVM wakes the target's thread inside the exit that sent the interrupt:
   * vmx_deliver_posted_interrupt (target not IN_GUEST_MODE), kvm_vcpu_kick, svm
   * avic_kick_target_vcpus -> kvm_vcpu_wake_up -> rcuwait_wake_up -> try_to_wake_up
   * (docs/research/validation-notes.md 8.1, 8.5).
   */
  wakeupWakerNs = 0;

  /** The hypervisor emulates a register write after an exit (apic/emulation.ts). */
  protected emulateApicWrite(v: number, offset: number, value: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    switch (emulateRegisterWrite(s, b, offset, value)) {
      case RegisterWrite.TPR:
        this.setTpr(v, value & 0xff);
        return;
      case RegisterWrite.EOI:
        this.endOfInterrupt(v, EoiBy.HYPERVISOR);
        return;
      case RegisterWrite.SEND_IPI:
        this.sendIpiFromIcr(v, value, s[b + F.ICR_HIGH] >>> 24, false);
        return;
      case RegisterWrite.DONE:
        return;
    }
  }

  /** The hypervisor emulates an x2APIC WRMSR after an exit: ICR (one 64-bit write), SELF IPI, or a register. */
  protected emulateX2apicWrite(v: number, msr: number, low: number, high: number): void {
    if (msr === X2apicMsr.Icr) {
      this.s[v * F.STRIDE + F.ICR_LOW] = low;
      this.sendIpiFromIcr(v, low, high, false);
      return;
    }
    if (msr === X2apicMsr.SelfIpi) {
      this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
      this.counters[v * Counter.COUNT + Counter.RAISED]++;
      vlapicSetLocalIntr(this.s, v * F.STRIDE, low & 0xff);
      return;
    }
    this.emulateApicWrite(v, x2apicMsrToOffset(msr), low);
  }

  /**
   * An interrupt the hypervisor makes ready while the vCPU is out of the guest (in an exit's
   * handler): requested in the vlapic - posted (PIR) with posted interrupts, also in RVI with VID -
   * with no kick, since the vCPU is not running; the entry that follows delivers or injects it
   * (KVM kvm_apic_local_deliver from the timer handler; bhyve vlapic_fire_timer ->
   * vlapic_set_intr_ready, vcpu_notify_event on the vCPU's own host CPU). False if coalesced.
   */
  protected setInterruptReady(v: number, vector: number, level: boolean): boolean {
    const s = this.s;
    const b = v * F.STRIDE;
    const c = v * Counter.COUNT;
    this.counters[c + Counter.RAISED]++;
    if (level) requestEoiExit(s, b, vector);
    const f = s[b + F.FLAGS];
    const ok = (f & Flag.POSTED) !== 0 ? postInterrupt(s, b, vector, level) : vlapicSetIntrReady(s, b, vector, level);
    if (!ok) {
      this.counters[c + Counter.COALESCED]++;
      return false;
    }
    if ((f & Flag.POSTED) !== 0) this.counters[c + Counter.POSTED]++;
    else if ((f & Flag.VID) !== 0) requestVirtualInterrupt(s, b, vector);
    return true;
  }

  /** A register read the hypervisor emulates or the CPU serves from the page (apic/emulation.ts). */
  protected registerValue(v: number, offset: number): number {
    return apicRegisterValue(this.s, v * F.STRIDE, offset, this.intel);
  }

  /**
   * The IPI an ICR write sends: the self shorthand (01B) to the sender, otherwise a fixed-mode,
   * physical-destination IPI (delivery mode 000; apic/emulation.ts fixedIpiTarget).
   */
  protected sendIpiFromIcr(v: number, icrLow: number, dest: number, avicDoorbell: boolean): void {
    this.counters[v * Counter.COUNT + Counter.IPIS_SENT]++;
    const vector = icrLow & 0xff;
    // Destination shorthand 01B (self): the sender's own LAPIC (SDM 11.6.1 "Interrupt Command
    // Register"); the hypervisor sets it ready with no kick - the vCPU is in the hypervisor.
    if (((icrLow >>> 18) & 3) === 1) {
      this.counters[v * Counter.COUNT + Counter.RAISED]++;
      vlapicSetLocalIntr(this.s, v * F.STRIDE, vector);
      return;
    }
    const target = fixedIpiTarget(this.s, this.n, v, dest);
    if (target < 0) return;
    const halted = (this.s[target * F.STRIDE + F.FLAGS] & Flag.HALTED) !== 0;
    // AVIC: a doorbell to a target that is not running is an incomplete IPI (APM vol. 2 15.29 AVIC,
    // "AVIC IPI Delivery Not Completed", failure cause 1 "target not running"): the CPU has set the
    // vector in the target's backing page IRR, the hypervisor wakes it (KVM avic_kick_target_vcpus).
    const incomplete = avicDoorbell && halted;
    if (incomplete) {
      this.exit(v, Slot.VMEXIT_AVIC_INCOMPLETE_IPI, 0);
      if (this.keepsWhy) {
        const id = this.s[target * F.STRIDE + F.APIC_ID] & 0xffff;
        this.exitWhy(v, ExitWhy.AVIC_TARGET_NOT_RUNNING | ((vector | (id << 8)) << WHY_OPERAND_SHIFT));
      }
    }
    // Every other path reaches here inside the sender's exit (the ICR write's); the wake-up runs in it.
    // A target still halt-polling has no sleeper to wake: KVM's kvm_vcpu_wake_up does nothing
    // unless swq_has_sleeper (virt/kvm/kvm_main.c; hypervisor/haltPoll.ts), and a thread outside
    // guest mode gets no kick IPI either.
    if (halted && !polling(this, target)) this.chargeWakeup(v);
    if (this.deferIpis) {
      const i = this.ipiOutCount;
      if (i < STEP_LOG) {
        this.ipiOutTarget[i] = target;
        this.ipiOutVector[i] = vector;
        this.ipiOutCount = i + 1;
      }
    } else this.raiseInterrupt(target, vector, false);
    if (incomplete) this.enter(v);
  }

  /**
   * The sender's exit - the step's last, just taken - wakes a halted target: its host time grows by
   * wakeupWakerNs, its count does not. Judged when the IPI is sent (a deferred IPI still wakes its
   * target inside the sender's exit); a second IPI before the target runs is charged again.
   */
  private chargeWakeup(v: number): void {
    const ns = this.wakeupWakerNs;
    if (ns <= 0) return;
    this.stepHostNs += ns;
    this.vcpuHostNs[v] += ns;
    this.exitHostNs[this.ff[ringSlot(this.stepExitCount - 1)]] += ns;
  }

  // ---------------------------------------------------------------- Hyper-V synthetic MSRs (hypervisor/hyperv.ts)

  /**
   * WRMSR to a synthetic MSR: an MSR exit, then KVM's kvm_hv_set_msr_common - hv-vapic's EOI, ICR
   * (vector and command in bits 31:0, destination in 63:32: kvm_hv_vapic_msr_write) and TPR act on
   * the vlapic; an MSR of a feature the guest lacks is #GP. EOI, ICR and TPR are the x2APIC
   * registers' work (kvm_hv_vapic_msr_write -> kvm_lapic_reg_write / kvm_x2apic_icr_write): the
   * short exit of an x2APIC write that arms no timer (apicMsrWriteCostNs), not a timer arm's.
   */
  protected hypervMsrWrite(v: number, msr: number, low: number, high: number): void {
    const s = this.s;
    const b = v * F.STRIDE;
    const access = hvMsrAccess(s[b + F.HV] & 0xff, msr);
    const apicWork = access === HvAccess.EOI || access === HvAccess.ICR || access === HvAccess.TPR;
    if (apicWork) this.apicMsrExit(v, this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR);
    else this.exit(v, this.intel ? Slot.MSR_WRITE : Slot.VMEXIT_MSR, 0);
    switch (access) {
      case HvAccess.GP:
        this.stepFault = Fault.GP;
        break;
      case HvAccess.EOI:
        this.hypervisorEoi(v);
        break;
      case HvAccess.ICR: {
        // kvm_lapic_reg_write(APIC_ICR2) keeps only bits 31:24 in xAPIC mode, then APIC_ICR sends.
        const x2apic = (s[b + F.FLAGS] & Flag.X2APIC) !== 0;
        s[b + F.ICR_HIGH] = x2apic ? high : high & 0xff000000;
        s[b + F.ICR_LOW] = low;
        this.sendIpiFromIcr(v, low, x2apic ? high : high >>> 24, false);
        break;
      }
      case HvAccess.TPR:
        this.setTpr(v, low & 0xff);
        break;
      case HvAccess.DONE:
        break;
    }
    this.enter(v);
  }

  /** RDMSR of a synthetic MSR: an MSR exit, the value (hv-vapic TPR; 0 for the rest), or #GP. */
  protected hypervMsrRead(v: number, msr: number): number {
    const b = v * F.STRIDE;
    this.exit(v, this.intel ? Slot.MSR_READ : Slot.VMEXIT_MSR, 0);
    const how = hvMsrAccess(this.s[b + F.HV] & 0xff, msr);
    if (how === HvAccess.GP) this.stepFault = Fault.GP;
    const value = how === HvAccess.TPR ? guestTpr(this.s, b, this.intel) : 0;
    this.enter(v);
    return value;
  }

  /**
   * An EOI the hypervisor performs for the guest (hv-vapic's EOI MSR): the vlapic retires the
   * highest in-service vector (KVM apic_set_eoi); with VID it also updates SVI on the virtual-APIC
   * page (vmx_hwapic_isr_update), and the next entry virtualizes PPR and evaluates (D6).
   */
  protected hypervisorEoi(v: number): void {
    this.endOfInterrupt(v, EoiBy.HYPERVISOR);
    const b = v * F.STRIDE;
    if ((this.s[b + F.FLAGS] & Flag.VID) !== 0) this.s[b + F.SVI] = Math.max(vecHighest(this.s, b + F.ISR), 0);
  }
}
