/**
 * SVM rule table: xAPIC accesses: the nested page fault of an unmapped xAPIC page, and AVIC (APM 15.29
 * "Advanced Virtual Interrupt Controller": the accesses it accelerates, traps or faults).
 */
import assert from 'node:assert/strict';
import { F } from '../../../src/core/vcpu/layout.js';
import { ApicOffset } from '../../../src/core/apic/registers.js';
import { SvmExitCode as X } from '../../../src/core/svm/exitCodes.js';
import { AMD_AVIC } from '../../support/profiles.js';
import { W8, IRQ, EOI, hltOn, CPUID, IO, WA, RA, WRMSR, IPI } from '../../support/ops.js';
import { B, K, AV, VTPR, AVIC, NPF, type Row } from './table.js';

export const APIC_ACCESS_ROWS: readonly Row[] = [
  // NPF for xAPIC MMIO
  {
    what: 'bhyve: xAPIC TPR write -> VMEXIT_NPF (0x400), emulated',
    source: `${NPF}; bhyve svm.c svm_handle_inst_emul`,
    setup: B,
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [X.Npf],
    tpr: 0x30,
    check: (m) => assert.equal(m.s[F.V_TPR], 3),
  },
  {
    what: 'bhyve: xAPIC PPR read -> VMEXIT_NPF',
    source: NPF,
    setup: B,
    pre: [IRQ(0x61)],
    op: RA(ApicOffset.Ppr),
    exits: [X.Npf],
    value: 0x60,
  },
  {
    what: 'KVM: xAPIC EOI -> VMEXIT_NPF, ISR cleared',
    source: NPF,
    setup: K,
    pre: [IRQ(0x41)],
    op: EOI,
    exits: [X.Npf],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'I/O -> VMEXIT_IOIO (0x7B)',
    source: 'APM vol. 2 15.10 "IOIO Intercepts"',
    setup: B,
    op: IO(0x1f7),
    exits: [X.IoIo],
  },
  {
    what: 'CPUID -> VMEXIT_CPUID (0x72)',
    source: 'APM vol. 2 15.9 "Instruction Intercepts"',
    setup: K,
    op: CPUID,
    exits: [X.Cpuid],
  },
  // AVIC
  {
    what: 'AVIC: xAPIC TPR write accelerated, no exit',
    source: AVIC,
    setup: AV,
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [],
    tpr: 0x30,
  },
  {
    what: 'AVIC: xAPIC TPR read accelerated',
    source: AVIC,
    setup: AV,
    pre: [W8(6)],
    op: RA(ApicOffset.Tpr),
    exits: [],
    value: 0x60,
  },
  { what: 'AVIC: MOV to CR8 no exit', source: `${VTPR}; ${AVIC}`, setup: AV, op: W8(4), exits: [], tpr: 0x40 },
  {
    what: 'AVIC: interrupt to a running vCPU through the doorbell, no exit',
    source: `${AVIC} (doorbell)`,
    setup: AV,
    op: IRQ(0x51),
    exits: [],
    delivered: [0x51],
  },
  {
    what: 'AVIC: lowering V_TPR delivers a masked pending interrupt with no exit',
    source: AVIC,
    setup: AV,
    pre: [W8(6), IRQ(0x41)],
    op: W8(2),
    exits: [],
    delivered: [0x41],
  },
  {
    what: 'AVIC: edge EOI accelerated, no exit',
    source: AVIC,
    setup: AV,
    pre: [IRQ(0x41)],
    op: EOI,
    exits: [],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'AVIC: level-triggered EOI -> VMEXIT_AVIC_NOACCEL (0x402) trap',
    source: `${AVIC} (EOI of a level-triggered vector is not accelerated)`,
    setup: AV,
    pre: [IRQ(0x41, true)],
    op: EOI,
    exits: [X.AvicNoAccel],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'AVIC: timer current-count read -> VMEXIT_AVIC_NOACCEL',
    source: AVIC,
    setup: AV,
    op: RA(ApicOffset.TimerCurrentCount),
    exits: [X.AvicNoAccel],
  },
  {
    what: 'AVIC: SVR write -> VMEXIT_AVIC_NOACCEL',
    source: AVIC,
    setup: AV,
    op: WA(ApicOffset.Svr, 0x1ff),
    exits: [X.AvicNoAccel],
  },
  {
    what: 'AVIC: IPI to a running target, no exit on either side',
    source: `${AVIC} (ICR write, doorbell)`,
    setup: { ...AV, vcpus: 2 },
    op: IPI(1, 0xe1),
    exits: [],
    delivered: [0xe1],
  },
  {
    what: 'AVIC: IPI to a halted target -> VMEXIT_AVIC_INCOMPLETE_IPI (0x401) on the sender, target woken',
    source: `${AVIC}; APM appendix C AVIC_INCOMPLETE_IPI; KVM avic_incomplete_ipi_interception`,
    setup: { ...AV, vcpus: 2 },
    pre: [hltOn(1)],
    op: IPI(1, 0xe1),
    exits: [X.AvicIncompleteIpi],
    delivered: [0xe1],
    check: (m) => {
      assert.ok(!m.isHalted(1));
      assert.deepEqual(m.snapshot(1).isr, [0xe1]);
    },
  },
  {
    what: 'kvm_amd.avic=0 (default): no AVIC, xAPIC TPR write -> NPF',
    source: 'KVM svm.c avic module parameter (default off)',
    setup: { profile: AMD_AVIC, policy: 'kvm' },
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [X.Npf],
  },
  {
    what: 'bhyve has no AVIC support: NPF on an AVIC-capable CPU',
    source: 'bhyve svm.c (no AVIC)',
    setup: { profile: AMD_AVIC, policy: 'bhyve-tpr-v3' },
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [X.Npf],
  },
  {
    what: 'AVIC without x2AVIC: an x2APIC guest traps TPR WRMSR as VMEXIT_MSR',
    source: 'APM vol. 2 15.29 (x2AVIC is CPUID Fn8000_000A EDX[18])',
    setup: { ...AV, x2apic: true },
    op: WRMSR(0x808, 0x30),
    exits: [X.Msr],
  },
];
