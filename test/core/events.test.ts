/**
 * The event table (src/core/engine/events.ts): when several kinds are due at the same time on one
 * vCPU, the one with the lowest Ev value runs first, and that is the walk's order; TIMER_STALE runs
 * but never wakes a vCPU; HOST_TICK never runs, and wakes a vCPU only while something is pending or
 * in service. Each test puts one vCPU in a state where the kinds under test are all due, then takes
 * them away one by one, in the order the walk must report them. Together the tests name every kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EV_COUNT, EV_NAMES, Ev, firstDue, nextEventTime } from '../../src/core/engine/events.js';
import { HostSimulation, type GuestInstance } from '../../src/core/engine/host.js';
import { G8, Gf, Gi, Hop, V8, Vf, WL_DYN_LEFT, WL_IRQ_AT, Worker } from '../../src/core/engine/state.js';
import { resolvePolicy } from '../../src/core/hypervisor/policy.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { hostModel, loadModelData } from '../../src/model/data.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';
import { quietWorkload } from '../support/workloads.js';

const data = loadModelData();
const cpu = loadCpuCatalog().find((c) => c.id === 'i7-6700K')!;
const covered = new Set<Ev>();

function host(os: string, workload = false): HostSimulation {
  const traits = resolvePolicy('bhyve-tpr-v3', cpu, {});
  const guest: GuestInstance = {
    index: 0,
    label: os,
    model: data.guestModels.get(os)!,
    vcpus: 2,
    x2apicOffered: false,
    phases: [{ phase: 'idle' }],
    ...(workload ? { workload: quietWorkload() } : {}),
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
  // The tests write the words of every kind, the phase kinds' too (IO_DONE, PHASE_END to HOP_END), as
  // only a host whose phases have work, a duration or a ping-pong sets them: the walk reads them then
  // (HostState.phaseEvents; an idle host's walk skips them, test/engine/phaseEvents.test.ts), through
  // each vCPU's byte of the kinds its words allow (HostState.phaseKinds: drain works it out).
  (h as unknown as { phaseEvents: boolean }).phaseEvents = true;
  return h;
}

const STORED = [
  Vf.ISR_END,
  Vf.RAISED_END,
  Vf.NOTIFY_AT,
  Vf.IPI_AT,
  Vf.BG_DONE_AT,
  Vf.NEXT_TIMER,
  Vf.BG_IO_LEFT,
  Vf.BG_IPI_LEFT,
  Vf.BURST_END,
  Vf.NEXT_HOST_TICK,
];

/** Nothing pending on vCPU 0 of guest 0: every deadline at Infinity, no work. */
function quiet(h: HostSimulation): void {
  for (const f of STORED) h.vf[f] = Infinity;
  h.vf[Vf.BURST_WORK] = Infinity; // Vf.BURST_END then holds the burst's end itself (flat out or an idle gap)
  h.gf[Gf.PHASE_END] = Infinity;
  h.gf[Gf.IO_DONE_AT] = Infinity;
  h.gi32[Gi.IO_TARGET] = -1;
  h.g8[G8.WORKER_STATE] = Worker.NONE;
  h.v8[V8.BUILD_ACTIVE] = 0;
  h.v8[V8.HOP] = Hop.NONE;
  if (h.wl.length > 0) {
    h.wl[WL_IRQ_AT] = Infinity;
    h.wl[WL_DYN_LEFT] = Infinity;
  }
}

/** Take away kinds one at a time: each must be the one the walk reports first at `at`. */
function drain(h: HostSimulation, at: number, order: readonly (readonly [Ev, () => void])[]): void {
  h.now = at;
  for (const [kind, takeAway] of order) {
    h.notePhaseKinds(0); // the phase words' byte, as the guests' writers keep it (HostState.phaseKinds)
    assert.equal(firstDue(h, 0), kind, `expected kind ${kind} first`);
    covered.add(kind);
    takeAway();
  }
  h.notePhaseKinds(0);
  assert.equal(firstDue(h, 0), -1);
}

test('a modelled guest: the due kinds run in Ev order', () => {
  const h = host('windows-10-1909');
  const at = 1000;
  quiet(h);
  for (const f of STORED) if (f !== Vf.NEXT_HOST_TICK) h.vf[f] = at;
  h.gi32[Gi.IO_TARGET] = 0;
  h.gf[Gf.IO_DONE_AT] = at;
  h.gf[Gf.PHASE_END] = at;
  // The worker's chunk, a build share and a ping-pong hop, all finished (due now that the vCPU is
  // advanced to 0; the share and the hop never meet in one phase, the table orders them anyway).
  h.g8[G8.WORKER_STATE] = Worker.CPU;
  h.gf[Gf.CHUNK_LEFT] = 0;
  h.v8[V8.BUILD_ACTIVE] = 1;
  h.v8[V8.HOP] = Hop.RUNNING;
  h.vf[Vf.WORK_LEFT] = 0;
  const clear = (f: Vf) => () => {
    h.vf[f] = Infinity;
  };
  drain(h, at, [
    [Ev.ISR_END, clear(Vf.ISR_END)],
    [Ev.RAISED_END, clear(Vf.RAISED_END)],
    [Ev.NOTIFY, clear(Vf.NOTIFY_AT)],
    [Ev.IPI, clear(Vf.IPI_AT)],
    [Ev.BG_IO_DONE, clear(Vf.BG_DONE_AT)],
    [Ev.IO_DONE, () => (h.gi32[Gi.IO_TARGET] = -1)],
    [Ev.TIMER, clear(Vf.NEXT_TIMER)],
    [Ev.BG_IO, clear(Vf.BG_IO_LEFT)],
    [Ev.BG_IPI, clear(Vf.BG_IPI_LEFT)],
    [Ev.PHASE_END, () => (h.gf[Gf.PHASE_END] = Infinity)],
    [Ev.CHUNK_END, () => (h.g8[G8.WORKER_STATE] = Worker.WAIT)],
    [Ev.BUILD_END, () => (h.v8[V8.BUILD_ACTIVE] = 0)],
    [Ev.HOP_END, () => (h.v8[V8.HOP] = Hop.NONE)],
    [Ev.BURST_END, clear(Vf.BURST_END)],
  ]);
});

test('a busy burst is due when its work is done at the present rate; an ISR or a raised section holds it', () => {
  const h = host('ubuntu-18.04');
  quiet(h);
  h.v8[V8.BUSY] = 1;
  h.vf[Vf.T] = 100;
  h.vf[Vf.DEBT] = 0;
  h.vf[Vf.BURST_WORK] = 400;
  h.vf[Vf.BURST_END] = 0; // the burst's start: not a due time while it is a burst of work
  assert.equal(nextEventTime(h, 0), 500, 'T + work at rate 1 (no %cr8 stream)');
  h.vf[Vf.DEBT] = 50;
  assert.equal(nextEventTime(h, 0), 550, 'exit debt still to pay delays it');
  h.vf[Vf.RAISED_END] = 10_000;
  assert.equal(nextEventTime(h, 0), 10_000, 'no progress inside a raised section: the section ends first');
  h.vf[Vf.RAISED_END] = Infinity;
  h.vf[Vf.BURST_WORK] = 0;
  drain(h, 150, [
    [
      Ev.BURST_END,
      () => {
        h.vf[Vf.BURST_WORK] = Infinity;
        h.vf[Vf.BURST_END] = Infinity;
      },
    ],
  ]);
});

test('a workload-profile guest: its interrupt and HLT/IPI come between the chain I/O and the timer', () => {
  const h = host('ubuntu-18.04', true);
  const at = 1000;
  quiet(h);
  h.gi32[Gi.IO_TARGET] = 0;
  h.gf[Gf.IO_DONE_AT] = at;
  h.wl[WL_IRQ_AT] = at;
  h.wl[WL_DYN_LEFT] = 0; // its next HLT/IPI is due as soon as it runs
  h.vf[Vf.NEXT_TIMER] = at;
  drain(h, at, [
    [Ev.IO_DONE, () => (h.gi32[Gi.IO_TARGET] = -1)],
    [Ev.WL_IRQ, () => (h.wl[WL_IRQ_AT] = Infinity)],
    [Ev.WL_DYN, () => (h.wl[WL_DYN_LEFT] = Infinity)],
    [Ev.TIMER, () => (h.vf[Vf.NEXT_TIMER] = Infinity)],
  ]);
});

test('TIMER_STALE runs only when nothing else is due, and never wakes the vCPU', () => {
  const h = host('ubuntu-18.04'); // tickless, no clock owner ticking while idle
  quiet(h);
  h.setRunnable(0, false); // halted: its timer is stopped
  h.vf[Vf.NEXT_TIMER] = 500;
  h.vf[Vf.BURST_END] = 600;
  assert.equal(nextEventTime(h, 0), 600, 'the stale deadline is not a wake-up');
  drain(h, 1000, [
    [Ev.BURST_END, () => (h.vf[Vf.BURST_END] = Infinity)],
    [Ev.TIMER_STALE, () => (h.vf[Vf.NEXT_TIMER] = Infinity)],
  ]);
  h.vf[Vf.NEXT_TIMER] = 500;
  assert.equal(nextEventTime(h, 0), Infinity);
});

test('HOST_TICK never runs; it wakes a running vCPU only while an interrupt is pending or in service', () => {
  const h = host('ubuntu-18.04');
  quiet(h);
  h.vf[Vf.NEXT_HOST_TICK] = 500;
  assert.equal(h.machine.isQuiet(0), true);
  assert.equal(nextEventTime(h, 0), Infinity, 'a quiet vCPU takes its host ticks in bulk when advanced');
  h.now = 1000;
  assert.equal(firstDue(h, 0), -1);
  h.machine.raiseInterrupt(0, data.guestModels.get('ubuntu-18.04')!.deviceVector, false);
  assert.equal(h.machine.isQuiet(0), false);
  assert.equal(nextEventTime(h, 0), 500);
  assert.equal(firstDue(h, 0), -1);
  covered.add(Ev.HOST_TICK);
});

test('the tests above name every kind of the table', () => {
  assert.equal(covered.size, EV_COUNT);
});

test('EV_NAMES names each kind at its value', () => {
  assert.equal(EV_NAMES.length, EV_COUNT);
  assert.equal(new Set(EV_NAMES).size, EV_COUNT);
  assert.equal(EV_NAMES[Ev.ISR_END], 'ISR_END');
  assert.equal(EV_NAMES[Ev.TIMER], 'TIMER');
  assert.equal(EV_NAMES[Ev.BURST_END], 'BURST_END');
  assert.equal(EV_NAMES[Ev.HOST_TICK], 'HOST_TICK');
});

test('the kind tally (HostSimulation.kindTally, bench diagnostics) counts every event processed one by one, and changes nothing', () => {
  const plain = host('windows-10-1909');
  plain.advanceTo(2e8);
  const tally = new Float64Array(EV_COUNT);
  HostSimulation.kindTally = tally;
  try {
    const tallied = host('windows-10-1909');
    tallied.advanceTo(2e8);
    assert.ok(tallied.events > 0);
    assert.equal(
      tally.reduce((a, b) => a + b, 0),
      tallied.events,
    );
    assert.equal(tallied.events, plain.events);
    assert.deepEqual(tallied.guestCounters, plain.guestCounters);
    assert.deepEqual(tallied.machine.exitTotals, plain.machine.exitTotals);
  } finally {
    HostSimulation.kindTally = null;
  }
});
