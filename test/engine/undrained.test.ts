/**
 * E16 (docs/perf/engine30.md, the thirty-seventh session): the engine's hot callers of drainDeliveries
 * (processVcpu, hostTicks, raise, a HLT's sleeps, isrEnd) ask HostState.undrained first and skip the
 * call when the step sent no IPI and delivered nothing past what was drained. Held here: at every call
 * drainDeliveries gets, undrained answers as what the call then does (IPIs flushed or deliveries
 * drained, each an ISR started); a host that calls it unasked gives the same totals; and one whose undrained always said
 * no would not (a test that tested less than the callers do, or skipped a call with work, fails here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { ENGINE_HOSTS, firstHost, hostTotals } from '../support/hosts.js';

const CASES: Record<string, string> = {
  'an install, a build and a ping-pong on 2 cores for 6 vCPUs, bhyve-12.1': ENGINE_HOSTS.installBuildPingPong,
  'an idle mixed fleet under KVM with Hyper-V guests': ENGINE_HOSTS.kvmIdleFleet,
};

function host(yaml: string): HostSimulation {
  return firstHost(`name: undrained\nseed: 9\n${yaml.trim()}\nduration: 2s\n`, 'undrained.yaml');
}

for (const [name, yaml] of Object.entries(CASES)) {
  test(`${name}: undrained answers as drainDeliveries' work, and the calls it saves change no total`, () => {
    const h = host(yaml);
    const m = h.machine;
    const drain = h.drainDeliveries.bind(h);
    const calls = { work: 0, none: 0 };
    const seen = h as unknown as { deliveredSeen: number };
    h.drainDeliveries = (): void => {
      const asked = h.undrained();
      const ipis = m.ipiOutCount;
      const drained = seen.deliveredSeen;
      drain();
      // Work: the IPIs sent flushed to their targets, or deliveries drained (each an ISR started).
      const worked = ipis > 0 || seen.deliveredSeen > drained;
      assert.equal(
        asked,
        worked,
        `at ${h.now} ns: undrained ${asked}, IPIs ${ipis}, drained ${seen.deliveredSeen - drained}`,
      );
      if (worked) calls.work++;
      else calls.none++;
    };
    hostTotals(h, 2e9);
    assert.ok(calls.work > 100, `calls with work: ${JSON.stringify(calls)}`);

    const always = host(yaml);
    always.undrained = (): boolean => true;
    assert.equal(hostTotals(always, 2e9), hostTotals(host(yaml), 2e9));

    const never = host(yaml);
    never.undrained = (): boolean => false;
    assert.notEqual(hostTotals(never, 2e9), hostTotals(host(yaml), 2e9));
  });
}
