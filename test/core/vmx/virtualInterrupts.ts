/**
 * VT-x rule table: Interrupts into the guest: EOI virtualization (SDM 29.1.4), external-interrupt
 * exits and posted interrupts (SDM 29.6), the interrupt window and its interplay with virtual-
 * interrupt delivery (SDM 26.7.5, 29.2).
 */
import assert from 'node:assert/strict';
import { F } from '../../../src/core/vcpu/layout.js';
import { Slot } from '../../../src/core/vcpu/exits.js';
import { vecTest } from '../../../src/core/apic/vectors.js';
import { ProcBased } from '../../../src/core/vmx/controls.js';
import { W8, IRQ, EOI, STI, CLI, IRET, CPUID } from '../../support/ops.js';
import { E, D_V3, D_121, D_KVM, S_V3, S_KVM, EOI_VIRT, VID, PIR, WINDOW_VID, type Row } from './table.js';

export const VIRTUAL_INTERRUPT_ROWS: readonly Row[] = [
  // ---- EOI virtualization
  {
    what: 'VID: edge EOI virtualized, no exit, VISR cleared, SVI = 0',
    source: EOI_VIRT,
    setup: S_V3,
    pre: [IRQ(0x41)],
    op: EOI,
    exits: [],
    check: (m) => {
      assert.deepEqual(m.snapshot(0).isr, []);
      assert.equal(m.s[F.SVI], 0);
    },
  },
  {
    what: 'VID: level-triggered EOI exits VIRTUALIZED_EOI with the vector (EOI-exit bitmap set by bhyve vmx_set_tmr)',
    source: `${EOI_VIRT}; bhyve vmx.c vmx_set_tmr`,
    setup: S_V3,
    pre: [IRQ(0x41, true)],
    op: EOI,
    exits: [[E.VirtualizedEoi, 0x41]],
    check: (m) => {
      assert.deepEqual(m.snapshot(0).isr, []);
      assert.ok(vecTest(m.s, F.EOI_EXIT, 0x41));
    },
  },
  {
    what: 'VID: nested EOI pops SVI to the next in-service vector',
    source: EOI_VIRT,
    setup: S_KVM,
    pre: [IRQ(0x41), STI, IRQ(0x81)],
    op: EOI,
    exits: [],
    ppr: 0x40,
    check: (m) => {
      assert.equal(m.s[F.SVI], 0x41);
      assert.deepEqual(m.snapshot(0).isr, [0x41]);
    },
  },
  {
    what: 'VID: EOI unmasks a pending interrupt, delivered at IRET without an exit',
    source: `${EOI_VIRT}; ${VID}`,
    setup: S_V3,
    pre: [IRQ(0x51), IRQ(0x45), EOI],
    op: IRET,
    exits: [],
    delivered: [0x45],
  },
  // ---- external interrupts, posted interrupts
  {
    what: 'running vCPU without posted interrupts: host IPI kick -> EXTERNAL_INTERRUPT, injected at entry',
    source: 'SDM 25.2 "Other Causes of VM Exits" (external-interrupt exiting); bhyve vmm.c vcpu_notify_event',
    setup: D_V3,
    op: IRQ(0x51),
    exits: [[E.ExternalInterrupt, 0]],
    delivered: [0x51],
    ppr: 0x50,
  },
  {
    what: 'posted interrupt to a running vCPU: no exit, delivered by the CPU',
    source: `${PIR}; ${VID}`,
    setup: S_V3,
    op: IRQ(0x51),
    exits: [],
    delivered: [0x51],
    ppr: 0x50,
    check: (m) => {
      assert.equal(m.s[F.PIR_ON], 0);
      assert.equal(m.s[F.SVI], 0x51);
    },
  },
  {
    what: 'VID without posted interrupts (use_apic_pir=0): kick exit, RVI delivered after entry',
    source: `${VID}; bhyve vmx.c vmx_inject_pir`,
    setup: { ...S_V3, tunables: { 'hw.vmm.vmx.use_apic_pir': 0 } },
    op: IRQ(0x51),
    exits: [[E.ExternalInterrupt, 0]],
    delivered: [0x51],
  },
  {
    what: 'KVM APICv: posted interrupt, no exit',
    source: PIR,
    setup: S_KVM,
    op: IRQ(0xd1),
    exits: [],
    delivered: [0xd1],
  },
  // ---- interrupt window
  {
    what: 'IF=0: the kick cannot inject; interrupt-window exiting is requested',
    source:
      'SDM 24.6.2 "Processor-Based VM-Execution Controls" (interrupt-window exiting); bhyve vmx.c vmx_inject_interrupts cantinject',
    setup: D_V3,
    pre: [CLI],
    op: IRQ(0x41),
    exits: [[E.ExternalInterrupt, 0]],
    delivered: [],
    check: (m) => assert.ok((m.s[F.PROC] & ProcBased.InterruptWindowExiting) !== 0),
  },
  {
    what: 'STI opens the window: INTERRUPT_WINDOW exit and injection',
    source: 'SDM 25.2 "Other Causes of VM Exits" (interrupt-window exiting)',
    setup: D_V3,
    pre: [CLI, IRQ(0x41)],
    op: STI,
    exits: [[E.InterruptWindow, 0]],
    delivered: [0x41],
    check: (m) => assert.equal(m.s[F.PROC] & ProcBased.InterruptWindowExiting, 0),
  },
  {
    what: 'KVM: STI opens the window: INTERRUPT_WINDOW exit',
    source: 'SDM 25.2 "Other Causes of VM Exits"; KVM vmx.c vmx_enable_irq_window',
    setup: D_KVM,
    pre: [CLI, IRQ(0x41)],
    op: STI,
    exits: [[E.InterruptWindow, 0]],
    delivered: [0x41],
  },
  {
    what: 'bhyve 12.1: STI opens the window',
    source: 'SDM 25.2 "Other Causes of VM Exits"',
    setup: D_121,
    pre: [CLI, IRQ(0x41)],
    op: STI,
    exits: [[E.InterruptWindow, 0]],
    delivered: [0x41],
  },
  {
    what: 'a TPR-masked interrupt needs no window: STI does not exit',
    source: 'bhyve vmx.c vmx_inject_interrupts (vlapic_pending_intr honours PPR)',
    setup: D_V3,
    pre: [W8(6), CLI, IRQ(0x41)],
    op: STI,
    exits: [],
    delivered: [],
  },
  {
    what: 'VID: STI delivers the recognized virtual interrupt with no exit',
    source: 'SDM 29.2.1 "Evaluation of Pending Virtual Interrupts" (delivered when RFLAGS.IF = 1)',
    setup: S_V3,
    pre: [CLI, IRQ(0x41)],
    op: STI,
    exits: [],
    delivered: [0x41],
  },
  // ---- issue #14 D4
  {
    what: 'D4 VID with interrupt-window exiting set in the VMCS: the window exit comes right after VM entry (at launch)',
    source: `${WINDOW_VID}; SDM 29.2.1 "Evaluation of Pending Virtual Interrupts"`,
    setup: { ...S_KVM, overrides: { procSet: ProcBased.InterruptWindowExiting } },
    op: CPUID,
    exits: [[E.Cpuid, 0]],
    check: (m) => {
      assert.equal(m.exitCount(0, Slot.INTERRUPT_WINDOW), 1, 'the launch exited on the window');
      assert.equal(m.s[F.PROC] & ProcBased.InterruptWindowExiting, 0, 'the handler cleared the control');
    },
  },
];
