/**
 * Processor sharing when the runnable count changes (docs/MODEL.md section 3, sharebooks). A host's
 * runnable vCPUs share its cores, each getting share() = min(1, cores / runnable) of one. The share is
 * piecewise constant: it changes when a vCPU halts or wakes while the runnable vCPUs outnumber the
 * cores. Until sharebooks the engine read it when a vCPU was advanced and applied it to the whole
 * interval since its last advance, and other vCPUs' due times, worked out at the old share, were not
 * re-keyed: work-counted events (background I/O and IPIs, burst, chunk and build ends) fell due early
 * when the share dropped and late when it rose. Now the host keeps a service clock (the integral of the
 * share, HostState.serviceNs) and re-keys the running vCPUs when the share changes
 * (HostSimulation.shareChanged).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HostSimulation } from '../../src/core/engine/host.js';
import type { EventHeap } from '../../src/core/engine/heap.js';
import { Ev, firstDue, nextEventTime } from '../../src/core/engine/events.js';
import { GuestCounter, Mode, Vf } from '../../src/core/engine/state.js';
import { firstHost } from '../support/hosts.js';

/** `vcpus` Ubuntu vCPUs computing flat out on `cores` cores: no %cr8 stream, no exits while they compute. */
function computeHost(cores: number, vcpus: number): HostSimulation {
  const h = firstHost(
    `name: share-books
host: { cpu: i7-6700K, cores: ${cores} }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: ${vcpus}, x2apic: true, phases: [{ phase: compute, duration: 10s }] }
duration: 1s
`,
    'share-books.yaml',
  );
  // Nothing but what the test sets wakes a vCPU: no guest timer, host ticks far away (drawn, as the
  // engine draws them for a running vCPU), no background clocks.
  for (let v = 0; v < h.n; v++) {
    h.vf[v * Vf.STRIDE + Vf.BG_IO_LEFT] = Infinity;
    h.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT] = Infinity;
    quiet(h, v);
  }
  return h;
}

function quiet(h: HostSimulation, v: number): void {
  const b = v * Vf.STRIDE;
  h.vf[b + Vf.NEXT_TIMER] = Infinity;
  h.vf[b + Vf.NEXT_HOST_TICK] = 1e15;
  h.reschedule(v);
}

function at(h: HostSimulation, t: number): void {
  h.now = t;
  h.machine.clockNs = t;
}

/** vCPU `v` halts or wakes at `h.now`, advanced first as the guests' handlers do (interrupts.ts halt, isr.ts isrStart). */
function toggle(h: HostSimulation, v: number): void {
  h.advance(v);
  if (h.mode(v) === Mode.HALT) {
    h.setRunnable(v, true);
    quiet(h, v);
  } else h.setRunnable(v, false);
}

function heapKey(h: HostSimulation, v: number): number {
  return (h as unknown as { heap: EventHeap }).heap.key[v];
}

test("a share change mid-interval: the vCPU's progress is piecewise, its due time re-keyed to the exact one", () => {
  // 2 cores, 4 vCPUs computing: share 1/2. vCPU 0 owes 1 ms of guest work before its background I/O.
  const h = computeHost(2, 4);
  h.vf[Vf.BG_IO_LEFT] = 1e6;
  h.reschedule(0);
  const rows: [number, number, number][] = [
    // [time a vCPU halts, the share after, vCPU 0's exact due time]
    [0, 0.5, 2e6], // 1e6 guest ns at 1/2
    [400_000, 2 / 3, 1_600_000], // 200,000 done; 800,000 at 2/3
    [1_000_000, 1, 1_400_000], // 600,000 done; 400,000 at 1
  ];
  for (const [i, [t, share, due]] of rows.entries()) {
    if (i > 0) {
      at(h, t);
      toggle(h, 4 - i); // vCPU 3, then 2, halts
    }
    assert.equal(h.share(), share);
    assert.ok(Math.abs(nextEventTime(h, 0) - due) <= 1, `walk at ${t}: ${nextEventTime(h, 0)}, want ${due}`);
    assert.ok(Math.abs(heapKey(h, 0) - due) <= 1, `vCPU 0 keyed at ${heapKey(h, 0)} after ${t}, want ${due}`);
  }
  at(h, heapKey(h, 0));
  h.advance(0);
  const left = h.vf[Vf.BG_IO_LEFT];
  assert.ok(left <= 1e-6 && left > -1, `${left} guest ns left at the due time`);
  // The guest's CPU: vCPU 0's 1 ms, vCPU 3's 200 us at 1/2, vCPU 2's 200 us at 1/2 and 400 us at 2/3.
  const cpu = h.guestCounters[GuestCounter.GUEST_CPU_NS];
  assert.ok(Math.abs(cpu - 1.8e6) <= 2, `guest CPU ${cpu} ns`);
  assert.equal(firstDue(h, 0), Ev.BG_IO);
});

test('overcommitted host (property): each vCPU gets the integral of its share while runnable, the cores never more; due times re-keyed', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.nat()), { minLength: 1, maxLength: 30 }),
      (cores, extra, steps) => {
        const n = cores + extra;
        const h = computeHost(cores, n);
        // Every vCPU's background IPI clock, far away, counts its guest ns; vCPU 0 (running throughout,
        // never advanced before the end) has a background I/O 100 ms of guest work away.
        const METER = 1e12;
        for (let v = 0; v < n; v++) h.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT] = METER;
        h.vf[Vf.BG_IO_LEFT] = 1e8;
        for (let v = 0; v < n; v++) h.reschedule(v);
        const want = new Float64Array(n);
        const running = new Array<boolean>(n).fill(true);
        let runnable = n;
        let t = 0;
        let advances = 0;
        for (const [dt, pick] of steps) {
          const share = Math.min(1, cores / runnable);
          for (let v = 0; v < n; v++) if (running[v]) want[v] += dt * share;
          t += dt;
          at(h, t);
          const v = 1 + (pick % (n - 1));
          toggle(h, v);
          advances++;
          running[v] = !running[v];
          runnable += running[v] ? 1 : -1;
        }
        const share = Math.min(1, cores / runnable);
        const due = t + (1e8 - want[0]) / share;
        assert.ok(Math.abs(heapKey(h, 0) - due) <= 1, `vCPU 0 keyed at ${heapKey(h, 0)}, due ${due}`);
        const end = t + 50_000;
        for (let v = 0; v < n; v++) if (running[v]) want[v] += (end - t) * share;
        at(h, end);
        let given = 0;
        for (let v = 0; v < n; v++) {
          h.advance(v);
          advances++;
          const got = METER - h.vf[v * Vf.STRIDE + Vf.BG_IPI_LEFT];
          assert.ok(Math.abs(got - want[v]) <= steps.length + 1, `vCPU ${v}: ${got} guest ns, want ${want[v]}`);
          given += want[v];
        }
        // Guest ns are whole per advance (rounded): half a ns each at most.
        const cpu = h.guestCounters[GuestCounter.GUEST_CPU_NS];
        assert.ok(Math.abs(cpu - given) <= advances / 2 + 1e-3, `guest CPU ${cpu} ns, the shares' integral ${given}`);
        assert.ok(cpu <= cores * end + advances / 2, `guest CPU ${cpu} ns on ${cores} cores over ${end} ns`);
      },
    ),
    { numRuns: 200 },
  );
});

test('an overcommitted Linux host, run (property): no background I/O or IPI falls due after the guest work it waits for', () => {
  // 5 vCPUs on 1 core: a build, then idle, beside two booting guests (busy bursts, halts, background
  // I/O and IPIs): the share changes ~450 times a second. No %cr8 stream: a vCPU's guest ns per wall
  // ns is its share exactly, so the clocks' due times are exact to the ns (ceil) between share changes.
  const yaml = (seed: number) => `name: share-books-run
host: { cpu: i7-6700K, cores: 1 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, name: builder, vcpus: 1, x2apic: true, phases: [{ phase: build, work: 400ms }, { phase: idle }] }
  - { os: ubuntu-18.04, name: a, vcpus: 2, x2apic: true, phases: [{ phase: boot, duration: 5s }] }
  - { os: ubuntu-18.04, name: b, vcpus: 2, x2apic: true, phases: [{ phase: boot, duration: 5s }] }
duration: 1s
seed: ${seed}
`;
  const proto = HostSimulation.prototype;
  const own = Object.getOwnPropertyDescriptor(proto, 'advance');
  const advance = own?.value as (this: HostSimulation, v: number) => void;
  let late = 0;
  let checked = 0;
  let worst = 0;
  // Each advance of a running vCPU (at its own events, others', and the end of the run): the clocks
  // count down its guest ns; below -1 (the ceil's ns at rate <= 1) the work ended before the event.
  proto.advance = function (this: HostSimulation, v: number): void {
    advance.call(this, v);
    if (this.mode(v) === Mode.HALT || this.machine.isStopped(v)) return;
    for (const clock of [Vf.BG_IO_LEFT, Vf.BG_IPI_LEFT]) {
      const left = this.vf[v * Vf.STRIDE + clock];
      if (left === Infinity) continue;
      checked++;
      if (left < -1) late++;
      worst = Math.min(worst, left);
    }
  };
  try {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
        const h = firstHost(yaml(seed), 'share-books-run.yaml');
        h.advanceTo(1e9);
      }),
      { numRuns: 3 },
    );
  } finally {
    proto.advance = advance;
  }
  assert.ok(checked > 10_000, `${checked} clock readings`);
  assert.equal(late, 0, `${late} of ${checked} readings past the work's end (worst ${worst} guest ns)`);
});
