/**
 * The dispatch rule has one home (src/core/apic/priority.ts classAbovePpr): a requested vector is
 * dispatched only when its priority class is above PPR's. The vlapic's pending interrupt, VT-x's
 * evaluation of pending virtual interrupts and AVIC's apply it; this holds them to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classAbovePpr } from '../../src/core/apic/priority.js';
import { priorityClass, vecSet } from '../../src/core/apic/vectors.js';
import { vlapicPendingIntr } from '../../src/core/apic/vlapic.js';
import { avicPendingInterrupt } from '../../src/core/svm/avic.js';
import { F } from '../../src/core/vcpu/layout.js';
import { pendingVirtualInterrupt } from '../../src/core/vmx/virtualInterrupts.js';

test('[SDM "Task and Processor Priorities"] one dispatch rule (class above PPR): the vlapic, VT-x virtual-interrupt evaluation and AVIC agree on every vector and PPR class', () => {
  for (let vector = 16; vector < 256; vector++) {
    for (let pprClass = 0; pprClass < 16; pprClass++) {
      const want = priorityClass(vector) > pprClass;
      const at = `vector ${vector}, PPR class ${pprClass}`;
      assert.equal(classAbovePpr(vector, pprClass << 4), want, at);
      // The vlapic: the highest IRR against PPR.
      const s = new Int32Array(F.STRIDE);
      vecSet(s, F.IRR, vector);
      s[F.PPR] = pprClass << 4;
      assert.equal(vlapicPendingIntr(s, 0), want ? vector : -1, `vlapic ${at}`);
      // VT-x: RVI against VPPR (interrupt-window exiting 0).
      s[F.RVI] = vector;
      assert.equal(pendingVirtualInterrupt(s, 0), want ? vector : -1, `VID ${at}`);
      // AVIC: the highest IRR against the architectural PPR (V_TPR, nothing in service).
      s[F.PPR] = 0;
      s[F.V_TPR] = pprClass;
      assert.equal(avicPendingInterrupt(s, 0), want ? vector : -1, `AVIC ${at}`);
    }
  }
});
