/**
 * The background-activity clock (src/core/guests/devices.ts, Vf.BG_IO_LEFT; issue #14): a guest's
 * background I/O and IPIs follow its guest time (since bgwork; its running wall time before), so
 *  1. an idle guest's exits per vCPU-second do not grow with its vCPU count (from two vCPUs on, where
 *     background IPIs have a target, its parameters imply the same per-vCPU rates at any count);
 *  2. its doorbell writes per second of guest CPU time are its ioPerBusySecond, whatever the count,
 *     and whatever the exits that stretch its work in wall time (the last test).
 * Before the fix, deadlines drawn in wall time fell due during halts and fired at every wake-up,
 * feeding themselves: idle Ubuntu made 136 exits per vCPU-second at 1 vCPU and 366 at 8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { loadModelData } from '../../src/model/data.js';
import type { VariantTotals } from '../../src/results/types.js';

const SECONDS = 10;

function idle(
  os: string,
  policy: string,
  cpu: string,
  vcpus: number,
  seed: number,
  x2apic = false,
  phase = 'idle',
): VariantTotals {
  const s = parseScenario(
    `name: idle-${os}-${vcpus}
seed: ${seed}
host: { cpu: ${cpu}, cores: 16 }
hypervisor: { policy: ${policy} }
guests:
  - { os: ${os}, vcpus: ${vcpus}, x2apic: ${x2apic}, phases: [{ phase: ${phase}, duration: ${SECONDS}s }] }
duration: ${SECONDS}s
`,
    'idle.yaml',
  );
  return runScenario(s).results.variants[0].totals;
}

const perVcpuSecond = (t: VariantTotals): number => t.exitsTotal / t.simulatedSeconds / t.vcpus;

const SETUPS = [
  { os: 'ubuntu-18.04', policy: 'kvm', cpu: 'xeon-e5-2667v4' },
  { os: 'ubuntu-18.04', policy: 'bhyve-tpr-v3', cpu: 'i7-6700K' },
  { os: 'freebsd-12.1', policy: 'bhyve-tpr-v3', cpu: 'i7-4771' },
  { os: 'windows-10-1909', policy: 'kvm', cpu: 'i7-6700K' },
  { os: 'windows-10-1909', policy: 'bhyve-tpr-v3', cpu: 'i7-2620M' },
] as const;

test('an idle guest makes no more exits per vCPU-second with more vCPUs (2 to 8)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SETUPS),
      fc.integer({ min: 3, max: 8 }),
      fc.integer({ min: 1, max: 1000 }),
      (setup, vcpus, seed) => {
        const two = perVcpuSecond(idle(setup.os, setup.policy, setup.cpu, 2, seed));
        const more = perVcpuSecond(idle(setup.os, setup.policy, setup.cpu, vcpus, seed));
        // 15 % plus four standard deviations of the 2-vCPU count (Poisson): an idle Linux guest makes
        // ~20 exits per vCPU-second, a few hundred in the run, so sampling noise alone is ~7 %.
        const noise = 4 * Math.sqrt(two / (2 * SECONDS));
        assert.ok(
          more <= two * 1.15 + noise,
          `${setup.os} ${setup.policy}: ${more.toFixed(1)} exits per vCPU-second at ${vcpus} vCPUs, ${two.toFixed(1)} at 2`,
        );
      },
    ),
    { seed: 0x1d1e, numRuns: 8 },
  );
});

test('background doorbells per second of guest CPU time are the guest model ioPerBusySecond, at any vCPU count', () => {
  const data = loadModelData();
  // The boot phase: busy enough (0.6) for thousands of doorbells; an idle Linux vCPU runs ~1 ms a second.
  for (const os of ['ubuntu-18.04', 'freebsd-12.1']) {
    const rate = data.guestModels.get(os)!.phases.boot.ioPerBusySecond;
    for (const vcpus of [1, 2, 8]) {
      // x2APIC: the LAPIC is reached by MSRs, so every MMIO exit is a device doorbell.
      const t = idle(os, 'kvm', 'xeon-e5-2667v4', vcpus, 7, true, 'boot');
      const doorbells = (t.exits.EPT_VIOLATION ?? 0) + (t.exits.EPT_MISCONFIG ?? 0);
      const perBusySecond = doorbells / t.guestCpuSeconds;
      assert.ok(
        perBusySecond > rate * 0.7 && perBusySecond < rate * 1.3,
        `${os}, ${vcpus} vCPUs: ${perBusySecond.toFixed(1)} doorbells per guest-CPU second, model ${rate}`,
      );
    }
  }
});

test('background I/O follows guest work, not the exits that stretch it: Windows boot under bhyve-12.1 and bhyve-tpr-v1', () => {
  // Under bhyve-12.1 on the i7-2620M every %cr8 access of the guest's work exits, so its bursts take
  // several times longer in wall time than under bhyve-tpr-v1; the background I/O it issues per second
  // of guest work is the model's all the same. (On the running wall clock, bhyve-12.1's rate per guest
  // second was several times the parameter.) The I/O's completion interrupts count it: the phase has
  // no other device interrupt.
  const rate = loadModelData().guestModels.get('windows-10-1909')!.phases.boot.ioPerBusySecond;
  for (const policy of ['bhyve-12.1', 'bhyve-tpr-v1']) {
    const t = idle('windows-10-1909', policy, 'i7-2620M', 2, 5, false, 'boot');
    const perGuestSecond = t.interruptsBySource.device.raised / t.guestCpuSeconds;
    assert.ok(
      perGuestSecond > rate * 0.8 && perGuestSecond < rate * 1.2,
      `${policy}: ${perGuestSecond.toFixed(1)} background I/Os per guest-CPU second, model ${rate}`,
    );
  }
});
