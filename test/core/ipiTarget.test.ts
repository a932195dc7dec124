/**
 * An IPI to a running and to a halted target, table-driven (issue #14, extint-wake): which exits the
 * sender and the target take, and that the sender's host time does not depend on the target's state.
 *
 * What runs in the sender's exit (docs/research/validation-notes.md section 8.1): KVM sets the target's
 * PIR and ON, sends the posted-interrupt notification only to a target IN_GUEST_MODE (processed
 * without an exit, SDM 29.6 "Posted-Interrupt Processing"), and otherwise wakes the target's thread
 * (vmx_deliver_posted_interrupt -> kvm_vcpu_kick / kvm_vcpu_wake_up -> rcuwait_wake_up); without
 * posted interrupts a running target is kicked out of guest mode (an EXTERNAL_INTERRUPT exit on the
 * target) and a halted one only woken (its thread is blocked, its CPU not in guest mode: no exit).
 * bhyve: vcpu_notify_event -> vlapic_post_intr / ipi_cpu for a running target, wakeup_one for a
 * sleeping one. No source gives the cost of the wake-up on the sender's side, so the model has no term
 * for it: the sender's exits and host time are the same for both targets (validation-notes section 8.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { HvFeature, HvMsr, type Machine } from '../../src/core/vcpu/machine.js';
import { runScript } from '../../src/core/script/runScript.js';
import { AMD_NO_AVIC, DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine, type MachineSetup } from '../support/machines.js';

const VEC = 0xe1;
const KICK = 'KVM x86.c kvm_vcpu_kick (no posted interrupts): IPI to a vCPU in guest mode, wake-up of a blocked one';
const PI = 'SDM 29.6 "Posted-Interrupt Processing"; KVM vmx.c kvm_vcpu_trigger_posted_interrupt';
const BHYVE = 'bhyve vmm.c vcpu_notify_event_locked (ipi_cpu / vlapic_post_intr if RUNNING, wakeup_one if SLEEPING)';

interface Row {
  readonly what: string;
  readonly source: string;
  readonly setup: MachineSetup;
  /** Sends the IPI from vCPU 0 to vCPU 1. */
  readonly send: (m: Machine) => void;
  /** Exits of the sender (vCPU 0) during the send, in order. */
  readonly sender: readonly string[];
  /** Exits of the target (vCPU 1) during the send when it runs; when it is halted it takes none. */
  readonly targetRunning: readonly string[];
}

const ipi = (m: Machine): void => m.sendIpi(0, 1, VEC);

const ROWS: readonly Row[] = [
  {
    what: 'KVM, xAPIC, no APICv: ICR high and low through the APIC page',
    source: `SDM 29.4 "Virtualizing Memory-Mapped APIC Accesses"; ${KICK}`,
    setup: { profile: DESKTOP, policy: 'kvm' },
    send: ipi,
    sender: ['APIC_ACCESS', 'APIC_ACCESS'],
    targetRunning: ['EXTERNAL_INTERRUPT'],
  },
  {
    what: 'KVM, x2APIC, no APICv: one ICR MSR write',
    source: `KVM lapic.c kvm_x2apic_icr_write; ${KICK}`,
    setup: { profile: DESKTOP, policy: 'kvm', x2apic: true },
    send: ipi,
    sender: ['MSR_WRITE'],
    targetRunning: ['EXTERNAL_INTERRUPT'],
  },
  {
    what: 'KVM, xAPIC, APICv: the ICR-low write is an APIC-write exit, the target gets a posted interrupt',
    source: `SDM 29.4.3.3 "APIC-Write VM Exits"; ${PI}`,
    setup: { profile: SERVER, policy: 'kvm' },
    send: ipi,
    sender: ['APIC_WRITE'],
    targetRunning: [],
  },
  {
    what: 'KVM, x2APIC, APICv: one ICR MSR write, posted to the target',
    source: PI,
    setup: { profile: SERVER, policy: 'kvm', x2apic: true },
    send: ipi,
    sender: ['MSR_WRITE'],
    targetRunning: [],
  },
  {
    what: "KVM, hv-vapic's synthetic ICR (destination in bits 63:32), no APICv",
    source: `TLFS "Virtual Processor Assist Page"; KVM lapic.c kvm_hv_vapic_msr_write; ${KICK}`,
    setup: { profile: DESKTOP, policy: 'kvm', hyperv: { features: HvFeature.VAPIC | HvFeature.TIME } },
    send: (m) => m.wrmsr(0, HvMsr.ICR, VEC, 1 << 24),
    sender: ['MSR_WRITE'],
    targetRunning: ['EXTERNAL_INTERRUPT'],
  },
  {
    what: 'KVM on AMD without AVIC: ICR high and low as nested page faults, a kick on a running target',
    source: `APM vol. 2 15.25 "Nested Paging"; ${KICK}`,
    setup: { profile: AMD_NO_AVIC, policy: 'kvm' },
    send: ipi,
    sender: ['VMEXIT_NPF', 'VMEXIT_NPF'],
    targetRunning: ['VMEXIT_INTR'],
  },
  {
    what: 'bhyve with TPR shadowing, no APICv: ICR high and low as EPT exits',
    source: `bhyve vlapic.c vlapic_icrlo_write_handler -> lapic_intr_edge; ${BHYVE}`,
    setup: { profile: DESKTOP, policy: 'bhyve-tpr-v3' },
    send: ipi,
    sender: ['EPT_VIOLATION', 'EPT_VIOLATION'],
    targetRunning: ['EXTERNAL_INTERRUPT'],
  },
  {
    what: 'bhyve with APICv: an APIC-write exit, posted to a running target',
    source: `bhyve vmx.c vmx_handle_apic_write; ${BHYVE}`,
    setup: { profile: SERVER, policy: 'bhyve-tpr-v3' },
    send: ipi,
    sender: ['APIC_WRITE'],
    targetRunning: [],
  },
];

/** vCPU `v`'s exit counters, indexed by exit slot. */
function exitCounts(m: Machine, v: number): number[] {
  const out: number[] = [];
  for (const k of EXIT_KINDS) out[k.slot] = m.exitCount(v, k.slot);
  return out;
}

/** Exit names of vCPU `v`, repeated by count, whose counters differ between `before` (by slot) and now. */
function exitsSince(m: Machine, v: number, before: readonly number[]): string[] {
  const out: string[] = [];
  for (const k of EXIT_KINDS) for (let i = before[k.slot]; i < m.exitCount(v, k.slot); i++) out.push(k.name);
  return out;
}

interface Sent {
  readonly sender: string[];
  readonly target: string[];
  readonly senderNs: number;
  readonly delivered: boolean;
}

function send(r: Row, halted: boolean): Sent {
  const m = buildMachine({ ...r.setup, vcpus: 2 });
  // Every exit kind priced differently, so an added or changed sender exit shows in its host time.
  for (let i = 0; i < m.exitCostNs.length; i++) m.exitCostNs[i] = 1000 + 7 * i;
  runScript(
    m,
    halted
      ? [
          { op: 'sti', cpu: 1 },
          { op: 'hlt', cpu: 1 },
        ]
      : [{ op: 'sti', cpu: 1 }],
  );
  assert.equal(m.isHalted(1), halted);
  const c0 = exitCounts(m, 0);
  const c1 = exitCounts(m, 1);
  const ns0 = m.vcpuHostNs[0];
  r.send(m);
  return {
    sender: exitsSince(m, 0, c0),
    target: exitsSince(m, 1, c1),
    senderNs: m.vcpuHostNs[0] - ns0,
    delivered: !m.isHalted(1) && m.snapshot(1).isr.includes(VEC),
  };
}

for (const r of ROWS) {
  test(`[${r.source}] ${r.setup.policy}/${r.setup.profile.id}${r.setup.x2apic ? '/x2APIC' : ''}: ${r.what}`, () => {
    const running = send(r, false);
    const halted = send(r, true);
    assert.deepEqual(running.sender, r.sender, 'sender, running target');
    assert.deepEqual(running.target, r.targetRunning, 'running target');
    assert.deepEqual(halted.sender, r.sender, 'sender, halted target: the same exits');
    assert.deepEqual(halted.target, [], 'a halted target is woken in the host: no exit of its own');
    assert.ok(running.delivered && halted.delivered, 'both targets run and take the vector');
    assert.ok(running.senderNs > 0);
    assert.equal(halted.senderNs, running.senderNs, "no term for the sender's wake-up (no sourced figure)");
  });
}
