/**
 * VT-x rule table: APIC-write emulation (SDM 29.4.3.2): ICR writes under APIC-register virtualization
 * and virtual-interrupt delivery, self-IPI virtualization (SDM 29.1.5), the IPIs a hypervisor sends
 * for ICR writes that exit.
 */
import assert from 'node:assert/strict';
import { F } from '../../../src/core/vcpu/layout.js';
import { ApicOffset } from '../../../src/core/apic/registers.js';
import { WA } from '../../support/ops.js';
import {
  APIC_WRITE_Q,
  E,
  D_V3,
  D_KVM,
  S_V3,
  S_KVM,
  APIC_WRITE,
  APIC_WRITE_EXIT,
  PIR,
  APIC_WRITE_EMU,
  SELF,
  NO_ARV,
  type Row,
} from './table.js';

export const APIC_WRITE_ROWS: readonly Row[] = [
  // ---- issue #14 D1
  {
    what: 'D1 APIC-register virtualization: ICR-high write completes on the virtual-APIC page, bytes 2:0 cleared, no exit',
    source: APIC_WRITE_EMU,
    setup: S_KVM,
    op: WA(ApicOffset.IcrHigh, 0x01000abc),
    exits: [],
    check: (m) => assert.equal(m.s[F.ICR_HIGH] >>> 0, 0x01000000),
  },
  {
    what: 'D1 an xAPIC IPI under APICv is one APIC-write exit (ICR low), posted to the running target with no exit',
    source: `${APIC_WRITE_EMU}; ${APIC_WRITE_EXIT}; ${PIR}`,
    setup: { ...S_KVM, vcpus: 2 },
    op: { op: 'ipi', cpu: 0, to: 1, vector: 0xe1 },
    exits: [[E.ApicWrite, 0x300]],
    delivered: [0xe1],
    check: (m) => assert.deepEqual(m.snapshot(1).isr, [0xe1]),
  },
  {
    what: 'D1 without APIC-register virtualization ICR high is not virtualized: APIC-access exit',
    source: APIC_WRITE,
    setup: D_KVM,
    op: WA(ApicOffset.IcrHigh, 1 << 24),
    exits: [[E.ApicAccess, APIC_WRITE_Q(0x310)]],
  },
  // ---- issue #14 D2
  {
    what: 'D2 VID: ICR low with the self shorthand, fixed, edge is self-IPI virtualization: no exit, delivered',
    source: `${APIC_WRITE_EMU}; SDM 29.1.5 "Self-IPI Virtualization"`,
    setup: S_KVM,
    op: WA(ApicOffset.IcrLow, SELF | 0x61),
    exits: [],
    delivered: [0x61],
  },
  {
    what: 'D2 VID: a level-triggered self IPI fails the conditions: APIC-write exit, emulated to the sender itself',
    source: `${APIC_WRITE_EMU}; ${APIC_WRITE_EXIT}`,
    setup: S_V3,
    pre: [WA(ApicOffset.IcrHigh, 7 << 24)],
    op: WA(ApicOffset.IcrLow, SELF | (1 << 15) | 0x61),
    exits: [[E.ApicWrite, 0x300]],
    delivered: [0x61],
  },
  {
    what: 'D2 no VID: a self-shorthand ICR write exits and the hypervisor sends it to the sender, not the ICR-high destination',
    source: `SDM 11.6.1 "Interrupt Command Register (ICR)" (destination shorthand); bhyve vlapic.c vlapic_icrlo_write_handler`,
    setup: { ...D_V3, vcpus: 2 },
    pre: [WA(ApicOffset.IcrHigh, 1 << 24)],
    op: WA(ApicOffset.IcrLow, SELF | 0x61),
    exits: [[E.EptViolation]],
    delivered: [0x61],
    check: (m) => {
      assert.deepEqual(m.snapshot(0).isr, [0x61]);
      assert.deepEqual(m.snapshot(1).irr, []);
    },
  },
  // ---- issue #14 D3
  {
    what: 'D3 VID without APIC-register virtualization: ICR low is still virtualized (self IPI, no exit)',
    source: APIC_WRITE,
    setup: { ...S_KVM, overrides: NO_ARV },
    op: WA(ApicOffset.IcrLow, SELF | 0x71),
    exits: [],
    delivered: [0x71],
  },
  {
    what: 'D3 VID without APIC-register virtualization: a fixed IPI by ICR low is an APIC-write exit, not an APIC-access exit',
    source: `${APIC_WRITE}; ${APIC_WRITE_EXIT}`,
    setup: { ...S_KVM, vcpus: 2, overrides: NO_ARV },
    op: { op: 'ipi', cpu: 0, to: 1, vector: 0xe1 },
    exits: [
      [E.ApicAccess, APIC_WRITE_Q(0x310)],
      [E.ApicWrite, 0x300],
    ],
    delivered: [0xe1],
  },
  {
    what: 'D3 VID without APIC-register virtualization: other writes (LVT timer) are APIC-access exits',
    source: APIC_WRITE,
    setup: { ...S_KVM, overrides: NO_ARV },
    op: WA(ApicOffset.LvtTimer, 0xef),
    exits: [[E.ApicAccess, APIC_WRITE_Q(0x320)]],
  },
];
