/**
 * KVM's halt polling (src/core/hypervisor/haltPoll.ts): a halting vCPU thread polls for up to its own
 * window (virt/kvm/kvm_main.c kvm_vcpu_block: grown x2 from 10 us after a halt it missed but shorter
 * than halt_poll_ns, reset after a block longer than halt_poll_ns, at most halt_poll_ns = 200 us on
 * x86). A wake-up inside the window is a successful poll: the whole halt is host CPU of the vCPU
 * thread and neither the woken thread's block/wake-up path (haltWakeupNs) nor the waker's
 * (wakeupWakerNs) is paid. A longer halt polls for the window, then blocks. bhyve never polls, and
 * KVM polls only while the thread is alone on its CPU (single_task_running()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import {
  HaltPoll,
  HOST_WORDS,
  grantedPolls,
  haltBegins,
  haltEnds,
  polling,
  pollsEndBy,
  stopPolling,
} from '../../src/core/hypervisor/haltPoll.js';
import type { VariantTotals } from '../../src/results/types.js';

function totals(policy: string, hop: string, cores = 8, tunables = ''): VariantTotals {
  const s = parseScenario(
    `name: hp
seed: 5
host: { cpu: i7-6700K, cores: ${cores} }
hypervisor: { policy: ${policy}${tunables === '' ? '' : `, tunables: { ${tunables} }`} }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: ping-pong, duration: 1s, hop: ${hop} }] }
duration: 1s
`,
    'hp.yaml',
  );
  return runScenario(s).results.variants[0].totals;
}

/** The VM process's host CPU in cores, as validate-model's host_cpu_fraction sums it. */
const hostCpu = (t: VariantTotals): number =>
  (t.guestCpuSeconds + Object.values(t.hostSecondsInExits).reduce((a, b) => a + b, 0)) / t.simulatedSeconds;
const hltUs = (t: VariantTotals): number => ((t.hostSecondsInExits.HLT ?? 0) / (t.exits.HLT ?? 1)) * 1e6;
const latencyUs = (t: VariantTotals): number => t.interruptLatency.sumNs / t.interruptLatency.count / 1000;

test('KVM by default: two vCPUs passing a message every 40 us poll through every halt, ~2 host cores', () => {
  // One vCPU works while the other waits for its IPI: ~1 core of guest work, and the waiting thread
  // polls its whole halt (40 us + the path, under the window once it grew past it).
  const t = totals('kvm', '40us');
  assert.ok(hostCpu(t) > 1.8 && hostCpu(t) < 2.05, `${hostCpu(t).toFixed(3)} host cores`);
  assert.ok(hltUs(t) > 30, `${hltUs(t).toFixed(1)} us of host time per HLT exit`);
});

test('kvm.halt_poll_ns 0 turns polling off: ~1 core, the HLT exit only its round trip', () => {
  const t = totals('kvm', '40us', 8, 'kvm.halt_poll_ns: 0');
  assert.ok(hostCpu(t) > 0.8 && hostCpu(t) < 1.3, `${hostCpu(t).toFixed(3)} host cores`);
  assert.ok(hltUs(t) < 2, `${hltUs(t).toFixed(2)} us per HLT exit`);
});

test('a successful poll skips the wake-up path: lower interrupt latency, no waker cost on the ICR write', () => {
  const on = totals('kvm', '40us');
  const off = totals('kvm', '40us', 8, 'kvm.halt_poll_ns: 0');
  // haltWakeupNs (6 us) is paid by the woken vCPU only when it slept.
  assert.ok(
    latencyUs(off) - latencyUs(on) > 4,
    `latency ${latencyUs(on).toFixed(2)} us polling, ${latencyUs(off).toFixed(2)} us not`,
  );
  // The sender's x2APIC ICR write pays wakeupWakerNs (2.89 us) only for a sleeping target.
  const msrUs = (t: VariantTotals) => ((t.hostSecondsInExits.MSR_WRITE ?? 0) / (t.exits.MSR_WRITE ?? 1)) * 1e6;
  assert.ok(
    msrUs(off) - msrUs(on) > 0.4,
    `MSR_WRITE ${msrUs(on).toFixed(2)} us polling, ${msrUs(off).toFixed(2)} us not`,
  );
});

test('halts longer than halt_poll_ns are never polled for long: 2 ms hops cost ~1 core', () => {
  const t = totals('kvm', '2ms');
  assert.ok(hostCpu(t) < 1.1, `${hostCpu(t).toFixed(3)} host cores`);
});

test('bhyve never polls (vm_handle_hlt sleeps at once)', () => {
  const t = totals('bhyve-12.1', '40us');
  assert.ok(hostCpu(t) < 1.3, `${hostCpu(t).toFixed(3)} host cores`);
  // Its HLT exit costs its transition and handler only (7.7 us on this CPU), not a poll of ~50 us.
  assert.ok(hltUs(t) < 10, `${hltUs(t).toFixed(2)} us per HLT exit`);
});

test('no polling when another task is runnable on the CPU (single_task_running): 2 vCPUs on 1 core', () => {
  const t = totals('kvm', '40us', 1);
  assert.ok(hostCpu(t) <= 1.0001, `${hostCpu(t).toFixed(3)} host cores on a 1-core host`);
});

test('the window: grows x2 from 10 us after a short halt it missed, capped at halt_poll_ns, reset after a long block', () => {
  const HLT = 0;
  const m = { haltPoll: new Float64Array(HaltPoll.STRIDE + HOST_WORDS), exitHostNs: new Float64Array(1), clockNs: 0 };
  const w = m.haltPoll;
  const max = 200_000;
  const begin = (start: number): void => {
    w[HaltPoll.HALT_START] = start;
    haltBegins(w, 0, true);
  };
  /** A halt of `ns` from `start`: the host ns it polled. */
  const halt = (start: number, ns: number): number => {
    const before = m.exitHostNs[HLT];
    begin(start);
    m.clockNs = start + ns;
    haltEnds(m, 0, max, HLT);
    return m.exitHostNs[HLT] - before;
  };
  assert.equal(halt(0, 50_000), 0, 'the window starts at 0: no poll');
  assert.equal(w[HaltPoll.WINDOW], 10_000);
  const windows: number[] = [];
  for (let i = 0; i < 6; i++) {
    halt(1e6 * (i + 1), 190_000);
    windows.push(w[HaltPoll.WINDOW]);
  }
  // Missed by windows of 10-160 us (each grows), caught by 200 us (kept).
  assert.deepEqual(windows, [20_000, 40_000, 80_000, 160_000, 200_000, 200_000]);
  begin(1e8);
  m.clockNs = 1e8 + 150_000;
  assert.ok(polling(m, 0), 'polling 150 us into a 200 us window');
  m.clockNs = 1e8 + 250_000;
  assert.ok(!polling(m, 0), 'asleep past it');
  m.clockNs = 1e8 + 150_000;
  const polled = m.exitHostNs[HLT];
  haltEnds(m, 0, max, HLT);
  assert.equal(m.exitHostNs[HLT] - polled, 150_000, 'a successful poll: the whole halt');
  assert.equal(halt(2e8, 5e6), 200_000, 'a long halt polls for the window, then blocks');
  assert.equal(w[HaltPoll.WINDOW], 0, 'and resets it (halt_poll_ns_shrink 0)');
  assert.equal(w[HaltPoll.ATTEMPTED], 8);
  assert.equal(w[HaltPoll.SUCCESSFUL], 2);
  assert.equal(w[HaltPoll.WAKEUP], 7, 'the first halt and five missed windows slept, and the long one');
  assert.equal(w[HaltPoll.POLL_NS], 10_000 + 20_000 + 40_000 + 80_000 + 160_000 + 190_000 + 150_000 + 200_000);
  assert.equal(m.exitHostNs[HLT], w[HaltPoll.POLL_NS], 'the polling is the HLT exit host time');
  // single_task_running() failed 30 us into a poll: 30 us polled, then it slept.
  w[HaltPoll.WINDOW] = 200_000;
  begin(3e8);
  m.clockNs = 3e8 + 30_000;
  stopPolling(m, 0);
  m.clockNs = 3e8 + 100_000;
  assert.ok(!polling(m, 0), 'asleep once the poll was cut');
  const before = m.exitHostNs[HLT];
  haltEnds(m, 0, max, HLT);
  assert.equal(m.exitHostNs[HLT] - before, 30_000);
  assert.equal(w[HaltPoll.WAKEUP], 8);
  assert.equal(grantedPolls(w), 0, 'every granted poll ended');
  assert.equal(pollsEndBy(w), 3e8 + 200_000, 'the last poll granted could run to 200 us after its start');
});
