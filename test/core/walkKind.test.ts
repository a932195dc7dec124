/**
 * The walk's first kind at its earliest time (src/core/engine/events.ts walk, `h.walkKind`), which the
 * engine keeps per vCPU at its re-key (V8.WALK_HINT) and trusts at the vCPU's next event instead of
 * walking again (host.ts processVcpu). It is known only where advancing the vCPU to that time cannot
 * change the answer: the earliest kind's time is a deadline held in the state, no kind before it has a
 * paced due time (one that follows the guest's progress), and the earliest time is not a host tick.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ev, firstDue, nextEventTime } from '../../src/core/engine/events.js';
import { HostSimulation, type GuestInstance } from '../../src/core/engine/host.js';
import { G8, Gf, Gi, Hop, V8, Vf, Worker } from '../../src/core/engine/state.js';
import { resolvePolicy } from '../../src/core/hypervisor/policy.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { hostModel, loadModelData } from '../../src/model/data.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';

const data = loadModelData();
const cpu = loadCpuCatalog().find((c) => c.id === 'i7-6700K')!;

/** One Windows 10 guest of 2 vCPUs, vCPU 0 running with nothing pending and no debt, at T = 0. */
function host(): HostSimulation {
  const traits = resolvePolicy('bhyve-tpr-v3', cpu, {});
  const guest: GuestInstance = {
    index: 0,
    label: 'windows-10-1909',
    model: data.guestModels.get('windows-10-1909')!,
    vcpus: 2,
    x2apicOffered: false,
    phases: [{ phase: 'idle' }],
  };
  const h = new HostSimulation({
    hostIndex: 0,
    seed: 1,
    profile: cpu,
    traits,
    cores: 4,
    guests: [guest],
    exitCostNs: new Float64Array(EXIT_SLOT_COUNT),
    host: hostModel(data.costModel, traits.hypervisor),
    debugChecks: false,
  });
  for (const f of [
    Vf.ISR_END,
    Vf.RAISED_END,
    Vf.NOTIFY_AT,
    Vf.IPI_AT,
    Vf.BG_DONE_AT,
    Vf.NEXT_TIMER,
    Vf.BG_IO_LEFT,
    Vf.BG_IPI_LEFT,
    Vf.BURST_END,
    Vf.BURST_WORK,
    Vf.NEXT_HOST_TICK,
  ])
    h.vf[f] = Infinity;
  h.vf[Vf.T] = 0;
  h.vf[Vf.DEBT] = 0;
  h.machine.vcpuHostNs[0] = 0;
  h.gf[Gf.PHASE_END] = Infinity;
  h.gi32[Gi.IO_TARGET] = -1;
  h.g8[G8.WORKER_STATE] = Worker.NONE;
  h.v8[V8.BUILD_ACTIVE] = 0;
  h.v8[V8.HOP] = Hop.NONE;
  h.v8[V8.BUSY] = 0;
  return h;
}

/** The walk's earliest time and first kind there, and what firstDue says at that time. */
function walked(h: HostSimulation): { next: number; kind: number; due: number } {
  const next = nextEventTime(h, 0);
  const kind = h.walkKind;
  h.now = next;
  return { next, kind, due: firstDue(h, 0) };
}

test('deadlines only: the first kind at the earliest time, the lowest of a tie, as firstDue finds it then', () => {
  const h = host();
  h.vf[Vf.NEXT_TIMER] = 500;
  h.vf[Vf.BURST_END] = 700; // an idle gap's end: a deadline
  assert.deepEqual(walked(h), { next: 500, kind: Ev.TIMER, due: Ev.TIMER });
  h.vf[Vf.ISR_END] = 500;
  assert.deepEqual(walked(h), { next: 500, kind: Ev.ISR_END, due: Ev.ISR_END });
  h.vf[Vf.ISR_END] = Infinity;
  h.vf[Vf.NEXT_TIMER] = Infinity;
  // An idle gap's end is known while the vCPU is halted (no paced kind can be pending before it), not
  // while it runs (the walk does not look whether one is).
  assert.deepEqual(walked(h), { next: 700, kind: -1, due: Ev.BURST_END });
  h.setRunnable(0, false);
  assert.deepEqual(walked(h), { next: 700, kind: Ev.BURST_END, due: Ev.BURST_END });
});

test('a paced kind before the earliest deadline, or earliest itself: not known', () => {
  const h = host();
  h.vf[Vf.BURST_END] = 700;
  h.vf[Vf.BG_IO_LEFT] = 5_000; // background I/O after 5,000 guest ns: due later than the gap's end
  assert.equal(nextEventTime(h, 0), 700);
  assert.equal(h.walkKind, -1, 'BG_IO comes before BURST_END and its time follows the progress');
  h.vf[Vf.NEXT_TIMER] = 600; // a deadline before BG_IO in the walk: known again
  assert.equal(nextEventTime(h, 0), 600);
  assert.equal(h.walkKind, Ev.TIMER);
  h.vf[Vf.BG_IO_LEFT] = 100; // now the earliest
  assert.equal(nextEventTime(h, 0), 100);
  assert.equal(h.walkKind, -1);
});

test('a host tick at the earliest time: not known (it runs nothing, or a stale timer)', () => {
  const h = host();
  h.vf[Vf.BURST_END] = 700;
  h.vf[Vf.NEXT_HOST_TICK] = 300;
  h.machine.raiseInterrupt(0, data.guestModels.get('windows-10-1909')!.deviceVector, false);
  assert.equal(nextEventTime(h, 0), 300);
  assert.equal(h.walkKind, -1);
});

test('the re-key keeps the walk kind for an event at the walked time only, not at a key held back to T', () => {
  const h = host();
  h.vf[Vf.NEXT_TIMER] = 500;
  h.vf[Vf.NEXT_HOST_TICK] = 10_000; // drawn: reschedule draws none
  h.reschedule(0);
  assert.equal(h.v8[V8.WALK_HINT], Ev.TIMER);
  h.vf[Vf.T] = 800; // advanced past the deadline: the key is T, where the walk's answer need not hold
  h.reschedule(0);
  assert.equal(h.v8[V8.WALK_HINT], -1);
});
