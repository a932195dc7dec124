/**
 * IPIs between two vCPUs under VT-x: the exits on the sender, the kick or the posted interrupt on
 * the target. Single-operation IPI rows (APIC-write emulation, self IPIs) are in apicWrite.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Flag } from '../../../src/core/vcpu/layout.js';
import { Slot } from '../../../src/core/vcpu/exits.js';
import { runScript } from '../../../src/core/script/runScript.js';
import { buildMachine } from '../../support/machines.js';
import { D_V3, E, S_KVM } from './table.js';

test('[bhyve vmm.c vcpu_notify_event; SDM 28.2.3 "EPT-Induced VM Exits"] an xAPIC IPI: two EPT exits on the sender (ICR high, ICR low), a kick on the running target, injected there', () => {
  const m = buildMachine({ ...D_V3, vcpus: 2 });
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
  const m = buildMachine({ ...S_KVM, vcpus: 2, x2apic: true });
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
