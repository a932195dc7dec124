/**
 * Whose EOIs the hypervisor sees (apic/eoi.ts requestEoiExit), table-driven like machineOps.test.ts:
 * the Windows clock interrupt from the RTC is edge-triggered (TMR clear) but KVM puts its vector in
 * the EOI-exit bitmap, so VT-x with virtual-interrupt delivery exits on its EOI (EOI_INDUCED) and
 * AVIC, which has no EOI-exit bitmap, does not; a level-triggered vector still traps under AVIC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Flag } from '../../src/core/vcpu/layout.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { HvFeature, type Machine } from '../../src/core/vcpu/machine.js';
import { vecTest } from '../../src/core/apic/vectors.js';
import { AMD_AVIC, AMD_NO_AVIC, DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

/** Windows' clock vector (data/guest-models.yaml timer.vector), the RTC's when the RTC drives the clock. */
const RTC = 0xd1;
const OTHER = 0x41;

const S_KVM: MachineSetup = { profile: SERVER, policy: 'kvm' };
const S_KVM_NO_PI: MachineSetup = { ...S_KVM, tunables: { 'kvm_intel.enable_apicv': 0 } };
const D_KVM: MachineSetup = { profile: DESKTOP, policy: 'kvm' };
const AV: MachineSetup = { profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } };
const SVM: MachineSetup = { profile: AMD_NO_AVIC, policy: 'kvm' };

const EOI_VIRT = 'SDM vol. 3C "EOI Virtualization" (EOI-exit bitmap bit 1: EOI-induced VM exit, reason 45)';
const KVM_RTC = 'KVM arch/x86/kvm/ioapic.c kvm_ioapic_scan_entry (index == RTC_GSI) -> vmx_load_eoi_exitmap';
const AVIC_EOI = 'APM vol. 2 15.29 "Advanced Virtual Interrupt Controller" (EOI of a level-triggered vector traps)';
const SVM_NO_MAP = 'KVM svm avic_load_eoi_exitmap (empty): SVM has no EOI-exit bitmap';
const PV_EOI = 'KVM lapic.c apic_sync_pv_eoi_to_guest (kvm_ioapic_handles_vector)';

/** How the interrupt is raised: edge, level, or edge with its EOI tracked (KVM's RTC). */
type Raise = 'edge' | 'level' | 'rtc';

interface Row {
  readonly what: string;
  readonly source: string;
  readonly setup: MachineSetup;
  readonly raise: Raise;
  readonly vector: number;
  /** Raised while the vCPU is halted (the wake-up path) rather than running. */
  readonly halted?: boolean;
  /** The guest's EOI (default: the LAPIC EOI write). */
  readonly eoi?: (m: Machine) => void;
  /** Expected exits of the EOI (names of vcpu/exits.ts), in order. */
  readonly exits: readonly string[];
  /** Expected TMR bit of the vector after delivery (the trigger mode). */
  readonly tmr: boolean;
}

const ROWS: readonly Row[] = [
  {
    what: "APICv (posted): the RTC's EOI exits EOI_INDUCED",
    source: `${EOI_VIRT}; ${KVM_RTC}`,
    setup: S_KVM,
    raise: 'rtc',
    vector: RTC,
    exits: ['VIRTUALIZED_EOI'],
    tmr: false,
  },
  {
    what: 'APICv (posted), the RTC waking a halted vCPU: its EOI exits EOI_INDUCED',
    source: `${EOI_VIRT}; ${KVM_RTC}`,
    setup: S_KVM,
    raise: 'rtc',
    vector: RTC,
    halted: true,
    exits: ['VIRTUALIZED_EOI'],
    tmr: false,
  },
  {
    what: 'APICv: an untracked edge vector is EOIed with no exit',
    source: EOI_VIRT,
    setup: S_KVM,
    raise: 'edge',
    vector: OTHER,
    exits: [],
    tmr: false,
  },
  {
    what: 'APICv: a level-triggered vector exits EOI_INDUCED',
    source: `${EOI_VIRT}; bhyve vmx.c vmx_set_tmr`,
    setup: S_KVM,
    raise: 'level',
    vector: OTHER,
    exits: ['VIRTUALIZED_EOI'],
    tmr: true,
  },
  {
    what: "AVIC: the RTC's EOI is accelerated, no exit",
    source: `${AVIC_EOI}; ${SVM_NO_MAP}`,
    setup: AV,
    raise: 'rtc',
    vector: RTC,
    exits: [],
    tmr: false,
  },
  {
    what: 'AVIC, the RTC waking a halted vCPU: its EOI is accelerated, no exit',
    source: `${AVIC_EOI}; ${SVM_NO_MAP}`,
    setup: AV,
    raise: 'rtc',
    vector: RTC,
    halted: true,
    exits: [],
    tmr: false,
  },
  {
    what: 'AVIC: a level-triggered vector still traps VMEXIT_AVIC_NOACCEL',
    source: AVIC_EOI,
    setup: AV,
    raise: 'level',
    vector: OTHER,
    exits: ['VMEXIT_AVIC_NOACCEL'],
    tmr: true,
  },
  {
    what: "SVM without AVIC: the RTC's EOI is the emulated xAPIC write, whatever the bitmap",
    source: 'APM vol. 2 15.25 "Nested Paging" (the APIC page is MMIO); KVM apic_set_eoi',
    setup: SVM,
    raise: 'rtc',
    vector: RTC,
    exits: ['VMEXIT_NPF'],
    tmr: false,
  },
  {
    what: "hv-vapic without APICv: the RTC's vector in service refuses the EOI assist, the EOI is WRMSR HV_X64_MSR_EOI",
    source: PV_EOI,
    setup: { ...D_KVM, hyperv: { features: HvFeature.VAPIC | HvFeature.TIME } },
    raise: 'rtc',
    vector: RTC,
    eoi: (m) => {
      assert.equal(m.hvEoiAssist(0), false, 'assist');
      m.hvEoi(0);
    },
    exits: ['MSR_WRITE'],
    tmr: false,
  },
  {
    what: 'hv-vapic without APICv: an untracked edge vector takes the EOI assist, no exit',
    source: PV_EOI,
    setup: { ...D_KVM, hyperv: { features: HvFeature.VAPIC | HvFeature.TIME } },
    raise: 'edge',
    vector: RTC,
    eoi: (m) => {
      assert.equal(m.hvEoiAssist(0), true, 'assist');
      m.hvEoi(0);
    },
    exits: [],
    tmr: false,
  },
];

for (const r of ROWS) {
  test(`[${r.source}] ${r.setup.profile.id}: ${r.what}`, () => {
    const m = buildMachine(r.setup);
    m.beginStep(0);
    m.launch();
    if (r.halted) {
      m.hlt(0);
      assert.ok(m.isHalted(0), 'halted before the interrupt');
    }
    assert.ok(m.raiseInterrupt(0, r.vector, r.raise === 'level', r.raise !== 'edge'), 'accepted');
    assert.deepEqual(m.snapshot(0).isr, [r.vector], 'delivered');
    assert.equal(vecTest(m.s, F.TMR, r.vector), r.tmr, 'TMR');
    m.beginStep(1000);
    m.logStepExits();
    (r.eoi ?? ((x: Machine) => x.eoi(0)))(m);
    const exits = m.stepExits.slice(0, m.stepExitCount).map((slot) => EXIT_KINDS[slot].name);
    assert.deepEqual(exits, r.exits, 'exits');
    assert.deepEqual(m.snapshot(0).isr, [], 'ISR after the EOI');
    assert.deepEqual(
      m.violations.map((x) => x.check),
      [],
    );
    assert.equal(m.checkAllInvariants(), 0);
  });
}

test('the setups take the paths the rows name: APICv posts, enable_apicv=0 neither posts nor has VID, AVIC only with kvm_amd.avic', () => {
  assert.ok((buildMachine(S_KVM).flags(0) & Flag.POSTED) !== 0);
  assert.equal(buildMachine(S_KVM_NO_PI).flags(0) & (Flag.POSTED | Flag.VID), 0);
  assert.ok((buildMachine(AV).flags(0) & Flag.AVIC) !== 0);
  assert.equal(buildMachine(SVM).flags(0) & Flag.AVIC, 0);
});

test(`[${KVM_RTC}] the tracked edge vector: EOI-exit-bitmap bit set, TMR clear, on every path`, () => {
  for (const su of [S_KVM, S_KVM_NO_PI, D_KVM, AV, SVM]) {
    const m = buildMachine(su);
    m.beginStep(0);
    m.launch();
    m.raiseInterrupt(0, RTC, false, true);
    m.raiseInterrupt(0, OTHER, false);
    assert.ok(vecTest(m.s, F.EOI_EXIT, RTC) && !vecTest(m.s, F.TMR, RTC), `${su.profile.id} RTC`);
    assert.ok(!vecTest(m.s, F.EOI_EXIT, OTHER) && !vecTest(m.s, F.TMR, OTHER), `${su.profile.id} edge`);
  }
});
