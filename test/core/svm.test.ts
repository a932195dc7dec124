/**
 * AMD SVM, table-driven: which #VMEXITs (AMD64 APM vol. 2 appendix C "SVM Intercept Exit Codes")
 * a guest operation causes under bhyve and KVM, and the TPR / delivery state it leaves. Sections are
 * the APM vol. 2 chapter 15 "Secure Virtual Machine" titles (15.21 "Interrupt and Local APIC
 * Support", 15.29 "Advanced Virtual Interrupt Controller"), plus the hypervisor functions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { F, Flag, SvmIntercept } from '../../src/core/vcpu/layout.js';
import { runScript, type TraceStep } from '../../src/core/script/runScript.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import { ApicOffset } from '../../src/core/apic/registers.js';
import { SvmExitCode as X } from '../../src/core/svm/exitCodes.js';
import { AMD_AVIC, AMD_NO_AVIC } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

type Setup = MachineSetup;
const build = buildMachine;

const W8 = (value: number): ScriptOp => ({ op: 'write_cr8', cpu: 0, value });
const R8: ScriptOp = { op: 'read_cr8', cpu: 0 };
const IRQ = (vector: number, level = false, cpu = 0): ScriptOp => ({ op: 'interrupt', cpu, vector, level });
const EOI: ScriptOp = { op: 'eoi', cpu: 0 };
const STI: ScriptOp = { op: 'sti', cpu: 0 };
const CLI: ScriptOp = { op: 'cli', cpu: 0 };
const HLT = (cpu = 0): ScriptOp => ({ op: 'hlt', cpu });
const CPUID: ScriptOp = { op: 'cpuid', cpu: 0 };
const IO = (port: number): ScriptOp => ({ op: 'io', cpu: 0, port });
const WA = (offset: number, value: number): ScriptOp => ({ op: 'write_apic', cpu: 0, offset, value });
const RA = (offset: number): ScriptOp => ({ op: 'read_apic', cpu: 0, offset });
const WRMSR = (msr: number, low: number, high = 0): ScriptOp => ({ op: 'wrmsr', cpu: 0, msr, low, high });
const RDMSR = (msr: number): ScriptOp => ({ op: 'rdmsr', cpu: 0, msr });
const IPI = (to: number, vector: number): ScriptOp => ({ op: 'ipi', cpu: 0, to, vector });

const B: Setup = { profile: AMD_NO_AVIC, policy: 'bhyve-tpr-v3' };
const K: Setup = { profile: AMD_NO_AVIC, policy: 'kvm' };
const AV: Setup = { profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } };

const VTPR = 'APM vol. 2 15.21.2 "Virtualizing APIC.TPR" (V_INTR_MASKING = 1: CR8 accesses use V_TPR)';
const KVM_CR8 = 'KVM svm.c svm_update_cr8_intercept: CR8 write intercept iff irr != -1 && tpr >= irr';
const BHYVE_SVM = 'bhyve svm.c vmcb_init (no CR8 intercept) / svm_inj_interrupts';
const INTR = 'APM vol. 2 15.21.3 "INTR Intercept"';
const VINTR =
  'APM vol. 2 15.21.4 "Virtual Interrupt Intercept" (VINTR); bhyve svm.c enable_intr_window_exiting, KVM svm_enable_irq_window';
const AVIC = 'APM vol. 2 15.29 "Advanced Virtual Interrupt Controller" (AVIC register access table)';
const NPF =
  'APM vol. 2 15.25.6 "Nested versus Guest Page Faults, Fault Ordering" (#VMEXIT(NPF)); the xAPIC page is not mapped';

interface Row {
  readonly what: string;
  readonly source: string;
  readonly setup: Setup;
  readonly pre?: readonly ScriptOp[];
  readonly op: ScriptOp;
  readonly exits: readonly number[];
  readonly tpr?: number;
  readonly delivered?: readonly number[];
  readonly value?: number;
  readonly halted?: boolean;
  readonly cr8WriteIntercept?: boolean;
  readonly check?: (m: Machine, s: TraceStep) => void;
}

const ROWS: readonly Row[] = [
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
  // HLT
  {
    what: 'HLT -> VMEXIT_HLT (0x78), the vCPU sleeps',
    source: 'APM vol. 2 15.9 "Instruction Intercepts" (HLT); bhyve svm.c / KVM halt_interception',
    setup: B,
    op: HLT(),
    exits: [X.Hlt],
    halted: true,
  },
  {
    what: 'KVM: HLT -> VMEXIT_HLT',
    source: 'APM vol. 2 15.9 "Instruction Intercepts" (HLT)',
    setup: K,
    op: HLT(),
    exits: [X.Hlt],
    halted: true,
  },
  {
    what: 'an interrupt wakes the halted vCPU, no further exit, injected',
    source: 'bhyve vmm.c vm_handle_hlt; KVM kvm_vcpu_block',
    setup: B,
    pre: [HLT()],
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
    pre: [HLT(1)],
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

for (const r of ROWS) {
  test(`[${r.source}] ${r.setup.policy}/${r.setup.profile.id}${r.setup.x2apic ? '/x2APIC' : ''}: ${r.what}`, () => {
    const m = build(r.setup);
    const steps = runScript(m, [...(r.pre ?? []), r.op]);
    const s = steps[steps.length - 1];
    assert.deepEqual(
      s.exits.map((e) => e.reason),
      r.exits,
      JSON.stringify(s.exits),
    );
    for (const e of s.exits) assert.ok(e.name.startsWith('VMEXIT_'), e.name);
    if (r.tpr !== undefined) assert.equal(m.tpr(0), r.tpr, 'TPR');
    if (r.delivered !== undefined) assert.deepEqual(s.delivered, r.delivered, 'delivered');
    if (r.value !== undefined) assert.equal(s.value, r.value, 'value read');
    if (r.halted !== undefined) assert.equal(m.isHalted(0), r.halted, 'halted');
    if (r.cr8WriteIntercept !== undefined)
      assert.equal((m.s[F.SVM_INTERCEPTS] & SvmIntercept.CR8_WRITE) !== 0, r.cr8WriteIntercept, 'CR8 write intercept');
    r.check?.(m, s);
    assert.deepEqual(
      m.violations.map((v) => v.check),
      [],
    );
    assert.equal(m.checkAllInvariants(), 0);
  });
}

test(`[${VTPR}; ${BHYVE_SVM}; KVM svm.c init_vmcb] both hypervisors set V_INTR_MASKING and intercept INTR, HLT and MSRs; CR8 reads are never intercepted and exit 0x08 never happens`, () => {
  const script: ScriptOp[] = [
    W8(5),
    IRQ(0x41),
    R8,
    W8(4),
    R8,
    W8(2),
    R8,
    CLI,
    IRQ(0x61),
    R8,
    STI,
    EOI,
    R8,
    EOI,
    W8(15),
    IRQ(0x51),
    R8,
    W8(0),
    R8,
    IO(0x80),
    R8,
  ];
  for (const su of [B, K, AV, { ...K, x2apic: true }, { ...B, x2apic: true }]) {
    const m = build(su);
    m.beginStep(0);
    m.launch();
    assert.equal(m.s[F.V_INTR_MASKING], 1);
    const need = SvmIntercept.INTR | SvmIntercept.HLT | SvmIntercept.MSR;
    assert.equal(m.s[F.SVM_INTERCEPTS] & need, need);
    const steps = runScript(build(su), script);
    for (const s of steps) {
      assert.ok(
        s.exits.every((e) => e.reason !== X.Cr8Read),
        `${su.policy}: step ${s.step} ${s.op}`,
      );
    }
    const m2 = build(su);
    runScript(m2, script);
    assert.equal(m2.s[F.SVM_INTERCEPTS] & SvmIntercept.CR8_READ, 0);
    assert.deepEqual(m2.violations, []);
  }
});

test(`[${BHYVE_SVM}] bhyve never takes VMEXIT_CR8_WRITE, whatever the TPR and pending interrupts`, () => {
  const m = build(B);
  const ops: ScriptOp[] = [];
  for (let i = 0; i < 16; i++) ops.push(W8(15 - i), IRQ(0x20 + i * 13), W8(i), IO(0x80));
  const steps = runScript(m, ops);
  assert.ok(steps.every((s) => s.exits.every((e) => e.reason !== X.Cr8Write)));
  assert.ok(steps.some((s) => s.delivered.length > 0));
});

test('[APM vol. 2 15.29 "Advanced Virtual Interrupt Controller"] AVIC flag only for KVM with kvm_amd.avic=1 on an AVIC CPU and an xAPIC guest', () => {
  assert.ok((build(AV).flags(0) & Flag.AVIC) !== 0);
  assert.equal(build({ ...AV, x2apic: true }).flags(0) & Flag.AVIC, 0);
  assert.equal(build({ ...AV, profile: AMD_NO_AVIC }).flags(0) & Flag.AVIC, 0);
  assert.equal(build({ profile: AMD_AVIC, policy: 'bhyve-tpr-v3' }).flags(0) & Flag.AVIC, 0);
  const two = build({ ...AV, vcpus: 2 });
  assert.ok((two.s[F.STRIDE + F.FLAGS] & Flag.AVIC) !== 0);
});

test(`svm.test.ts has at least 40 table rows (${ROWS.length})`, () => {
  assert.ok(ROWS.length >= 40);
});
