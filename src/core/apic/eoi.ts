import { F } from '../vcpu/layout.js';
import { vecClear, vecTest } from './vectors.js';

/**
 * End of interrupt (SDM vol. 3A "Signaling Interrupt Servicing Completion", 11.8.5 in the 2023
 * editions): the vector in service leaves the ISR, and a level-triggered one (its TMR bit set) is
 * also acknowledged to the I/O APIC — the EOI broadcast, modelled as its TMR bit clearing.
 *
 * One rule, three performers, chosen by the access path (Machine.endOfInterrupt):
 * - the hypervisor's software LAPIC after an exit (apic/vlapic.ts vlapicProcessEoi);
 * - the CPU's EOI virtualization (vmx/apicVirtualization.ts), the hypervisor broadcasting after the
 *   virtualized-EOI exit the EOI-exit bitmap asks for;
 * - AVIC (svm/avic.ts), the hypervisor broadcasting after the AVIC_NOACCEL trap of a level EOI.
 */

/** Who performs an EOI the guest wrote: the access path decides (Machine.endOfInterrupt). */
export const enum EoiBy {
  HYPERVISOR = 0,
  VID = 1,
  AVIC = 2,
}

/** The ISR bit of `vector` clears; true when the vector was level-triggered (TMR bit set). */
export function retireInService(s: Int32Array, b: number, vector: number): boolean {
  vecClear(s, b + F.ISR, vector);
  return vecTest(s, b + F.TMR, vector);
}

/** The EOI of a level-triggered `vector` reaches the I/O APIC: its TMR bit clears. */
export function broadcastEoi(s: Int32Array, b: number, vector: number): void {
  vecClear(s, b + F.TMR, vector);
}
