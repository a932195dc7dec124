import { ApicOffset, X2apicMsr } from '../apic/registers.js';
import { Slot } from '../vcpu/exits.js';
import { F } from '../vcpu/layout.js';
import { InGuest } from '../vcpu/outcomes.js';
import { ProcBased, ProcBased2 } from './controls.js';
import { CrAccessType } from './exitReasons.js';

/**
 * Which guest accesses to the APIC exit and which the CPU virtualizes, under the VMCS controls of
 * the vCPU at word `b`: Intel SDM vol. 3C chapter "APIC Virtualization and Virtual Interrupts",
 * sections "Virtualizing CR8-Based TPR Accesses", "Virtualizing Memory-Mapped APIC Accesses" and
 * "Virtualizing MSR-Based APIC Accesses" (29.3-29.5 in the 2023 editions), and "Instructions That
 * Cause VM Exits Conditionally" (MOV CR8). Each classifier returns an exit slot or an InGuest code
 * (vcpu/outcomes.ts); the Machine does the rest.
 */

/** The secondary controls in force: all 0 when "activate secondary controls" is 0. */
function secondary(s: Int32Array, b: number): number {
  return (s[b + F.PROC] & ProcBased.ActivateSecondaryControls) !== 0 ? s[b + F.PROC2] : 0;
}

/** MOV to CR8 is a CR-access exit when CR8-load exiting is 1. */
export function cr8LoadExits(s: Int32Array, b: number): boolean {
  return (s[b + F.PROC] & ProcBased.Cr8LoadExiting) !== 0;
}

/** MOV from CR8 is a CR-access exit when CR8-store exiting is 1. */
export function cr8StoreExits(s: Int32Array, b: number): boolean {
  return (s[b + F.PROC] & ProcBased.Cr8StoreExiting) !== 0;
}

/**
 * Otherwise, with "use TPR shadow", MOV to / from CR8 writes or reads VTPR, a write followed by TPR
 * virtualization (vmx/apicVirtualization.ts); with neither, the guest reaches the real TPR (not a
 * valid VMM setup). The two classifiers above and this one are the hottest rules of the model (a
 * Windows guest's IRQL changes), so they are predicates rather than an InGuest code.
 */
export function tprShadowed(s: Int32Array, b: number): boolean {
  return (s[b + F.PROC] & ProcBased.UseTprShadow) !== 0;
}

/**
 * CR-access exit qualifications of MOV to / from CR8 with RAX (SDM table "Exit Qualification for
 * Control-Register Accesses"; exitReasons.ts crAccessQualification): CR number 8 in bits 3:0, the
 * access type in bits 5:4, register 0 (RAX) in bits 11:8.
 */
export const enum Cr8Qualification {
  MOV_TO = 8 | (CrAccessType.MovToCr << 4),
  MOV_FROM = 8 | (CrAccessType.MovFromCr << 4),
}

/**
 * xAPIC MMIO write. Without APIC-access virtualization the APIC page is unmapped in the EPT and
 * every access is an EPT exit emulated by the hypervisor (bhyve, KVM without FlexPriority; the
 * Machine turns EPT_VIOLATION into the policy's MMIO exit, hypervisor/policy.ts mmioExitSlot). With
 * it (SDM 29.4.3.1 "Determining Whether a Write Access is Virtualized"): a TPR write is virtualized
 * (use TPR shadow); with VID, EOI (0B0H) and ICR low (300H) are virtualized even without
 * APIC-register virtualization (D3), EOI by EOI virtualization, ICR low by APIC-write emulation
 * (self-IPI virtualization or an APIC-write exit, D2); with APIC-register virtualization a write to
 * ICR high (310H) completes on the virtual-APIC page with no exit (SDM 29.4.3.2 "APIC-Write
 * Emulation", D1) and the other listed writes trap as APIC-write exits; everything else is a
 * fault-like APIC-access exit.
 */
export function vmxApicWrite(
  s: Int32Array,
  b: number,
  offset: number,
): Slot | InGuest.TPR_WRITE | InGuest.EOI | InGuest.ICR_HIGH_WRITE | InGuest.ICR_LOW_WRITE {
  const proc2 = secondary(s, b);
  if ((proc2 & ProcBased2.VirtualizeApicAccesses) === 0) return Slot.EPT_VIOLATION;
  if (offset === ApicOffset.Tpr && (s[b + F.PROC] & ProcBased.UseTprShadow) !== 0) return InGuest.TPR_WRITE;
  if ((proc2 & ProcBased2.VirtualInterruptDelivery) !== 0) {
    if (offset === ApicOffset.Eoi) return InGuest.EOI;
    if (offset === ApicOffset.IcrLow) return InGuest.ICR_LOW_WRITE;
  }
  if ((proc2 & ProcBased2.ApicRegisterVirtualization) !== 0) {
    if (offset === ApicOffset.IcrHigh) return InGuest.ICR_HIGH_WRITE;
    if (isApicWriteVirtualized(offset)) return Slot.APIC_WRITE;
  }
  return Slot.APIC_ACCESS;
}

/** xAPIC MMIO read: the TPR (use TPR shadow) and, with APIC-register virtualization, the listed registers are read from the virtual-APIC page. */
export function vmxApicRead(s: Int32Array, b: number, offset: number): Slot | InGuest.READ {
  const proc2 = secondary(s, b);
  if ((proc2 & ProcBased2.VirtualizeApicAccesses) === 0) return Slot.EPT_VIOLATION;
  if (offset === ApicOffset.Tpr && (s[b + F.PROC] & ProcBased.UseTprShadow) !== 0) return InGuest.READ;
  if ((proc2 & ProcBased2.ApicRegisterVirtualization) !== 0 && isApicReadVirtualized(offset)) return InGuest.READ;
  return Slot.APIC_ACCESS;
}

/**
 * WRMSR to an x2APIC MSR the guest may write: under "virtualize x2APIC mode" the TPR (0x808) is
 * virtualized (#GP without exit for reserved bits), and with VID also EOI (0x80B, which must be 0)
 * and SELF IPI (0x83F); everything else exits through the MSR bitmap.
 */
export function vmxX2apicWrite(
  s: Int32Array,
  b: number,
  msr: number,
  low: number,
  high: number,
): Slot | InGuest.GP | InGuest.TPR_WRITE | InGuest.EOI | InGuest.SELF_IPI {
  const proc2 = secondary(s, b);
  if ((proc2 & ProcBased2.VirtualizeX2apicMode) !== 0) {
    const vid = (proc2 & ProcBased2.VirtualInterruptDelivery) !== 0;
    if (msr === X2apicMsr.Tpr) return high !== 0 || (low & ~0xff) !== 0 ? InGuest.GP : InGuest.TPR_WRITE; // reserved bits of the x2APIC TPR
    if (vid && msr === X2apicMsr.Eoi) return low !== 0 || high !== 0 ? InGuest.GP : InGuest.EOI;
    if (vid && msr === X2apicMsr.SelfIpi) return InGuest.SELF_IPI;
  }
  return Slot.MSR_WRITE;
}

/**
 * RDMSR of an x2APIC MSR the guest may read: under "virtualize x2APIC mode" the TPR is read from
 * the virtual-APIC page, and with APIC-register virtualization every read the hypervisor's MSR
 * bitmap lets through (`passedThrough`, hypervisor/vmcs.ts x2apicReadPassedThrough).
 */
export function vmxX2apicRead(s: Int32Array, b: number, msr: number, passedThrough: boolean): Slot | InGuest.READ {
  const proc2 = secondary(s, b);
  if ((proc2 & ProcBased2.VirtualizeX2apicMode) !== 0) {
    if (msr === X2apicMsr.Tpr) return InGuest.READ;
    if ((proc2 & ProcBased2.ApicRegisterVirtualization) !== 0 && passedThrough) return InGuest.READ;
  }
  return Slot.MSR_READ;
}

/** SDM "Virtualizing Reads from the APIC-Access Page": offsets virtualized with APIC-register virtualization. */
function isApicReadVirtualized(offset: number): boolean {
  if (offset >= 0x100 && offset <= 0x270) return true; // ISR, TMR, IRR
  switch (offset) {
    case 0x20:
    case 0x30:
    case 0x80:
    case 0xb0:
    case 0xd0:
    case 0xe0:
    case 0xf0:
    case 0x280:
    case 0x2f0:
    case 0x300:
    case 0x310:
    case 0x320:
    case 0x330:
    case 0x340:
    case 0x350:
    case 0x360:
    case 0x370:
    case 0x380:
    case 0x3e0:
      return true;
    default:
      return false;
  }
}

/** SDM "Virtualizing Writes to the APIC-Access Page": offsets written to the page with an APIC-write exit. */
function isApicWriteVirtualized(offset: number): boolean {
  switch (offset) {
    case 0x20:
    case 0x80:
    case 0xb0:
    case 0xd0:
    case 0xe0:
    case 0xf0:
    case 0x280:
    case 0x2f0:
    case 0x300:
    case 0x310:
    case 0x320:
    case 0x330:
    case 0x340:
    case 0x350:
    case 0x360:
    case 0x370:
    case 0x380:
    case 0x3e0:
      return true;
    default:
      return false;
  }
}
