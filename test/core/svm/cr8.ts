/**
 * SVM rule table: CR8 under V_INTR_MASKING (APM 15.21.2 "Virtualizing APIC.TPR": CR8 accesses use
 * V_TPR, no exit) and KVM's CR8 write intercept, set while a pending interrupt is masked.
 */
import assert from 'node:assert/strict';
import { F } from '../../../src/core/vcpu/layout.js';
import { SvmExitCode as X } from '../../../src/core/svm/exitCodes.js';
import { W8, R8, IRQ, IO } from '../../support/ops.js';
import { B, K, VTPR, KVM_CR8, BHYVE_SVM, INTR, type Row } from './table.js';

export const CR8_ROWS: readonly Row[] = [
  // V_INTR_MASKING: CR8 without exits
  {
    what: 'bhyve: MOV to CR8 writes V_TPR, no exit; the vlapic TPR follows at the next #VMEXIT',
    source: `${VTPR}; ${BHYVE_SVM}`,
    setup: B,
    op: W8(5),
    exits: [],
    tpr: 0x50,
    check: (m) => {
      assert.equal(m.s[F.V_TPR], 5);
      assert.equal(m.s[F.TPR], 0, 'vlapic not yet synced');
    },
  },
  {
    what: 'bhyve: the #VMEXIT after a CR8 write copies V_TPR into the vlapic (svm_update_virqinfo -> vlapic_set_cr8)',
    source: `${VTPR}; bhyve svm.c svm_update_virqinfo`,
    setup: B,
    pre: [W8(5)],
    op: IO(0x80),
    exits: [X.IoIo],
    tpr: 0x50,
    check: (m) => assert.equal(m.s[F.TPR], 0x50),
  },
  {
    what: 'bhyve: MOV from CR8 reads V_TPR, no exit',
    source: VTPR,
    setup: B,
    pre: [W8(9)],
    op: R8,
    exits: [],
    value: 9,
  },
  {
    what: 'KVM: MOV to CR8 with nothing pending is not intercepted',
    source: `${VTPR}; ${KVM_CR8}`,
    setup: K,
    op: W8(5),
    exits: [],
    tpr: 0x50,
    cr8WriteIntercept: false,
  },
  {
    what: 'KVM: MOV from CR8 is never intercepted',
    source: `${VTPR}; KVM svm.c init_vmcb (no CR8 read intercept)`,
    setup: K,
    pre: [W8(7), IRQ(0x41)],
    op: R8,
    exits: [],
    value: 7,
  },
  // KVM CR8 write intercept toggle
  {
    what: 'KVM: a TPR-masked pending interrupt arms the CR8 write intercept at entry',
    source: `${KVM_CR8}; ${INTR}`,
    setup: K,
    pre: [W8(5)],
    op: IRQ(0x41),
    exits: [X.Intr],
    delivered: [],
    cr8WriteIntercept: true,
  },
  {
    what: 'KVM: CR8 write still masking it exits VMEXIT_CR8_WRITE (0x18), stays armed',
    source: KVM_CR8,
    setup: K,
    pre: [W8(5), IRQ(0x41)],
    op: W8(4),
    exits: [X.Cr8Write],
    delivered: [],
    tpr: 0x40,
    cr8WriteIntercept: true,
  },
  {
    what: 'D8 KVM, CR8 write intercept armed: MOV to CR8 with bits 63:4 set exits 0x18 first, then #GP; TPR unchanged',
    source: `${KVM_CR8}; APM vol. 2 15.9 "Instruction Intercepts" (intercepts before operand-value exceptions)`,
    setup: K,
    pre: [W8(5), IRQ(0x41)],
    op: W8(0x13),
    exits: [X.Cr8Write],
    delivered: [],
    tpr: 0x50,
    check: (_m, s) => assert.equal(s.fault, '#GP'),
  },
  {
    what: 'D8 bhyve (V_TPR, no intercept): MOV to CR8 with bits 63:4 set raises #GP with no exit, V_TPR unchanged',
    source: `${VTPR}; SDM vol. 2 "MOV-Move to/from Control Registers"`,
    setup: B,
    pre: [W8(5)],
    op: W8(0x20),
    exits: [],
    tpr: 0x50,
    check: (m, s) => {
      assert.equal(s.fault, '#GP');
      assert.equal(m.s[F.V_TPR], 5);
    },
  },
  {
    what: 'KVM: CR8 write unmasking it exits 0x18 and injects; intercept disarmed',
    source: KVM_CR8,
    setup: K,
    pre: [W8(5), IRQ(0x41)],
    op: W8(3),
    exits: [X.Cr8Write],
    delivered: [0x41],
    tpr: 0x30,
    cr8WriteIntercept: false,
  },
  {
    what: 'KVM: after the injection CR8 writes are free again',
    source: KVM_CR8,
    setup: K,
    pre: [W8(5), IRQ(0x41), W8(3)],
    op: W8(7),
    exits: [],
    cr8WriteIntercept: false,
  },
  {
    what: 'KVM: an unmasked interrupt does not arm the intercept',
    source: KVM_CR8,
    setup: K,
    pre: [W8(3)],
    op: IRQ(0x41),
    exits: [X.Intr],
    delivered: [0x41],
    cr8WriteIntercept: false,
  },
  {
    what: 'bhyve: never intercepts CR8 writes, even with a masked interrupt pending',
    source: BHYVE_SVM,
    setup: B,
    pre: [W8(5), IRQ(0x41)],
    op: W8(3),
    exits: [],
    delivered: [],
    cr8WriteIntercept: false,
  },
  {
    what: 'bhyve: the masked interrupt waits for the next #VMEXIT, then is injected',
    source: `${BHYVE_SVM} (vlapic_pending_intr honours PPR; no window for a TPR-masked vector)`,
    setup: B,
    pre: [W8(5), IRQ(0x41), W8(3)],
    op: IO(0x80),
    exits: [X.IoIo],
    delivered: [0x41],
  },
];
