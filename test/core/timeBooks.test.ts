/**
 * The engine's time books (docs/MODEL.md section 3; the %cr8 stream's own are test/core/cr8Accounting).
 * An interval of `wall` ns is split into guest time and the exit time its bulk exits are predicted to
 * cost; what they really cost beyond the prediction is exit debt (Vf.DEBT), paid first from later wall
 * time (HostSimulation.advance -> progress); fractional counts are carried. The invariants:
 *  1. workloadRun and spinRun: over any sequence of intervals, the exit time charged (predicted plus
 *     debt) is what the exits that ran cost, the guest time is no more than the wall time, and every
 *     carry stays in [0, 1) (the PAUSE loop's: in [0, its period)).
 *  2. progress: a running vCPU's wall time times its share of a core is the guest time credited plus
 *     the debt paid (a credit, debt below 0, is guest time given back); a halted vCPU pays its debt
 *     from its wall time at the same share (root-mode work before its thread blocks: until books3 it
 *     paid at a whole core), and a credit it holds is dropped: the guest reached its HLT that much
 *     earlier, so that time was halted, not guest time.
 *  3. the background clocks (Vf.BG_IO_LEFT, Vf.BG_IPI_LEFT): over any sequence of deadlines, the guest
 *     time counted is the sum of the delays drawn, whatever guest ns were left on (or run past) each
 *     deadline when its event fired (the walk's due time is a prediction). Until the booksaudit session
 *     the rest was dropped at each event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { GuestCounter, Mode, V8, Vf, WL, WL_CARRY } from '../../src/core/engine/state.js';
import { backgroundIo, backgroundIpi } from '../../src/core/guests/devices.js';
import { spinRun } from '../../src/core/guests/spin.js';
import { workloadRun } from '../../src/core/guests/workloadGuest.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { pauseLoopExitTsc } from '../../src/core/vmx/pauseLoop.js';
import { firstHost, sysbenchWorkloadYaml } from '../support/hosts.js';

function hostOf(yaml: string): HostSimulation {
  return firstHost(yaml, 'scenarios/time-books.yaml');
}

/** Host ns the exits of vCPU `v` counted since `before` cost, at the machine's per-exit costs. */
function exitCost(h: HostSimulation, v: number, before: Float64Array): number {
  let ns = 0;
  for (let s = 0; s < EXIT_SLOT_COUNT; s++) ns += (h.machine.exitCount(v, s) - before[s]) * h.machine.exitCostNs[s];
  return ns;
}

function exitCounts(h: HostSimulation, v: number): Float64Array {
  const c = new Float64Array(EXIT_SLOT_COUNT);
  for (let s = 0; s < EXIT_SLOT_COUNT; s++) c[s] = h.machine.exitCount(v, s);
  return c;
}

/** Intervals of running time: short ones (no whole exit) and long ones (many), in any order. */
const walls = fc.array(
  fc.oneof(fc.double({ min: 1, max: 2_000, noNaN: true }), fc.double({ min: 2_000, max: 2_000_000, noNaN: true })),
  { minLength: 1, maxLength: 40 },
);

test('workloadRun books (property): exit time charged = what the exits that ran cost; carries in [0, 1)', () => {
  const yaml = sysbenchWorkloadYaml('wl-books');
  let ran = 0;
  fc.assert(
    fc.property(walls, (ws) => {
      const h = hostOf(yaml);
      const v = 0;
      const w = h.guests[0].workload!;
      const debt0 = h.vf[v * Vf.STRIDE + Vf.DEBT];
      const before = exitCounts(h, v);
      let charged = 0;
      for (const wall of ws) {
        h.cr8WallNs = wall;
        workloadRun(h, v, w);
        const guest = h.cr8GuestNs;
        assert.ok(guest > 0 && guest <= wall, `guest ${guest} ns of ${wall}`);
        charged += wall - guest;
      }
      charged += h.vf[v * Vf.STRIDE + Vf.DEBT] - debt0;
      const cost = exitCost(h, v, before);
      assert.ok(Math.abs(charged - cost) <= 1e-6 * (cost + 1), `charged ${charged} ns, the exits cost ${cost} ns`);
      if (cost > 0) ran++;
      // The carries: one per operation, per opaque exit slot, and the host interrupts' (WL_CARRY .. WL).
      for (let i = WL_CARRY; i < WL; i++) {
        const c = h.wl[v * WL + i];
        assert.ok(c >= 0 && c < 1, `carry ${i}: ${c}`);
      }
    }),
    { numRuns: 60 },
  );
  assert.ok(ran > 10, `exits ran in ${ran} of 60 runs`);
});

test('spinRun books (property): PAUSE-loop exit time charged = what the exits cost; loop carry in [0, period)', () => {
  fc.assert(
    fc.property(walls, fc.constantFrom(1, 2), (ws, grow) => {
      const h = hostOf(`name: spin-books
host: { cpu: i7-4771, cores: 8 }
hypervisor: { policy: kvm, tunables: { kvm_intel.ple_window_grow: ${grow} } }
guests:
  - { os: ubuntu-18.04, vcpus: 1, x2apic: true, phases: [{ phase: lock-spin, duration: 1s }] }
duration: 1s
`);
      const v = 0;
      assert.equal(h.v8[v * V8.STRIDE + V8.SPIN], 1);
      const debt0 = h.vf[v * Vf.STRIDE + Vf.DEBT];
      const before = exitCounts(h, v);
      let charged = 0;
      let wallSum = 0;
      for (const wall of ws) {
        const guest = spinRun(h, v, wall);
        assert.ok(guest >= 0 && guest <= wall, `guest ${guest} ns of ${wall}`);
        charged += wall - guest;
        wallSum += wall;
      }
      charged += h.vf[v * Vf.STRIDE + Vf.DEBT] - debt0;
      const cost = exitCost(h, v, before);
      assert.ok(cost > 0 || wallSum < 2e6, `no PAUSE exit in ${wallSum} ns of spinning`);
      assert.ok(Math.abs(charged - cost) <= 1e-6 * (cost + 1), `charged ${charged} ns, the exits cost ${cost} ns`);
      // The loop carried: less than the present window's period (an exit would have ended it).
      const ple = h.config.traits.ple!;
      const window = h.vf[v * Vf.STRIDE + Vf.PLE_WINDOW];
      const period =
        pauseLoopExitTsc(h.config.pauseLoopIntervalTsc!, ple.gap, window) / (h.config.profile.baseClockMHz / 1000);
      const loop = h.vf[v * Vf.STRIDE + Vf.PLE_LOOP_NS];
      assert.ok(loop >= 0 && loop < period, `loop carry ${loop} ns, period ${period} ns`);
    }),
    { numRuns: 40 },
  );
});

/** A 1-vCPU Ubuntu guest computing flat out (no %cr8 stream, no PAUSE loop, no background activity). */
const COMPUTE = `name: progress-books
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 1, x2apic: true, phases: [{ phase: compute, duration: 1s }] }
duration: 1s
`;

test('progress books (property): wall x share = guest time credited + debt paid; halted vCPUs pay debt from wall x share', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          wall: fc.integer({ min: 1, max: 100_000 }),
          debt: fc.double({ min: -5_000, max: 50_000, noNaN: true }),
          pending: fc.integer({ min: 0, max: 20_000 }),
          runnable: fc.integer({ min: 1, max: 12 }),
          halted: fc.boolean(),
        }),
        { minLength: 1, maxLength: 20 },
      ),
      (steps) => {
        const h = hostOf(COMPUTE);
        const v = 0;
        const b = v * Vf.STRIDE;
        for (const s of steps) {
          h.v8[v * V8.STRIDE + V8.MODE] = s.halted ? Mode.HALT : Mode.RUN;
          h.runnable = s.runnable;
          h.vf[b + Vf.NEXT_HOST_TICK] = Infinity;
          h.vf[b + Vf.DEBT] = s.debt;
          h.machine.vcpuHostNs[v] = s.pending;
          const share = h.share();
          const guest0 = h.guestCounters[GuestCounter.GUEST_CPU_NS];
          h.now = h.vf[b + Vf.T] + s.wall;
          h.advance(v);
          const guest = h.guestCounters[GuestCounter.GUEST_CPU_NS] - guest0;
          const owed = s.debt + s.pending;
          const debt = h.vf[b + Vf.DEBT];
          if (s.halted) {
            assert.equal(guest, 0);
            const want = Math.max(0, owed - s.wall * share);
            assert.ok(
              Math.abs(debt - want) < 1e-6,
              `halted: debt ${debt}, owed ${owed}, want ${want} (share ${share})`,
            );
          } else {
            const paid = owed - debt;
            assert.ok(debt >= 0, `debt ${debt}`);
            assert.ok(paid <= s.wall * share + 1e-6, `paid ${paid} of ${s.wall * share}`);
            assert.ok(
              Math.abs(s.wall * share - paid - guest) <= 0.5 + 1e-6,
              `wall x share ${s.wall * share} != guest ${guest} + paid ${paid}`,
            );
          }
        }
      },
    ),
    { numRuns: 80 },
  );
});

/** A 2-vCPU idle Ubuntu guest: background I/O and IPIs at its idle rates. */
const IDLE = `name: clock-books
seed: 3
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle, duration: 1s }] }
duration: 1s
`;

for (const clock of ['I/O', 'IPI'] as const) {
  test(`background ${clock} clock (property): guest time counted = the delays drawn, whatever is left at each event`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2_000, max: 5_000, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (lefts) => {
          const h = hostOf(IDLE);
          const v = 0;
          const field = v * Vf.STRIDE + (clock === 'I/O' ? Vf.BG_IO_LEFT : Vf.BG_IPI_LEFT);
          const b = h.vcpuBehaviour(v);
          const mean = 1e9 / (clock === 'I/O' ? b.ioPerBusySecond : b.ipiPerBusySecond);
          const fire = clock === 'I/O' ? backgroundIo : backgroundIpi;
          assert.ok(Number.isFinite(mean) && mean > 0);
          // The delays drawn: the phase's first deadline, then one per event, replayed on a twin host
          // (the same stream; an IPI's target is drawn after its delay).
          const twin = hostOf(IDLE);
          let drawn = twin.vf[field];
          let counted = 0;
          for (const left of lefts) {
            // The event fires with `left` guest ns still on the clock (below 0: run past it).
            counted += h.vf[field] - left;
            h.vf[field] = left;
            fire(h, v);
            drawn += twin.rng.exponentialNs(v, mean);
            if (clock === 'IPI') twin.rng.below(v, 1);
          }
          const onClock = h.vf[field];
          assert.ok(
            Math.abs(counted + onClock - drawn) <= 1e-6 * drawn,
            `counted ${counted} + on the clock ${onClock} != drawn ${drawn}`,
          );
        },
      ),
      { numRuns: 60 },
    );
  });
}
