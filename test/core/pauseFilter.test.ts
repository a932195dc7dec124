/**
 * AMD's pause filter (src/core/svm/pauseFilter.ts, src/core/guests/spin.ts; docs/MODEL.md §4): the
 * APM's rule (AMD APM vol. 2, 15.14.4 "Pause Intercept Filtering": VMRUN loads PauseFilterCount,
 * each PAUSE decrements it, the one that takes it to zero intercepts; with PauseFilterThreshold a
 * PAUSE more than the threshold after the previous one reloads it), which configurations set the
 * PAUSE intercept (kvm_amd's pause_filter_* parameters, the CPU's CPUID Fn8000_000A EDX bits 10 and
 * 12, bhyve), KVM's per-vCPU count (the x86.h helpers also used for VMX) and the #VMEXIT_PAUSE rate
 * of a spinning vCPU: from the count, the interval, the TSC rate and the exit's host time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pauseFilterExitTsc } from '../../src/core/svm/pauseFilter.js';
import { kvmGrowPleWindow } from '../../src/core/vmx/pauseLoop.js';
import { resolvePolicy, type PolicyName, type Tunables } from '../../src/core/hypervisor/policy.js';
import { Machine } from '../../src/core/vcpu/machine.js';
import { SVM_PAUSE_SLOT } from '../../src/core/vcpu/exits.js';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { exitCostTable, loadModelData } from '../../src/model/data.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';
import { parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { AMD_NO_AVIC } from '../support/profiles.js';
import { spinPausePerSecond } from '../support/spin.js';

// APM 15.14.4: [interval between PAUSEs, PauseFilterThreshold, PauseFilterCount] -> TSC ticks from
// the loop's first PAUSE to the intercepting one
const EXIT_ROWS: readonly (readonly [number, number, number, number, string])[] = [
  [100, 128, 3000, 300_000, 'KVM defaults: the first PAUSE reloads, 3000 more decrement to zero'],
  [128, 128, 3000, 384_000, 'an interval equal to the threshold does not exceed it'],
  [129, 128, 3000, Infinity, 'one cycle over the threshold: every PAUSE reloads the count'],
  [10, 128, 6000, 60_000, 'a doubled count: twice the loop'],
  [100, 0, 3000, 299_900, 'count-only filter (threshold 0): VMRUN loaded it, the 3000th PAUSE intercepts'],
  [1000, 0, 3000, 2_999_000, 'count-only: no threshold to reset slow loops'],
  [100, 128, 0, 0, 'count 0: no filtering, every PAUSE intercepts'],
  [100, 128, 65535, 6_553_500, 'KVM pause_filter_count_max (USHRT_MAX)'],
];
for (const [interval, thresh, count, want, why] of EXIT_ROWS) {
  test(`APM 15.14.4 pause filter: interval ${interval}, threshold ${thresh}, count ${count} -> ${want} (${why})`, () => {
    assert.equal(pauseFilterExitTsc(interval, thresh, count), want);
  });
}

// svm.c grow_ple_window: __grow_ple_window(count, pause_filter_count, _grow, _max) with the 16-bit cap
const GROW_ROWS: readonly (readonly [number, number])[] = [
  [3000, 6000],
  [24000, 48000],
  [48000, 65535], // capped at USHRT_MAX: the count stops growing and the intercepts go on at a steady rate
  [65535, 65535],
];
for (const [count, want] of GROW_ROWS) {
  test(`KVM SVM grow_ple_window(${count}) with the kvm_amd defaults = ${want}`, () => {
    assert.equal(kvmGrowPleWindow(count, 3000, 2, 0xffff), want);
  });
}

// Which configurations set the PAUSE intercept with the filter, and what a vCPU gets.
const NO_THRESHOLD: CpuProfile = {
  ...AMD_NO_AVIC,
  id: 'test-amd-no-pfthreshold',
  svm: { ...AMD_NO_AVIC.svm!, pauseFilterThreshold: false },
};
const NO_FILTER: CpuProfile = {
  ...AMD_NO_AVIC,
  id: 'test-amd-no-pausefilter',
  svm: { ...AMD_NO_AVIC.svm!, pauseFilter: false, pauseFilterThreshold: false },
};
const POLICY_ROWS: readonly (readonly [string, CpuProfile, PolicyName, Tunables, boolean])[] = [
  ['KVM on a CPU with pausefilter and pfthreshold (init_vmcb)', AMD_NO_AVIC, 'kvm', {}, true],
  [
    'KVM with kvm_amd.pause_filter_count=0 (svm_vm_init: pause_in_guest)',
    AMD_NO_AVIC,
    'kvm',
    { 'kvm_amd.pause_filter_count': 0 },
    false,
  ],
  [
    'KVM with kvm_amd.pause_filter_thresh=0 (svm_vm_init, Linux 5.8+)',
    AMD_NO_AVIC,
    'kvm',
    { 'kvm_amd.pause_filter_thresh': 0 },
    false,
  ],
  ['KVM on a CPU without pfthreshold (hardware_setup zeroes the threshold)', NO_THRESHOLD, 'kvm', {}, false],
  ['KVM on a CPU without pausefilter', NO_FILTER, 'kvm', {}, false],
  ['bhyve: VMCB_INTCPT_PAUSE only for VM_CAP_PAUSE_EXIT, off by default', AMD_NO_AVIC, 'bhyve-12.1', {}, false],
];
for (const [why, profile, policy, tunables, on] of POLICY_ROWS) {
  test(`pause filter ${on ? 'on' : 'off'}: ${why}`, () => {
    const traits = resolvePolicy(policy, profile, tunables);
    assert.equal(traits.ple !== null, on);
    const m = new Machine({ profile, traits, vcpus: [{ guest: 0, x2apic: true, apicId: 0 }] });
    m.launch();
    assert.equal(m.pauseLoopExiting(0), on);
    if (on) assert.deepEqual(traits.ple, { gap: 128, window: 3000, grow: 2, shrink: 0, max: 0xffff });
  });
}

test('kvm_amd.pause_filter_* are refused on an Intel CPU (tunableVendor)', () => {
  assert.throws(
    () =>
      parseScenario(
        `name: x
host: { cpu: i7-4771, cores: 4 }
hypervisor: { policy: kvm, tunables: { kvm_amd.pause_filter_count: 6000 } }
guests: [{ os: ubuntu-18.04, vcpus: 1 }]
duration: 1s
`,
        'x.yaml',
      ),
    ScenarioError,
  );
});

const data = loadModelData();
const cpus = loadCpuCatalog();

/** #VMEXIT_PAUSE/s of one spinning vCPU of two (the AMD spin; PAUSE is Intel's and never counted here). */
function spin(cpu: string, policy: string, tunables: string, seconds = 4): number {
  return spinPausePerSecond(cpu, policy, tunables, 2, 1, seconds);
}

/** #VMEXIT_PAUSE/s of one vCPU spinning without interruption under a count that stays `count`. */
function bound(cpu: string, count: number): number {
  const profile = cpus.find((c) => c.id === cpu)!;
  const interval = data.costModel.pauseLoopIntervalTsc[profile.microarchitecture];
  const loopNs = (pauseFilterExitTsc(interval, 128, count) * 1000) / profile.baseClockMHz;
  return 1e9 / (loopNs + exitCostTable(data.costModel, profile, 'kvm')[SVM_PAUSE_SLOT]);
}

// A fixed count: one intercept per (count x interval / TSC rate + the exit's host time); the spinner's
// other exits (host ticks, its timer) reload the count at VMRUN and cost a part of a loop now and then.
for (const cpu of ['epyc-7763', 'epyc-7281', 'ryzen-5-3600x']) {
  test(`#VMEXIT_PAUSE rate with a fixed count = 1 / (loop time + exit time), a few % less for other exits: ${cpu}`, () => {
    const want = bound(cpu, 3000);
    const got = spin(cpu, 'kvm', 'kvm_amd.pause_filter_count_grow: 1');
    assert.ok(got <= want && got > 0.95 * want, `${got}/s vs ${want}/s`);
  });
}

test("KVM's growing count stops at USHRT_MAX, so unlike Intel's UINT_MAX window the spinner keeps exiting", () => {
  const dynamic = spin('epyc-7763', 'kvm', '');
  const atMax = bound('epyc-7763', 0xffff);
  // Never faster than a loop at the cap; other exits cut some of the 2.7 ms loops short.
  assert.ok(dynamic <= atMax && dynamic > 0.5 * atMax, `${dynamic}/s vs ${atMax}/s at the cap`);
  assert.ok(dynamic < spin('epyc-7763', 'kvm', 'kvm_amd.pause_filter_count_grow: 1') / 10);
});

test('no #VMEXIT_PAUSE where the filter is off: bhyve on AMD, kvm_amd.pause_filter_thresh 0', () => {
  assert.equal(spin('epyc-7763', 'bhyve-12.1', '', 2), 0);
  assert.equal(spin('epyc-7763', 'kvm', 'kvm_amd.pause_filter_thresh: 0', 2), 0);
});
