/**
 * PAUSE-loop exiting (src/core/vmx/pauseLoop.ts, src/core/guests/spin.ts; docs/MODEL.md §4): the
 * SDM's rule (a loop's PAUSEs closer than PLE_Gap; an exit once the loop outlasts PLE_Window, both in
 * TSC ticks), KVM's per-vCPU window (x86.h __grow_ple_window / __shrink_ple_window), which policies
 * turn it on, and the exit rate of a spinning vCPU: it follows from the window, the CPU's TSC rate
 * and the exit's host time, with nothing fitted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvmGrowPleWindow, kvmShrinkPleWindow, pauseLoopExitTsc } from '../../src/core/vmx/pauseLoop.js';
import { resolvePolicy, type PolicyName, type Tunables } from '../../src/core/hypervisor/policy.js';
import { Machine } from '../../src/core/vcpu/machine.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { exitCostTable, loadModelData } from '../../src/model/data.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';
import { DESKTOP, SERVER } from '../support/profiles.js';
import { spinPausePerSecond } from '../support/spin.js';

const UINT_MAX = 0xffffffff;

// [interval between PAUSEs, PLE_Gap, PLE_Window] -> TSC ticks from the loop's first PAUSE to the exiting one
const EXIT_ROWS: readonly (readonly [number, number, number, number, string])[] = [
  [10, 41, 4096, 4100, 'pre-Skylake PAUSE, old KVM gap: the 411th PAUSE is the first past the window'],
  [10, 128, 4096, 4100, 'pre-Skylake PAUSE, current gap'],
  [100, 128, 4096, 4100, 'Skylake-class PAUSE, current gap: 41 PAUSEs'],
  [100, 41, 4096, Infinity, 'Skylake-class PAUSE, old gap: every PAUSE exceeds the gap and starts a new loop'],
  [41, 41, 4096, 4100, 'an interval equal to the gap does not exceed it: still one loop'],
  [42, 41, 4096, Infinity, 'one tick over the gap: no loop'],
  [3, 128, 4096, 4098, 'the exiting PAUSE is the first whose distance exceeds the window'],
  [10, 128, 8192, 8200, 'a doubled window: twice the loop'],
  [10, 0, 4096, Infinity, 'gap 0: KVM leaves the control off'],
];

for (const [interval, gap, window, want, why] of EXIT_ROWS) {
  test(`PLE rule: interval ${interval}, gap ${gap}, window ${window} -> ${want} (${why})`, () => {
    assert.equal(pauseLoopExitTsc(interval, gap, window), want);
  });
}

// [window, base, ple_window_grow, ple_window_max] -> window after a PLE exit
const GROW_ROWS: readonly (readonly [number, number, number, number, number])[] = [
  [4096, 4096, 2, UINT_MAX, 8192],
  [8192, 4096, 1, UINT_MAX, 8192], // fixed window (Linux before 3.18)
  [65536, 4096, 0, UINT_MAX, 4096], // 0: reset to the base
  [4096, 4096, 5000, UINT_MAX, 9096], // a modifier >= the base adds
  [3e9, 4096, 2, UINT_MAX, UINT_MAX], // capped at ple_window_max
];
for (const [w, base, mod, max, want] of GROW_ROWS) {
  test(`KVM grow_ple_window(${w}, base ${base}, grow ${mod}, max ${max}) = ${want}`, () => {
    assert.equal(kvmGrowPleWindow(w, base, mod, max), want);
  });
}

// [window, base, ple_window_shrink] -> window when the vCPU thread is scheduled in
const SHRINK_ROWS: readonly (readonly [number, number, number, number])[] = [
  [65536, 4096, 0, 4096], // default: reset
  [65536, 4096, 2, 32768],
  [6000, 4096, 2, 4096], // never below the base
  [65536, 4096, 5000, 60536], // a modifier >= the base subtracts
];
for (const [w, base, mod, want] of SHRINK_ROWS) {
  test(`KVM shrink_ple_window(${w}, base ${base}, shrink ${mod}) = ${want}`, () => {
    assert.equal(kvmShrinkPleWindow(w, base, mod), want);
  });
}

// Which policies turn PLE on, and the VMCS bit a vCPU gets.
const POLICY_ROWS: readonly (readonly [string, CpuProfile, PolicyName, Tunables, boolean])[] = [
  ['KVM on a CPU with PLE (secondary bit 10)', SERVER, 'kvm', {}, true],
  ['KVM with kvm_intel.ple_gap=0', SERVER, 'kvm', { 'kvm_intel.ple_gap': 0 }, false],
  ['KVM on a CPU without PLE', DESKTOP, 'kvm', {}, false],
  ['bhyve: PROCBASED2_PAUSE_LOOP_EXITING is in its zero settings', SERVER, 'bhyve-12.1', {}, false],
  ['bhyve-tpr-v3 likewise', SERVER, 'bhyve-tpr-v3', {}, false],
];
for (const [why, profile, policy, tunables, on] of POLICY_ROWS) {
  test(`PLE ${on ? 'on' : 'off'}: ${why}`, () => {
    const traits = resolvePolicy(policy, profile, tunables);
    assert.equal(traits.ple !== null, on);
    const m = new Machine({ profile, traits, vcpus: [{ guest: 0, x2apic: true, apicId: 0 }] });
    m.launch();
    assert.equal(m.pauseLoopExiting(0), on);
    if (on) assert.deepEqual(traits.ple, { gap: 128, window: 4096, grow: 2, shrink: 0, max: UINT_MAX });
  });
}

const data = loadModelData();
const cpus = loadCpuCatalog();

function spin(cpu: string, policy: string, tunables: string, vcpus: number, spinning: number, seconds = 2) {
  return { pausePerSecond: spinPausePerSecond(cpu, policy, tunables, vcpus, spinning, seconds) };
}

const FIXED = 'kvm_intel.ple_gap: 41, kvm_intel.ple_window_grow: 1';

// Fixed window: each spinning vCPU exits once per (window loop in TSC / TSC rate + the exit's host time).
for (const [cpu, window, spinning] of [
  ['i7-4771', 4096, 1],
  ['i7-4771', 4096, 2],
  ['i7-2620M', 4096, 1],
  ['i7-4771', 16384, 1],
] as const) {
  test(`spin rate = spinning vCPUs / (loop time + exit time): ${cpu}, window ${window}, ${spinning} spinning`, () => {
    const profile = cpus.find((c) => c.id === cpu)!;
    const interval = data.costModel.pauseLoopIntervalTsc[profile.microarchitecture];
    const loopNs = (pauseLoopExitTsc(interval, 41, window) * 1000) / profile.baseClockMHz;
    const exitNs = exitCostTable(data.costModel, profile, 'kvm')[Slot.PAUSE];
    const want = (spinning * 1e9) / (loopNs + exitNs);
    const r = spin(cpu, 'kvm', `${FIXED}, kvm_intel.ple_window: ${window}`, 4, spinning);
    assert.ok(Math.abs(r.pausePerSecond / want - 1) < 0.01, `${r.pausePerSecond}/s vs ${want}/s`);
  });
}

test('no PAUSE exits where PLE cannot see the loop: Skylake-class PAUSE with the old gap, bhyve (AMD: pauseFilter.test.ts)', () => {
  assert.equal(spin('i7-6700K', 'kvm', FIXED, 2, 1).pausePerSecond, 0);
  assert.equal(spin('i7-4771', 'bhyve-12.1', '', 2, 1).pausePerSecond, 0);
});

test('the dynamic window (KVM defaults): the window doubles at each exit until other exits restart the loop first, so a spinning vCPU that is never scheduled out makes few PAUSE exits', () => {
  const dynamic = spin('i7-4771', 'kvm', '', 2, 1, 4).pausePerSecond;
  const fixed = spin('i7-4771', 'kvm', 'kvm_intel.ple_window_grow: 1', 2, 1, 4).pausePerSecond;
  assert.ok(fixed > 100_000, `fixed window at the current gap: ${fixed}/s`);
  assert.ok(dynamic > 0 && dynamic < 10, `dynamic window: ${dynamic}/s`);
});
