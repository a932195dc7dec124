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

/**
 * The registers APIC-register virtualization covers, one row per register so the two SDM lists
 * read side by side: "Virtualizing Reads from the APIC-Access Page" (29.4.2) and "Determining
 * Whether a Write Access is Virtualized" (29.4.3.1; such writes go to the virtual-APIC page and
 * trap as APIC-write exits, ICR high excepted). The TPR is in both lists, but it is classified
 * before the table by "use TPR shadow", which APIC-register virtualization requires at VM entry.
 * Reads of the version, ISR, TMR and IRR are virtualized; writes to them are not (they are read-only).
 */
const APIC_REGISTER_VIRTUALIZATION: readonly (readonly [offset: number, read: boolean, write: boolean])[] = [
  [ApicOffset.Id, true, true],
  [ApicOffset.Version, true, false],
  [ApicOffset.Eoi, true, true],
  [ApicOffset.Ldr, true, true],
  [ApicOffset.Dfr, true, true],
  [ApicOffset.Svr, true, true],
  ...Array.from({ length: 24 }, (_, i): readonly [number, boolean, boolean] => [
    ApicOffset.Isr0 + 0x10 * i,
    true,
    false,
  ]), // ISR, TMR, IRR: 100H-270H
  [ApicOffset.Esr, true, true],
  [ApicOffset.LvtCmci, true, true],
  [ApicOffset.IcrLow, true, true],
  [ApicOffset.IcrHigh, true, true],
  [ApicOffset.LvtTimer, true, true],
  [ApicOffset.LvtThermal, true, true],
  [ApicOffset.LvtPmc, true, true],
  [ApicOffset.LvtLint0, true, true],
  [ApicOffset.LvtLint1, true, true],
  [ApicOffset.LvtError, true, true],
  [ApicOffset.TimerInitialCount, true, true],
  [ApicOffset.TimerDivideConfig, true, true],
];

const READ_VIRTUALIZED = 1;
const WRITE_VIRTUALIZED = 2;
/** The table above by register (offset >> 4), built once: a load per access in the hot path. */
const VIRTUALIZED_BY_REGISTER = ((): Uint8Array => {
  const t = new Uint8Array(0x40);
  for (const [offset, read, write] of APIC_REGISTER_VIRTUALIZATION)
    t[offset >> 4] = (read ? READ_VIRTUALIZED : 0) | (write ? WRITE_VIRTUALIZED : 0);
  return t;
})();

/** A read is virtualized when it falls in the first 4 bytes of a listed register (the SDM's "020H-023H" ranges). */
function isApicReadVirtualized(offset: number): boolean {
  return (offset & 0xf) < 4 && offset < 0x400 && (VIRTUALIZED_BY_REGISTER[offset >> 4] & READ_VIRTUALIZED) !== 0;
}

/** A write is classified by its register offset; a write not at a register's start is not virtualized (an APIC-access exit). */
function isApicWriteVirtualized(offset: number): boolean {
  return (offset & 0xf) === 0 && offset < 0x400 && (VIRTUALIZED_BY_REGISTER[offset >> 4] & WRITE_VIRTUALIZED) !== 0;
}
