/**
 * E17 (docs/perf/engine30.md, the thirty-eighth session): the event walk (src/core/engine/events.ts)
 * reads one byte per vCPU, HostState.phaseKinds, for which of IO_DONE, PHASE_END, CHUNK_END, BUILD_END
 * and HOP_END its phase words allow, instead of the words themselves; guests/phases.ts and pingPong.ts
 * work the byte out again (notePhaseKinds) where they write those words. Held here: before every
 * advance and re-key of a run (the walks' two callers: firstDue after the advance, the re-key's walk),
 * every vCPU's byte equals phaseKindsOf of its words, on hosts whose phases set each of the five kinds,
 * so a writer that leaves the byte stale fails here; and a host whose bytes are cleared before each
 * re-key gives other results (the walk does read them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { PhaseKind, phaseKindsOf } from '../../src/core/engine/state.js';
import { ENGINE_HOSTS, firstHost } from '../support/hosts.js';

const ALL = PhaseKind.IO_DONE | PhaseKind.PHASE_END | PhaseKind.CHUNK_END | PhaseKind.BUILD_END | PhaseKind.HOP_END;

/** Each host, and the kinds its phases set (each seen set at some check: its writers ran). */
const HOSTS: Record<string, [string, number]> = {
  "the seed's Windows 10 install on 4 cores, bhyve-12.1 (a chain: I/O and chunks)": [
    `
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 2s }] }`,
    PhaseKind.IO_DONE | PhaseKind.CHUNK_END,
  ],
  'phases of 1 s: an install, a build, a disk benchmark and a ping-pong on 4 cores, bhyve-tpr-v3 (ends, hops)': [
    ENGINE_HOSTS.everyPhase,
    PhaseKind.PHASE_END | PhaseKind.HOP_END,
  ],
  'work-bound phases one after another on 2 cores for 7 vCPUs, KVM (all five)': [
    `
host: { cpu: xeon-e5-2667v4, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 3, phases: [{ phase: build, work: 300ms }, { phase: disk-benchmark, work: 2MiB }, { phase: ping-pong, hop: 20us, duration: 500ms }] }
  - { os: windows-server-2019, vcpus: 4, phases: [{ phase: boot, duration: 300ms }, { phase: install, work: 400ms }, { phase: idle }] }`,
    ALL,
  ],
};

function host(yaml: string): HostSimulation {
  return firstHost(`name: phase-kinds\nseed: 7\n${yaml.trim()}\nduration: 10s\n`, 'phase-kinds.yaml');
}

/**
 * The host's totals after `ns` simulated ns; with `stale`, its phaseKinds bytes are cleared before
 * every re-key, as if no writer had set them (a walk that then runs a kind twice may throw: its
 * message stands for the totals).
 */
function totals(yaml: string, ns: number, stale = false): string {
  const h = host(yaml);
  if (stale) {
    const rekey = h.reschedule.bind(h);
    h.reschedule = (v: number): void => {
      h.phaseKinds.fill(0);
      rekey(v);
    };
  }
  try {
    h.advanceTo(ns);
    h.finalChecks();
  } catch (e) {
    if (!stale) throw e;
    return `threw: ${String(e)}`;
  }
  const m = h.machine;
  return JSON.stringify([h.events, ...m.exitTotals, ...m.counters, ...h.guestCounters, ...h.latencyCounts]);
}

for (const [name, [yaml, kinds]] of Object.entries(HOSTS)) {
  test(`${name}: every vCPU's phaseKinds byte is its words' kinds before every advance and re-key`, () => {
    const h = host(yaml);
    let checked = 0;
    let seen = 0;
    const check = (what: string, v: number): void => {
      for (let u = 0; u < h.n; u++) {
        const want = phaseKindsOf(h, u);
        assert.equal(h.phaseKinds[u], want, `vCPU ${u} before ${what} of vCPU ${v} at ${h.now} ns`);
        seen |= want;
      }
      checked++;
    };
    const rekey = h.reschedule.bind(h);
    h.reschedule = (v: number): void => {
      check('a re-key', v);
      rekey(v);
    };
    const advance = h.advance.bind(h);
    h.advance = (v: number): void => {
      check('an advance', v);
      advance(v);
    };
    h.advanceTo(3e9);
    assert.ok(checked > 2000, `checks: ${checked}`);
    assert.equal(seen, kinds, `kinds seen: ${seen}`);
  });

  test(`${name}: bytes cleared before each re-key give other results`, () => {
    assert.notEqual(totals(yaml, 1.5e9, true), totals(yaml, 1.5e9));
  });
}
