/** A scripted guest run on a machine of its own, its counts added into a TotalsAccumulator. */
import { resolvePolicy } from '../core/hypervisor/policy.js';
import { EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import { Counter, Machine } from '../core/vcpu/machine.js';
import { runScript } from '../core/script/runScript.js';
import type { ScenarioVariant, ScriptedGuestSpec } from '../scenario/types.js';
import type { TotalsAccumulator } from './totals.js';

/** Scripted guests run one by one on their own machine (each is a unit scenario, not load). */
export function runScriptedGuest(
  variant: ScenarioVariant,
  guest: ScriptedGuestSpec,
  acc: TotalsAccumulator,
): ReturnType<typeof runScript> {
  const profile = variant.host.cpu;
  const traits = resolvePolicy(variant.hypervisor.policy, profile, variant.hypervisor.tunables, variant.host.os);
  const vcpus = [];
  for (let i = 0; i < guest.vcpus; i++) vcpus.push({ guest: 0, x2apic: guest.x2apic, apicId: i });
  const machine = new Machine({ profile, traits, vcpus, debugChecks: true, overrides: variant.hypervisor.vmcs });
  const steps = runScript(machine, guest.script);
  machine.checkAllInvariants();
  const scriptedOs = acc.osExits('scripted');
  for (let v = 0; v < machine.n; v++) {
    for (let s = 0; s < EXIT_SLOT_COUNT; s++) {
      acc.exits[s] += machine.exitCount(v, s);
      scriptedOs[s] += machine.exitCount(v, s);
    }
    for (let c = Counter.RAISED; c < Counter.COUNT; c++)
      acc.machineCounters[c] += machine.counters[v * Counter.COUNT + c];
  }
  // A scripted guest runs no engine, so never halts into kvm_vcpu_block: a KVM variant's statistics, at 0.
  if (traits.hypervisor === 'kvm') acc.addHaltPoll(0, 0, 0, 0);
  acc.guests += 1;
  acc.vcpus += guest.vcpus;
  for (const viol of machine.violations) {
    acc.violations.push({
      check: viol.check,
      message: viol.message,
      guest: guest.name,
      host: 0,
      vcpu: viol.vcpu,
      simTimeNs: 0,
      step: viol.step,
      state: { ...viol.state },
      expected: false,
    });
  }
  for (const f of machine.entryFailures) acc.entryFailures.push({ ...f, guest: guest.name, host: 0 });
  return steps;
}
