/**
 * The waker's side of a wake-up (data/cost-model.yaml wakeupWakerNs, docs/research/validation-notes.md
 * 8.5): an IPI sent to a vCPU blocked in HLT wakes its thread inside the sender's exit (KVM
 * kvm_vcpu_wake_up from vmx_deliver_posted_interrupt, kvm_vcpu_kick or svm avic_kick_target_vcpus),
 * so that exit's host time grows by the term, once, and its count does not. A running target - kicked,
 * posted to, or reached by AVIC's doorbell - charges the sender nothing; bhyve has no such term.
 * Table-driven over the ways a guest sends a fixed IPI: xAPIC ICR (APIC_WRITE with APICv, two
 * APIC_ACCESS exits with the APIC-access page only), x2APIC ICR (MSR_WRITE), hv-vapic's ICR MSR, AVIC (AVIC_INCOMPLETE_IPI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X2apicMsr } from '../../src/core/apic/registers.js';
import { HvFeature } from '../../src/core/hypervisor/hyperv.js';
import { EXIT_KINDS, Slot } from '../../src/core/vcpu/exits.js';
import { F, Flag } from '../../src/core/vcpu/layout.js';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { hostModel, loadModelData } from '../../src/model/data.js';
import { AMD_AVIC, DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

/** Host ns of every exit in these machines, and the waker's term: distinct, so a sum tells which were paid. */
const EXIT_NS = 1000;
const WAKER_NS = 2890;
const VECTOR = 0x41;

const S_KVM: MachineSetup = { profile: SERVER, policy: 'kvm' };
const D_KVM: MachineSetup = { profile: DESKTOP, policy: 'kvm' };
const AV_KVM: MachineSetup = { profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } };

type Send = (m: Machine) => void;
const xapicIcr: Send = (m) => m.sendIpi(0, 1, VECTOR);
const x2apicIcr: Send = (m) => m.wrmsr(0, X2apicMsr.Icr, VECTOR, 1);
const hvIcr: Send = (m) => m.hvSendIpi(0, 1, VECTOR);

interface Row {
  readonly what: string;
  readonly setup: MachineSetup;
  readonly send: Send;
  /** vCPU 1 halted (blocked in HLT with RFLAGS.IF = 1) when the IPI is sent, else running. */
  readonly halted: boolean;
  /** The sender's exit the IPI is sent in (none: AVIC's doorbell). */
  readonly slot?: Slot;
  /** The waker's term the sender pays. */
  readonly waker: number;
}

const ROWS: readonly Row[] = [
  {
    what: 'xAPIC ICR, APICv, halted target',
    setup: S_KVM,
    send: xapicIcr,
    halted: true,
    slot: Slot.APIC_WRITE,
    waker: WAKER_NS,
  },
  {
    what: 'xAPIC ICR, APICv, running target (posted)',
    setup: S_KVM,
    send: xapicIcr,
    halted: false,
    slot: Slot.APIC_WRITE,
    waker: 0,
  },
  {
    what: 'x2APIC ICR, no APICv, halted target',
    setup: { ...D_KVM, x2apic: true },
    send: x2apicIcr,
    halted: true,
    slot: Slot.MSR_WRITE,
    waker: WAKER_NS,
  },
  {
    what: 'x2APIC ICR, no APICv, running target (kicked)',
    setup: { ...D_KVM, x2apic: true },
    send: x2apicIcr,
    halted: false,
    slot: Slot.MSR_WRITE,
    waker: 0,
  },
  {
    what: 'xAPIC ICR, APIC-access page only (ICR high and low each exit), halted target',
    setup: D_KVM,
    send: xapicIcr,
    halted: true,
    slot: Slot.APIC_ACCESS,
    waker: WAKER_NS,
  },
  {
    what: "hv-vapic's ICR MSR, halted target",
    setup: { ...S_KVM, hyperv: { features: HvFeature.VAPIC } },
    send: hvIcr,
    halted: true,
    slot: Slot.MSR_WRITE,
    waker: WAKER_NS,
  },
  {
    what: 'AVIC, halted target: AVIC_INCOMPLETE_IPI',
    setup: AV_KVM,
    send: xapicIcr,
    halted: true,
    slot: Slot.VMEXIT_AVIC_INCOMPLETE_IPI,
    waker: WAKER_NS,
  },
  {
    what: 'AVIC, running target: the doorbell, no exit',
    setup: AV_KVM,
    send: xapicIcr,
    halted: false,
    waker: 0,
  },
];

function machine(setup: MachineSetup, waker: number, halted: boolean, defer: boolean): Machine {
  const m = buildMachine({ ...setup, vcpus: 2 });
  m.exitCostNs.fill(EXIT_NS);
  m.apicMsrWriteCostNs = EXIT_NS;
  m.wakeupWakerNs = waker;
  m.deferIpis = defer;
  m.launch();
  m.sti(0);
  m.sti(1);
  if (halted) m.hlt(1);
  assert.equal((m.flags(1) & Flag.HALTED) !== 0, halted, 'the target is as the row says');
  return m;
}

function exitsOf(m: Machine, v: number): number {
  let n = 0;
  for (const k of EXIT_KINDS) n += m.exitCount(v, k.slot);
  return n;
}

for (const r of ROWS) {
  for (const defer of [false, true]) {
    test(`waker's term: ${r.what}${defer ? ', IPI deferred (engine)' : ''}: the sender pays ${r.waker} ns beyond its exits`, () => {
      const m = machine(r.setup, WAKER_NS, r.halted, defer);
      const sender0 = m.vcpuHostNs[0];
      const target0 = m.vcpuHostNs[1];
      const slot0 = r.slot === undefined ? 0 : m.exitHostNs[r.slot];
      const slotExits0 = r.slot === undefined ? 0 : m.exitCount(0, r.slot);
      const exits0 = exitsOf(m, 0);
      m.beginStep(1);
      r.send(m);
      const exits = exitsOf(m, 0) - exits0;
      assert.equal(m.vcpuHostNs[0] - sender0, exits * EXIT_NS + r.waker, 'sender: its exits, then the term');
      assert.equal(m.stepHostNs, exits * EXIT_NS + r.waker + (m.vcpuHostNs[1] - target0), 'the step holds both');
      if (r.slot !== undefined) {
        const slotExits = m.exitCount(0, r.slot) - slotExits0;
        assert.ok(slotExits >= 1, 'the IPI is sent in this exit');
        assert.equal(m.exitHostNs[r.slot] - slot0, slotExits * EXIT_NS + r.waker, 'the term is host time of that exit');
      } else assert.equal(exits, 0, 'no exit');
      if (defer) {
        // The engine raises the IPI later: the target wakes, nothing more is charged to anyone.
        assert.equal(m.ipiOutCount, 1);
        const before = m.vcpuHostNs[0];
        m.raiseInterrupt(1, VECTOR, false);
        assert.equal(m.vcpuHostNs[0], before, 'the raise charges the sender nothing more');
      }
      assert.equal(m.vcpuHostNs[1] - target0 <= EXIT_NS, true, 'the target pays at most its own kick, never the term');
      assert.equal(m.flags(1) & Flag.HALTED, 0, 'the target runs');
    });
  }
}

test("waker's term: without one (0, bhyve's) a halted target costs the sender only its exits", () => {
  for (const r of ROWS.filter((x) => x.halted)) {
    const m = machine(r.setup, 0, true, false);
    const sender0 = m.vcpuHostNs[0];
    const exits0 = exitsOf(m, 0);
    r.send(m);
    assert.equal(m.vcpuHostNs[0] - sender0, (exitsOf(m, 0) - exits0) * EXIT_NS, r.what);
  }
  const m = machine({ profile: DESKTOP, policy: 'bhyve-tpr-v3' }, 0, true, false);
  const sender0 = m.vcpuHostNs[0];
  const exits0 = exitsOf(m, 0);
  xapicIcr(m);
  assert.ok(exitsOf(m, 0) > exits0, 'bhyve: the ICR write exits');
  assert.equal(m.vcpuHostNs[0] - sender0, (exitsOf(m, 0) - exits0) * EXIT_NS);
  assert.equal(m.s[1 * F.STRIDE + F.FLAGS] & Flag.HALTED, 0, 'and wakes the target');
});

test("waker's term: the shipped cost model gives KVM hosts the fitted term and bhyve hosts none", () => {
  const cost = loadModelData().costModel;
  assert.equal(hostModel(cost, 'kvm').wakeupWakerNs, cost.wakeupWakerNs.kvm);
  assert.ok(cost.wakeupWakerNs.kvm! > 0);
  assert.equal(cost.wakeupWakerNs.bhyve, undefined);
  assert.equal(hostModel(cost, 'bhyve').wakeupWakerNs, 0);
});
