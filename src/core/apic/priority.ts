import { F } from '../vcpu/layout.js';
import { priorityClass, vecHighest } from './vectors.js';

/**
 * Task and processor priority. Source: Intel SDM vol. 3A chapter "Advanced Programmable Interrupt
 * Controller (APIC)", sections "Task and Processor Priorities" (11.8.3.1 in the 2023 editions) and
 * "Task Priority in IA-32e Mode" (11.8.6).
 */

/**
 * PPR from a TPR and an in-service vector ISRV (0 when nothing is in service): PPR = TPR when
 * TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0. The one PPR formula of the model: the architectural PPR
 * (ISRV = highest ISR bit; KVM apic_update_ppr), bhyve's vlapic_update_ppr (ISRV = top of
 * isrvec_stk) and VT-x PPR virtualization (VTPR and SVI, SDM "PPR Virtualization") all apply it.
 */
export function processorPriority(tpr: number, isrv: number): number {
  return priorityClass(tpr) >= priorityClass(isrv) ? tpr : isrv & 0xf0;
}

/**
 * Whether a requested `vector` may be dispatched against processor priority `ppr`: only when its
 * priority class is above PPR's (SDM "Task and Processor Priorities": "the processor will deliver
 * only those interrupts that have an interrupt-priority class higher than the processor-priority
 * class in the PPR"). The one home of the rule: the vlapic's pending interrupt (vlapic.ts), VT-x's
 * evaluation of pending virtual interrupts, RVI[7:4] > VPPR[7:4] (vmx/virtualInterrupts.ts) and
 * AVIC's (svm/avic.ts) apply it.
 */
export function classAbovePpr(vector: number, ppr: number): boolean {
  return priorityClass(vector) > priorityClass(ppr);
}

/** MOV to CR8: TPR[7:4] = CR8[3:0], TPR[3:0] = 0. MOV from CR8 reads TPR[7:4], its priority class. */
export function tprFromCr8(cr8: number): number {
  return (cr8 & 0xf) << 4;
}

/**
 * The guest-visible TPR of the vCPU at word `b`: VTPR (the virtual-APIC page) or the vlapic TPR on
 * VT-x; on SVM the VMCB's V_TPR, which holds TPR[7:4] (APM vol. 2 "Virtualizing APIC.TPR").
 */
export function guestTpr(s: Int32Array, b: number, intel: boolean): number {
  if (!intel) return tprFromCr8(s[b + F.V_TPR]);
  return s[b + F.TPR] & 0xff;
}

/** The architectural PPR: the guest-visible TPR against the highest in-service vector. */
export function archPpr(s: Int32Array, b: number, intel: boolean): number {
  return processorPriority(guestTpr(s, b, intel), Math.max(vecHighest(s, b + F.ISR), 0));
}
