import { retireInService } from '../apic/eoi.js';
import { archPpr, classAbovePpr } from '../apic/priority.js';
import { ApicOffset } from '../apic/registers.js';
import { priorityClass, vecHighest } from '../apic/vectors.js';
import { Slot } from '../vcpu/exits.js';
import { F } from '../vcpu/layout.js';
import { InGuest, Next } from '../vcpu/outcomes.js';

/**
 * AMD AVIC (APM vol. 2 chapter 15 "Secure Virtual Machine", section "Advanced Virtual Interrupt
 * Controller", 15.29): the CPU runs the guest's LAPIC from the vAPIC backing page — the state's APIC
 * page words of the vCPU at word `b` — and traps to the hypervisor only where the APM's register
 * access table says so.
 */

/**
 * An xAPIC MMIO write under AVIC (the APM's register access table): TPR and EOI accelerated (a
 * level-triggered EOI still traps, avicEoi), ICR high stored and ICR low sending the IPI by
 * doorbell; any other write traps as AVIC_NOACCEL and the hypervisor emulates it.
 */
export function avicApicWrite(
  offset: number,
): Slot | InGuest.AVIC_TPR_WRITE | InGuest.AVIC_EOI | InGuest.AVIC_ICR_HIGH | InGuest.AVIC_ICR_LOW {
  switch (offset) {
    case ApicOffset.Tpr:
      return InGuest.AVIC_TPR_WRITE;
    case ApicOffset.Eoi:
      return InGuest.AVIC_EOI;
    case ApicOffset.IcrHigh:
      return InGuest.AVIC_ICR_HIGH;
    case ApicOffset.IcrLow:
      return InGuest.AVIC_ICR_LOW;
    default:
      return Slot.VMEXIT_AVIC_NOACCEL;
  }
}

/** An xAPIC MMIO read under AVIC: served from the backing page, except the timer's current count (AVIC_NOACCEL). */
export function avicApicRead(offset: number): Slot | InGuest.READ {
  return offset === ApicOffset.TimerCurrentCount ? Slot.VMEXIT_AVIC_NOACCEL : InGuest.READ;
}

/** An accelerated TPR write: the backing page's TPR and V_TPR; the CPU evaluates pending interrupts. */
export function avicTprWrite(s: Int32Array, b: number, value: number): Next {
  s[b + F.TPR] = value & 0xff;
  s[b + F.V_TPR] = priorityClass(value);
  return Next.EVALUATE_PENDING;
}

/**
 * AVIC recognizes the highest IRR vector when its class beats the architectural PPR (V_TPR against
 * the highest ISR bit): VT-x's evaluation of pending virtual interrupts, on the backing page, and
 * delivered by the same steps (vmx/virtualInterrupts.ts). Returns the vector, or -1.
 */
export function avicPendingInterrupt(s: Int32Array, b: number): number {
  const irr = Math.max(vecHighest(s, b + F.IRR), 0);
  return irr > 0 && classAbovePpr(irr, archPpr(s, b, false)) ? irr : -1;
}

/**
 * An EOI write, accelerated: the highest ISR bit clears. A level-triggered vector's EOI is not
 * accelerated: the write traps (AVIC_NOACCEL) so the hypervisor can forward it (apic/eoi.ts) —
 * returns that vector; else -1, and the CPU evaluates pending interrupts.
 */
export function avicEoi(s: Int32Array, b: number): number {
  const vector = vecHighest(s, b + F.ISR);
  if (vector < 0) return -1;
  return retireInService(s, b, vector) ? vector : -1;
}
