/**
 * The time books on an overcommitted host (docs/MODEL.md section 3, books3): `progress` pays a vCPU's
 * exit time owed - its debt (Vf.DEBT) and the exits since its last advance (machine.vcpuHostNs) - from
 * its wall time x its share of a core, so owed time D takes D / share wall ns. The event walk and the
 * work end times (HostState.workEndTime, phases.ts chunkEndTime, workloadGuest.ts workloadDynTime)
 * count from the same point, HostState.resumeTime. Until books3 they added D whole, so with share < 1
 * a work-counted event fell due D x (1/share - 1) early: a wake-up that found its work not done, then
 * another one share of the rest later, and so on (21 vCPUs on 4 cores: ~40 wasted wake-ups per
 * background I/O). The properties: at the time the walk gives, the work is done and the event runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { Ev, firstDue, nextEventTime } from '../../src/core/engine/events.js';
import { G8, Gf, Mode, V8, Vf, WL, WL_DYN_LEFT, Worker } from '../../src/core/engine/state.js';
import { chunkEndTime } from '../../src/core/guests/phases.js';
import { workloadDynTime } from '../../src/core/guests/workloadGuest.js';
import { firstHost, sysbenchWorkloadYaml } from '../support/hosts.js';

/** A 1-vCPU Ubuntu guest computing flat out on 4 cores: no %cr8 stream, no PAUSE loop, no background activity. */
const COMPUTE = `name: overcommit-books
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 1, x2apic: true, phases: [{ phase: compute, duration: 1s }] }
duration: 1s
`;

type Work = 'BG_IO' | 'BUILD_END' | 'CHUNK_END';

/** vCPU 0 of a fresh COMPUTE host with `left` guest ns of `work` pending and nothing else to wake it. */
function hostWith(work: Work, left: number): HostSimulation {
  const h = firstHost(COMPUTE, 'overcommit-books.yaml');
  const b = 0;
  h.vf[b + Vf.NEXT_TIMER] = Infinity;
  h.vf[b + Vf.NEXT_HOST_TICK] = Infinity;
  if (work === 'BG_IO') h.vf[b + Vf.BG_IO_LEFT] = left;
  else if (work === 'BUILD_END') {
    h.v8[V8.BUILD_ACTIVE] = 1;
    h.vf[b + Vf.WORK_LEFT] = left;
  } else {
    h.g8[G8.WORKER_STATE] = Worker.CPU;
    h.gf[Gf.CHUNK_LEFT] = left;
  }
  h.notePhaseKinds(0); // the walk reads the phase words' byte (HostState.phaseKinds)
  return h;
}

function workLeft(h: HostSimulation, work: Work): number {
  if (work === 'BG_IO') return h.vf[Vf.BG_IO_LEFT];
  if (work === 'BUILD_END') return h.vf[Vf.WORK_LEFT];
  return h.gf[Gf.CHUNK_LEFT];
}

const KIND: Record<Work, Ev> = { BG_IO: Ev.BG_IO, BUILD_END: Ev.BUILD_END, CHUNK_END: Ev.CHUNK_END };

test('overcommitted core (property): at the walk time of work-counted guest ns the work is done and its event runs', () => {
  let over = 0;
  fc.assert(
    fc.property(
      fc.constantFrom<Work>('BG_IO', 'BUILD_END', 'CHUNK_END'),
      fc.integer({ min: 1, max: 200_000 }),
      // Debt >= 0: a credit larger than the work puts its time at or before T, where nothing advances
      // (the event runs with ns left: the background clocks carry them, test/core/timeBooks.test.ts).
      fc.double({ min: 0, max: 50_000, noNaN: true }),
      fc.integer({ min: 0, max: 20_000 }),
      fc.integer({ min: 1, max: 24 }),
      (work, left, debt, pending, runnable) => {
        const h = hostWith(work, left);
        const v = 0;
        h.runnable = runnable;
        h.vf[Vf.DEBT] = debt;
        h.machine.vcpuHostNs[v] = pending;
        if (h.share() < 1 && debt + pending > 0) over++;
        const t = nextEventTime(h, v);
        // The work end functions give the walk's time (they share its start: HostState.resumeTime).
        if (work === 'BUILD_END') assert.equal(h.workEndTime(v), t);
        if (work === 'CHUNK_END') assert.equal(chunkEndTime(h, v), t);
        assert.ok(Number.isFinite(t) && t < 1e9, `due at ${t}`);
        h.now = t;
        h.advance(v);
        assert.equal(h.mode(v), Mode.RUN);
        const rest = workLeft(h, work);
        assert.ok(
          rest <= 1e-6,
          `${work}: ${rest} guest ns of ${left} left at the walk's time ${t} (share ${h.share()})`,
        );
        assert.equal(firstDue(h, v), KIND[work], `${work} runs at ${t}`);
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(over > 50, `overcommitted with time owed in ${over} of 300 runs`);
});

test('overcommitted core (property): a workload profile owes D ns of exit time: its next HLT or IPI is D / share wall ns later', () => {
  const yaml = sysbenchWorkloadYaml('wl-overcommit');
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 50_000, noNaN: true }),
      fc.integer({ min: 0, max: 20_000 }),
      fc.integer({ min: 17, max: 64 }),
      (debt, pending, runnable) => {
        const h = firstHost(yaml, 'scenarios/wl-overcommit.yaml');
        const v = 0;
        h.runnable = runnable;
        assert.ok(h.wl[v * WL + WL_DYN_LEFT] !== Infinity);
        const owedNothing = workloadDynTime(h, v);
        h.vf[v * Vf.STRIDE + Vf.DEBT] = debt;
        h.machine.vcpuHostNs[v] = pending;
        const owed = workloadDynTime(h, v);
        const want = (debt + pending) / h.share();
        assert.ok(
          Math.abs(owed - owedNothing - want) <= 1e-6 * (want + 1),
          `${owed - owedNothing} ns later, want ${want}`,
        );
      },
    ),
    { numRuns: 60 },
  );
});
