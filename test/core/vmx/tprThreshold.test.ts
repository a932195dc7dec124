/**
 * The TPR-threshold exit beyond what a table row can say: it is trap-like (the handler sees the new
 * VTPR), and it follows event injection at entry. The threshold rows are in tprThreshold.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from '../../../src/core/vcpu/machine.js';
import { F } from '../../../src/core/vcpu/layout.js';
import { Next } from '../../../src/core/vcpu/outcomes.js';
import { tprVirtualization, vtprBelowThreshold } from '../../../src/core/vmx/apicVirtualization.js';
import { ProcBased, ProcBased2 } from '../../../src/core/vmx/controls.js';
import { tprThresholdExitsAfterEntry } from '../../../src/core/vmx/entry.js';
import { EntryCheck, checkTprThreshold } from '../../../src/core/vmx/entryChecks.js';
import { Slot } from '../../../src/core/vcpu/exits.js';
import { runScript } from '../../../src/core/script/runScript.js';
import { vecSet } from '../../../src/core/apic/vectors.js';
import { buildMachine } from '../../support/machines.js';
import { IO, W8 } from '../../support/ops.js';
import { D_KVM, D_V3 } from './table.js';

test('[SDM 29.1.2 "TPR Virtualization": VM exits caused by TPR virtualization are trap-like] the TPR exit handler sees the new VTPR', () => {
  // Instrument the exit: PPR is re-synced by the hypervisor from the TPR it finds after the exit.
  const m = buildMachine(D_V3);
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

/** A test's window into the machine's entry path (protected in MachineCore). */
function enter(m: Machine, v: number): void {
  (m as unknown as { enter(v: number): void }).enter(v);
}

test(`[SDM 26.7.7 "VM Exits Induced by the TPR Threshold": they follow event injection] D5 an injected interrupt is delivered at the entry whose TPR-threshold exit follows it`, () => {
  const m = buildMachine(D_KVM);
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

test('[SDM 29.1.2 "TPR Virtualization": VTPR[7:4] < TPR threshold[3:0]] one comparison: TPR virtualization, the exit after entry and the entry check agree on every VTPR and threshold', () => {
  const s = new Int32Array(F.STRIDE);
  s[F.PROC] = ProcBased.UseTprShadow;
  s[F.PROC2] = ProcBased2.VirtualizeApicAccesses; // VID off (F.FLAGS 0)
  for (let vtpr = 0; vtpr < 256; vtpr++) {
    for (let threshold = 0; threshold < 16; threshold++) {
      s[F.TPR] = vtpr;
      s[F.TPR_THRESHOLD] = threshold;
      const below = vtpr >>> 4 < threshold;
      const at = `VTPR ${vtpr}, threshold ${threshold}`;
      assert.equal(vtprBelowThreshold(vtpr, threshold), below, at);
      assert.equal(tprVirtualization(s, 0), below ? Next.TPR_BELOW_THRESHOLD_EXIT : Next.NOTHING, at);
      assert.equal(tprThresholdExitsAfterEntry(s, 0), below, at);
      // Without APIC-access virtualization the same comparison fails the VM entry (SDM "Checks on VMX Controls").
      const failed = checkTprThreshold(ProcBased.UseTprShadow, 0, threshold, vtpr);
      assert.equal((failed & EntryCheck.TPR_THRESHOLD_ABOVE_VTPR) !== 0, below, at);
    }
  }
});
