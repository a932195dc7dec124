/**
 * E8's shortcut in HostSimulation.advance (docs/perf/engine30.md, the thirty-fourth session): a vCPU
 * already advanced to the event's time (an ISR start's or a halt's second advance in one event) skips
 * progress, setting the two fields progress's first lines set. Held here to the slow path it replaced,
 * advance as it was before (progress at every call), run beside it on the same hosts: every word of
 * each host's one buffer (the vCPUs', guests', machine's, queue's and counters' arrays, vcpu/arena.ts),
 * its engine events and its latency sums must be the same after every step. The golden digests hold
 * the shipped scenarios; these add an overcommitted host (shares below 1, exit debt paid across a
 * change), the invariant checks, KVM's halt polling with clock reads that exit, and a ping-pong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { Mode, Vf, Vi } from '../../src/core/engine/state.js';
import { loadModelData } from '../../src/model/data.js';
import { hostGuests, hostSimulations } from '../../src/run/simulate.js';
import { parseScenario } from '../../src/scenario/load.js';

const data = loadModelData();

/** The private members advance uses, as the slow path reaches them. */
interface AdvanceParts {
  progress(v: number): void;
  guestModeTicks(v: number, ticks: number, period: number): number;
  firstTick: number;
}

/** HostSimulation.advance before E8: progress at every call, even at the vCPU's own time. */
function slowAdvance(this: HostSimulation, v: number): void {
  const p = this as unknown as AdvanceParts;
  const time = this.now;
  if (this.stoppedAtNs[this.vi[v * Vi.STRIDE + Vi.GUEST_OF]] >= 0) {
    this.vf[v * Vf.STRIDE + Vf.T] = Math.max(this.vf[v * Vf.STRIDE + Vf.T], time);
    return;
  }
  p.progress(v);
  const tick = this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK];
  if (tick <= time && this.mode(v) !== Mode.HALT && !this.machine.isStopped(v)) {
    const period = this.hostTickPeriod();
    const ticks = Math.floor((time - tick) / period) + 1;
    this.vf[v * Vf.STRIDE + Vf.NEXT_HOST_TICK] = tick + ticks * period;
    p.firstTick = tick;
    this.machine.hostInterrupts(v, p.guestModeTicks(v, ticks, period));
    this.drainDeliveries();
  }
}

const CASES: Record<string, string> = {
  'an idle mixed fleet of 7 vCPUs (the bench idle fleet host)': `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, vcpus: 1, phases: [{ phase: idle }] }`,
  'installs and builds on 2 cores for 6 vCPUs, bhyve-12.1, invariant checks on': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
debug: true
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, duration: 150ms }, { phase: idle }] }
  - { os: windows-10-1909, name: win-build, vcpus: 2, phases: [{ phase: build, duration: 150ms }, { phase: idle }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: disk-benchmark, duration: 150ms }, { phase: idle }] }`,
  'KVM halt polling, acpi_pm reads that exit, a ping-pong, 3 cores for 6 vCPUs': `
host: { cpu: i7-6700K, cores: 3 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, clocksource: acpi_pm, phases: [{ phase: build, duration: 100ms }, { phase: idle }] }
  - { os: ubuntu-18.04, name: pp, vcpus: 2, phases: [{ phase: ping-pong, hop: 40us, duration: 150ms }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }`,
};

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: advance's shortcut at the vCPU's own time leaves every word as progress at every call did`, () => {
    const scenario = parseScenario(`name: at-now\nseed: 11\n${yaml.trim()}\nduration: 2s\n`, 'at-now.yaml');
    const variant = scenario.variants[0];
    const build = hostSimulations(scenario, variant, data);
    const fast = build(0, hostGuests(variant, data, 0));
    const slow = build(0, hostGuests(variant, data, 0));
    slow.advance = slowAdvance;
    const fastWords = new Uint8Array(fast.vf.buffer);
    const slowWords = new Uint8Array(slow.vf.buffer);
    assert.equal(fastWords.length, slowWords.length);
    let halts = 0;
    for (let t = 500_000; t <= 2e9; t += 500_000) {
      fast.advanceTo(t);
      slow.advanceTo(t);
      assert.equal(fast.events, slow.events, `engine events at ${t} ns`);
      assert.equal(fast.latencySumNs, slow.latencySumNs, `latency sum at ${t} ns`);
      // Buffer.compare: one call over the whole buffer, not a JavaScript loop per byte.
      if (Buffer.compare(fastWords, slowWords) !== 0) {
        let i = 0;
        while (fastWords[i] === slowWords[i]) i++;
        assert.fail(`at ${t} ns the hosts' buffers first differ at byte ${i}`);
      }
      for (let v = 0; v < fast.n; v++) if (fast.mode(v) === Mode.HALT) halts++;
    }
    fast.finalChecks();
    slow.finalChecks();
    assert.ok(fast.events > 500, `${fast.events} engine events`);
    assert.ok(halts > 0, 'no vCPU was ever seen halted: the case does not reach the halt path');
  });
}
