/**
 * E22 (docs/perf/engine30.md, the fortieth session): isrEnd asks the tests that are constants of the
 * vCPU's guest - the EOI and the IRQL restore as one operation (usesCr8, no hv-vapic EOI) and a tick's
 * end that re-arms and reads nothing (noRearmAfterIsr for the timer's vector) - once, at the vCPU's
 * first ISR end, and keeps the answer with the timer's vector in a machine word (Machine.isrPlan); the
 * chain's and the hop's predicates only on a host whose phases can take those steps (phaseEvents).
 * Held here at every ISR end (every read of the word) of hosts that take both answers of each: the
 * kept word equals the predicates asked then, and on a host without phase events no chain step or hop
 * could follow any vector's ISR. Worked out afresh at every ISR end the totals are the same; a word
 * kept wrong (stale) changes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { Vi } from '../../src/core/engine/state.js';
import { noChainStepAfterIsr } from '../../src/core/guests/phases.js';
import { noHopAfterIsr } from '../../src/core/guests/pingPong.js';
import { noRearmAfterIsr } from '../../src/core/guests/timers.js';
import { firstHost, hostTotals, ISR_FUSION_HOSTS } from '../support/hosts.js';

const KNOWN = 1;
const CR8_EOI = 2;
const QUIET_TICK = 4;
const VECTOR_SHIFT = 3;

const IDLE_HOSTS: Record<string, string> = {
  "the bench idle fleet's guests under bhyve-12.1": `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, vcpus: 1, x2apic: true, phases: [{ phase: idle }] }`,
  'idle KVM guests on the RTC, the HPET, a synthetic timer and acpi_pm, and an auto-EOI': `
host: { cpu: xeon-e5-2667v4, cores: 8 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-10-1909, vcpus: 2, hpet: false, enlightenments: none, phases: [{ phase: idle }] }
  - { os: windows-server-2019, name: hpet, vcpus: 2, hpet: true, enlightenments: none, phases: [{ phase: idle }] }
  - { os: windows-server-2019, name: stimer, vcpus: 2, enlightenments: [hv-vpindex, hv-synic, hv-stimer, hv-time], phases: [{ phase: idle }] }
  - { os: windows-10-1909, name: vapic, vcpus: 2, enlightenments: [hv-vpindex, hv-synic, hv-stimer, hv-time, hv-vapic], phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: idle }] }`,
};

const CASES: Record<string, string> = { ...IDLE_HOSTS, ...ISR_FUSION_HOSTS };

function host(yaml: string): HostSimulation {
  return firstHost(`name: isr-plan\nseed: 11\n${yaml.trim()}\nduration: 2s\n`, 'isr-plan.yaml');
}

/** The plan the predicates give for vCPU `v` now (what isrPlan keeps). */
function planNow(h: HostSimulation, v: number): number {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const model = h.guests[gi].model;
  const t = model.timer.vector;
  return (
    KNOWN |
    (model.usesCr8 && !h.clocks[gi].hvEoi ? CR8_EOI : 0) |
    (noRearmAfterIsr(h, v, model, t) ? QUIET_TICK : 0) |
    (t << VECTOR_SHIFT)
  );
}

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: the ISR end's kept plan answers as its predicates at every ISR end`, () => {
    const h = host(yaml);
    const m = h.machine;
    const kept = m.isrPlan.bind(m);
    const seen = { ends: 0, cr8: 0, notCr8: 0, quietTick: 0, tickWork: 0 };
    m.isrPlan = (v: number): number => {
      const p = kept(v);
      seen.ends++;
      if (p !== 0) {
        assert.equal(p, planNow(h, v), `vCPU ${v} at ${h.now} ns: kept ${p}`);
        if ((p & CR8_EOI) !== 0) seen.cr8++;
        else seen.notCr8++;
        if ((p & QUIET_TICK) !== 0) seen.quietTick++;
        else seen.tickWork++;
      }
      if (h.phaseEvents !== true) {
        const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
        for (let vector = 0; vector < 256; vector++)
          assert.ok(
            noChainStepAfterIsr(h, gi, v, vector) && noHopAfterIsr(h, gi, v, vector),
            `vCPU ${v} at ${h.now} ns: a chain step or a hop could follow vector ${vector}`,
          );
      }
      return p;
    };
    h.advanceTo(2e9);
    // Both answers of each kept bit, or the case does not test it.
    assert.ok(seen.ends > 300 && seen.cr8 > 100, `ISR ends: ${JSON.stringify(seen)}`);
    if (name in IDLE_HOSTS) {
      assert.equal(h.phaseEvents, false);
      assert.ok(seen.notCr8 > 10, `ISR ends: ${JSON.stringify(seen)}`);
    } else assert.equal(h.phaseEvents, true);
    if (name.startsWith('idle KVM')) assert.ok(seen.quietTick > 100 && seen.tickWork > 100, JSON.stringify(seen));
  });

  test(`${name}: a plan worked out at every ISR end gives the same totals; one kept wrong does not`, () => {
    const want = hostTotals(host(yaml), 2e9);
    const afresh = host(yaml);
    afresh.machine.isrPlan = (): number => 0;
    assert.equal(hostTotals(afresh, 2e9), want);
    // Stale: every vCPU's word kept as for a %cr8 guest whose tick's end does nothing (each case has
    // guests that are not: Linux, FreeBSD, a re-armed or platform timer's tick, hv-vapic's EOI).
    const stale = host(yaml);
    for (let v = 0; v < stale.n; v++) stale.machine.setIsrPlan(v, planNow(stale, v) | CR8_EOI | QUIET_TICK);
    assert.notEqual(hostTotals(stale, 2e9), want);
  });
}
