/**
 * The SVM rule table's columns, setups and citations, shared by its topic files (cr8.ts,
 * interrupts.ts, instructionExits.ts, apicAccess.ts), which table.test.ts runs. A row: which
 * #VMEXITs (AMD64 APM vol. 2 appendix C "SVM Intercept Exit Codes") a guest operation causes under
 * bhyve and KVM, and the TPR / delivery state it leaves. Sections are the APM vol. 2 chapter 15
 * "Secure Virtual Machine" titles (15.21 "Interrupt and Local APIC Support", 15.29 "Advanced Virtual
 * Interrupt Controller"), plus the hypervisor functions.
 */
import { AMD_AVIC, AMD_NO_AVIC } from '../../support/profiles.js';
import type { MachineSetup } from '../../support/machines.js';
import type { RuleRow } from '../../support/ruleRows.js';

export const B: MachineSetup = { profile: AMD_NO_AVIC, policy: 'bhyve-tpr-v3' };
export const K: MachineSetup = { profile: AMD_NO_AVIC, policy: 'kvm' };
export const AV: MachineSetup = { profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } };

export const VTPR = 'APM vol. 2 15.21.2 "Virtualizing APIC.TPR" (V_INTR_MASKING = 1: CR8 accesses use V_TPR)';
export const KVM_CR8 = 'KVM svm.c svm_update_cr8_intercept: CR8 write intercept iff irr != -1 && tpr >= irr';
export const BHYVE_SVM = 'bhyve svm.c vmcb_init (no CR8 intercept) / svm_inj_interrupts';
export const INTR = 'APM vol. 2 15.21.3 "INTR Intercept"';
export const VINTR =
  'APM vol. 2 15.21.4 "Virtual Interrupt Intercept" (VINTR); bhyve svm.c enable_intr_window_exiting, KVM svm_enable_irq_window';
export const AVIC = 'APM vol. 2 15.29 "Advanced Virtual Interrupt Controller" (AVIC register access table)';
export const NPF =
  'APM vol. 2 15.25.6 "Nested versus Guest Page Faults, Fault Ordering" (#VMEXIT(NPF)); the xAPIC page is not mapped';

export interface Row extends RuleRow<number> {
  readonly cr8WriteIntercept?: boolean;
}
