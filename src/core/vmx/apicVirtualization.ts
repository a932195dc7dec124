import { retireInService } from '../apic/eoi.js';
import { processorPriority } from '../apic/priority.js';
import { priorityClass, vecHighest, vecSet, vecTest } from '../apic/vectors.js';
import { F, Flag } from '../vcpu/layout.js';
import { Next } from '../vcpu/outcomes.js';

/**
 * The CPU's virtual-APIC state rules: Intel SDM vol. 3C chapter "APIC Virtualization and Virtual
 * Interrupts", section "Virtual APIC State" (29.1 in the 2023 editions) — TPR, PPR, EOI and self-IPI
 * virtualization. They run on the virtual-APIC page words of the state (VTPR = F.TPR, VPPR = F.PPR,
 * VISR/VIRR = F.ISR/F.IRR, SVI/RVI) of the vCPU at word `b`, and return what happens next (Next)
 * instead of exiting or evaluating themselves.
 */

/**
 * SDM "PPR Virtualization": VPPR from VTPR and SVI. Also the first thing VM entry does with VID
 * before it evaluates pending virtual interrupts (SDM 26.3.2.5 "Updating Non-Register State", D6).
 */
export function pprVirtualization(s: Int32Array, b: number): void {
  s[b + F.PPR] = processorPriority(s[b + F.TPR] & 0xff, s[b + F.SVI]);
}

/**
 * SDM "TPR Virtualization" (29.1.2 in the 2023 editions): VTPR[7:4] below TPR threshold[3:0]. The one
 * comparison of the threshold with VTPR: the trap-like exit after a virtualized TPR write
 * (tprVirtualization), the exit right after VM entry (vmx/entry.ts tprThresholdExitsAfterEntry, SDM
 * "VM Exits Induced by the TPR Threshold") and the VM-entry check that fails the entry without
 * APIC-access virtualization (vmx/entryChecks.ts checkTprThreshold, SDM "Checks on VMX Controls"; written
 * out there, as that check runs at every entry) are all this comparison.
 */
export function vtprBelowThreshold(vtpr: number, tprThreshold: number): boolean {
  return priorityClass(vtpr) < (tprThreshold & 0xf);
}

/**
 * SDM "TPR Virtualization", run after a virtualized TPR write (MOV to CR8, xAPIC TPR through the
 * APIC-access page, WRMSR 0x808). VID on: PPR virtualization, then the evaluation of pending virtual
 * interrupts. VID off: a trap-like TPR-below-threshold exit when VTPR[7:4] < threshold[3:0].
 */
export function tprVirtualization(s: Int32Array, b: number): Next {
  if ((s[b + F.FLAGS] & Flag.VID) !== 0) {
    pprVirtualization(s, b);
    return Next.EVALUATE_PENDING;
  }
  if (vtprBelowThreshold(s[b + F.TPR], s[b + F.TPR_THRESHOLD])) return Next.TPR_BELOW_THRESHOLD_EXIT;
  return Next.NOTHING;
}

/**
 * SDM "EOI Virtualization": VISR[SVI] = 0, SVI = highest VISR, PPR virtualization. Returns the
 * vector when its EOI-exit-bitmap bit is set — a virtualized-EOI exit follows (qualification: the
 * vector) and the hypervisor broadcasts the level EOI (apic/eoi.ts) — else -1: the CPU evaluates
 * pending virtual interrupts.
 */
export function eoiVirtualization(s: Int32Array, b: number): number {
  const vector = s[b + F.SVI];
  retireInService(s, b, vector);
  s[b + F.SVI] = Math.max(vecHighest(s, b + F.ISR), 0);
  pprVirtualization(s, b);
  return vecTest(s, b + F.EOI_EXIT, vector) ? vector : -1;
}

/** SDM "Self-IPI Virtualization" (x2APIC SELF IPI with VID): VIRR[vector] = 1, RVI = max(RVI, vector), evaluate. */
export function selfIpiVirtualization(s: Int32Array, b: number, vector: number): Next {
  vecSet(s, b + F.IRR, vector);
  s[b + F.RVI] = Math.max(s[b + F.RVI], vector);
  return Next.EVALUATE_PENDING;
}

/**
 * SDM 29.4.3.2 "APIC-Write Emulation", offset 300H: with VID, a write of ICR low is self-IPI
 * virtualization (vector VICR_LO[7:0]) when reserved bits 31:20, 17:16 and 13 and bit 12 (delivery
 * status) are 0, the destination shorthand (19:18) is 01B (self), the trigger mode (15) is edge,
 * the delivery mode (10:8) is fixed and the vector's upper half (7:4) is not 0; otherwise an
 * APIC-write VM exit follows (D2).
 */
export function selfIpiVirtualizable(icrLow: number): boolean {
  return (icrLow & 0xfff3b700) === 0 && ((icrLow >>> 18) & 3) === 1 && (icrLow & 0xf0) !== 0;
}
