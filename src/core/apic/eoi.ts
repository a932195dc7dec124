import { F } from '../vcpu/layout.js';
import { vecClear, vecSet, vecTest } from './vectors.js';

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
 *
 * Which EOIs the hypervisor sees is its EOI-exit bitmap (F.EOI_EXIT, requestEoiExit), except under
 * AVIC, which has none and traps by the TMR alone.
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

/**
 * The hypervisor asks to see the EOI of `vector`: its bit in the EOI-exit bitmap (F.EOI_EXIT). Every
 * level-triggered vector gets it, so that the EOI reaches the I/O APIC (bhyve vmx_set_tmr; KVM
 * kvm_ioapic_scan_entry for level pins), and KVM adds the RTC's vector, edge-triggered, to track its
 * ticks (arch/x86/kvm/ioapic.c kvm_ioapic_scan_entry, `index == RTC_GSI`). KVM keeps the set as
 * ioapic_handled_vectors: under APICv it is the VMCS EOI-exit bitmap (SDM "EOI Virtualization": an
 * EOI of a vector whose bit is 1 is an EOI-induced VM exit, reason 45), it decides KVM's PV EOI
 * (kvm_ioapic_handles_vector, Machine.hvEoiAssist), and SVM has no such bitmap (its
 * load_eoi_exitmap hook is empty): an AVIC EOI traps only for a set TMR bit (svm/avic.ts avicEoi).
 */
export function requestEoiExit(s: Int32Array, b: number, vector: number): void {
  vecSet(s, b + F.EOI_EXIT, vector);
}
