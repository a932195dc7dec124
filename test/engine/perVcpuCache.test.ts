/**
 * What the engine keeps per vCPU instead of working it out per event (docs/PERF.md, sixteenth
 * session): the phase's behaviour, %cr8 accesses per guest ns, spin and flat-out classes
 * (HostState.behaviours, Vf.CR8_PER_NS, V8.SPIN, V8.FLAT_OUT: filled when a phase starts), the timer's
 * class and clock period (V8.TIMER_CLASS, Vf.CLOCK_PERIOD: when the host is built), and the event
 * walk's work-counted end times (chunk, build share, hop), written out in it with its shared rate.
 * Each is held to the rule it stands for, worked out afresh here from the guest's plan and model, at
 * every step of hosts that go through phase changes (busyVcpus, lock-spin, ping-pong, install, build,
 * platform clocks, tickless and periodic timers), advanced in 50 us steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextEventTime } from '../../src/core/engine/events.js';
import { Gi, Hop, Mode, V8, Vf, Vi, Worker, type HostState } from '../../src/core/engine/state.js';
import type { PhaseBehaviour } from '../../src/core/guests/model.js';
import { buildEndTime, chunkEndTime } from '../../src/core/guests/phases.js';
import { hopEndTime } from '../../src/core/guests/pingPong.js';
import { isSpinning } from '../../src/core/guests/spin.js';
import { isAlwaysBusy } from '../../src/core/guests/bursts.js';
import {
  clockPeriodByRule,
  clockPeriodNs,
  forwardedTick,
  platformClockOwner,
} from '../../src/core/guests/timekeeping.js';
import { timerActive } from '../../src/core/guests/timers.js';
import { firstHost } from '../support/hosts.js';

/** The phase's behaviour as the guest's plan says (vcpuBehaviour's rule before it was kept per vCPU). */
function behaviourByRule(h: HostState, v: number): PhaseBehaviour {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const guest = h.guests[gi];
  const idx = h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
  if (idx >= guest.phases.length) return guest.model.phases.idle;
  const plan = guest.phases[idx];
  if (plan.busyVcpus !== undefined && v - h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] >= plan.busyVcpus)
    return guest.model.phases.idle;
  return guest.model.phases[plan.phase];
}

function spinningByRule(h: HostState, v: number): boolean {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const idx = h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
  const guest = h.guests[gi];
  if (idx >= guest.phases.length || h.mode(v) !== Mode.RUN) return false;
  const plan = guest.phases[idx];
  if (plan.phase !== 'lock-spin' || h.vf[v * Vf.STRIDE + Vf.RAISED_END] !== Infinity) return false;
  return plan.busyVcpus === undefined || v - h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU] < plan.busyVcpus;
}

/** isAlwaysBusy's rule from the plan (before V8.FLAT_OUT kept its class per vCPU). */
function alwaysBusyByRule(h: HostState, v: number): boolean {
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const idx = h.gi32[gi * Gi.STRIDE + Gi.PHASE_IDX];
  const guest = h.guests[gi];
  if (idx >= guest.phases.length) return false;
  const plan = guest.phases[idx];
  const local = v - h.gi32[gi * Gi.STRIDE + Gi.FIRST_VCPU];
  if (plan.phase === 'compute' || plan.phase === 'lock-spin')
    return plan.busyVcpus === undefined || local < plan.busyVcpus;
  if (plan.phase === 'ping-pong') return h.hop(v) === Hop.RUNNING;
  if (plan.work === undefined) return false;
  if (plan.phase === 'build') return h.v8[v * V8.STRIDE + V8.BUILD_ACTIVE] === 1;
  return local === 0 && h.worker(gi) === Worker.CPU;
}

function timerActiveByRule(h: HostState, v: number): boolean {
  const timer = h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model.timer;
  if (timer.hz <= 0 || forwardedTick(h, v)) return false;
  if (h.mode(v) !== Mode.HALT) return true;
  if (platformClockOwner(h, v)) return true;
  if (h.v8[v * V8.STRIDE + V8.WAKE_TIMER] === 1) return true;
  if (!timer.tickless) return true;
  return timer.clockOwnerTicksWhenIdle && h.vi[v * Vi.STRIDE + Vi.LOCAL] === 0;
}

const CASES: Record<string, string> = {
  'phase changes with busyVcpus, lock-spin and ping-pong under KVM (Windows driven by the RTC)': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 3, phases: [{ phase: build, duration: 40ms, busyVcpus: 1 }, { phase: lock-spin, duration: 40ms, busyVcpus: 2 }, { phase: ping-pong, hop: 40us, duration: 40ms }, { phase: idle }] }
  - { os: windows-10-1909, vcpus: 2, hpet: false, enlightenments: none, phases: [{ phase: boot, duration: 30ms }, { phase: build, duration: 50ms }, { phase: idle }] }`,
  'an install, a build to its end and a disk benchmark under bhyve, overcommitted': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 30ms }, { phase: idle }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: build, work: 60ms }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 1, phases: [{ phase: disk-benchmark, duration: 150ms }] }`,
};

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: what is kept per vCPU equals its rule at every step`, () => {
    const h = firstHost(`name: cache\nseed: 5\n${yaml.trim()}\nduration: 200ms\n`, 'cache.yaml');
    const seen = { spin: 0, flat: 0, timerOff: 0, chunk: 0, build: 0, hop: 0, behaviours: new Set<PhaseBehaviour>() };
    for (let t = 50_000; t < 200e6; t += 50_000) {
      h.advanceTo(t);
      for (let v = 0; v < h.n; v++) {
        const b = behaviourByRule(h, v);
        seen.behaviours.add(b);
        assert.equal(h.vcpuBehaviour(v), b, `vCPU ${v} at ${t} ns: behaviour`);
        const usesCr8 = h.guests[h.vi[v * Vi.STRIDE + Vi.GUEST_OF]].model.usesCr8;
        assert.equal(
          h.vf[v * Vf.STRIDE + Vf.CR8_PER_NS],
          usesCr8 ? b.cr8PerBusySecond / 1e9 : 0,
          `vCPU ${v} at ${t} ns: %cr8 per ns`,
        );
        const spin = spinningByRule(h, v);
        if (spin) seen.spin++;
        assert.equal(isSpinning(h, v), spin, `vCPU ${v} at ${t} ns: spinning`);
        const flat = alwaysBusyByRule(h, v);
        if (flat) seen.flat++;
        assert.equal(isAlwaysBusy(h, h.vi[v * Vi.STRIDE + Vi.GUEST_OF], v), flat, `vCPU ${v} at ${t} ns: flat out`);
        assert.equal(clockPeriodNs(h, v), clockPeriodByRule(h, v), `vCPU ${v}: clock period`);
        const on = timerActiveByRule(h, v);
        if (!on) seen.timerOff++;
        assert.equal(timerActive(h, v), on, `vCPU ${v} at ${t} ns: timer active`);
        // The walk's end times of work (written out in it, with its shared rate): never later than the rule's.
        const next = nextEventTime(h, v);
        for (const [kind, end] of [
          ['chunk', chunkEndTime(h, v)],
          ['build', buildEndTime(h, v)],
          ['hop', hopEndTime(h, v)],
        ] as const) {
          if (end === Infinity) continue;
          seen[kind]++;
          assert.ok(next <= end, `vCPU ${v} at ${t} ns: the walk's next event ${next} is after the ${kind} end ${end}`);
        }
      }
    }
    // The case reaches what it is there for.
    assert.ok(seen.behaviours.size >= 3, `${seen.behaviours.size} behaviours seen`);
    assert.ok(seen.timerOff > 0 && seen.flat > 0, JSON.stringify(seen));
    if (name.startsWith('phase changes')) assert.ok(seen.spin > 0 && seen.hop > 0, JSON.stringify(seen));
    else assert.ok(seen.chunk > 0 && seen.build > 0, JSON.stringify(seen));
  });
}
