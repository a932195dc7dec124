/**
 * The seed's panic: "ISR and isrvec_stk out of sync" on a Xeon E5-2667 v4 (APICv) under review v2 of
 * "Untangle TPR shadowing and APIC virtualization". With virtual-interrupt delivery the CPU sets ISR
 * bits in the virtual-APIC page (= bhyve's vlapic page) without pushing isrvec_stk; v2 still ran
 * vlapic_update_ppr() after VM exits, whose consistency check (bhyve vlapic.c, compiled in by
 * "#if 1") panics. v3 ("TPR Shadowing must not be used if Virtual Interrupt Delivery is enabled"),
 * v1 and 12.1 do not sync PPR behind APICv. Sources: seed review D22942; docs/SOURCES.md 5.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine, Violation } from '../../src/core/vcpu/machine.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import type { PolicyName, Tunables } from '../../src/core/hypervisor/policy.js';
import { runScript, type TraceStep } from '../../src/core/script/runScript.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { SERVER } from '../support/profiles.js';
import { buildMachine } from '../support/machines.js';

const E5_2667V4 = findCpuProfile(loadCpuCatalog(), 'xeon-e5-2667v4');

function machine(profile: CpuProfile, policy: PolicyName, vcpus = 1, tunables: Tunables = {}): Machine {
  return buildMachine({ profile, policy, vcpus, tunables });
}

/** The seed script: KeRaiseIrql / KeLowerIrql through CR8, a storage MSI, port I/O in its ISR, EOI, IRET. */
const SEED_SCRIPT: readonly ScriptOp[] = [
  { op: 'write_cr8', cpu: 0, value: 2 },
  { op: 'write_cr8', cpu: 0, value: 0 },
  { op: 'interrupt', cpu: 0, vector: 0x81, level: false },
  { op: 'io', cpu: 0, port: 0x1f7 },
  { op: 'eoi', cpu: 0 },
  { op: 'iret', cpu: 0 },
];

/** A longer Windows-like run: IRQL churn, a clock interrupt raising IRQL inside its ISR, then a device ISR doing I/O. */
const WINDOWS_SCRIPT: readonly ScriptOp[] = [
  { op: 'read_cr8', cpu: 0 },
  { op: 'write_cr8', cpu: 0, value: 2 },
  { op: 'write_cr8', cpu: 0, value: 0 },
  { op: 'read_cr8', cpu: 0 },
  { op: 'write_cr8', cpu: 0, value: 2 },
  { op: 'write_cr8', cpu: 0, value: 0 },
  { op: 'cpuid', cpu: 0 },
  { op: 'interrupt', cpu: 0, vector: 0xd1, level: false }, // clock
  { op: 'read_cr8', cpu: 0 },
  { op: 'write_cr8', cpu: 0, value: 13 }, // KiInterruptDispatch raises to CLOCK_LEVEL
  { op: 'eoi', cpu: 0 },
  { op: 'write_cr8', cpu: 0, value: 0 },
  { op: 'iret', cpu: 0 },
  { op: 'interrupt', cpu: 0, vector: 0x81, level: false }, // storage
  { op: 'read_cr8', cpu: 0 },
  { op: 'write_cr8', cpu: 0, value: 8 },
  { op: 'io', cpu: 0, port: 0x1f7 },
  { op: 'eoi', cpu: 0 },
  { op: 'write_cr8', cpu: 0, value: 0 },
  { op: 'iret', cpu: 0 },
  { op: 'hlt', cpu: 0 },
];

const SEED =
  'seed review D22942 (dch\'s E5-2667 v4 panic); bhyve vlapic.c vlapic_update_ppr "ISR and isrvec_stk out of sync"';

function assertPanic(m: Machine, steps: TraceStep[], step: number, vector: number): Violation {
  assert.equal(m.violations.length, 1, JSON.stringify(m.violations.map((v) => v.check)));
  const v = m.violations[0];
  assert.equal(v.check, 'isr_isrvec_stk_out_of_sync');
  assert.equal(v.message, 'ISR and isrvec_stk out of sync');
  assert.equal(v.step, step);
  assert.equal(v.vcpu, 0);
  assert.equal(v.guest, 0);
  assert.ok(v.state.isr.includes(vector), `ISR ${v.state.isr}`);
  assert.deepEqual(v.state.isrvecStk, [], 'the CPU delivered it: nothing was pushed on isrvec_stk');
  assert.equal(v.state.svi, vector, 'SVI: the vector the CPU put in service');
  assert.ok(m.isStopped(0));
  // The violation shows in the trace on its step, and nothing after it runs.
  const at = steps.find((s) => s.step === step)!;
  assert.deepEqual(
    at.violations.map((x) => x.check),
    ['isr_isrvec_stk_out_of_sync'],
  );
  for (const s of steps.filter((x) => x.step > step && x.cpu === 0)) {
    assert.deepEqual(s.exits, [], `step ${s.step} ${s.op} after the panic`);
    assert.deepEqual(s.delivered, []);
    assert.deepEqual(s.violations, []);
  }
  return v;
}

for (const [label, profile] of [
  ['synthetic SERVER', SERVER],
  ['xeon-e5-2667v4 from data/cpus', E5_2667V4],
] as const) {
  test(`[${SEED}] seed script on ${label} under bhyve-tpr-v2: panic at the I/O exit (step 4), vCPU stopped, no throw`, () => {
    const m = machine(profile, 'bhyve-tpr-v2');
    let steps: TraceStep[] = [];
    assert.doesNotThrow(() => {
      steps = runScript(m, SEED_SCRIPT);
    });
    assert.equal(steps.length, SEED_SCRIPT.length);
    assert.deepEqual(steps[2].delivered, [0x81], 'posted interrupt delivered by the CPU with no exit');
    assert.deepEqual(steps[2].exits, []);
    assert.deepEqual(
      steps[3].exits.map((e) => e.name),
      ['IO_INSTRUCTION'],
    );
    assertPanic(m, steps, 4, 0x81);
    assert.equal(m.checkAllInvariants(), 0, 'a stopped vCPU is not checked again');
  });

  test(`[${SEED}] Windows-like script on ${label} under bhyve-tpr-v2: panic at the first exit with a CPU-delivered vector in service`, () => {
    const m = machine(profile, 'bhyve-tpr-v2');
    const steps = runScript(m, WINDOWS_SCRIPT);
    // CPUID (step 7) exits with nothing in service: vlapic_update_ppr's check passes.
    assert.deepEqual(
      steps[6].exits.map((e) => e.name),
      ['CPUID'],
    );
    assert.deepEqual(steps[6].violations, []);
    // The clock ISR runs without exits under APICv (CR8 and EOI virtualized); the storage ISR's I/O exits.
    assert.deepEqual(
      steps.slice(7, 16).flatMap((s) => s.exits),
      [],
    );
    assertPanic(m, steps, 17, 0x81);
  });

  for (const policy of ['bhyve-tpr-v3', 'bhyve-tpr-v1', 'bhyve-12.1', 'kvm'] as const) {
    test(`[${SEED}; seed review v3 "TPR Shadowing must not be used if Virtual Interrupt Delivery is enabled"] ${label} under ${policy}: no violation, the guest runs to the end`, () => {
      for (const script of [SEED_SCRIPT, WINDOWS_SCRIPT]) {
        const m = machine(profile, policy);
        const steps = runScript(m, script);
        assert.deepEqual(m.violations, [], policy);
        assert.ok(!m.isStopped(0));
        assert.equal(m.checkAllInvariants(), 0);
        assert.deepEqual(m.snapshot(0).isr, [], 'every interrupt was EOIed');
        assert.ok(steps.some((s) => s.exits.some((e) => e.name === 'IO_INSTRUCTION')));
      }
    });
  }
}

test(`[${SEED}] v2 with posted interrupts off (hw.vmm.vmx.use_apic_pir=0): the kick exit comes before delivery, the panic at the next exit`, () => {
  const m = machine(SERVER, 'bhyve-tpr-v2', 1, { 'hw.vmm.vmx.use_apic_pir': 0 });
  const steps = runScript(m, SEED_SCRIPT);
  assert.deepEqual(
    steps[2].exits.map((e) => e.name),
    ['EXTERNAL_INTERRUPT'],
  );
  assert.deepEqual(steps[2].violations, [], 'ISR empty at the kick exit');
  assert.deepEqual(steps[2].delivered, [0x81]);
  assertPanic(m, steps, 4, 0x81);
});

test(`[${SEED}] v2 without APICv (hw.vmm.vmx.use_apic_vid=0): software path, ISR and isrvec_stk agree, no panic`, () => {
  const m = machine(SERVER, 'bhyve-tpr-v2', 1, { 'hw.vmm.vmx.use_apic_vid': 0 });
  runScript(m, WINDOWS_SCRIPT);
  assert.deepEqual(m.violations, []);
});

test(`[${SEED}] the panic stops only its vCPU: vCPU 1 keeps running, and panics too at its own first exit with a CPU-delivered vector in service`, () => {
  const m = machine(SERVER, 'bhyve-tpr-v2', 2);
  const steps = runScript(m, [
    ...SEED_SCRIPT,
    { op: 'cpuid', cpu: 1 },
    { op: 'interrupt', cpu: 1, vector: 0x61, level: false },
    { op: 'io', cpu: 1, port: 0x80 },
    { op: 'cpuid', cpu: 1 },
    { op: 'ipi', cpu: 1, to: 0, vector: 0xe1 },
  ]);
  assert.equal(m.violations[0].vcpu, 0);
  assert.deepEqual(
    steps[6].exits.map((e) => e.name),
    ['CPUID'],
    'vCPU 1 still runs after vCPU 0 stopped',
  );
  assert.deepEqual(steps[6].violations, [], 'nothing in service on vCPU 1 yet');
  assert.deepEqual(steps[7].delivered, [0x61]);
  assert.deepEqual(
    steps[8].violations.map((v) => [v.vcpu, v.check]),
    [[1, 'isr_isrvec_stk_out_of_sync']],
  );
  assert.ok(m.isStopped(0) && m.isStopped(1));
  assert.equal(m.exitCount(1, Slot.CPUID), 1, 'the CPUID after vCPU 1 stopped does not run');
  assert.deepEqual(steps[10].exits, []);
});

test(`[${SEED}] under v3 two vCPUs exchange IPIs through the same script shape with no violation`, () => {
  const m = machine(SERVER, 'bhyve-tpr-v3', 2);
  runScript(m, [
    ...SEED_SCRIPT,
    { op: 'interrupt', cpu: 1, vector: 0x61, level: false },
    { op: 'io', cpu: 1, port: 0x80 },
    { op: 'eoi', cpu: 1 },
    { op: 'iret', cpu: 1 },
    { op: 'ipi', cpu: 1, to: 0, vector: 0xe1 },
  ]);
  assert.deepEqual(m.violations, []);
  assert.deepEqual(m.snapshot(0).isr, [0xe1]);
});
