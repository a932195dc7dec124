/**
 * The Machine operations of issue #14 the engine's guest models call, table-driven like the VT-x
 * table of test/core/vmx/ (what / source / setup / pre / op / expected exits): guest timer expiry as
 * each hypervisor delivers it, clock-source reads, Hyper-V enlightenments (hv-vapic with the EOI
 * assist, SynIC AutoEOI and KVM's APICv inhibit, hv-stimer, hv-time), and the in-kernel /
 * user-space table next to the exits. Then fast-check properties over policies and profiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Flag, F } from '../../src/core/vcpu/layout.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { Fault, HvFeature, HvMsr, type Machine } from '../../src/core/vcpu/machine.js';
import { runScript } from '../../src/core/script/runScript.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import { vecTest } from '../../src/core/apic/vectors.js';
import {
  DEVICES,
  EXIT_HANDLER,
  deviceOfPort,
  exitHandledIn,
  exitHandlerTable,
} from '../../src/core/hypervisor/exitHandling.js';
import { POLICY_NAMES } from '../../src/core/hypervisor/policy.js';
import { AMD_AVIC, AMD_NO_AVIC, DESKTOP, NO_TPR_SHADOW, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';
import { HLT, IRQ, W8 } from '../support/ops.js';

const ALL_HV = HvFeature.VAPIC | HvFeature.SYNIC | HvFeature.STIMER | HvFeature.TIME;
const HV_VAPIC = { features: HvFeature.VAPIC | HvFeature.TIME };
const HV_AUTOEOI = { features: ALL_HV, autoEoiVector: 0x50 };
const HV_APICV = { features: ALL_HV | HvFeature.APICV, autoEoiVector: 0x50 };

const D_KVM: MachineSetup = { profile: DESKTOP, policy: 'kvm' };
const S_KVM: MachineSetup = { profile: SERVER, policy: 'kvm' };
const D_V3: MachineSetup = { profile: DESKTOP, policy: 'bhyve-tpr-v3' };

const TIMER =
  'KVM vmx.c handle_preemption_timer, lapic.c kvm_lapic_expired_hv_timer; SDM 26.5.1 "VMX-Preemption Timer"';
const HRTIMER =
  'KVM lapic.c apic_timer_fn (hrtimer); bhyve vlapic.c vlapic_callout_handler; SDM 26.2 "Other Causes of VM Exits"';
const HV_VAPIC_SRC = 'TLFS "Virtual Processor Assist Page"; KVM lapic.c kvm_hv_vapic_msr_write';
const PV_EOI = 'KVM lapic.c apic_sync_pv_eoi_to_guest (EOI assist as PV EOI)';
const INHIBIT = 'KVM hyperv.c synic_update_vector: APICV_INHIBIT_REASON_HYPERV';
const HV_GP = 'KVM hyperv.c kvm_hv_get_msr_common / kvm_hv_set_msr_common (#GP without the feature)';

interface Row {
  readonly what: string;
  readonly source: string;
  readonly setup: MachineSetup;
  readonly pre?: readonly ScriptOp[];
  /** The operation, on vCPU 0; returns a value to compare with `value` (optional). */
  readonly op: (m: Machine) => unknown;
  /** Expected exits (names of vcpu/exits.ts), every vCPU, in order. */
  readonly exits: readonly string[];
  readonly delivered?: readonly number[];
  readonly fault?: boolean;
  readonly value?: unknown;
  readonly check?: (m: Machine) => void;
}

const ROWS: readonly Row[] = [
  // ---- guest timer expiry (Machine.guestTimerExpires)
  {
    what: 'KVM with the VMX-preemption timer: a running vCPU exits VMX_PREEMPTION_TIMER, the vector is posted and delivered at entry',
    source: TIMER,
    setup: S_KVM,
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: ['VMX_PREEMPTION_TIMER'],
    delivered: [0xec],
  },
  {
    what: 'KVM without APICv: preemption-timer exit, the vector injected at entry',
    source: TIMER,
    setup: D_KVM,
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: ['VMX_PREEMPTION_TIMER'],
    delivered: [0xec],
  },
  {
    what: 'kvm_intel.preemption_timer=0: the host hrtimer interrupts the vCPU (EXTERNAL_INTERRUPT), no kick exit besides',
    source: HRTIMER,
    setup: { ...S_KVM, tunables: { 'kvm_intel.preemption_timer': 0 } },
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: ['EXTERNAL_INTERRUPT'],
    delivered: [0xec],
  },
  {
    what: 'a CPU without the preemption timer: KVM uses the hrtimer',
    source: HRTIMER,
    setup: { profile: NO_TPR_SHADOW, policy: 'kvm' },
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: ['EXTERNAL_INTERRUPT'],
    delivered: [0xec],
  },
  {
    what: 'bhyve: the callout fires on the host CPU running the vCPU: EXTERNAL_INTERRUPT, then injection',
    source: HRTIMER,
    setup: D_V3,
    op: (m) => m.guestTimerExpires(0, 0xef),
    exits: ['EXTERNAL_INTERRUPT'],
    delivered: [0xef],
  },
  {
    what: 'KVM on AMD (no preemption timer in SVM): INTR intercept of the host timer',
    source: `${HRTIMER}; APM 15.13 "Interrupt Intercepts"`,
    setup: { profile: AMD_NO_AVIC, policy: 'kvm' },
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: ['VMEXIT_INTR'],
    delivered: [0xec],
  },
  {
    what: 'a halted vCPU is woken by the host timer with no further exit',
    source: 'KVM lapic.c kvm_lapic_switch_to_sw_timer (blocked vCPU); bhyve vmm.c vm_handle_hlt',
    setup: S_KVM,
    pre: [HLT],
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: [],
    delivered: [0xec],
    check: (m) => assert.equal(m.isHalted(0), false),
  },
  {
    what: 'a TPR-masked timer vector still exits, stays requested, and KVM arms the TPR threshold',
    source: `${TIMER}; KVM vmx.c vmx_update_cr8_intercept`,
    setup: D_KVM,
    pre: [W8(15)],
    op: (m) => m.guestTimerExpires(0, 0xec),
    exits: ['VMX_PREEMPTION_TIMER'],
    delivered: [],
    check: (m) => assert.equal(m.s[F.TPR_THRESHOLD], 0xe),
  },
  // ---- clock-source reads: the existing ops
  {
    what: 'ACPI PM timer read (Q35 port 0x608): IO_INSTRUCTION, port in the qualification; QEMU handles it in user space',
    source: 'SDM 27.2.1 table "Exit Qualification for I/O Instructions"; QEMU hw/acpi/core.c acpi_pm_tmr_read',
    setup: D_KVM,
    op: (m) => m.ioInstruction(0, 0x608),
    exits: ['IO_INSTRUCTION'],
    check: () => assert.equal(exitHandledIn('kvm', 'IO_INSTRUCTION', deviceOfPort(0x608)), 'user'),
  },
  {
    what: 'bhyve PM timer read (port 0x408): IO_INSTRUCTION handled in the kernel (vpmtmr)',
    source: 'bhyve sys/amd64/vmm/io/vpmtmr.c vpmtmr_handler',
    setup: D_V3,
    op: (m) => m.ioInstruction(0, 0x408),
    exits: ['IO_INSTRUCTION'],
    check: () => assert.equal(exitHandledIn('bhyve', 'IO_INSTRUCTION', deviceOfPort(0x408)), 'kernel'),
  },
  {
    what: 'HPET counter read under KVM: EPT_MISCONFIG (D9), to QEMU',
    source: 'KVM mmu.c mark_mmio_spte; QEMU hw/timer/hpet.c',
    setup: S_KVM,
    op: (m) => m.mmio(0),
    exits: ['EPT_MISCONFIG'],
    check: () => assert.equal(exitHandledIn('kvm', 'EPT_MISCONFIG', 'hpet'), 'user'),
  },
  {
    what: 'HPET counter read under bhyve: EPT_VIOLATION, in-kernel vhpet',
    source: 'bhyve vmm.c vm_handle_inst_emul, vhpet.c vhpet_mmio_read',
    setup: D_V3,
    op: (m) => m.mmio(0),
    exits: ['EPT_VIOLATION'],
    check: () => assert.equal(exitHandledIn('bhyve', 'EPT_VIOLATION', 'hpet'), 'kernel'),
  },
  {
    what: 'hv-time: RDMSR HV_X64_MSR_TIME_REF_COUNT is an MSR_READ exit handled in the kernel',
    source: 'TLFS "Partition Reference Counter"; KVM hyperv.c kvm_hv_get_msr_pw',
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    op: (m) => m.rdmsr(0, HvMsr.TIME_REF_COUNT),
    exits: ['MSR_READ'],
  },
  {
    what: 'no hv-time: the same read exits and #GP is injected',
    source: HV_GP,
    setup: { ...D_KVM, hyperv: { features: HvFeature.VAPIC } },
    op: (m) => m.rdmsr(0, HvMsr.TIME_REF_COUNT),
    exits: ['MSR_READ'],
    fault: true,
  },
  {
    what: 'bhyve implements no enlightenment: a synthetic MSR exits (to bhyve(8)) and #GP follows',
    source: 'bhyve usr.sbin/bhyve/xmsr.c emulate_rdmsr (strictmsr)',
    setup: { ...D_V3, hyperv: HV_AUTOEOI },
    op: (m) => m.rdmsr(0, HvMsr.TIME_REF_COUNT),
    exits: ['MSR_READ'],
    fault: true,
    check: (m) => assert.equal(m.hyperv(0), 0),
  },
  // ---- hv-vapic
  {
    what: 'hv-vapic EOI MSR: an MSR_WRITE exit, the vlapic retires the vector',
    source: HV_VAPIC_SRC,
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    pre: [IRQ(0x41), { op: 'sti', cpu: 0 }, IRQ(0x81)],
    op: (m) => m.wrmsr(0, HvMsr.EOI, 0, 0),
    exits: ['MSR_WRITE'],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, [0x41]),
  },
  {
    what: 'hv-vapic EOI MSR under APICv (hv-apicv: not inhibited): the ISR on the virtual-APIC page and SVI follow',
    source: `${HV_VAPIC_SRC}; KVM vmx.c vmx_hwapic_isr_update`,
    setup: { ...S_KVM, hyperv: HV_APICV },
    pre: [IRQ(0x41), { op: 'sti', cpu: 0 }, IRQ(0x81)],
    op: (m) => m.wrmsr(0, HvMsr.EOI, 0, 0),
    exits: ['MSR_WRITE'],
    check: (m) => {
      assert.deepEqual(m.snapshot(0).isr, [0x41]);
      assert.equal(m.s[F.SVI], 0x41);
    },
  },
  {
    what: 'hv-vapic ICR MSR: one MSR_WRITE on the sender (destination in bits 63:32), a kick on the running target',
    source: HV_VAPIC_SRC,
    setup: { ...D_KVM, vcpus: 2, hyperv: HV_VAPIC },
    op: (m) => m.wrmsr(0, HvMsr.ICR, 0xe1, 1 << 24),
    exits: ['MSR_WRITE', 'EXTERNAL_INTERRUPT'],
    delivered: [0xe1],
    check: (m) => assert.deepEqual(m.snapshot(1).isr, [0xe1]),
  },
  {
    what: 'hv-vapic TPR MSR read: an MSR_READ exit returning the TPR',
    source: HV_VAPIC_SRC,
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    pre: [W8(5)],
    op: (m) => m.rdmsr(0, HvMsr.TPR),
    exits: ['MSR_READ'],
    value: 0x50,
  },
  {
    what: 'EOI assist: one edge vector in service, nothing requested: the guest skips the EOI write, no exit',
    source: `TLFS "Virtual Processor Assist Page" (EOI assist); ${PV_EOI}`,
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    pre: [IRQ(0x41)],
    op: (m) => {
      assert.equal(m.hvEoiAssist(0), true);
      m.hvEoi(0);
    },
    exits: [],
    check: (m) => assert.deepEqual(m.snapshot(0).isr, []),
  },
  {
    what: 'EOI assist off while another interrupt is requested (TPR-masked): the EOI is an MSR write',
    source: PV_EOI,
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    pre: [IRQ(0x81), W8(9), IRQ(0x41)],
    op: (m) => {
      assert.equal(m.hvEoiAssist(0), false);
      m.hvEoi(0);
    },
    exits: ['MSR_WRITE'],
  },
  {
    what: 'EOI assist off for a level-triggered vector (the I/O APIC needs the EOI)',
    source: `${PV_EOI} (kvm_ioapic_handles_vector)`,
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    pre: [IRQ(0x41, true)],
    op: (m) => m.hvEoiAssist(0),
    exits: [],
    value: false,
  },
  {
    what: 'EOI assist never under APICv (KVM keeps irr_pending set)',
    source: `${PV_EOI}; KVM lapic.c kvm_apic_update_apicv`,
    setup: { ...S_KVM, hyperv: HV_VAPIC },
    pre: [IRQ(0x41)],
    op: (m) => m.hvEoiAssist(0),
    exits: [],
    value: false,
  },
  {
    what: 'no hv-vapic: WRMSR HV_X64_MSR_EOI exits and #GP is injected',
    source: HV_GP,
    setup: { ...D_KVM, hyperv: { features: HvFeature.TIME } },
    pre: [IRQ(0x41)],
    op: (m) => m.wrmsr(0, HvMsr.EOI, 0, 0),
    exits: ['MSR_WRITE'],
    fault: true,
    check: (m) => assert.deepEqual(m.snapshot(0).isr, [0x41]),
  },
  // ---- SynIC, AutoEOI, stimer
  {
    what: 'SynIC AutoEOI inhibits APICv for the VM: no VID, a device interrupt kicks the running vCPU again',
    source: INHIBIT,
    setup: { ...S_KVM, hyperv: HV_AUTOEOI },
    op: (m) => m.raiseInterrupt(0, 0x41, false),
    exits: ['EXTERNAL_INTERRUPT'],
    delivered: [0x41],
    check: (m) => assert.equal(m.flags(0) & (Flag.VID | Flag.POSTED), 0),
  },
  {
    what: 'hv-apicv (AutoEOI deprecated): APICv stays, posted interrupts need no exit',
    source: `${INHIBIT}; QEMU target/i386/kvm/kvm.c hv-apicv (HV_DEPRECATING_AEOI_RECOMMENDED)`,
    setup: { ...S_KVM, hyperv: HV_APICV },
    op: (m) => m.raiseInterrupt(0, 0x41, false),
    exits: [],
    delivered: [0x41],
    check: (m) => assert.ok((m.flags(0) & Flag.VID) !== 0),
  },
  {
    what: 'SynIC AutoEOI inhibits AVIC too',
    source: `${INHIBIT} (AVIC_REQUIRED_APICV_INHIBITS)`,
    setup: { profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 }, hyperv: HV_AUTOEOI },
    op: (m) => m.flags(0) & Flag.AVIC,
    exits: [],
    value: 0,
  },
  {
    what: 'hv-stimer expiry on a running vCPU: the hrtimer interrupt exits, the SINT is delivered AutoEOI (no ISR bit, no EOI)',
    source:
      'KVM hyperv.c stimer_timer_callback, stimer_send_msg, synic_set_irq; lapic.c kvm_get_apic_interrupt (auto_eoi_bitmap)',
    setup: { ...S_KVM, hyperv: HV_AUTOEOI },
    op: (m) => m.stimerExpires(0, 0x50),
    exits: ['EXTERNAL_INTERRUPT'],
    delivered: [0x50],
    check: (m) => {
      assert.deepEqual(m.snapshot(0).isr, []);
      assert.equal(m.hvAutoEoi(0, 0x50), true);
    },
  },
  {
    what: 'STIMER0_COUNT write with hv-stimer: an MSR_WRITE exit handled in the kernel',
    source: 'TLFS "Synthetic Timers"; KVM hyperv.c stimer_set_count',
    setup: { ...D_KVM, hyperv: HV_AUTOEOI },
    op: (m) => m.wrmsr(0, HvMsr.STIMER0_COUNT, 100000, 0),
    exits: ['MSR_WRITE'],
  },
  {
    what: 'STIMER0_COUNT write without hv-stimer: exit and #GP',
    source: HV_GP,
    setup: { ...D_KVM, hyperv: HV_VAPIC },
    op: (m) => m.wrmsr(0, HvMsr.STIMER0_COUNT, 100000, 0),
    exits: ['MSR_WRITE'],
    fault: true,
  },
];

for (const r of ROWS) {
  test(`[${r.source}] ${r.setup.policy}/${r.setup.profile.id}: ${r.what}`, () => {
    const m = buildMachine(r.setup);
    runScript(m, r.pre ?? []);
    m.beginStep(1000);
    m.logStepExits();
    const value = r.op(m);
    const exits = m.stepExits.slice(0, m.stepExitCount).map((slot) => EXIT_KINDS[slot].name);
    assert.deepEqual(exits, r.exits, 'exits');
    if (r.delivered !== undefined)
      assert.deepEqual(m.stepDelivered.slice(0, m.stepDeliveredCount), r.delivered, 'delivered');
    assert.equal(m.stepFault === Fault.GP, r.fault ?? false, 'fault');
    if (r.value !== undefined) assert.equal(value, r.value, 'value');
    r.check?.(m);
    assert.deepEqual(
      m.violations.map((x) => x.check),
      [],
    );
    assert.equal(m.checkAllInvariants(), 0);
  });
}

// ------------------------------------------------------------------ properties

const SETUPS: readonly MachineSetup[] = [
  ...(['bhyve-12.1', 'bhyve-tpr-v1', 'bhyve-tpr-v3', 'kvm'] as const).flatMap((policy) => [
    { profile: DESKTOP, policy },
    { profile: SERVER, policy },
    { profile: NO_TPR_SHADOW, policy },
  ]),
  { profile: SERVER, policy: 'kvm', tunables: { 'kvm_intel.preemption_timer': 0 } },
  { profile: SERVER, policy: 'kvm', hyperv: HV_AUTOEOI },
  { profile: DESKTOP, policy: 'kvm', hyperv: HV_VAPIC },
  { profile: AMD_NO_AVIC, policy: 'kvm' },
  { profile: AMD_NO_AVIC, policy: 'bhyve-tpr-v3' },
  { profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } },
];

const preOps = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant('interrupt' as const),
      cpu: fc.constant(0),
      vector: fc.integer({ min: 0x20, max: 0xff }),
      level: fc.boolean(),
    }),
    fc.record({ op: fc.constant('write_cr8' as const), cpu: fc.constant(0), value: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ op: fc.constant('eoi' as const), cpu: fc.constant(0) }),
    fc.record({ op: fc.constant('iret' as const), cpu: fc.constant(0) }),
  ),
  { maxLength: 8 },
);

test("[Machine.guestTimerExpires] on a running vCPU: exactly one exit, the policy's timer exit; the vector is never lost (delivered or still requested)", () => {
  fc.assert(
    fc.property(fc.constantFrom(...SETUPS), preOps, fc.integer({ min: 0x20, max: 0xff }), (setup, pre, vector) => {
      const m = buildMachine(setup);
      runScript(m, pre);
      if (m.isHalted(0) || m.isStopped(0)) return;
      m.beginStep(1000);
      m.logStepExits();
      const before = m.snapshot(0);
      const already = before.irr.includes(vector) || vecTest(m.s, F.PIR, vector);
      m.guestTimerExpires(0, vector);
      const first = EXIT_KINDS[m.stepExits[0]].name;
      const expected = m.intel
        ? m.traits.guestTimer === 'preemption-timer'
          ? 'VMX_PREEMPTION_TIMER'
          : 'EXTERNAL_INTERRUPT'
        : 'VMEXIT_INTR';
      assert.equal(first, expected);
      assert.equal(
        m.stepExits
          .slice(0, m.stepExitCount)
          .map((s) => EXIT_KINDS[s].name)
          .filter((n) => n === 'VMX_PREEMPTION_TIMER' || n === 'EXTERNAL_INTERRUPT' || n === 'VMEXIT_INTR').length,
        1,
      );
      const after = m.snapshot(0);
      const delivered = m.stepDelivered.slice(0, m.stepDeliveredCount).includes(vector);
      assert.ok(already || delivered || after.irr.includes(vector) || after.isr.includes(vector), 'the vector is kept');
      assert.equal(m.checkAllInvariants(), 0);
    }),
    { seed: 14, numRuns: 400 },
  );
});

test('[KVM lapic.c apic_sync_pv_eoi_to_guest] EOI assist: when the query says skip, hvEoi makes no exit and retires the highest in-service vector; otherwise exactly one MSR_WRITE', () => {
  fc.assert(
    fc.property(preOps, fc.boolean(), (pre, server) => {
      const m = buildMachine({ profile: server ? SERVER : DESKTOP, policy: 'kvm', hyperv: HV_VAPIC });
      runScript(m, pre);
      if (m.isHalted(0) || m.isStopped(0)) return;
      const isr = m.snapshot(0).isr;
      const assist = m.hvEoiAssist(0);
      m.beginStep(1000);
      m.logStepExits();
      m.hvEoi(0);
      const exits = m.stepExits.slice(0, m.stepExitCount).map((s) => EXIT_KINDS[s].name);
      if (assist) {
        assert.deepEqual(exits, []);
        assert.deepEqual(m.snapshot(0).isr, isr.slice(0, -1));
      } else assert.equal(exits[0], 'MSR_WRITE');
      assert.equal(m.checkAllInvariants(), 0);
    }),
    { seed: 14, numRuns: 300 },
  );
});

test('[hypervisor/exitHandling.ts] every exit kind the table names exists, every policy has an answer for every kind, and the device table names each device once', () => {
  const names = new Set(EXIT_KINDS.map((k) => k.name));
  for (const hv of ['bhyve', 'kvm'] as const)
    for (const name of Object.keys(EXIT_HANDLER[hv])) assert.ok(names.has(name), `${hv}: ${name}`);
  assert.equal(exitHandlerTable().length, EXIT_KINDS.length);
  assert.equal(new Set(DEVICES.map((d) => d.device)).size, DEVICES.length);
  for (const p of POLICY_NAMES) assert.ok(p === 'kvm' || p.startsWith('bhyve'));
  assert.equal(exitHandledIn('kvm', 'CPUID'), 'kernel');
  assert.equal(exitHandledIn('kvm', 'IO_INSTRUCTION'), 'device');
  assert.equal(exitHandledIn('kvm', 'EPT_MISCONFIG', 'emulated-device'), 'user');
  assert.equal(exitHandledIn('bhyve', 'EPT_VIOLATION', 'lapic'), 'kernel');
});
