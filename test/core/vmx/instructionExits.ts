/**
 * VT-x rule table: Instructions that exit whatever the APIC controls: HLT (and what wakes a halted
 * vCPU), I/O and CPUID (SDM 25.1.2, 25.1.3).
 */
import { W8, IRQ, CLI, HLT, CPUID, IO } from '../../support/ops.js';
import { E, D_V3, D_121, D_KVM, S_V3, S_KVM, PIR, type Row } from './table.js';

export const INSTRUCTION_EXIT_ROWS: readonly Row[] = [
  // ---- HLT
  {
    what: 'HLT exits and the vCPU sleeps',
    source: 'SDM 25.1.3 (HLT exiting); bhyve vmm.c vm_handle_hlt',
    setup: D_V3,
    op: HLT,
    exits: [[E.Hlt, 0]],
    halted: true,
  },
  {
    what: 'an interrupt to a halted vCPU wakes it with no further exit and is injected',
    source: 'bhyve vmm.c vm_handle_hlt / vcpu_notify_event',
    setup: D_V3,
    pre: [HLT],
    op: IRQ(0x41),
    exits: [],
    delivered: [0x41],
    halted: false,
  },
  {
    what: 'a TPR-masked interrupt does not wake a halted vCPU',
    source: 'bhyve vmm.c vm_handle_hlt: vlapic_pending_intr honours PPR',
    setup: D_V3,
    pre: [W8(6), HLT],
    op: IRQ(0x41),
    exits: [],
    delivered: [],
    halted: true,
  },
  {
    what: 'HLT with IF=0: an interrupt does not wake it',
    source: 'bhyve vmm.c vm_handle_hlt(intr_disabled); KVM kvm_arch_vcpu_runnable',
    setup: D_KVM,
    pre: [CLI, HLT],
    op: IRQ(0x41),
    exits: [],
    delivered: [],
    halted: true,
  },
  {
    what: 'posted interrupt wakes a halted APICv vCPU and is delivered',
    source: `${PIR}; bhyve vmx.c vmx_pending_intr`,
    setup: S_V3,
    pre: [HLT],
    op: IRQ(0x61),
    exits: [],
    delivered: [0x61],
    halted: false,
  },
  {
    what: 'HLT with IF=0 under APICv: a posted interrupt does not wake it',
    source: `${PIR}; bhyve vmm.c vm_handle_hlt(intr_disabled); KVM kvm_arch_vcpu_runnable`,
    setup: S_V3,
    pre: [CLI, HLT],
    op: IRQ(0x61),
    exits: [],
    delivered: [],
    halted: true,
  },
  // ---- unconditional / I/O
  {
    what: 'I/O instruction exits IO_INSTRUCTION, port in qualification bits 31:16',
    source: 'SDM 25.1.3 (unconditional I/O exiting / I/O bitmaps); SDM 27.2.1 table 27-5',
    setup: D_V3,
    op: IO(0x1f7),
    exits: [[E.IoInstruction, 0x1f7 << 16]],
  },
  {
    what: 'I/O instruction under APICv still exits',
    source: 'SDM 25.1.3',
    setup: S_KVM,
    op: IO(0x70),
    exits: [[E.IoInstruction, 0x70 << 16]],
  },
  {
    what: 'CPUID exits unconditionally',
    source: 'SDM 25.1.2 "Instructions That Cause VM Exits Unconditionally"',
    setup: D_121,
    op: CPUID,
    exits: [[E.Cpuid, 0]],
  },
  {
    what: 'CPUID exits unconditionally under APICv',
    source: 'SDM 25.1.2 "Instructions That Cause VM Exits Unconditionally"',
    setup: S_V3,
    op: CPUID,
    exits: [[E.Cpuid, 0]],
  },
];
