/**
 * E15 (docs/perf/engine30.md, the thirty-seventh session): the event walk (src/core/engine/events.ts)
 * skips IO_DONE, PHASE_END, CHUNK_END, BUILD_END and HOP_END on a host whose guests have no phase with
 * work, a duration or a ping-pong (HostState.phaseEvents, worked out once per host). Held here: on
 * such hosts every one of those kinds reads as not pending at every re-key of the run, so the skipped
 * blocks could only have found Infinity; walking them anyway changes no total; and on a host whose
 * phases do set them the flag is on, and a walk that skipped them would change its results (a flag
 * worked out wrong, or a phase kind that sets their words without raising it, fails here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { Gf, Hop, V8, Vi, Worker } from '../../src/core/engine/state.js';
import { ioDoneTime } from '../../src/core/guests/phases.js';
import { ENGINE_HOSTS, firstHost } from '../support/hosts.js';

/** Hosts whose guests' phases are open-ended and without work: the flag is off. */
const PLAIN: Record<string, string> = {
  "the bench's idle mixed fleet, bhyve-12.1": `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle }] }
  - { os: freebsd-12.1, vcpus: 1, phases: [{ phase: idle }] }`,
  'KVM, Windows and Linux idle on 2 cores for 6 vCPUs': `
host: { cpu: xeon-e5-2667v4, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 4, phases: [{ phase: idle }] }`,
};

/** Hosts with a phase that sets those kinds' words: the flag is on. */
const PHASED: Record<string, string> = {
  'an install, a build, a disk benchmark and a ping-pong on 4 cores, bhyve-tpr-v3': ENGINE_HOSTS.everyPhase,
  'an idle guest after a boot of 200 ms (a phase end only)': `
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: boot, duration: 200ms }, { phase: idle }] }`,
};

function host(yaml: string): HostSimulation {
  return firstHost(`name: phase-events\nseed: 5\n${yaml.trim()}\nduration: 10s\n`, 'phase-events.yaml');
}

/** The host's totals after `ns` simulated ns, with the walk's flag set to `flag` (undefined: the host's own). */
function totals(yaml: string, ns: number, flag?: boolean): string {
  const h = host(yaml);
  if (flag !== undefined) (h as unknown as { phaseEvents: boolean }).phaseEvents = flag;
  h.advanceTo(ns);
  h.finalChecks();
  const m = h.machine;
  return JSON.stringify([h.events, ...m.exitTotals, ...m.counters, ...h.guestCounters, ...h.latencyCounts]);
}

for (const [name, yaml] of Object.entries(PLAIN)) {
  test(`${name}: the kinds the walk skips are never pending, and walking them changes no total`, () => {
    const h = host(yaml);
    assert.equal(h.phaseEvents, false);
    let checked = 0;
    const rekey = h.reschedule.bind(h);
    h.reschedule = (v: number): void => {
      const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
      const at = `vCPU ${v} at ${h.now} ns`;
      assert.equal(ioDoneTime(h, gi, v), Infinity, `IO_DONE pending: ${at}`);
      assert.equal(h.gf[gi * Gf.STRIDE + Gf.PHASE_END], Infinity, `PHASE_END pending: ${at}`);
      assert.notEqual(h.worker(gi), Worker.CPU, `CHUNK_END pending: ${at}`);
      assert.equal(h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE], 0, `BUILD_END pending: ${at}`);
      assert.notEqual(h.hop(v), Hop.RUNNING, `HOP_END pending: ${at}`);
      checked++;
      rekey(v);
    };
    h.advanceTo(10e9);
    assert.ok(checked > 2000, `re-keys checked: ${checked}`);
    assert.equal(totals(yaml, 10e9, true), totals(yaml, 10e9));
  });
}

for (const [name, yaml] of Object.entries(PHASED)) {
  test(`${name}: the flag is on, and a walk that skipped those kinds would change the results`, () => {
    assert.equal(host(yaml).phaseEvents, true);
    assert.notEqual(totals(yaml, 1.5e9, false), totals(yaml, 1.5e9));
  });
}
