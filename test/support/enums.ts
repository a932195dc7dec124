import { Counter } from '../../src/core/vcpu/counters.js';
import { F } from '../../src/core/vcpu/layout.js';

/**
 * Const enums of src/core by member name, for tests that walk them (a const enum has no object at
 * run time). Each mapped type refuses a missing member or a name bound to another member's value.
 */

/** The fields of the per-vCPU state (src/core/vcpu/layout.ts F), STRIDE aside. */
export const FIELDS: { readonly [K in Exclude<keyof typeof F, 'STRIDE'>]: (typeof F)[K] } = {
  IRR: F.IRR,
  ISR: F.ISR,
  TMR: F.TMR,
  PIR: F.PIR,
  EOI_EXIT: F.EOI_EXIT,
  TPR: F.TPR,
  PPR: F.PPR,
  SVI: F.SVI,
  RVI: F.RVI,
  TPR_THRESHOLD: F.TPR_THRESHOLD,
  PIN: F.PIN,
  PROC: F.PROC,
  PROC2: F.PROC2,
  EXIT_CTLS: F.EXIT_CTLS,
  FLAGS: F.FLAGS,
  STK_TOP: F.STK_TOP,
  STK: F.STK,
  ESR: F.ESR,
  ICR_LOW: F.ICR_LOW,
  ICR_HIGH: F.ICR_HIGH,
  SVR: F.SVR,
  LDR: F.LDR,
  LVT_TIMER: F.LVT_TIMER,
  TIMER_INITIAL: F.TIMER_INITIAL,
  TIMER_DIVIDE: F.TIMER_DIVIDE,
  PIR_ON: F.PIR_ON,
  V_TPR: F.V_TPR,
  V_IRQ: F.V_IRQ,
  V_INTR_PRIO: F.V_INTR_PRIO,
  V_IGN_TPR: F.V_IGN_TPR,
  V_INTR_MASKING: F.V_INTR_MASKING,
  SVM_INTERCEPTS: F.SVM_INTERCEPTS,
  V_INTR_VECTOR: F.V_INTR_VECTOR,
  VCPU_ID: F.VCPU_ID,
  GUEST_INDEX: F.GUEST_INDEX,
  APIC_ID: F.APIC_ID,
  INTR_SHADOW: F.INTR_SHADOW,
  PENDING_INJECT: F.PENDING_INJECT,
  HV: F.HV,
};

/** The machine's counters per vCPU (src/core/vcpu/counters.ts Counter), COUNT aside. */
export const COUNTERS: { readonly [K in Exclude<keyof typeof Counter, 'COUNT'>]: (typeof Counter)[K] } = {
  RAISED: Counter.RAISED,
  COALESCED: Counter.COALESCED,
  INJECTED: Counter.INJECTED,
  VIRTUAL_DELIVERED: Counter.VIRTUAL_DELIVERED,
  DELIVERED: Counter.DELIVERED,
  CR8_READS: Counter.CR8_READS,
  CR8_WRITES: Counter.CR8_WRITES,
  TPR_MMIO_WRITES: Counter.TPR_MMIO_WRITES,
  TPR_MSR_WRITES: Counter.TPR_MSR_WRITES,
  EOIS: Counter.EOIS,
  IPIS_SENT: Counter.IPIS_SENT,
  POSTED: Counter.POSTED,
  ENTRY_FAILURES: Counter.ENTRY_FAILURES,
};
