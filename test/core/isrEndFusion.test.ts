/**
 * An ISR's end as one machine operation (src/core/guests/isr.ts isrEnd, Machine.eoiCr8Iret; issue
 * #16): isrEnd runs EOI + %cr8 write and IRET as one table operation only when the follow-ups
 * between them do nothing, as each module's own predicate says - the test its follow-up returns at:
 *   linuxClockReads.ts noLinuxClockReads    (linuxTickReads, linuxArmReads)
 *   timekeeping.ts     noClockWorkAtTickEnd (clockTickDone)
 *   timers.ts          noRearmAfterIsr      (rearmAfterTick)
 *   phases.ts          noChainStepAfterIsr  (chainAfterIsr)
 *   pingPong.ts        noHopAfterIsr        (pingPongAfterIsr)
 * 1. At every ISR end of hosts that take every kind of tick end (Linux on acpi_pm / hpet / the TSC,
 *    dynticks, Windows on the LAPIC timer, a synthetic timer, the RTC and the HPET), install and
 *    disk-benchmark chains and ping-pong, each predicate is held to its rule, worked out afresh here
 *    from the guest's model, clock and phase; and whenever it says "nothing", its follow-up, run
 *    there, leaves the machine (every vCPU's state words, which the table keys, its exit counts and
 *    counters) and the engine's state unchanged.
 * 2. Fused and unfused ISR ends give the same results: scenarios run with Machine.eoiCr8Iret as one
 *    table operation and with it split into eoiCr8 then iret (each its own table operation) - the
 *    machine operations the unfused path runs when the follow-ups between do nothing. (An idle vCPU's
 *    ISR end with its HLT, Machine.eoiCr8IretHlt, goes through eoiCr8Iret here: its own fusion is
 *    test/core/isrHaltFusion.test.ts's.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gi, Hop, Vf, Vi, type HostState } from '../../src/core/engine/state.js';
import { ClockTimer } from '../../src/core/guests/clock.js';
import { linuxArmReads, linuxTickReads, noLinuxClockReads } from '../../src/core/guests/linuxClockReads.js';
import { chainAfterIsr, noChainStepAfterIsr } from '../../src/core/guests/phases.js';
import { noHopAfterIsr, pingPongAfterIsr } from '../../src/core/guests/pingPong.js';
import { clockPeriodNs, clockTickDone, noClockWorkAtTickEnd } from '../../src/core/guests/timekeeping.js';
import { noRearmAfterIsr, rearmAfterTick } from '../../src/core/guests/timers.js';
import { GuestInstructions } from '../../src/core/vcpu/instructions.js';
import { Machine } from '../../src/core/vcpu/machine.js';
import { runScenario } from '../../src/run/runScenario.js';
import { parseScenario } from '../../src/scenario/load.js';
import { firstHost, ISR_FUSION_HOSTS } from '../support/hosts.js';
import { hostWords, wordsDiffer } from '../support/hostWords.js';

/** Thirty ping-pong phases back to back: at each phase change a reschedule IPI in flight finds its hop reset. */
const HOPS = Array(30).fill('{ phase: ping-pong, hop: 10us, duration: 1ms }').join(', ');

const HOSTS: Record<string, string> = {
  'KVM: Linux on acpi_pm in ping-pong, Windows on the RTC installing, on a synthetic timer, on the HPET': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: boot, duration: 50ms }, { phase: ping-pong, hop: 40us, duration: 60ms }, { phase: idle }] }
  - { os: windows-10-1909, vcpus: 2, hpet: false, enlightenments: none, phases: [{ phase: install, work: 30ms }, { phase: idle }] }
  - { os: windows-server-2019, name: stimer, vcpus: 2, enlightenments: [hv-vpindex, hv-synic, hv-stimer, hv-time], phases: [{ phase: boot, duration: 50ms }, { phase: idle }] }
  - { os: windows-server-2019, name: hpet, vcpus: 2, hpet: true, enlightenments: none, phases: [{ phase: build, work: 40ms }, { phase: idle }] }`,
  'bhyve: Windows installing, FreeBSD building, Linux on the HPET and on the TSC in back-to-back ping-pong phases, a disk benchmark': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 30ms }, { phase: idle }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: build, work: 60ms }, { phase: idle }] }
  - { os: ubuntu-18.04, name: hpet, vcpus: 2, clocksource: hpet, phases: [{ phase: boot, duration: 50ms }, { phase: idle }] }
  - { os: ubuntu-18.04, name: tsc, vcpus: 2, phases: [${HOPS}, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: disk-benchmark, duration: 150ms }] }`,
};

/** What each host's ISR ends must show of each predicate: both sides, and every kind of work. */
const WANT: Record<string, Record<string, string[]>> = {
  [Object.keys(HOSTS)[0]]: {
    linux: ['reads', 'none'],
    tick: ['none', 'synthetic timer re-arm', 'platform tick forwarded'],
    rearm: ['none', 'synthetic timer re-arm', 'platform tick forwarded', 'Linux tick clock reads'],
    chain: ['none', 'device ISR of the chain', 'completion notice to the worker', 'none on a device vector'],
    hop: ['none', 'message received', 'none on a completion IPI'],
  },
  [Object.keys(HOSTS)[1]]: {
    linux: ['reads', 'none'],
    tick: ['none'],
    rearm: ['none', 'none on a tick', 'one-shot re-arm', 'Linux tick clock reads'],
    chain: ['none', 'device ISR of the chain', 'completion notice to the worker'],
    hop: ['none', 'message received', 'none on a completion IPI', 'none on a ping-pong IPI'],
  },
};

// ---------------------------------------------------------------- the rules, worked out afresh

/** Linux reads a clock that exits on its tick and arm paths: acpi_pm (port I/O) or the HPET (MMIO). */
function linuxReadsByRule(h: HostState, v: number): boolean {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const cs = h.linuxClocks[gi].clocksource;
  return h.guests[gi].model.family === 'linux' && (cs === 'acpi_pm' || cs === 'hpet');
}

/** The end of a clock tick reads the owner's clock, re-arms a synthetic timer or acks and forwards a platform timer's tick. */
function tickEndWorkByRule(h: HostState, v: number): string {
  const c = h.clocks[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]];
  const owner = h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0;
  if (c.timer === ClockTimer.STIMER) return 'synthetic timer re-arm';
  if (owner && (c.timer === ClockTimer.PLATFORM_RTC || c.timer === ClockTimer.PLATFORM_HPET))
    return 'platform tick forwarded';
  if (owner && c.readsPerOwnerTick > 0) return "owner's clock reads";
  return '';
}

/** What rearmAfterTick does for `vector` on `v` ('' nothing). */
function rearmByRule(h: HostState, v: number, vector: number): string {
  const model = h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model;
  if (vector !== model.timer.vector) return '';
  if (linuxReadsByRule(h, v)) return 'Linux tick clock reads';
  const work = tickEndWorkByRule(h, v);
  if (work !== '') return work;
  return model.timer.oneShotRearm ? 'one-shot re-arm' : '';
}

/** What chainAfterIsr does for `vector` on `v` ('' nothing). */
function chainByRule(h: HostState, gi: number, v: number, vector: number): string {
  const model = h.guests[gi].model;
  if (vector === model.deviceVector && h.gi32[gi * Gi.STRIDE + Gi.IO_ISR_VCPU] === v) return 'device ISR of the chain';
  if (
    vector === model.completionIpiVector &&
    h.gi32[gi * Gi.STRIDE + Gi.IO_TARGET] === -2 && // the notice in flight (phases.ts IO_NOTIFYING)
    v === h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU]
  )
    return 'completion notice to the worker';
  return '';
}

/** What pingPongAfterIsr does for `vector` on `v` ('' nothing). */
function hopByRule(h: HostState, gi: number, v: number, vector: number): string {
  const guest = h.guests[gi];
  const idx = h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
  const pingPong = idx < guest.phases.length && guest.phases[idx].phase === 'ping-pong';
  return vector === guest.model.completionIpiVector && h.hop(v) === Hop.SENT && pingPong ? 'message received' : '';
}

// ---------------------------------------------------------------- state before and after a follow-up

/** Runs `followUp` and says which of the machine's and the engine's words it changed ('' none). */
function changedBy(h: HostState, followUp: () => void): string {
  const before = hostWords(h).map((a) => a.slice());
  followUp();
  return wordsDiffer(before, hostWords(h));
}

// ---------------------------------------------------------------- 1. each predicate at every ISR end

/** Per predicate: how often it held, and what its follow-up had to do when it did not. */
type Seen = Map<string, number>;
const bump = (s: Seen, k: string): void => void s.set(k, (s.get(k) ?? 0) + 1);

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: at every ISR end each module's predicate equals its rule, and its follow-up does nothing when it holds`, () => {
    const h = firstHost(`name: fusion\nseed: 1\n${yaml.trim()}\nduration: 200ms\n`, 'fusion.yaml');
    const seen = { linux: new Map(), tick: new Map(), rearm: new Map(), chain: new Map(), hop: new Map() } as Record<
      string,
      Seen
    >;
    let ends = 0;
    const heap = (h as unknown as { heap: { key: Float64Array; size: number; peek(): number } }).heap;
    const checked = new Float64Array(h.n).fill(-1); // the ISR end each vCPU was last checked for
    while (heap.size > 0) {
      // Event by event: before each, the ISR ends due at it, in the state isrEnd will find.
      const next = heap.key[heap.peek()];
      if (!(next < 200e6)) break;
      for (let v = 0; v < h.n; v++) {
        const end = h.vf[v * Vf.STRIDE + Vf.ISR_END];
        if (!(end <= next + 1e-3) || checked[v] === end) continue;
        checked[v] = end;
        const vector = h.vi[v * Vi.STRIDE + Vi.ISR_VECTOR];
        const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
        const model = h.guests[gi].model;
        const at = `vCPU ${v} (${h.guests[gi].label}) vector ${vector} at ${end} ns`;
        ends++;

        const linux = linuxReadsByRule(h, v);
        assert.equal(noLinuxClockReads(h, v), !linux, `${at}: noLinuxClockReads`);
        bump(seen.linux, linux ? 'reads' : 'none');
        if (!linux) {
          assert.equal(
            changedBy(h, () => linuxTickReads(h, v, clockPeriodNs(h, v))),
            '',
            `${at}: linuxTickReads`,
          );
          assert.equal(
            changedBy(h, () => linuxArmReads(h, v)),
            '',
            `${at}: linuxArmReads`,
          );
        }

        const tick = tickEndWorkByRule(h, v);
        assert.equal(noClockWorkAtTickEnd(h, v), tick === '', `${at}: noClockWorkAtTickEnd (${tick})`);
        bump(seen.tick, tick === '' ? 'none' : tick);
        if (tick === '') {
          let done = true;
          assert.equal(
            changedBy(h, () => (done = clockTickDone(h, v))),
            '',
            `${at}: clockTickDone`,
          );
          assert.equal(done, false, `${at}: clockTickDone leaves the LAPIC timer to its caller`);
        }

        const rearm = rearmByRule(h, v, vector);
        assert.equal(noRearmAfterIsr(h, v, model, vector), rearm === '', `${at}: noRearmAfterIsr (${rearm})`);
        bump(seen.rearm, rearm === '' ? (vector === model.timer.vector ? 'none on a tick' : 'none') : rearm);
        if (rearm === '')
          assert.equal(
            changedBy(h, () => rearmAfterTick(h, v, model, vector)),
            '',
            `${at}: rearmAfterTick`,
          );

        const chain = chainByRule(h, gi, v, vector);
        assert.equal(noChainStepAfterIsr(h, gi, v, vector), chain === '', `${at}: noChainStepAfterIsr (${chain})`);
        bump(seen.chain, chain === '' ? (vector === model.deviceVector ? 'none on a device vector' : 'none') : chain);
        if (chain === '')
          assert.equal(
            changedBy(h, () => chainAfterIsr(h, gi, v, vector)),
            '',
            `${at}: chainAfterIsr`,
          );

        const hop = hopByRule(h, gi, v, vector);
        assert.equal(noHopAfterIsr(h, gi, v, vector), hop === '', `${at}: noHopAfterIsr (${hop})`);
        const ipi = vector === model.completionIpiVector;
        const inPhase = ipi && h.guests[gi].phases[h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX]]?.phase === 'ping-pong';
        bump(
          seen.hop,
          hop !== '' ? hop : inPhase ? 'none on a ping-pong IPI' : ipi ? 'none on a completion IPI' : 'none',
        );
        if (hop === '')
          assert.equal(
            changedBy(h, () => pingPongAfterIsr(h, gi, v, vector)),
            '',
            `${at}: pingPongAfterIsr`,
          );
      }
      h.advanceTo(next + 1e-3);
    }
    const show = JSON.stringify(Object.fromEntries(Object.entries(seen).map(([k, s]) => [k, Object.fromEntries(s)])));
    assert.ok(ends > 1000, `${ends} ISR ends checked`);
    // Both sides of every predicate were met, and every kind of work of the follow-ups.
    for (const [k, kinds] of Object.entries(WANT[name]))
      for (const kind of kinds) assert.ok((seen[k].get(kind) ?? 0) > 0, `${k}: ${kind} met (${show})`);
  });
}

// ---------------------------------------------------------------- 2. fused and unfused ISR ends

const RUNS = ISR_FUSION_HOSTS;

type EoiCr8Iret = (this: Machine, v: number, value: number) => void;

type EoiCr8IretHlt = (this: Machine, v: number, value: number) => number;

/**
 * Machine.eoiCr8IretHlt (an idle vCPU's ISR end with its HLT, test/core/isrHaltFusion.test.ts) as
 * eoiCr8Iret then HLT under its own test, so that every fused ISR end calls eoiCr8Iret once.
 */
const throughEoiCr8Iret: EoiCr8IretHlt = function (v, value) {
  return GuestInstructions.prototype.eoiCr8IretHlt.call(this, v, value);
};

/** Runs `yaml` with Machine.eoiCr8Iret replaced by `op`; its results and how often isrEnd called it. */
function runWith(yaml: string, op: EoiCr8Iret): { totals: unknown; calls: number } {
  const proto = Machine.prototype as unknown as { eoiCr8Iret: EoiCr8Iret; eoiCr8IretHlt: EoiCr8IretHlt };
  const own = Object.getOwnPropertyDescriptor(proto, 'eoiCr8Iret');
  const ownHlt = Object.getOwnPropertyDescriptor(proto, 'eoiCr8IretHlt');
  let calls = 0;
  proto.eoiCr8Iret = function (v, value) {
    calls++;
    op.call(this, v, value);
  };
  proto.eoiCr8IretHlt = throughEoiCr8Iret;
  try {
    const s = parseScenario(`name: fused\nseed: 7\n${yaml.trim()}\nduration: 1s\n`, 'fused.yaml');
    return { totals: runScenario(s).results.variants.map((x) => x.totals), calls };
  } finally {
    if (own === undefined) delete (proto as Partial<typeof proto>).eoiCr8Iret;
    else Object.defineProperty(proto, 'eoiCr8Iret', own);
    if (ownHlt === undefined) delete (proto as Partial<typeof proto>).eoiCr8IretHlt;
    else Object.defineProperty(proto, 'eoiCr8IretHlt', ownHlt);
  }
}

const fused: EoiCr8Iret = (Machine.prototype as unknown as { eoiCr8Iret: EoiCr8Iret }).eoiCr8Iret;

for (const [name, yaml] of Object.entries(RUNS)) {
  test(`${name}: ISR ends as one table operation give the results of EOI + %cr8 write and IRET one by one`, () => {
    const one = runWith(yaml, fused);
    const split = runWith(yaml, function (v, value) {
      this.eoiCr8(v, value);
      this.iret(v);
    });
    assert.ok(one.calls > 300, `${one.calls} ISR ends fused`);
    assert.equal(split.calls, one.calls);
    assert.deepEqual(split.totals, one.totals);
  });
}
