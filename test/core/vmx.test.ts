/**
 * VT-x exits, table-driven: for a guest operation under given controls (chosen by policy and
 * profile), which VM exits happen with which basic exit reason (Intel SDM vol. 3D appendix C "VMX
 * Basic Exit Reasons") and qualification, and what TPR / PPR / delivery state results. Sections are
 * numbered as in the 2016 SDM edition (chapter 25 "VMX Non-Root Operation", 26 "VM Entries", 27 "VM
 * Exits", 29 "APIC Virtualization and Virtual Interrupts"); titles are given because numbers shift.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { F, Flag } from '../../src/core/vcpu/layout.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import { runScript, type TraceStep } from '../../src/core/script/runScript.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import { ApicOffset } from '../../src/core/apic/registers.js';
import { vecHighest, vecSet, vecTest } from '../../src/core/apic/vectors.js';
import { syncPirToIrr } from '../../src/core/vmx/virtualInterrupts.js';
import { ExitReason, crAccessQualification, CrAccessType } from '../../src/core/vmx/exitReasons.js';
import { ProcBased } from '../../src/core/vmx/controls.js';
import { DESKTOP, NO_TPR_SHADOW, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

// ------------------------------------------------------------------ helpers

type Setup = MachineSetup;
const build = buildMachine;

const W8 = (value: number): ScriptOp => ({ op: 'write_cr8', cpu: 0, value });
const R8: ScriptOp = { op: 'read_cr8', cpu: 0 };
const IRQ = (vector: number, level = false, cpu = 0): ScriptOp => ({ op: 'interrupt', cpu, vector, level });
const EOI: ScriptOp = { op: 'eoi', cpu: 0 };
const STI: ScriptOp = { op: 'sti', cpu: 0 };
const CLI: ScriptOp = { op: 'cli', cpu: 0 };
const IRET: ScriptOp = { op: 'iret', cpu: 0 };
const HLT: ScriptOp = { op: 'hlt', cpu: 0 };
const CPUID: ScriptOp = { op: 'cpuid', cpu: 0 };
const IO = (port: number): ScriptOp => ({ op: 'io', cpu: 0, port });
const WA = (offset: number, value: number): ScriptOp => ({ op: 'write_apic', cpu: 0, offset, value });
const RA = (offset: number): ScriptOp => ({ op: 'read_apic', cpu: 0, offset });
const WRMSR = (msr: number, low: number, high = 0): ScriptOp => ({ op: 'wrmsr', cpu: 0, msr, low, high });
const RDMSR = (msr: number): ScriptOp => ({ op: 'rdmsr', cpu: 0, msr });

const CR8_WRITE_Q = crAccessQualification(8, CrAccessType.MovToCr, 0);
const CR8_READ_Q = crAccessQualification(8, CrAccessType.MovFromCr, 0);
const APIC_READ_Q = (offset: number): number => offset; // access type 0: linear read
const APIC_WRITE_Q = (offset: number): number => offset | (1 << 12); // access type 1: linear write

const E = ExitReason;
type ExpectedExit = readonly [reason: number, qualification?: number];

interface Row {
  readonly what: string;
  readonly source: string;
  readonly setup: Setup;
  readonly pre?: readonly ScriptOp[];
  readonly op: ScriptOp;
  readonly exits: readonly ExpectedExit[];
  readonly tpr?: number;
  /** PPR field of the (virtual-)APIC page after the step. */
  readonly ppr?: number;
  readonly delivered?: readonly number[];
  readonly value?: number;
  readonly fault?: string;
  readonly threshold?: number;
  readonly halted?: boolean;
  readonly check?: (m: Machine, s: TraceStep) => void;
}

const D_V3: Setup = { profile: DESKTOP, policy: 'bhyve-tpr-v3' };
const D_V2: Setup = { profile: DESKTOP, policy: 'bhyve-tpr-v2' };
const D_V1: Setup = { profile: DESKTOP, policy: 'bhyve-tpr-v1' };
const D_121: Setup = { profile: DESKTOP, policy: 'bhyve-12.1' };
const D_KVM: Setup = { profile: DESKTOP, policy: 'kvm' };
const S_V3: Setup = { profile: SERVER, policy: 'bhyve-tpr-v3' };
const S_KVM: Setup = { profile: SERVER, policy: 'kvm' };

const TPR_VIRT = 'SDM 29.1.2 "TPR Virtualization"';
const CR8_VIRT = 'SDM 29.3 "Virtualizing CR8-Based TPR Accesses"';
const COND = 'SDM 25.1.3 "Instructions That Cause VM Exits Conditionally"';
const CRQ = 'SDM 27.2.1 table 27-3 "Exit Qualification for Control-Register Accesses"';
const BHYVE_THR = 'bhyve vmx.c vmx_run: VMCS_TPR_THRESHOLD = vlapic_get_cr8';
const KVM_THR = 'KVM vmx.c vmx_update_cr8_intercept: TPR_THRESHOLD = (irr == -1 || tpr < irr) ? 0 : irr';
const APIC_READ = 'SDM 29.4.2 "Virtualizing Reads from the APIC-Access Page"';
const APIC_WRITE = 'SDM 29.4.3.1 "Determining Whether a Write Access Is Virtualized"';
const APIC_WRITE_EXIT = 'SDM 29.4.3.3 "APIC-Write VM Exits"';
const EOI_VIRT = 'SDM 29.1.4 "EOI Virtualization"';
const MSR_VIRT = 'SDM 29.5 "Virtualizing MSR-Based APIC Accesses"';
const VID = 'SDM 29.2.2 "Virtual-Interrupt Delivery"';
const PIR = 'SDM 29.6 "Posted-Interrupt Processing"';
const BHYVE_X2 = 'bhyve vmx.c vmx_allow_x2apic_msrs';
const APIC_WRITE_EMU = 'SDM 29.4.3.2 "APIC-Write Emulation"';
const WINDOW_VID = 'SDM 26.7.5 "Interrupt-Window Exiting and Virtual-Interrupt Delivery"';
const CR8_GP = 'SDM vol. 2 "MOV-Move to/from Control Registers" (#GP(0) on CR8 reserved bits 63:4)';
const KVM_MMIO = 'SDM appendix C "VMX Basic Exit Reasons" (49); KVM mmu.c mark_mmio_spte, vmx.c handle_ept_misconfig';
/** ICR low destination shorthand 01B (self). */
const SELF = 1 << 18;
/** VID without APIC-register virtualization (the policies never set this up; a kvm-unit-tests-style VMCS). */
const NO_ARV = { proc2Clear: 1 << 8 };

const ROWS: readonly Row[] = [
  // ---- CR8 load / store exiting
  {
    what: 'MOV to CR8 exits with CR_ACCESS, CR 8, MOV to CR',
    source: `${COND}; ${CRQ}`,
    setup: D_121,
    op: W8(2),
    exits: [[E.CrAccess, CR8_WRITE_Q]],
    tpr: 0x20,
    ppr: 0x20,
  },
  {
    what: 'MOV from CR8 exits with CR_ACCESS, CR 8, MOV from CR',
    source: `${COND}; ${CRQ}`,
    setup: D_121,
    pre: [W8(6)],
    op: R8,
    exits: [[E.CrAccess, CR8_READ_Q]],
    value: 6,
  },
  {
    what: 'no TPR shadow on the CPU: every policy keeps CR8-load exiting',
    source: `${COND}; bhyve vmx.c vmx_modinit (tpr_shadowing needs the capability)`,
    setup: { profile: NO_TPR_SHADOW, policy: 'bhyve-tpr-v3' },
    op: W8(3),
    exits: [[E.CrAccess, CR8_WRITE_Q]],
    tpr: 0x30,
  },
  {
    what: 'no TPR shadow on the CPU: KVM exits on CR8 reads',
    source: COND,
    setup: { profile: NO_TPR_SHADOW, policy: 'kvm' },
    op: R8,
    exits: [[E.CrAccess, CR8_READ_Q]],
    value: 0,
  },
  {
    what: 'hw.vmm.vmx.use_tpr_shadowing=0 brings CR8 exits back',
    source: `${COND}; bhyve vmx.c vmx_modinit TUNABLE_INT_FETCH use_tpr_shadowing`,
    setup: { ...D_V3, tunables: { 'hw.vmm.vmx.use_tpr_shadowing': 0 } },
    op: W8(1),
    exits: [[E.CrAccess, CR8_WRITE_Q]],
  },
  // ---- TPR shadow
  {
    what: 'review v1: MOV to CR8 writes VTPR without an exit',
    source: CR8_VIRT,
    setup: D_V1,
    op: W8(2),
    exits: [],
    tpr: 0x20,
  },
  {
    what: 'review v1: MOV from CR8 reads VTPR[7:4] without an exit',
    source: CR8_VIRT,
    setup: D_V1,
    pre: [WA(ApicOffset.Tpr, 0x7c)],
    op: R8,
    exits: [],
    value: 7,
  },
  {
    what: 'review v3: MOV to CR8 sets VTPR = CR8 << 4, VTPR[3:0] cleared',
    source: CR8_VIRT,
    setup: D_V3,
    pre: [WA(ApicOffset.Tpr, 0x3f)],
    op: W8(4),
    exits: [],
    tpr: 0x40,
  },
  {
    what: 'KVM FlexPriority: MOV to CR8 without an exit',
    source: CR8_VIRT,
    setup: D_KVM,
    op: W8(9),
    exits: [],
    tpr: 0x90,
  },
  {
    what: 'review v3, x2APIC guest: TPR shadow off, CR8 exits return',
    source: `${COND}; bhyve vmx.c vmx_enable_x2apic_mode_ts`,
    setup: { ...D_V3, x2apic: true },
    op: W8(2),
    exits: [[E.CrAccess, CR8_WRITE_Q]],
    tpr: 0x20,
  },
  {
    what: 'review v2, x2APIC guest: TPR shadow kept (the flaw v3 fixed)',
    source: `${CR8_VIRT}; seed review D22942 v2`,
    setup: { ...D_V2, x2apic: true },
    op: W8(2),
    exits: [],
    tpr: 0x20,
  },
  {
    what: 'APICv: MOV to CR8 is virtualized, then PPR virtualization',
    source: `${CR8_VIRT}; SDM 29.1.3 "PPR Virtualization"`,
    setup: S_V3,
    op: W8(2),
    exits: [],
    tpr: 0x20,
    ppr: 0x20,
  },
  {
    what: 'APICv: PPR virtualization keeps SVI class when it beats VTPR',
    source: 'SDM 29.1.3 "PPR Virtualization"',
    setup: S_V3,
    pre: [IRQ(0x51)],
    op: W8(2),
    exits: [],
    tpr: 0x20,
    ppr: 0x50,
  },
  // ---- TPR below threshold (software path)
  {
    what: 'v3: lowering CR8 below the entry-time TPR exits TPR_BELOW_THRESHOLD (trap-like: VTPR already written, PPR synced from it)',
    source: `${TPR_VIRT}; ${BHYVE_THR}`,
    setup: D_V3,
    pre: [W8(5), IO(0x80)],
    op: W8(2),
    exits: [[E.TprBelowThreshold, 0]],
    tpr: 0x20,
    ppr: 0x20,
    threshold: 2,
  },
  {
    what: 'v2: the same TPR_BELOW_THRESHOLD exit',
    source: `${TPR_VIRT}; ${BHYVE_THR}`,
    setup: D_V2,
    pre: [W8(5), IO(0x80)],
    op: W8(2),
    exits: [[E.TprBelowThreshold, 0]],
    tpr: 0x20,
    threshold: 2,
  },
  {
    what: 'v3: raising CR8 never exits',
    source: `${TPR_VIRT}: exit only if VTPR[7:4] < threshold`,
    setup: D_V3,
    pre: [W8(2), IO(0x80)],
    op: W8(6),
    exits: [],
    tpr: 0x60,
    threshold: 2,
  },
  {
    what: 'v3: writing CR8 equal to the threshold does not exit',
    source: `${TPR_VIRT}: exit only if VTPR[7:4] < threshold`,
    setup: D_V3,
    pre: [W8(5), IO(0x80), W8(7)],
    op: W8(5),
    exits: [],
    tpr: 0x50,
  },
  {
    what: 'v3: the TPR exit re-arms the threshold at the new TPR, so lowering further exits again',
    source: BHYVE_THR,
    setup: D_V3,
    pre: [W8(5), IO(0x80), W8(3)],
    op: W8(1),
    exits: [[E.TprBelowThreshold, 0]],
    threshold: 1,
  },
  {
    what: 'v3: raising and lowering back to the TPR of the last entry does not exit (KfRaiseIrql / KeLowerIrql pair)',
    source: BHYVE_THR,
    setup: D_V3,
    pre: [W8(5), IO(0x80), W8(2), W8(4)],
    op: W8(2),
    exits: [],
    threshold: 2,
  },
  {
    what: 'v1: no threshold, lowering CR8 does not exit',
    source: 'seed review D22942 v1 (no TPR threshold)',
    setup: D_V1,
    pre: [W8(5), IO(0x80)],
    op: W8(2),
    exits: [],
    threshold: 0,
  },
  {
    what: 'KVM: lowering CR8 with nothing pending does not exit (threshold 0)',
    source: KVM_THR,
    setup: D_KVM,
    pre: [W8(5), IO(0x80)],
    op: W8(2),
    exits: [],
    threshold: 0,
  },
  {
    what: 'v3: a TPR-masked interrupt is injected at the TPR exit when CR8 drops below it',
    source: `${TPR_VIRT}; ${BHYVE_THR}; bhyve vmx.c vmx_inject_interrupts`,
    setup: D_V3,
    pre: [W8(5), IRQ(0x41)],
    op: W8(3),
    exits: [[E.TprBelowThreshold, 0]],
    delivered: [0x41],
    tpr: 0x30,
    ppr: 0x40,
  },
  {
    what: 'KVM: CR8 lowered but still masking the pending class: no exit',
    source: KVM_THR,
    setup: D_KVM,
    pre: [W8(7), IRQ(0x31)],
    op: W8(4),
    exits: [],
    delivered: [],
    threshold: 3,
  },
  {
    what: 'KVM: CR8 lowered below the pending class: TPR exit and injection',
    source: KVM_THR,
    setup: D_KVM,
    pre: [W8(7), IRQ(0x31)],
    op: W8(2),
    exits: [[E.TprBelowThreshold, 0]],
    delivered: [0x31],
    threshold: 0,
  },
  {
    what: 'KVM: xAPIC TPR write through the APIC-access page is TPR virtualization too',
    source: `${TPR_VIRT}; ${APIC_WRITE}`,
    setup: D_KVM,
    pre: [W8(7), IRQ(0x31)],
    op: WA(ApicOffset.Tpr, 0x20),
    exits: [[E.TprBelowThreshold, 0]],
    delivered: [0x31],
    tpr: 0x20,
  },
  // ---- threshold programming per policy
  {
    what: 'v3 programs threshold = TPR class at entry',
    source: BHYVE_THR,
    setup: D_V3,
    pre: [W8(7)],
    op: IO(0x80),
    exits: [[E.IoInstruction, 0x80 << 16]],
    threshold: 7,
  },
  {
    what: 'v2 programs threshold = TPR class at entry, nothing pending',
    source: BHYVE_THR,
    setup: D_V2,
    pre: [W8(9)],
    op: CPUID,
    exits: [[E.Cpuid, 0]],
    threshold: 9,
  },
  {
    what: 'v3 programs threshold = TPR class even with a higher interrupt pending-masked',
    source: BHYVE_THR,
    setup: D_V3,
    pre: [W8(7)],
    op: IRQ(0x51),
    exits: [[E.ExternalInterrupt, 0]],
    delivered: [],
    threshold: 7,
  },
  {
    what: 'KVM programs threshold = masked pending class',
    source: KVM_THR,
    setup: D_KVM,
    pre: [W8(7)],
    op: IRQ(0x51),
    exits: [[E.ExternalInterrupt, 0]],
    delivered: [],
    threshold: 5,
  },
  {
    what: 'KVM programs threshold 0 when nothing is pending',
    source: KVM_THR,
    setup: D_KVM,
    pre: [W8(7)],
    op: IO(0x80),
    exits: [[E.IoInstruction, 0x80 << 16]],
    threshold: 0,
  },
  {
    what: 'KVM programs threshold 0 when the pending class beats TPR (it is injected)',
    source: KVM_THR,
    setup: D_KVM,
    pre: [W8(3)],
    op: IRQ(0x51),
    exits: [[E.ExternalInterrupt, 0]],
    delivered: [0x51],
    threshold: 0,
  },
  {
    what: 'v1 never programs a threshold',
    source: 'seed review D22942 v1',
    setup: D_V1,
    pre: [W8(7)],
    op: IRQ(0x51),
    exits: [[E.ExternalInterrupt, 0]],
    threshold: 0,
  },
  {
    what: 'APICv (VID) does not use the threshold',
    source: `${BHYVE_THR} only if tpr_shadowing && !virtual_interrupt_delivery`,
    setup: S_V3,
    pre: [W8(7)],
    op: IO(0x80),
    exits: [[E.IoInstruction, 0x80 << 16]],
    threshold: 0,
  },
  // ---- APIC-access page
  {
    what: 'FlexPriority: xAPIC TPR write virtualized, no exit',
    source: APIC_WRITE,
    setup: D_KVM,
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [],
    tpr: 0x30,
  },
  {
    what: 'FlexPriority: xAPIC TPR read virtualized, no exit',
    source: APIC_READ,
    setup: D_KVM,
    pre: [W8(6)],
    op: RA(ApicOffset.Tpr),
    exits: [],
    value: 0x60,
  },
  {
    what: 'FlexPriority: SVR write is an APIC-access exit (offset, linear write)',
    source: `${APIC_WRITE}; SDM 27.2.1 table 27-6 "Exit Qualification for APIC-Access VM Exits"`,
    setup: D_KVM,
    op: WA(ApicOffset.Svr, 0x1ff),
    exits: [[E.ApicAccess, APIC_WRITE_Q(0xf0)]],
  },
  {
    what: 'FlexPriority: PPR read is an APIC-access exit (offset, linear read)',
    source: `${APIC_READ}; SDM 27.2.1 table 27-6`,
    setup: D_KVM,
    op: RA(ApicOffset.Ppr),
    exits: [[E.ApicAccess, APIC_READ_Q(0xa0)]],
    value: 0,
  },
  {
    what: 'FlexPriority: EOI write without VID is an APIC-access exit, emulated',
    source: APIC_WRITE,
    setup: D_KVM,
    pre: [IRQ(0x41)],
    op: EOI,
    exits: [[E.ApicAccess, APIC_WRITE_Q(0xb0)]],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'APIC-register virtualization: SVR write -> APIC-write exit (trap-like, qualification = offset)',
    source: `${APIC_WRITE}; ${APIC_WRITE_EXIT}`,
    setup: S_V3,
    op: WA(ApicOffset.Svr, 0x1ff),
    exits: [[E.ApicWrite, 0xf0]],
  },
  {
    what: 'APIC-register virtualization: LVT timer write -> APIC-write exit',
    source: `${APIC_WRITE}; ${APIC_WRITE_EXIT}`,
    setup: S_KVM,
    op: WA(ApicOffset.LvtTimer, 0xef),
    exits: [[E.ApicWrite, 0x320]],
  },
  {
    what: 'APIC-register virtualization: SVR read virtualized',
    source: APIC_READ,
    setup: S_V3,
    op: RA(ApicOffset.Svr),
    exits: [],
    value: 0x1ff,
  },
  {
    what: 'APIC-register virtualization: ISR read virtualized',
    source: APIC_READ,
    setup: S_V3,
    pre: [IRQ(0x41)],
    op: RA(ApicOffset.Isr0 + 0x20),
    exits: [],
    value: 1 << 1,
  },
  {
    what: 'APIC-register virtualization: PPR is not in the virtualized-read list: APIC-access exit',
    source: APIC_READ,
    setup: S_V3,
    pre: [IRQ(0x61)],
    op: RA(ApicOffset.Ppr),
    exits: [[E.ApicAccess, APIC_READ_Q(0xa0)]],
    value: 0x60,
  },
  {
    what: 'APIC-register virtualization: the version register is in the read list but not the write list (read-only): read virtualized, write an APIC-access exit',
    source: `${APIC_READ}; ${APIC_WRITE}`,
    setup: S_V3,
    op: WA(ApicOffset.Version, 0),
    exits: [[E.ApicAccess, APIC_WRITE_Q(0x30)]],
  },
  {
    what: 'APIC-register virtualization: version read virtualized',
    source: APIC_READ,
    setup: S_V3,
    op: RA(ApicOffset.Version),
    exits: [],
  },
  {
    what: 'APIC-register virtualization: IRR is read-virtualized, but a write to it is an APIC-access exit',
    source: `${APIC_READ}; ${APIC_WRITE}`,
    setup: S_KVM,
    op: WA(ApicOffset.Irr0 + 0x70, 0),
    exits: [[E.ApicAccess, APIC_WRITE_Q(0x270)]],
  },
  {
    what: 'APIC-register virtualization: current-count read is an APIC-access exit',
    source: APIC_READ,
    setup: S_KVM,
    op: RA(ApicOffset.TimerCurrentCount),
    exits: [[E.ApicAccess, APIC_READ_Q(0x390)]],
  },
  {
    what: 'APICv: xAPIC TPR write virtualized with PPR virtualization',
    source: `${APIC_WRITE}; ${TPR_VIRT}`,
    setup: S_KVM,
    op: WA(ApicOffset.Tpr, 0x45),
    exits: [],
    tpr: 0x45,
    ppr: 0x45,
  },
  {
    what: 'APICv: lowering TPR delivers a masked interrupt with no exit (evaluation of pending virtual interrupts)',
    source: `${TPR_VIRT}; SDM 29.2.1 "Evaluation of Pending Virtual Interrupts"`,
    setup: S_V3,
    pre: [W8(8), IRQ(0x61)],
    op: W8(2),
    exits: [],
    delivered: [0x61],
    ppr: 0x60,
  },
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
  // ---- EPT violation for bhyve xAPIC MMIO
  {
    what: 'bhyve without APICv: xAPIC TPR write is an EPT violation (APIC page unmapped), emulated',
    source: 'SDM 28.2.3 "EPT-Induced VM Exits"; bhyve vmx.c (no APIC-access page without VID)',
    setup: D_V3,
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [[E.EptViolation]],
    tpr: 0x30,
    ppr: 0x30,
  },
  {
    what: 'bhyve 12.1: xAPIC EOI is an EPT violation, emulated (ISR cleared)',
    source: 'SDM 28.2.3 "EPT-Induced VM Exits"; bhyve vlapic.c vlapic_process_eoi',
    setup: D_121,
    pre: [IRQ(0x41)],
    op: EOI,
    exits: [[E.EptViolation]],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'bhyve v1: xAPIC PPR read is an EPT violation',
    source: 'SDM 28.2.3 "EPT-Induced VM Exits"',
    setup: D_V1,
    op: RA(ApicOffset.Ppr),
    exits: [[E.EptViolation]],
    value: 0,
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
  // ---- x2APIC MSRs
  {
    what: 'no virtualize-x2APIC-mode: WRMSR TPR exits MSR_WRITE, emulated',
    source: `${COND} (MSR bitmaps); bhyve vlapic.c x2APIC emulation`,
    setup: { ...D_121, x2apic: true },
    op: WRMSR(0x808, 0x20),
    exits: [[E.MsrWrite]],
    tpr: 0x20,
  },
  {
    what: 'no virtualize-x2APIC-mode: RDMSR TPR exits MSR_READ',
    source: COND,
    setup: { ...D_121, x2apic: true },
    pre: [W8(3)],
    op: RDMSR(0x808),
    exits: [[E.MsrRead]],
    value: 0x30,
  },
  {
    what: 'v3 x2APIC (no shadow): WRMSR TPR exits MSR_WRITE',
    source: `${COND}; bhyve vmx.c vmx_enable_x2apic_mode_ts`,
    setup: { ...D_V3, x2apic: true },
    op: WRMSR(0x808, 0x40),
    exits: [[E.MsrWrite]],
    tpr: 0x40,
  },
  {
    what: 'KVM virtualize x2APIC mode: WRMSR TPR virtualized, no exit',
    source: MSR_VIRT,
    setup: { ...D_KVM, x2apic: true },
    op: WRMSR(0x808, 0x20),
    exits: [],
    tpr: 0x20,
  },
  {
    what: 'KVM virtualize x2APIC mode: RDMSR TPR virtualized, no exit',
    source: MSR_VIRT,
    setup: { ...D_KVM, x2apic: true },
    pre: [W8(5)],
    op: RDMSR(0x808),
    exits: [],
    value: 0x50,
  },
  {
    what: 'virtualize x2APIC mode: WRMSR TPR with EAX[31:8] set #GP, no exit',
    source: `${MSR_VIRT} (reserved bits of 808H)`,
    setup: { ...D_KVM, x2apic: true },
    pre: [W8(5)],
    op: WRMSR(0x808, 0x120),
    exits: [],
    fault: '#GP',
    tpr: 0x50,
  },
  {
    what: 'virtualize x2APIC mode: WRMSR TPR with EDX set #GP',
    source: `${MSR_VIRT} (reserved bits of 808H)`,
    setup: { ...S_V3, x2apic: true },
    op: WRMSR(0x808, 0x20, 1),
    exits: [],
    fault: '#GP',
    tpr: 0,
  },
  {
    what: 'virtualize x2APIC mode without VID: WRMSR EOI exits MSR_WRITE',
    source: MSR_VIRT,
    setup: { ...D_KVM, x2apic: true },
    pre: [IRQ(0x41)],
    op: WRMSR(0x80b, 0),
    exits: [[E.MsrWrite]],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'virtualize x2APIC mode without VID: TPR exit through WRMSR 808H',
    source: `${MSR_VIRT}; ${KVM_THR}`,
    setup: { ...D_KVM, x2apic: true },
    pre: [W8(6), IRQ(0x41)],
    op: WRMSR(0x808, 0x10),
    exits: [[E.TprBelowThreshold, 0]],
    delivered: [0x41],
  },
  {
    what: 'APICv x2APIC: WRMSR TPR virtualized',
    source: MSR_VIRT,
    setup: { ...S_V3, x2apic: true },
    op: WRMSR(0x808, 0x20),
    exits: [],
    tpr: 0x20,
    ppr: 0x20,
  },
  {
    what: 'APICv x2APIC: WRMSR EOI virtualized',
    source: `${MSR_VIRT}; ${EOI_VIRT}`,
    setup: { ...S_V3, x2apic: true },
    pre: [IRQ(0x41)],
    op: WRMSR(0x80b, 0),
    exits: [],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'APICv x2APIC: WRMSR EOI with a non-zero value #GP',
    source: `${MSR_VIRT} (EOI virtualization needs EAX = EDX = 0)`,
    setup: { ...S_V3, x2apic: true },
    pre: [IRQ(0x41)],
    op: WRMSR(0x80b, 1),
    exits: [],
    fault: '#GP',
    check: (m) => assert.deepEqual(m.snapshot(0).isr, [0x41]),
  },
  {
    what: 'APICv x2APIC: SELF IPI virtualized and delivered',
    source: `${MSR_VIRT} (self-IPI virtualization); ${VID}`,
    setup: { ...S_V3, x2apic: true },
    op: WRMSR(0x83f, 0x61),
    exits: [],
    delivered: [0x61],
  },
  {
    what: 'APICv x2APIC: ICR write exits MSR_WRITE (bhyve opens only TPR, EOI, SELF IPI for writes)',
    source: `${MSR_VIRT}; ${BHYVE_X2}`,
    setup: { ...S_V3, x2apic: true },
    op: WRMSR(0x830, 0x41, 0),
    exits: [[E.MsrWrite]],
  },
  {
    what: 'APICv x2APIC: RDMSR SVR passes through the bitmap and is virtualized (guest_msr_ro)',
    source: `${MSR_VIRT}; ${BHYVE_X2}`,
    setup: { ...S_V3, x2apic: true },
    op: RDMSR(0x80f),
    exits: [],
    value: 0x1ff,
  },
  {
    what: 'APICv x2APIC: RDMSR ISR1 virtualized (guest_msr_ro)',
    source: `${MSR_VIRT}; ${BHYVE_X2}`,
    setup: { ...S_V3, x2apic: true },
    pre: [IRQ(0x41)],
    op: RDMSR(0x812),
    exits: [],
    value: 1 << 1,
  },
  {
    what: 'APICv x2APIC: bhyve intercepts RDMSR PPR (not in its read-only list)',
    source: BHYVE_X2,
    setup: { ...S_V3, x2apic: true },
    op: RDMSR(0x80a),
    exits: [[E.MsrRead]],
    value: 0,
  },
  {
    what: 'APICv x2APIC: RDMSR current count always exits (bhyve and KVM emulate the timer)',
    source: `${BHYVE_X2}; KVM vmx.c vmx_update_msr_bitmap_x2apic (TMCCT intercepted)`,
    setup: { ...S_KVM, x2apic: true },
    op: RDMSR(0x839),
    exits: [[E.MsrRead]],
  },
  {
    what: 'KVM APICv x2APIC: RDMSR PPR passes through (all readable registers but TMCCT)',
    source: `${MSR_VIRT}; KVM vmx.c vmx_update_msr_bitmap_x2apic`,
    setup: { ...S_KVM, x2apic: true },
    pre: [IRQ(0x61)],
    op: RDMSR(0x80a),
    exits: [],
    value: 0x60,
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
  // ---- issue #14 D1-D9
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
  {
    what: 'D8 MOV to CR8 with bits 63:4 set under CR8-load exiting: the CR-access exit first, then the injected #GP; TPR unchanged',
    source: `${CR8_GP}; SDM 26.1.1 "Relative Priority of Faults and VM Exits"; bhyve vlapic.c vlapic_set_cr8`,
    setup: D_121,
    pre: [W8(5)],
    op: W8(0x15),
    exits: [[E.CrAccess, CR8_WRITE_Q]],
    fault: '#GP',
    tpr: 0x50,
  },
  {
    what: 'D8 TPR shadow: MOV to CR8 with bits 63:4 set raises #GP with no exit, VTPR unchanged',
    source: `${CR8_GP}; ${CR8_VIRT}`,
    setup: D_V3,
    pre: [W8(5)],
    op: W8(0x10),
    exits: [],
    fault: '#GP',
    tpr: 0x50,
  },
  {
    what: 'D8 APICv: MOV to CR8 with bits 63:4 set raises #GP, no TPR virtualization',
    source: `${CR8_GP}; ${CR8_VIRT}`,
    setup: S_KVM,
    pre: [W8(3)],
    op: W8(0x100),
    exits: [],
    fault: '#GP',
    tpr: 0x30,
    ppr: 0x30,
  },
  {
    what: 'D9 KVM without FlexPriority: an xAPIC access is KVM MMIO, an EPT misconfiguration (49), emulated in the kernel',
    source: KVM_MMIO,
    setup: { ...D_KVM, tunables: { 'kvm_intel.flexpriority': 0 } },
    op: WA(ApicOffset.Tpr, 0x30),
    exits: [[E.EptMisconfig, 0]],
    tpr: 0x30,
  },
  {
    what: 'D9 KVM without FlexPriority: an xAPIC read is an EPT misconfiguration too',
    source: KVM_MMIO,
    setup: { ...D_KVM, tunables: { 'kvm_intel.flexpriority': 0 } },
    pre: [W8(6)],
    op: RA(ApicOffset.Tpr),
    exits: [[E.EptMisconfig, 0]],
    value: 0x60,
  },
  {
    what: 'D9 bhyve: the unmapped xAPIC page stays an EPT violation (48)',
    source: 'SDM 28.2.3 "EPT-Induced VM Exits"; bhyve vmm.c vm_handle_inst_emul',
    setup: D_121,
    op: RA(ApicOffset.Tpr),
    exits: [[E.EptViolation]],
  },
];

for (const r of ROWS) {
  test(`[${r.source}] ${r.setup.policy}/${r.setup.profile.id}${r.setup.x2apic ? '/x2APIC' : ''}: ${r.what}`, () => {
    const m = build(r.setup);
    const steps = runScript(m, [...(r.pre ?? []), r.op]);
    const s = steps[steps.length - 1];
    const got = s.exits.map((e, i) => (r.exits[i]?.[1] === undefined ? [e.reason] : [e.reason, e.qualification]));
    assert.deepEqual(
      got,
      r.exits.map((e) => (e[1] === undefined ? [e[0]] : [e[0], e[1]])),
      `exits ${JSON.stringify(s.exits)}`,
    );
    if (r.tpr !== undefined) assert.equal(m.tpr(0), r.tpr, 'TPR');
    if (r.ppr !== undefined) assert.equal(m.pprField(0), r.ppr, 'PPR field');
    if (r.delivered !== undefined) assert.deepEqual(s.delivered, r.delivered, 'delivered');
    if (r.value !== undefined) assert.equal(s.value, r.value, 'value read');
    assert.equal(s.fault, r.fault, 'fault');
    if (r.threshold !== undefined) assert.equal(m.s[F.TPR_THRESHOLD], r.threshold, 'TPR threshold');
    if (r.halted !== undefined) assert.equal(m.isHalted(0), r.halted, 'halted');
    r.check?.(m, s);
    // No rule here breaks an invariant: the architectural priority rule holds and bhyve's ISR/stack agree.
    assert.deepEqual(
      m.violations.map((v) => v.check),
      [],
    );
    assert.equal(m.checkAllInvariants(), 0);
    assert.equal(m.entryFailures.length, 0);
  });
}

test('[SDM 29.1.2 "TPR Virtualization": VM exits caused by TPR virtualization are trap-like] the TPR exit handler sees the new VTPR', () => {
  // Instrument the exit: PPR is re-synced by the hypervisor from the TPR it finds after the exit.
  const m = build(D_V3);
  runScript(m, [W8(9), IO(0x80)]);
  m.beginStep(3);
  m.writeCr8(0, 4);
  assert.equal(m.stepExitCount, 1);
  assert.equal(
    m.pprField(0),
    0x40,
    'vlapic_sync_tpr after the TPR exit computed PPR from the already-written VTPR 0x40',
  );
  assert.equal(m.s[F.TPR_THRESHOLD], 4);
});

test('[SDM 24.6.8 "Controls for APIC Virtualization"; bhyve vmx.c vmx_set_tmr] VID: a level-triggered request sets TMR and the EOI-exit bitmap, an edge one neither', () => {
  const m = build(S_V3);
  runScript(m, [IRQ(0x41, true), IRQ(0x62, false)]);
  assert.ok(vecTest(m.s, F.TMR, 0x41) && vecTest(m.s, F.EOI_EXIT, 0x41));
  assert.ok(!vecTest(m.s, F.TMR, 0x62) && !vecTest(m.s, F.EOI_EXIT, 0x62));
});

test('[bhyve vmm.c vcpu_notify_event; SDM 28.2.3 "EPT-Induced VM Exits"] an xAPIC IPI: two EPT exits on the sender (ICR high, ICR low), a kick on the running target, injected there', () => {
  const m = build({ ...D_V3, vcpus: 2 });
  const steps = runScript(m, [{ op: 'ipi', cpu: 0, to: 1, vector: 0xe1 }]);
  assert.deepEqual(
    steps[0].exits.map((e) => e.reason),
    [E.EptViolation, E.EptViolation, E.ExternalInterrupt],
  );
  assert.equal(m.exitCount(0, Slot.EPT_VIOLATION), 2, 'vCPU 0');
  assert.equal(m.exitCount(1, Slot.EXTERNAL_INTERRUPT), 1, 'vCPU 1');
  assert.deepEqual(steps[0].delivered, [0xe1]);
  assert.deepEqual(m.snapshot(1).isr, [0xe1]);
  assert.deepEqual(m.snapshot(0).isr, []);
});

test('[SDM 29.6 "Posted-Interrupt Processing"; KVM x2APIC ICR write] an x2APIC IPI under APICv: one MSR_WRITE on the sender, posted to the target with no exit', () => {
  const m = build({ ...S_KVM, vcpus: 2, x2apic: true });
  const steps = runScript(m, [{ op: 'ipi', cpu: 0, to: 1, vector: 0xe1 }]);
  assert.deepEqual(
    steps[0].exits.map((e) => e.reason),
    [E.MsrWrite],
  );
  assert.equal(m.exitCount(1, Slot.EXTERNAL_INTERRUPT), 0);
  assert.deepEqual(m.snapshot(1).isr, [0xe1]);
  assert.equal(m.s[F.STRIDE + F.SVI], 0xe1);
  assert.ok((m.s[F.STRIDE + F.FLAGS] & Flag.STOPPED) === 0);
});

// ------------------------------------------------------------------ issue #14 D4-D7: entry order and RVI

/** A test's window into the machine's entry path (protected in MachineCore). */
function enter(m: Machine, v: number): void {
  (m as unknown as { enter(v: number): void }).enter(v);
}

test(`[${WINDOW_VID}; SDM 29.2.1 "Evaluation of Pending Virtual Interrupts"] D4 VID: while interrupt-window exiting is 1 no virtual interrupt is recognized; the window exit comes right after the next entry, the delivery after it`, () => {
  const m = build(S_KVM);
  runScript(m, [CLI, IRQ(0x41)]); // posted, RVI = 0x41, IF = 0: not delivered
  m.s[F.PROC] |= ProcBased.InterruptWindowExiting; // the hypervisor asks for a window (an event it must inject)
  m.s[F.FLAGS] |= Flag.IF; // the guest's IF as an exit finds it
  assert.equal(m.stepDeliveredCount, 0);
  m.beginStep(10);
  m.logStepExits();
  m.cpuid(0);
  assert.deepEqual(m.stepExits.slice(0, m.stepExitCount), [Slot.CPUID, Slot.INTERRUPT_WINDOW]);
  assert.deepEqual(m.stepDelivered.slice(0, m.stepDeliveredCount), [0x41], 'delivered once the window closed');
});

test(`[SDM 26.7.7 "VM Exits Induced by the TPR Threshold": they follow event injection] D5 an injected interrupt is delivered at the entry whose TPR-threshold exit follows it`, () => {
  const m = build(D_KVM);
  runScript(m, [W8(3)]);
  m.beginStep(10);
  m.logStepExits();
  const b = 0;
  vecSet(m.s, b + F.ISR, 0x51); // as vmxPrepareEntry's vlapic acceptance leaves it
  m.s[b + F.PENDING_INJECT] = 0x51;
  m.s[b + F.TPR_THRESHOLD] = 5; // above VTPR[7:4] = 3: a VMCS the policy would not program
  let deliveredAtExit = -1;
  const spy = m as unknown as { exit(v: number, slot: Slot, q: number): void; programsThreshold: boolean };
  spy.programsThreshold = false; // keep the poked threshold for this entry
  const realExit = spy.exit.bind(m);
  spy.exit = (v, slot, q) => {
    if (slot === Slot.TPR_BELOW_THRESHOLD) {
      deliveredAtExit = m.stepDeliveredCount;
      spy.programsThreshold = true; // the handler's next entry programs it as KVM does
    }
    realExit(v, slot, q);
  };
  enter(m, 0);
  assert.deepEqual(m.stepExits.slice(0, m.stepExitCount), [Slot.TPR_BELOW_THRESHOLD]);
  assert.equal(deliveredAtExit, 1, 'the injected vector was delivered before the TPR-threshold exit');
  assert.deepEqual(m.stepDelivered.slice(0, m.stepDeliveredCount), [0x51]);
});

test(`[SDM 26.3.2.5 "Updating Non-Register State"; SDM 29.1.3 "PPR Virtualization"] D6 VM entry with VID virtualizes PPR before it evaluates pending virtual interrupts`, () => {
  const m = build(S_KVM);
  runScript(m, [CLI, IRQ(0x41)]);
  m.s[F.PPR] = 0xf0; // a stale VPPR: evaluated as it stands, it would mask RVI 0x41
  m.beginStep(10);
  m.sti(0); // RFLAGS.IF = 1: evaluation with the stale VPPR recognizes nothing
  assert.equal(m.stepDeliveredCount, 0);
  m.cpuid(0); // exit and entry: PPR virtualization (VPPR = 0), then evaluation
  assert.deepEqual(m.stepDelivered.slice(0, m.stepDeliveredCount), [0x41]);
});

test(`[${PIR}, step 6] D7 posted-interrupt processing: VIRR |= PIR, PIR cleared, RVI = max(RVI, highest PIR bit), never lowered`, () => {
  const vectors = fc.uniqueArray(fc.integer({ min: 16, max: 255 }), { maxLength: 6 });
  fc.assert(
    fc.property(vectors, vectors, fc.integer({ min: 0, max: 255 }), (pir, irr, rvi) => {
      const s = new Int32Array(F.STRIDE);
      for (const x of pir) vecSet(s, F.PIR, x);
      for (const x of irr) vecSet(s, F.IRR, x);
      s[F.RVI] = rvi;
      s[F.PIR_ON] = 1;
      syncPirToIrr(s, 0);
      const highPir = pir.length === 0 ? -1 : Math.max(...pir);
      assert.equal(s[F.RVI], Math.max(rvi, highPir));
      for (const x of [...pir, ...irr]) assert.ok(vecTest(s, F.IRR, x));
      assert.equal(vecHighest(s, F.PIR), -1);
      assert.equal(s[F.PIR_ON], 0);
    }),
    { seed: 14, numRuns: 300 },
  );
});

test(`vmx.test.ts has at least 60 table rows (${ROWS.length})`, () => {
  assert.ok(ROWS.length >= 60);
});
