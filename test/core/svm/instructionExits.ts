/**
 * SVM rule table: HLT (and what wakes a halted vCPU) and the MSR intercepts of x2APIC accesses.
 */
import assert from 'node:assert/strict';
import { F } from '../../../src/core/vcpu/layout.js';
import { SvmExitCode as X } from '../../../src/core/svm/exitCodes.js';
import { W8, IRQ, HLT, WRMSR, RDMSR } from '../../support/ops.js';
import { B, K, type Row } from './table.js';

export const INSTRUCTION_EXIT_ROWS: readonly Row[] = [
  // HLT
  {
    what: 'HLT -> VMEXIT_HLT (0x78), the vCPU sleeps',
    source: 'APM vol. 2 15.9 "Instruction Intercepts" (HLT); bhyve svm.c / KVM halt_interception',
    setup: B,
    op: HLT,
    exits: [X.Hlt],
    halted: true,
  },
  {
    what: 'KVM: HLT -> VMEXIT_HLT',
    source: 'APM vol. 2 15.9 "Instruction Intercepts" (HLT)',
    setup: K,
    op: HLT,
    exits: [X.Hlt],
    halted: true,
  },
  {
    what: 'an interrupt wakes the halted vCPU, no further exit, injected',
    source: 'bhyve vmm.c vm_handle_hlt; KVM kvm_vcpu_block',
    setup: B,
    pre: [HLT],
    op: IRQ(0x41),
    exits: [],
    delivered: [0x41],
    halted: false,
  },
  // MSR
  {
    what: 'bhyve x2APIC: RDMSR TPR -> VMEXIT_MSR (0x7C)',
    source: 'APM vol. 2 15.11 "MSR Intercepts"',
    setup: { ...B, x2apic: true },
    pre: [W8(4)],
    op: RDMSR(0x808),
    exits: [X.Msr],
    value: 0x40,
  },
  {
    what: 'KVM x2APIC: WRMSR TPR -> VMEXIT_MSR, emulated, V_TPR follows',
    source: 'APM vol. 2 15.11 "MSR Intercepts"',
    setup: { ...K, x2apic: true },
    op: WRMSR(0x808, 0x30),
    exits: [X.Msr],
    tpr: 0x30,
    check: (m) => assert.equal(m.s[F.V_TPR], 3),
  },
  {
    what: 'KVM x2APIC: WRMSR EOI -> VMEXIT_MSR, ISR cleared',
    source: 'APM vol. 2 15.11 "MSR Intercepts"',
    setup: { ...K, x2apic: true },
    pre: [IRQ(0x41)],
    op: WRMSR(0x80b, 0),
    exits: [X.Msr],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
];
