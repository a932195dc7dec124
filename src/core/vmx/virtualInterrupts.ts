import { classAbovePpr } from '../apic/priority.js';
import { setTriggerMode } from '../apic/vlapic.js';
import { vecClear, vecHighest, vecSet, vecTest } from '../apic/vectors.js';
import { F } from '../vcpu/layout.js';
import { ProcBased } from './controls.js';

/**
 * Virtual interrupts under virtual-interrupt delivery (VID): Intel SDM vol. 3C chapter "APIC
 * Virtualization and Virtual Interrupts", sections "Evaluation and Delivery of Virtual Interrupts"
 * (29.2 in the 2023 editions) and "Posted-Interrupt Processing" (29.6), on the virtual-APIC page
 * words of the vCPU at word `b` (RVI/SVI, VIRR = F.IRR, VISR = F.ISR, VPPR = F.PPR, PIR, ON).
 */

/**
 * SDM "Evaluation of Pending Virtual Interrupts": RVI is recognized when "interrupt-window exiting"
 * is 0 and RVI[7:4] > VPPR[7:4] (D4: while the hypervisor asks for an interrupt window, no virtual
 * interrupt is delivered). Returns RVI, or -1 when nothing is recognized.
 */
export function pendingVirtualInterrupt(s: Int32Array, b: number): number {
  if ((s[b + F.PROC] & ProcBased.InterruptWindowExiting) !== 0) return -1;
  const rvi = s[b + F.RVI];
  return rvi > 0 && classAbovePpr(rvi, s[b + F.PPR]) ? rvi : -1;
}

/**
 * SDM "Virtual-Interrupt Delivery" of a recognized `vector`, once the guest is interruptible, with
 * no VM exit: VISR[vector] = 1, VIRR[vector] = 0, SVI = vector, VPPR = vector & 0xF0, RVI = highest
 * VIRR. The guest then vectors through its IDT (RFLAGS.IF clears: one delivery per evaluation).
 * AVIC (svm/avic.ts) delivers by the same steps from the vAPIC backing page.
 */
export function deliverVirtualInterrupt(s: Int32Array, b: number, vector: number): void {
  vecSet(s, b + F.ISR, vector);
  vecClear(s, b + F.IRR, vector);
  s[b + F.SVI] = vector;
  s[b + F.PPR] = vector & 0xf0;
  s[b + F.RVI] = Math.max(vecHighest(s, b + F.IRR), 0);
}

/**
 * An interrupt the vlapic accepted while VID is on is also a requested virtual interrupt:
 * RVI = max(RVI, vector). (Its EOI-exit-bitmap bit is the hypervisor's: apic/eoi.ts requestEoiExit.)
 */
export function requestVirtualInterrupt(s: Int32Array, b: number, vector: number): void {
  s[b + F.RVI] = Math.max(s[b + F.RVI], vector);
}

/**
 * The sender's half of SDM "Posted-Interrupt Processing" (bhyve vmx_set_intr_ready / KVM
 * vmx_deliver_posted_interrupt): the PIR bit and ON are set, the trigger mode recorded; the
 * notification vector reaches a running vCPU with no VM exit. False, with nothing changed, when the vector is already posted or requested
 * (coalesced).
 */
export function postInterrupt(s: Int32Array, b: number, vector: number, level: boolean): boolean {
  if (vecTest(s, b + F.PIR, vector) || vecTest(s, b + F.IRR, vector)) return false;
  vecSet(s, b + F.PIR, vector);
  setTriggerMode(s, b, vector, level);
  s[b + F.PIR_ON] = 1;
  return true;
}

/**
 * SDM 29.6 "Posted-Interrupt Processing", steps 5-6 (D7): PIR is ORed into VIRR and cleared, and RVI
 * becomes the maximum of its old value and the highest PIR bit; with no PIR bit set RVI is left
 * unmodified - never lowered. The same when the hypervisor moves PIR at VM entry (bhyve
 * vmx_inject_pir writes the guest interrupt status only when the new RVI is higher).
 */
export function syncPirToIrr(s: Int32Array, b: number): void {
  let high = -1;
  for (let w = 0; w < 8; w++) {
    const p = s[b + F.PIR + w];
    if (p !== 0) {
      s[b + F.IRR + w] |= p;
      s[b + F.PIR + w] = 0;
      high = (w << 5) + 31 - Math.clz32(p);
    }
  }
  s[b + F.PIR_ON] = 0;
  if (high > s[b + F.RVI]) s[b + F.RVI] = high;
}
