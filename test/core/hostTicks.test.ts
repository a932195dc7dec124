/**
 * The host's timer ticks reach a guest only while its vCPU is in guest mode (docs/MODEL.md §3): a
 * tick that lands then is an EXTERNAL_INTERRUPT exit (SDM "External-Interrupt Exiting"; KVM
 * handle_external_interrupt), one that lands while the vCPU is halted finds the vCPU thread blocked
 * and the host CPU idle - no exit. So, with posted interrupts (APICv: no kick exits), a Linux guest's
 * EXTERNAL_INTERRUPT exits are the host tick rate times its time in guest mode, whatever it does:
 * idle (0.08 % busy), boot, compute. Table-driven over host tick rates (the host kernel's CONFIG_HZ:
 * 100, 250, 1000) and phases; the idle guest's rate per vCPU-second does not grow with its vCPUs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostModel, hostTickRate, loadModelData, type HostOs, type ModelData } from '../../src/model/data.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

const base = loadModelData();

/** The shipped model data with the KVM host's tick rate replaced. */
function withHostHz(hz: number): ModelData {
  return {
    ...base,
    costModel: { ...base.costModel, hostTickHz: { ...base.costModel.hostTickHz, linux: hz } },
  };
}

function run(cpu: string, phase: string, vcpus: number, seconds: number, hz: number) {
  const s = parseScenario(
    `name: ticks
seed: 7
host: { cpu: ${cpu}, cores: 16 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: ${vcpus}, x2apic: true, phases: [{ phase: ${phase}, duration: ${seconds}s }] }
duration: ${seconds}s
`,
    'ticks.yaml',
  );
  return runScenario(s, { data: withHostHz(hz) }).results.variants[0].totals;
}

const ROWS: readonly { phase: string; vcpus: number; seconds: number }[] = [
  { phase: 'idle', vcpus: 8, seconds: 60 },
  { phase: 'boot', vcpus: 2, seconds: 5 },
  { phase: 'compute', vcpus: 2, seconds: 5 },
];

for (const hz of [100, 250, 1000]) {
  for (const r of ROWS) {
    test(`host at ${hz} Hz, Linux ${r.phase} on an APICv host: EXTERNAL_INTERRUPT = ${hz} Hz x time in guest mode`, () => {
      const t = run('xeon-e5-2667v4', r.phase, r.vcpus, r.seconds, hz);
      const expected = hz * t.guestCpuSeconds;
      const got = t.exits.EXTERNAL_INTERRUPT ?? 0;
      // Poisson-like spread of ticks over short bursts, plus the first tick's phase per vCPU.
      const slack = 4 * Math.sqrt(expected) + r.vcpus + 1;
      assert.ok(
        Math.abs(got - expected) <= slack,
        `${got} external-interrupt exits, expected ${expected.toFixed(1)} ± ${slack.toFixed(1)}`,
      );
    });
  }
}

test('without posted interrupts (i7-6700K) device and IPI kicks of running vCPUs add to the ticks; an idle guest has almost none', () => {
  const boot = run('i7-6700K', 'boot', 2, 5, 250);
  assert.ok((boot.exits.EXTERNAL_INTERRUPT ?? 0) > 2 * 250 * boot.guestCpuSeconds, 'kicks on top of the ticks');
  const idle = run('i7-6700K', 'idle', 8, 60, 250);
  const ticks = 250 * idle.guestCpuSeconds;
  assert.ok(
    (idle.exits.EXTERNAL_INTERRUPT ?? 0) <= ticks + 4 * Math.sqrt(ticks) + 9,
    `idle: ${idle.exits.EXTERNAL_INTERRUPT} vs ${ticks.toFixed(1)}`,
  );
});

test('an idle Linux guest: external-interrupt exits per vCPU-second do not grow with its vCPUs', () => {
  const per = (vcpus: number): number => {
    const t = run('xeon-e5-2667v4', 'idle', vcpus, 60, 1000);
    return (t.exits.EXTERNAL_INTERRUPT ?? 0) / (vcpus * 60);
  };
  const one = per(1);
  const eight = per(8);
  // ~0.8 per vCPU-second at 1000 Hz x 0.08 % busy; allow the sampling noise of 60 s.
  assert.ok(eight <= 1.6 * one + 0.3, `1 vCPU: ${one.toFixed(2)}/s, 8 vCPUs: ${eight.toFixed(2)}/s per vCPU`);
  assert.ok(eight < 2, `${eight.toFixed(2)} per vCPU-second`);
});

// ---------------------------------------------------------------------------------------------
// The host tick by host OS (scenario key host.os; cost-model.yaml hostTickHz, hostTickOnEveryCpu).

/** Model data with one host OS's tick rate replaced (to take the host's ticks out of a count). */
function withOsHz(os: HostOs, hz: number): ModelData {
  return { ...base, costModel: { ...base.costModel, hostTickHz: { ...base.costModel.hostTickHz, [os]: hz } } };
}

function runOs(policy: string, os: HostOs | undefined, data: ModelData) {
  const s = parseScenario(
    `name: ticks
seed: 11
host: { cpu: epyc-7763, cores: 16${os === undefined ? '' : `, os: ${os}`} }
hypervisor: { policy: ${policy} }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: false, phases: [{ phase: compute, duration: 10s }] }
duration: 10s
`,
    'ticks.yaml',
  );
  return runScenario(s, { data }).results.variants[0].totals;
}

const OS_ROWS: readonly { policy: string; os: HostOs | undefined; effective: HostOs; perVcpuHz: number }[] = [
  // FreeBSD and Linux tick on every busy CPU; illumos runs clock() on one CPU of the 16.
  { policy: 'bhyve-12.1', os: undefined, effective: 'freebsd', perVcpuHz: 1000 },
  { policy: 'bhyve-12.1', os: 'freebsd', effective: 'freebsd', perVcpuHz: 1000 },
  { policy: 'bhyve-12.1', os: 'illumos', effective: 'illumos', perVcpuHz: 100 / 16 },
  { policy: 'kvm', os: undefined, effective: 'linux', perVcpuHz: 250 },
  { policy: 'kvm', os: 'linux', effective: 'linux', perVcpuHz: 250 },
];

for (const r of OS_ROWS) {
  test(`host tick by host OS: ${r.policy} on ${r.os ?? '(default)'} = ${r.perVcpuHz} Hz per busy vCPU`, () => {
    assert.equal(hostTickRate(base.costModel, r.effective, 16), r.perVcpuHz);
    assert.equal(hostModel(base.costModel, r.policy === 'kvm' ? 'kvm' : 'bhyve', r.os, 16).hostTickHz, r.perVcpuHz);
    // On the engine: the VMEXIT_INTR exits the host's ticks add (the same run with that OS's tick
    // slowed to one per 1000 s leaves the guest timer's host-timer exits only).
    const t = runOs(r.policy, r.os, base);
    const without = runOs(r.policy, r.os, withOsHz(r.effective, 0.001));
    const got = (t.exits.VMEXIT_INTR ?? 0) - (without.exits.VMEXIT_INTR ?? 0);
    const expected = r.perVcpuHz * t.guestCpuSeconds;
    const slack = 4 * Math.sqrt(expected) + 3;
    assert.ok(
      Math.abs(got - expected) <= slack,
      `${got} host-tick exits, expected ${expected.toFixed(1)} ± ${slack.toFixed(1)}`,
    );
  });
}

test('host.tickHz in the scenario runs the host at that rate: the same counts as the model data at that rate', () => {
  const text = (tick: string) => `name: ticks
seed: 7
host: { cpu: xeon-e5-2667v4, cores: 16${tick} }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: compute, duration: 2s }] }
duration: 2s
`;
  const stated = runScenario(parseScenario(text(', tickHz: 1000'), 't.yaml'), { data: base }).results.variants[0]
    .totals;
  const viaData = runScenario(parseScenario(text(''), 't.yaml'), { data: withHostHz(1000) }).results.variants[0].totals;
  const atDefault = runScenario(parseScenario(text(''), 't.yaml'), { data: base }).results.variants[0].totals;
  assert.deepEqual(stated.exits, viaData.exits);
  // The stated rate is 4x Linux's default 250 Hz: ~4x the external-interrupt exits of a computing guest.
  const ratio = (stated.exits.EXTERNAL_INTERRUPT ?? 0) / (atDefault.exits.EXTERNAL_INTERRUPT ?? 1);
  assert.ok(ratio > 3.3 && ratio < 4.7, `EXTERNAL_INTERRUPT ratio ${ratio.toFixed(2)} at 1000 Hz vs 250 Hz`);
});
