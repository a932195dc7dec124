/**
 * A spinning vCPU's progress rate (books3): HostState.progressRate charges the %cr8 stream's exits and
 * not the PAUSE loop's (guests/spin.ts spinRun runs instead of the stream), so the event walk's rate
 * for a spinning vCPU would be wrong - but no work-counted event is ever pending while it spins: a
 * lock-spin phase takes the compute behaviour (src/model/data.ts: no background I/O or IPIs) and its
 * spinning vCPUs run flat out (bursts.ts FlatOut.ALWAYS: no burst work), with no chunk, build share,
 * hop or workload profile in the phase. Instrumented over the shipped spinning runs (pause-loop-exiting,
 * pause-filter-amd, the SystemTap case): 0 of 2,505-5,008 walks of a spinning vCPU had one pending.
 * This guard keeps it so; a phase that gave a spinner such work would need the PAUSE loop in the rate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gf, Gi, Hop, V8, Vf, Worker } from '../../src/core/engine/state.js';
import { isSpinning } from '../../src/core/guests/spin.js';
import { loadModelData } from '../../src/model/data.js';
import { firstHost } from '../support/hosts.js';

test('every guest model: a lock-spin phase has no background I/O or IPIs and runs flat out', () => {
  for (const [os, model] of loadModelData().guestModels) {
    const b = model.phases['lock-spin'];
    assert.equal(b.ioPerBusySecond, 0, os);
    assert.equal(b.ipiPerBusySecond, 0, os);
    assert.equal(b.busyFraction, 1, os);
  }
});

test('a spinning vCPU has no work-counted event pending (sampled every 100 us of a 50 ms spin)', () => {
  const h = firstHost(
    `name: spin-rate
host: { cpu: i7-4771, cores: 8 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: lock-spin, duration: 1s, busyVcpus: 1 }] }
duration: 1s
`,
    'spin-rate.yaml',
  );
  let spinning = 0;
  for (let t = 1e5; t <= 5e7; t += 1e5) {
    h.advanceTo(t);
    for (let v = 0; v < h.n; v++) {
      if (!isSpinning(h, v)) continue;
      spinning++;
      const b = v * Vf.STRIDE;
      const gi = 0;
      assert.equal(h.vf[b + Vf.BG_IO_LEFT], Infinity);
      assert.equal(h.vf[b + Vf.BG_IPI_LEFT], Infinity);
      assert.equal(h.vf[b + Vf.BURST_WORK], Infinity);
      assert.equal(h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE], 0);
      assert.notEqual(h.hop(v), Hop.RUNNING);
      assert.ok(!(v === h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] && h.worker(gi) === Worker.CPU));
      assert.equal(h.gf[gi * Gf.STRIDE + Gf.IO_DONE_AT], Infinity);
    }
  }
  assert.ok(spinning >= 400, `spinning in ${spinning} samples`);
});
