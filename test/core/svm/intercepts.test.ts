/**
 * The VMCB both hypervisors program before VMRUN (src/core/svm/intercepts.ts), over a whole
 * script: V_INTR_MASKING and the INTR, HLT and MSR intercepts set, CR8 reads never intercepted,
 * and bhyve never intercepting CR8 writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, SvmIntercept } from '../../../src/core/vcpu/layout.js';
import { runScript } from '../../../src/core/script/runScript.js';
import type { ScriptOp } from '../../../src/core/script/ops.js';
import { SvmExitCode as X } from '../../../src/core/svm/exitCodes.js';
import { buildMachine } from '../../support/machines.js';
import { CLI, EOI, IO, IRQ, R8, STI, W8 } from '../../support/ops.js';
import { AV, B, BHYVE_SVM, K, VTPR } from './table.js';

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
    const m = buildMachine(su);
    m.beginStep(0);
    m.launch();
    assert.equal(m.s[F.V_INTR_MASKING], 1);
    const need = SvmIntercept.INTR | SvmIntercept.HLT | SvmIntercept.MSR;
    assert.equal(m.s[F.SVM_INTERCEPTS] & need, need);
    const steps = runScript(buildMachine(su), script);
    for (const s of steps) {
      assert.ok(
        s.exits.every((e) => e.reason !== X.Cr8Read),
        `${su.policy}: step ${s.step} ${s.op}`,
      );
    }
    const m2 = buildMachine(su);
    runScript(m2, script);
    assert.equal(m2.s[F.SVM_INTERCEPTS] & SvmIntercept.CR8_READ, 0);
    assert.deepEqual(m2.violations, []);
  }
});

test(`[${BHYVE_SVM}] bhyve never takes VMEXIT_CR8_WRITE, whatever the TPR and pending interrupts`, () => {
  const m = buildMachine(B);
  const ops: ScriptOp[] = [];
  for (let i = 0; i < 16; i++) ops.push(W8(15 - i), IRQ(0x20 + i * 13), W8(i), IO(0x80));
  const steps = runScript(m, ops);
  assert.ok(steps.every((s) => s.exits.every((e) => e.reason !== X.Cr8Write)));
  assert.ok(steps.some((s) => s.delivered.length > 0));
});
