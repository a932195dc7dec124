/**
 * The VT-x rule table's columns and words, shared by its topic files (cr8.ts, tprThreshold.ts,
 * apicAccess.ts, apicWrite.ts, virtualInterrupts.ts, x2apicMsrs.ts, instructionExits.ts), which
 * table.test.ts runs. A row: for a guest operation under given controls (chosen by policy and
 * profile), which VM exits happen with which basic exit reason (Intel SDM vol. 3D appendix C "VMX
 * Basic Exit Reasons") and qualification, and what TPR / PPR / delivery state results. Sections are
 * numbered as in the 2016 SDM edition (chapter 25 "VMX Non-Root Operation", 26 "VM Entries", 27 "VM
 * Exits", 29 "APIC Virtualization and Virtual Interrupts"); titles are given because numbers shift.
 */
import { ExitReason, crAccessQualification, CrAccessType } from '../../../src/core/vmx/exitReasons.js';
import { DESKTOP, SERVER } from '../../support/profiles.js';
import type { MachineSetup } from '../../support/machines.js';
import type { RuleRow } from '../../support/ruleRows.js';

export const CR8_WRITE_Q = crAccessQualification(8, CrAccessType.MovToCr, 0);
export const CR8_READ_Q = crAccessQualification(8, CrAccessType.MovFromCr, 0);
export const APIC_READ_Q = (offset: number): number => offset; // access type 0: linear read
export const APIC_WRITE_Q = (offset: number): number => offset | (1 << 12); // access type 1: linear write

export const E = ExitReason;
export type ExpectedExit = readonly [reason: number, qualification?: number];

export interface Row extends RuleRow<ExpectedExit> {
  /** PPR field of the (virtual-)APIC page after the step. */
  readonly ppr?: number;
  readonly fault?: string;
  readonly threshold?: number;
}

export const D_V3: MachineSetup = { profile: DESKTOP, policy: 'bhyve-tpr-v3' };
export const D_V2: MachineSetup = { profile: DESKTOP, policy: 'bhyve-tpr-v2' };
export const D_V1: MachineSetup = { profile: DESKTOP, policy: 'bhyve-tpr-v1' };
export const D_121: MachineSetup = { profile: DESKTOP, policy: 'bhyve-12.1' };
export const D_KVM: MachineSetup = { profile: DESKTOP, policy: 'kvm' };
export const S_V3: MachineSetup = { profile: SERVER, policy: 'bhyve-tpr-v3' };
export const S_KVM: MachineSetup = { profile: SERVER, policy: 'kvm' };

export const TPR_VIRT = 'SDM 29.1.2 "TPR Virtualization"';
export const CR8_VIRT = 'SDM 29.3 "Virtualizing CR8-Based TPR Accesses"';
export const COND = 'SDM 25.1.3 "Instructions That Cause VM Exits Conditionally"';
export const CRQ = 'SDM 27.2.1 table 27-3 "Exit Qualification for Control-Register Accesses"';
export const BHYVE_THR = 'bhyve vmx.c vmx_run: VMCS_TPR_THRESHOLD = vlapic_get_cr8';
export const KVM_THR = 'KVM vmx.c vmx_update_cr8_intercept: TPR_THRESHOLD = (irr == -1 || tpr < irr) ? 0 : irr';
export const APIC_READ = 'SDM 29.4.2 "Virtualizing Reads from the APIC-Access Page"';
export const APIC_WRITE = 'SDM 29.4.3.1 "Determining Whether a Write Access Is Virtualized"';
export const APIC_WRITE_EXIT = 'SDM 29.4.3.3 "APIC-Write VM Exits"';
export const EOI_VIRT = 'SDM 29.1.4 "EOI Virtualization"';
export const MSR_VIRT = 'SDM 29.5 "Virtualizing MSR-Based APIC Accesses"';
export const VID = 'SDM 29.2.2 "Virtual-Interrupt Delivery"';
export const PIR = 'SDM 29.6 "Posted-Interrupt Processing"';
export const BHYVE_X2 = 'bhyve vmx.c vmx_allow_x2apic_msrs';
export const APIC_WRITE_EMU = 'SDM 29.4.3.2 "APIC-Write Emulation"';
export const WINDOW_VID = 'SDM 26.7.5 "Interrupt-Window Exiting and Virtual-Interrupt Delivery"';
export const CR8_GP = 'SDM vol. 2 "MOV-Move to/from Control Registers" (#GP(0) on CR8 reserved bits 63:4)';
export const KVM_MMIO =
  'SDM appendix C "VMX Basic Exit Reasons" (49); KVM mmu.c mark_mmio_spte, vmx.c handle_ept_misconfig';
/** ICR low destination shorthand 01B (self). */
export const SELF = 1 << 18;
/** VID without APIC-register virtualization (the policies never set this up; a kvm-unit-tests-style VMCS). */
export const NO_ARV = { proc2Clear: 1 << 8 };
