import { retireInService } from '../apic/eoi.js';
import { vecHighest } from '../apic/vectors.js';
import { F } from '../vcpu/layout.js';

/**
 * AMD AVIC (APM vol. 2 chapter 15 "Secure Virtual Machine", section "Advanced Virtual Interrupt
 * Controller", 15.29): the CPU runs the guest's LAPIC from the vAPIC backing page — the state's APIC
 * page words of the vCPU at word `b` — and traps to the hypervisor only where the APM's register
 * access table says so.
 */

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
