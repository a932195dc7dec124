/**
 * E13 (docs/perf/engine30.md, the thirty-sixth session): Machine.isQuiet, which the engine's walk asks
 * of a running vCPU whose host tick could come first, answers from the quiet flag of the interned
 * state the vCPU's hint names (worked out once when the state was interned, transitions.ts txQuiet)
 * instead of scanning IRR, ISR, PIR and the pending injection. Held here to the words at every call
 * the engine makes, on hosts that run it in both answers: an install and builds on few cores (the
 * install bench's policy), KVM with Hyper-V guests and a ping-pong, and a host of 32 vCPUs sending
 * IPIs. A flag gone stale (a state id reused after the tables start afresh, a hint kept past a write)
 * answers other than the words here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../../src/core/vcpu/layout.js';
import { quietWords } from '../../src/core/vcpu/transitions.js';
import { firstHost } from '../support/hosts.js';

const CASES: Record<string, string> = {
  'installs and builds on 2 cores for 6 vCPUs, bhyve-12.1': `
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, duration: 1s }, { phase: idle }] }
  - { os: windows-10-1909, name: win-build, vcpus: 2, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: freebsd-12.1, vcpus: 2, phases: [{ phase: disk-benchmark, duration: 1s }, { phase: idle }] }`,
  'KVM, Hyper-V and Linux guests and a ping-pong on 3 cores for 6 vCPUs': `
host: { cpu: xeon-e5-2667v4, cores: 3 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, name: pp, vcpus: 2, phases: [{ phase: ping-pong, hop: 40us, duration: 1s }, { phase: idle }] }
  - { os: windows-server-2019, vcpus: 2, phases: [{ phase: install, duration: 1s }, { phase: idle }] }`,
  'a host of 32 vCPUs on 16 cores, bhyve-tpr-v3': `
host: { cpu: i7-6700K, cores: 16 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: windows-server-2019, vcpus: 16, phases: [{ phase: build, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 16, phases: [{ phase: build, duration: 1s }, { phase: idle }] }`,
};

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: isQuiet from the interned state's flag answers as the vCPU's words at every call of the engine`, () => {
    const h = firstHost(`name: quiet\nseed: 13\n${yaml.trim()}\nduration: 2s\n`, 'quiet.yaml');
    const m = h.machine;
    const flagged = m.isQuiet.bind(m);
    const answers = { quiet: 0, busy: 0, hinted: 0 };
    m.isQuiet = (v: number): boolean => {
      const hinted = m.internedState(v) >= 0;
      const q = flagged(v);
      assert.equal(q, quietWords(m.s, v * F.STRIDE), `vCPU ${v} at ${h.now} ns (hint: ${hinted})`);
      if (hinted) {
        answers.hinted++;
        if (q) answers.quiet++;
        else answers.busy++;
      }
      return q;
    };
    h.advanceTo(2e9);
    // Both answers from the flag, or the case does not test it.
    assert.ok(answers.quiet > 1000 && answers.busy >= 10, `answered from the flag: ${JSON.stringify(answers)}`);
  });
}
