/**
 * A phase's `busyVcpus` (src/core/engine/state.ts vcpuBehaviour): only the guest's first N vCPUs
 * take the phase's behaviour, the others idle - the stated setup "sysbench, 1 thread" on a 4-vCPU
 * guest runs one vCPU flat out and three idle ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

function run(busy: string): { cpu: number; exits: number } {
  const s = parseScenario(
    `name: busy
seed: 3
host: { cpu: xeon-e5-2667v4, cores: 16 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 4, x2apic: true, phases: [{ phase: build, duration: 5s${busy} }] }
duration: 5s
`,
    'busy.yaml',
  );
  const t = runScenario(s).results.variants[0].totals;
  return { cpu: t.guestCpuSeconds / t.simulatedSeconds, exits: t.exitsTotal / t.simulatedSeconds };
}

test('busyVcpus: 1 of 4 runs one vCPU of guest CPU time per second, not four', () => {
  const all = run('');
  const one = run(', busyVcpus: 1');
  assert.ok(all.cpu > 3.8 && all.cpu <= 4, `all four busy: ${all.cpu.toFixed(2)} guest CPUs`);
  assert.ok(one.cpu > 0.95 && one.cpu < 1.1, `one busy: ${one.cpu.toFixed(2)} guest CPUs`);
  assert.ok(one.exits < all.exits, `${one.exits.toFixed(0)} exits/s with one busy, ${all.exits.toFixed(0)} with four`);
});

test('a phase busy all the time (build, busyFraction 1) for a duration never halts: one endless burst, not 10 ms bursts with empty gaps', () => {
  for (const os of ['ubuntu-18.04', 'windows-10-1909']) {
    const s = parseScenario(
      `name: flat
seed: 3
host: { cpu: xeon-e5-2667v4, cores: 16 }
hypervisor: { policy: kvm }
guests:
  - { os: ${os}, vcpus: 1, phases: [{ phase: build, duration: 5s }] }
duration: 5s
`,
      'flat.yaml',
    );
    const t = runScenario(s).results.variants[0].totals;
    assert.equal(t.exits.HLT ?? 0, 0, `${os}: HLT exits of a vCPU that is always busy`);
    assert.ok(t.guestCpuSeconds / t.simulatedSeconds > 0.99, `${os}: ${t.guestCpuSeconds} guest CPU seconds`);
  }
});
