/**
 * SVM rule table: interrupts into the guest: the INTR intercept that kicks a running vCPU (APM
 * 15.21.3) and the VINTR interrupt window (APM 15.21.4).
 */
import assert from 'node:assert/strict';
import { F, SvmIntercept } from '../../../src/core/vcpu/layout.js';
import { SvmExitCode as X } from '../../../src/core/svm/exitCodes.js';
import { W8, IRQ, EOI, STI, CLI } from '../../support/ops.js';
import { B, K, KVM_CR8, INTR, VINTR, type Row } from './table.js';

export const INTERRUPT_ROWS: readonly Row[] = [
  // INTR kick
  {
    what: 'bhyve: interrupt to a running vCPU -> VMEXIT_INTR (0x60) kick, injected at VMRUN',
    source: `${INTR}; bhyve vmm.c vcpu_notify_event`,
    setup: B,
    op: IRQ(0x51),
    exits: [X.Intr],
    delivered: [0x51],
  },
  {
    what: 'KVM: interrupt to a running vCPU -> VMEXIT_INTR kick',
    source: INTR,
    setup: K,
    op: IRQ(0xd1),
    exits: [X.Intr],
    delivered: [0xd1],
  },
  // VINTR window
  {
    what: 'bhyve: IF=0: kick, then V_IRQ + V_IGN_TPR + VINTR intercept for the window',
    source: VINTR,
    setup: B,
    pre: [CLI],
    op: IRQ(0x41),
    exits: [X.Intr],
    delivered: [],
    check: (m) => {
      assert.equal(m.s[F.V_IRQ], 1);
      assert.equal(m.s[F.V_IGN_TPR], 1);
      assert.ok((m.s[F.SVM_INTERCEPTS] & SvmIntercept.VINTR) !== 0);
    },
  },
  {
    what: 'bhyve: STI opens the window: VMEXIT_VINTR (0x64), injected',
    source: VINTR,
    setup: B,
    pre: [CLI, IRQ(0x41)],
    op: STI,
    exits: [X.Vintr],
    delivered: [0x41],
    check: (m) =>
      assert.ok((m.s[F.SVM_INTERCEPTS] & SvmIntercept.VINTR) !== 0, 'bhyve re-arms the window after the injection'),
  },
  {
    what: 'KVM: STI opens the window: VMEXIT_VINTR',
    source: VINTR,
    setup: K,
    pre: [CLI, IRQ(0x41)],
    op: STI,
    exits: [X.Vintr],
    delivered: [0x41],
  },
  {
    what: 'bhyve: after every injection the window stays armed: STI in the handler before EOI exits VMEXIT_VINTR',
    source: 'bhyve svm.c svm_inj_interrupts (need_intr_window = 1 after svm_eventinject)',
    setup: B,
    pre: [IRQ(0x51)],
    op: STI,
    exits: [X.Vintr],
    delivered: [],
    check: (m) => {
      assert.equal(m.s[F.V_IRQ], 0);
      assert.equal(m.s[F.SVM_INTERCEPTS] & SvmIntercept.VINTR, 0);
    },
  },
  {
    what: 'bhyve: the EOI exit disarms that window (nothing pending at the next VMRUN), IRET does not exit',
    source: 'bhyve svm.c svm_inj_interrupts (disable_intr_window_exiting)',
    setup: B,
    pre: [IRQ(0x51), EOI],
    op: { op: 'iret', cpu: 0 },
    exits: [],
  },
  {
    what: 'KVM: no window after an injection with nothing else pending: STI in the handler does not exit',
    source: 'KVM x86.c kvm_check_and_inject_events (enable_irq_window only if kvm_cpu_has_injectable_intr)',
    setup: K,
    pre: [IRQ(0x51)],
    op: STI,
    exits: [],
    delivered: [],
  },
  {
    what: 'KVM: a TPR-masked interrupt gets no window: STI does not exit',
    source: `${VINTR}; ${KVM_CR8}`,
    setup: K,
    pre: [W8(6), CLI, IRQ(0x41)],
    op: STI,
    exits: [],
    delivered: [],
  },
];
