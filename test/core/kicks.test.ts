/**
 * Kicks are not ticks (docs/research/validation-notes.md 8.5, step 2): without posted interrupts or
 * AVIC an interrupt for a running vCPU reaches it as a host reschedule IPI (KVM kvm_vcpu_kick ->
 * smp_send_reschedule), an external-interrupt exit whose qualification carries RESCHEDULE_VECTOR and
 * whose host time is kickCostNs; the host's timer interrupt carries LOCAL_TIMER_VECTOR and costs the
 * slot. Under bhyve both keep qualification 0 and the slot's cost. The tabulated path (a RAISE replayed
 * from the table of interned states) and the fast-forward (hostInterrupts) must charge the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostVector, Slot } from '../../src/core/vcpu/exits.js';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { exitCostTable, kickCostNs, loadModelData } from '../../src/model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { AMD_NO_AVIC, DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

const SLOT_NS = 2400;
const KICK_NS = 450;

interface Row {
  readonly what: string;
  readonly setup: MachineSetup;
  readonly op: (m: Machine) => void;
  /** The exit vCPU 0 takes (none: no exit), its qualification and host ns. */
  readonly slot?: Slot;
  readonly qual: number;
  readonly ns: number;
}

const raise = (m: Machine): void => void m.raiseInterrupt(0, 0x41, false);
const tick = (m: Machine): void => m.hostInterrupt(0);

const ROWS: readonly Row[] = [
  {
    what: 'KVM, no APICv: a kick',
    setup: { profile: DESKTOP, policy: 'kvm' },
    op: raise,
    slot: Slot.EXTERNAL_INTERRUPT,
    qual: HostVector.RESCHEDULE,
    ns: KICK_NS,
  },
  {
    what: 'KVM, no APICv: the host tick',
    setup: { profile: DESKTOP, policy: 'kvm' },
    op: tick,
    slot: Slot.EXTERNAL_INTERRUPT,
    qual: HostVector.LOCAL_TIMER,
    ns: SLOT_NS,
  },
  {
    what: 'KVM, SVM without AVIC: a kick',
    setup: { profile: AMD_NO_AVIC, policy: 'kvm' },
    op: raise,
    slot: Slot.VMEXIT_INTR,
    qual: HostVector.RESCHEDULE,
    ns: KICK_NS,
  },
  {
    what: 'KVM, SVM without AVIC: the host tick',
    setup: { profile: AMD_NO_AVIC, policy: 'kvm' },
    op: tick,
    slot: Slot.VMEXIT_INTR,
    qual: HostVector.LOCAL_TIMER,
    ns: SLOT_NS,
  },
  {
    what: 'KVM, APICv: posted to the running vCPU, no exit',
    setup: { profile: SERVER, policy: 'kvm' },
    op: raise,
    qual: 0,
    ns: 0,
  },
  {
    what: 'bhyve: a kick keeps qualification 0 and the slot',
    setup: { profile: DESKTOP, policy: 'bhyve-tpr-v3' },
    op: raise,
    slot: Slot.EXTERNAL_INTERRUPT,
    qual: 0,
    ns: SLOT_NS,
  },
  {
    what: 'bhyve: the host tick',
    setup: { profile: DESKTOP, policy: 'bhyve-tpr-v3' },
    op: tick,
    slot: Slot.EXTERNAL_INTERRUPT,
    qual: 0,
    ns: SLOT_NS,
  },
];

function machine(setup: MachineSetup, log: boolean): Machine {
  const m = buildMachine(setup);
  m.exitCostNs.fill(SLOT_NS);
  m.kickCostNs = setup.policy === 'kvm' ? KICK_NS : -1;
  if (log) m.logStepExits();
  m.launch();
  m.sti(0);
  return m;
}

for (const r of ROWS) {
  test(`kicks and ticks: ${r.what}`, () => {
    const m = machine(r.setup, true);
    m.beginStep(1);
    const ns0 = m.vcpuHostNs[0];
    r.op(m);
    assert.equal(m.vcpuHostNs[0] - ns0, r.ns, 'host ns');
    if (r.slot === undefined) {
      assert.equal(m.stepExitCount, 0);
      return;
    }
    assert.deepEqual([m.stepExits[0], m.stepExitQual[0]], [r.slot, r.qual], 'the exit and its qualification');
    // The same operations through the table of interned states (no exit log): the same host time each.
    const t = machine(r.setup, false);
    for (let i = 0; i < 5; i++) {
      const before = t.vcpuHostNs[0];
      r.op(t);
      assert.equal(t.vcpuHostNs[0] - before, r.ns, `tabulated, run ${i}`);
      t.eoi(0); // the guest's ISR ends: the next raise is not coalesced
      t.iret(0);
    }
  });
}

test('kicks and ticks: the fast-forward of host ticks charges every tick the slot, none the kick', () => {
  const m = machine({ profile: DESKTOP, policy: 'kvm' }, false);
  m.hostInterrupts(0, 1000);
  assert.equal(m.exitCount(0, Slot.EXTERNAL_INTERRUPT), 1000);
  assert.equal(m.vcpuHostNs[0], 1000 * SLOT_NS);
});

test("kicks and ticks: the shipped cost model's kick is the tick's exit less the tick's field part plus the refill", () => {
  const data = loadModelData();
  const cpu = findCpuProfile(loadCpuCatalog(), 'i7-6700K');
  const table = exitCostTable(data.costModel, cpu, 'kvm');
  const kick = kickCostNs(data.costModel, cpu, 'kvm');
  assert.equal(
    table[Slot.EXTERNAL_INTERRUPT] - kick,
    data.costModel.fieldNs.kvm.EXTERNAL_INTERRUPT - data.costModel.kickFieldNs.kvm!,
  );
  assert.ok(kick > 0 && kick < table[Slot.EXTERNAL_INTERRUPT]);
  assert.equal(kickCostNs(data.costModel, cpu, 'bhyve'), -1);
});
