import { F, Flag } from '../vcpu/layout.js';
import { checkIsrvecStack, isrvecPop, isrvecPush, isrvecTop, StackCheck } from './isrvecStack.js';
import { archPpr, classAbovePpr, processorPriority } from './priority.js';
import { broadcastEoi, retireInService } from './eoi.js';
import { priorityClass, vecClear, vecHighest, vecSet, vecTest } from './vectors.js';

/**
 * The software LAPIC the hypervisor keeps for a vCPU (bhyve sys/amd64/vmm/io/vlapic.c, KVM
 * arch/x86/kvm/lapic.c): IRR, ISR, TPR and PPR on the APIC page words of the state (`s`, vCPU at
 * word `b`), updated when the hypervisor emulates an access or injects an interrupt. `stack` says
 * whether it keeps bhyve's isrvec_stk (apic/isrvecStack.ts); `intel` selects the vendor's TPR.
 *
 * Functions that can fail bhyve's isrvec_stk checks return a StackCheck: OK, or the failed check,
 * at which point they stop changing state; the caller reports it and stops the vCPU.
 */

/**
 * bhyve vlapic_update_ppr(): recompute PPR from the TPR and the top of the in-service stack, first
 * running vlapic.c's consistency checks (the "ISR and isrvec_stk out of sync" panic). KVM's
 * apic_update_ppr() uses the highest ISR bit instead and has no stack.
 */
export function vlapicUpdatePpr(s: Int32Array, b: number, stack: boolean, intel: boolean): StackCheck {
  if (stack) {
    const check = checkIsrvecStack(s, b);
    if (check !== StackCheck.OK) return check;
    s[b + F.PPR] = processorPriority(s[b + F.TPR] & 0xff, isrvecTop(s, b));
  } else {
    s[b + F.PPR] = archPpr(s, b, intel);
  }
  return StackCheck.OK;
}

/** bhyve vlapic_set_tpr / KVM kvm_lapic_set_tpr: a TPR write the hypervisor emulated. */
export function vlapicSetTpr(s: Int32Array, b: number, tpr: number, stack: boolean, intel: boolean): StackCheck {
  s[b + F.TPR] = tpr & 0xff;
  if (!intel) s[b + F.V_TPR] = priorityClass(tpr);
  return vlapicUpdatePpr(s, b, stack, intel);
}

/** Highest IRR vector whose class beats PPR (bhyve vlapic_pending_intr / KVM apic_has_interrupt_for_ppr), or -1. */
export function vlapicPendingIntr(s: Int32Array, b: number): number {
  const vector = vecHighest(s, b + F.IRR);
  if (vector < 0) return -1;
  return classAbovePpr(vector, s[b + F.PPR]) ? vector : -1;
}

/** bhyve vlapic_intr_accepted: the injected vector moves IRR -> ISR and is pushed on isrvec_stk. */
export function vlapicIntrAccepted(
  s: Int32Array,
  b: number,
  vector: number,
  stack: boolean,
  intel: boolean,
): StackCheck {
  vecClear(s, b + F.IRR, vector);
  vecSet(s, b + F.ISR, vector);
  if (stack) {
    const check = isrvecPush(s, b, vector);
    if (check !== StackCheck.OK) return check;
  }
  return vlapicUpdatePpr(s, b, stack, intel);
}

/**
 * An injected vector whose SynIC SINT uses AutoEOI (KVM kvm_get_apic_interrupt: auto_eoi_bitmap):
 * it leaves IRR without entering ISR - the guest writes no EOI - and PPR is updated.
 */
export function vlapicAutoEoiAccepted(
  s: Int32Array,
  b: number,
  vector: number,
  stack: boolean,
  intel: boolean,
): StackCheck {
  vecClear(s, b + F.IRR, vector);
  return vlapicUpdatePpr(s, b, stack, intel);
}

/** bhyve vlapic_process_eoi / KVM apic_set_eoi: retire the highest ISR bit (apic/eoi.ts), pop the stack. */
export function vlapicProcessEoi(s: Int32Array, b: number, stack: boolean, intel: boolean): StackCheck {
  const vector = vecHighest(s, b + F.ISR);
  if (vector >= 0) {
    const level = retireInService(s, b, vector);
    if (stack) {
      const check = isrvecPop(s, b);
      if (check !== StackCheck.OK) return check;
    }
    if (level) broadcastEoi(s, b, vector); // level: broadcast EOI to the I/O APIC
  }
  return vlapicUpdatePpr(s, b, stack, intel);
}

/**
 * SDM "Interrupt Acceptance for Fixed Interrupts": the TMR bit records the vector's trigger mode,
 * set for level, cleared for edge (KVM __apic_accept_irq).
 */
export function setTriggerMode(s: Int32Array, b: number, vector: number, level: boolean): void {
  if (level) vecSet(s, b + F.TMR, vector);
  else vecClear(s, b + F.TMR, vector);
}

/**
 * bhyve vlapic_set_intr_ready / KVM __apic_accept_irq: the vector is requested in IRR and its
 * trigger mode recorded. False, with nothing changed, when it is already requested (coalesced).
 */
export function vlapicSetIntrReady(s: Int32Array, b: number, vector: number, level: boolean): boolean {
  if (vecTest(s, b + F.IRR, vector)) return false;
  vecSet(s, b + F.IRR, vector);
  setTriggerMode(s, b, vector, level);
  return true;
}

/**
 * A self-IPI the hypervisor emulated (vlapic_set_intr_ready for the vCPU's own LAPIC): straight into
 * IRR, no kick (the vCPU is in the hypervisor); with APICv also into RVI.
 */
export function vlapicSetLocalIntr(s: Int32Array, b: number, vector: number): void {
  if ((s[b + F.FLAGS] & Flag.POSTED) !== 0 || (s[b + F.FLAGS] & Flag.VID) !== 0) {
    vecSet(s, b + F.IRR, vector);
    s[b + F.RVI] = Math.max(s[b + F.RVI], vector);
    return;
  }
  vecSet(s, b + F.IRR, vector);
}
