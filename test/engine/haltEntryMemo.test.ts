/**
 * E11's memo (docs/perf/engine30.md, the thirty-fifth session): guests/interrupts.ts haltEntryNs, the
 * HLT exit's entry part paid after a wake-up, is worked out at its first use on a host and kept in
 * HostState.haltEntryMemo. Held here to the slow path it replaced, the formula worked out at every
 * halt and wake-up: beside each host runs a twin whose memo reads as that formula every time and
 * ignores stores. Every word of the two hosts' buffers, their engine events and latency sums must be
 * the same after every step; the hosts of three CPUs (two base clocks, an AMD one whose HLT exit is
 * another slot) run interleaved in one thread, so a memo shared between hosts fails too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { Mode } from '../../src/core/engine/state.js';
import { haltEntryNs } from '../../src/core/guests/interrupts.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import { loadModelData } from '../../src/model/data.js';
import { hostGuests, hostSimulations } from '../../src/run/simulate.js';
import { parseScenario } from '../../src/scenario/load.js';

const data = loadModelData();

/** haltEntryNs before E11: worked out from the host's config and HLT exit cost at every call. */
function slowEntryNs(h: HostSimulation): number {
  const ns = Math.round(((h.config.haltResumeCycles ?? 0) * 1000) / h.config.profile.baseClockMHz);
  const hlt = h.machine.exitCostNs[h.machine.intel ? Slot.HLT : Slot.VMEXIT_HLT];
  return ns < hlt ? ns : Math.floor(hlt);
}

const HOSTS: Record<string, string> = {
  'bhyve, i7-6700K': `
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: idle }] }`,
  'KVM with halt polling, xeon-e5-2667v4': `
host: { cpu: xeon-e5-2667v4, cores: 3 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, duration: 100ms }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }`,
  'KVM on AMD, epyc-7763': `
host: { cpu: epyc-7763, cores: 8 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle }] }
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }`,
};

function build(yaml: string): () => HostSimulation {
  const scenario = parseScenario(`name: halt-entry\nseed: 5\n${yaml.trim()}\nduration: 1s\n`, 'halt-entry.yaml');
  const variant = scenario.variants[0];
  const hosts = hostSimulations(scenario, variant, data);
  return () => hosts(0, hostGuests(variant, data, 0));
}

test("haltEntryNs's memo leaves every word as the entry part worked out at every halt and wake-up did", () => {
  const pairs = Object.entries(HOSTS).map(([name, yaml]) => {
    const make = build(yaml);
    const fast = make();
    const slow = make();
    Object.defineProperty(slow, 'haltEntryMemo', { get: () => slowEntryNs(slow), set: () => {} });
    return { name, fast, slow, fastWords: new Uint8Array(fast.vf.buffer), slowWords: new Uint8Array(slow.vf.buffer) };
  });
  const halts = pairs.map(() => 0);
  for (let t = 500_000; t <= 1e9; t += 500_000) {
    pairs.forEach(({ name, fast, slow, fastWords, slowWords }, i) => {
      fast.advanceTo(t);
      slow.advanceTo(t);
      assert.equal(fast.events, slow.events, `${name}: engine events at ${t} ns`);
      assert.equal(fast.latencySumNs, slow.latencySumNs, `${name}: latency sum at ${t} ns`);
      if (Buffer.compare(fastWords, slowWords) !== 0) {
        let b = 0;
        while (fastWords[b] === slowWords[b]) b++;
        assert.fail(`${name}: at ${t} ns the hosts' buffers first differ at byte ${b}`);
      }
      for (let v = 0; v < fast.n; v++) if (fast.mode(v) === Mode.HALT) halts[i]++;
    });
  }
  const entries = new Set<number>();
  pairs.forEach(({ name, fast, slow }, i) => {
    assert.ok(halts[i] > 0 && fast.latencyCount > 0, `${name}: no halt and wake-up was run`);
    assert.equal(fast.haltEntryMemo, slowEntryNs(fast), `${name}: the memo holds another host's value`);
    assert.equal(haltEntryNs(fast), haltEntryNs(slow));
    entries.add(fast.haltEntryMemo);
  });
  assert.equal(entries.size, pairs.length, `the hosts' entry parts are not all different: ${[...entries].join(', ')}`);
});
