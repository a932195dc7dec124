/**
 * Virtual-interrupt delivery beyond what a table row can say: TMR and the EOI-exit bitmap, the
 * order of the entry path (interrupt window, PPR virtualization, evaluation) and posted-interrupt
 * processing as a property (issue #14 D4, D6, D7). The rows are in virtualInterrupts.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { F, Flag } from '../../../src/core/vcpu/layout.js';
import { Slot } from '../../../src/core/vcpu/exits.js';
import { runScript } from '../../../src/core/script/runScript.js';
import { vecHighest, vecSet, vecTest } from '../../../src/core/apic/vectors.js';
import { syncPirToIrr } from '../../../src/core/vmx/virtualInterrupts.js';
import { ProcBased } from '../../../src/core/vmx/controls.js';
import { buildMachine } from '../../support/machines.js';
import { CLI, IRQ } from '../../support/ops.js';
import { PIR, S_KVM, S_V3, WINDOW_VID } from './table.js';

test('[SDM 24.6.8 "Controls for APIC Virtualization"; bhyve vmx.c vmx_set_tmr] VID: a level-triggered request sets TMR and the EOI-exit bitmap, an edge one neither', () => {
  const m = buildMachine(S_V3);
  runScript(m, [IRQ(0x41, true), IRQ(0x62, false)]);
  assert.ok(vecTest(m.s, F.TMR, 0x41) && vecTest(m.s, F.EOI_EXIT, 0x41));
  assert.ok(!vecTest(m.s, F.TMR, 0x62) && !vecTest(m.s, F.EOI_EXIT, 0x62));
});

test(`[${WINDOW_VID}; SDM 29.2.1 "Evaluation of Pending Virtual Interrupts"] D4 VID: while interrupt-window exiting is 1 no virtual interrupt is recognized; the window exit comes right after the next entry, the delivery after it`, () => {
  const m = buildMachine(S_KVM);
  runScript(m, [CLI, IRQ(0x41)]); // posted, RVI = 0x41, IF = 0: not delivered
  m.s[F.PROC] |= ProcBased.InterruptWindowExiting; // the hypervisor asks for a window (an event it must inject)
  m.s[F.FLAGS] |= Flag.IF; // the guest's IF as an exit finds it
  assert.equal(m.stepDeliveredCount, 0);
  m.beginStep(10);
  m.logStepExits();
  m.cpuid(0);
  assert.deepEqual(m.stepExits.slice(0, m.stepExitCount), [Slot.CPUID, Slot.INTERRUPT_WINDOW]);
  assert.deepEqual(m.stepDelivered.slice(0, m.stepDeliveredCount), [0x41], 'delivered once the window closed');
});

test(`[SDM 26.3.2.5 "Updating Non-Register State"; SDM 29.1.3 "PPR Virtualization"] D6 VM entry with VID virtualizes PPR before it evaluates pending virtual interrupts`, () => {
  const m = buildMachine(S_KVM);
  runScript(m, [CLI, IRQ(0x41)]);
  m.s[F.PPR] = 0xf0; // a stale VPPR: evaluated as it stands, it would mask RVI 0x41
  m.beginStep(10);
  m.sti(0); // RFLAGS.IF = 1: evaluation with the stale VPPR recognizes nothing
  assert.equal(m.stepDeliveredCount, 0);
  m.cpuid(0); // exit and entry: PPR virtualization (VPPR = 0), then evaluation
  assert.deepEqual(m.stepDelivered.slice(0, m.stepDeliveredCount), [0x41]);
});

test(`[${PIR}, step 6] D7 posted-interrupt processing: VIRR |= PIR, PIR cleared, RVI = max(RVI, highest PIR bit), never lowered`, () => {
  const vectors = fc.uniqueArray(fc.integer({ min: 16, max: 255 }), { maxLength: 6 });
  fc.assert(
    fc.property(vectors, vectors, fc.integer({ min: 0, max: 255 }), (pir, irr, rvi) => {
      const s = new Int32Array(F.STRIDE);
      for (const x of pir) vecSet(s, F.PIR, x);
      for (const x of irr) vecSet(s, F.IRR, x);
      s[F.RVI] = rvi;
      s[F.PIR_ON] = 1;
      syncPirToIrr(s, 0);
      const highPir = pir.length === 0 ? -1 : Math.max(...pir);
      assert.equal(s[F.RVI], Math.max(rvi, highPir));
      for (const x of [...pir, ...irr]) assert.ok(vecTest(s, F.IRR, x));
      assert.equal(vecHighest(s, F.PIR), -1);
      assert.equal(s[F.PIR_ON], 0);
    }),
    { seed: 14, numRuns: 300 },
  );
});
