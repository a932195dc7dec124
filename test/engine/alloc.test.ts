/**
 * The engine allocates nothing per event in the steady state (issue #16; docs/PERF.md, ninth and
 * tenth sessions). Allocation, unlike time, is deterministic enough to test: the idle mixed fleet of
 * the engine bench (bench/cases.ts, both policies), then in the same process the overcommitted host
 * and workload-profile guests (ALLOC_GUARD_CASES, bench/allocMeasure.ts), runs its hosts in lockstep (as bench/alloc.ts does),
 * then the bytes V8 allocates per engine event are counted over three consecutive windows.
 *
 * Why the bound and the minimum, from the measured spread (30 s warm-up, windows of 10 simulated s,
 * 8 processes of this branch, 2 of main):
 * - this engine: 0.02-0.16 bytes per event in some processes; in others, ~1.0-1.3 in every window
 *   (what V8 optimized differs from process to process: about one box per 13 events where it
 *   re-optimized a function late: the tenth session,
 *   docs/perf/history.md#tenth-session-the-events-time-as-state-no-allocation-per-event-a-guard-test-16).
 *   A window in which V8 optimizes a late-warming
 *   function holds that code, ~0.5-1 MB, 3-14 bytes per event of this fleet: hence the least of
 *   three windows, not one window.
 * - main before the event's time became state (ffda7d9): 16.0-18.7 bytes per event in every window,
 *   one boxed double (16 bytes) per event; before the ninth session, 40-47.
 * - the bound, 4 bytes per event (one 16-byte box per 4 engine events), is 3x the worst steady
 *   figure measured and 4x below main's: a double boxed on the per-event path again (an argument
 *   or return of a call V8 does not inline, a field that changes representation) fails it.
 * - cr8unify (thirteenth session): idle Windows 10 1909 bursts became work at the KVM-calibrated busy
 *   fraction (0.68 % instead of 25 %), and the fleet makes ~3x fewer events per simulated second; the
 *   windows grew from 10 to 30 simulated s and the warm-up from 30 to 60 s, so each still holds more
 *   than 50,000 events and the warm-up about as many as before. The bound is unchanged.
 * - twenty-first session: the overcommitted host (matrix.yaml's 21 vCPUs on 4 cores), same bound and
 *   least-of-three method, two runs after the idle fleet in one process (ALLOC_GUARD_CASES says why
 *   these windows): booting, 10 s then windows of 6 s (~140,000 events, ~14,000 share changes and
 *   ~225,000 re-keys each); building, 40 s then windows of 10 s (~187,000 events). Together ~2.8 s
 *   of the suite. Main at 739c4ff, the cases in this order (`node dist/bench/allocSpread.js
 *   --processes 6`): 3.9-4.1 bytes per event booting and 4.70 building in every process, 6 of 6
 *   would fail - guests/irql.ts enterRaised passed the model's raisedFraction, a double, to a
 *   uniformBelow that TurboFan had left out of `raise` (a call site rare on the idle fleet), boxed
 *   at every raise of a running vCPU. Alone in a process the host gave 0.01-0.12, hence one
 *   process for all the cases. Since (prng.ts belowBound): 0.04-0.05 booting, 0.01 building, 0 of
 *   20 processes would fail. A site put back on purpose in shareChanged: a boxed double per re-key
 *   gave 25-26 bytes per event booting, an array per share change 28-30 (the building windows,
 *   with ~10 share changes per simulated second, 0.2-1.4: they do not see that path).
 * - twenty-first session, wlalloc: workload-profile guests (bench/cases.ts workload-host: the imported
 *   sysbench profile, 4 guests x 2 vCPUs, kvm and bhyve-12.1), same bound and method, last in the same
 *   process: 10 s then windows of 15 s (~67,500 events each; ~4,500 events per simulated second).
 *   ~0.8 s of the suite. Main at 99a6171 (this test with the case, before the fix): 39.2-39.5 bytes
 *   per event in every window of both variants; alone in a process 8.3-14.7, after the idle fleet
 *   alone 8.3-33.0 (least windows; /tmp scripts, 3 processes each): workloadRun's wall argument and guest-ns
 *   return, workloadDynTime's return and its fraction passed to workWallNs, and the computed means
 *   and scale of the workload draws, each boxed where TurboFan did not inline the callee. Since
 *   (fields: HostState.cr8WallNs/cr8GuestNs, wlDynAt; RandomStreams.meanNs, scale): 0.02-0.03, 0 of
 *   24 processes would fail (`node dist/bench/allocSpread.js --processes 12`, with and without
 *   --case workload-host).
 * - twelfth session: CI failed here with 17.2 bytes per event in every window of both policies. In
 *   about 1 process in 300 TurboFan left `EventHeap.peekTime` (34 bytes of bytecode, over the 27 it
 *   always inlines) out of `advanceTo` and boxed its double return once per event. The loop reads the
 *   key array since; no such process in ~950 after (`node dist/bench/allocSpread.js`, docs/PERF.md).
 *   The bound stays: a process that boxes per event is a defect, however rare.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelData } from '../../src/model/data.js';
import { ALLOC_GUARD, ALLOC_GUARD_CASES, guardWindows } from '../../bench/allocMeasure.js';
import { scenarios } from '../../bench/cases.js';

const data = loadModelData();

for (const { id, label, warmupS, windowS } of ALLOC_GUARD_CASES) {
  const { scenario, variants } = scenarios[id];
  for (const variant of variants) {
    test(`${label}, ${variant.name}: no allocation per engine event in the steady state`, () => {
      const { bytesPerEvent, events } = guardWindows(scenario, variant, data, warmupS, windowS);
      for (const e of events)
        assert.ok(e > ALLOC_GUARD.minEvents, `a window of ${windowS} s holds the case's events (${e})`);
      const best = Math.min(...bytesPerEvent);
      assert.ok(
        best < ALLOC_GUARD.boundBytesPerEvent,
        `bytes per engine event over ${ALLOC_GUARD.windows} windows: ${bytesPerEvent.map((b) => b.toFixed(2)).join(', ')} ` +
          `(the least must be below ${ALLOC_GUARD.boundBytesPerEvent})`,
      );
    });
  }
}
