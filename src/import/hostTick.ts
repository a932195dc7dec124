/**
 * The measured host's clock tick for import and what-if (--host-tick-hz, carried in a profile's
 * `source: hostTickHz`): the fit reads a report's host-interrupt exits as the host's ticks that landed
 * while the vCPU ran (docs/IMPORT.md "Host interrupts fit the running share"), so a host kernel built
 * with CONFIG_HZ=1000 (RHEL, Fedora) against the model's default 250 Hz makes a 4x different share.
 * Checked as the scenario key host.tickHz is (src/scenario/variants.ts): the same bounds, the same
 * choices per host OS, the same message.
 */
import { hypervisorOf, type PolicyName } from '../core/hypervisor/policy.js';
import { DEFAULT_HOST_OS, hostTickProblem as hostTickMessage, type HostOs } from '../model/hostOs.js';

export { MAX_HOST_TICK_HZ, MIN_HOST_TICK_HZ } from '../model/hostOs.js';

/** The host OS a policy's host runs here: import and what-if take the hypervisor's default (model/hostOs.ts). */
export function hostOsOf(policy: PolicyName): HostOs {
  return DEFAULT_HOST_OS[hypervisorOf(policy)];
}

/**
 * Why `tickHz` is not a tick the host kernel under `policy` offers, or undefined: the scenario's
 * message for host.tickHz with `what` (e.g. "--host-tick-hz") in its place (model/hostOs.ts).
 */
export function hostTickProblem(what: string, tickHz: number, policy: PolicyName): string | undefined {
  return hostTickMessage(what, tickHz, hostOsOf(policy), policy);
}
