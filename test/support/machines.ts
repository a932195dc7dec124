import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { resolvePolicy, type PolicyName, type Tunables } from '../../src/core/hypervisor/policy.js';
import { Machine, type HypervSetup, type VmcsOverrides } from '../../src/core/vcpu/machine.js';

/** A machine for rule tests: one guest, `vcpus` vCPUs (APIC ids 0..n-1), policy resolved on the profile. */
export interface MachineSetup {
  readonly profile: CpuProfile;
  readonly policy: PolicyName;
  readonly x2apic?: boolean;
  /** The guest's CPUID offers x2APIC (default: as `x2apic`). */
  readonly x2apicOffered?: boolean;
  readonly tunables?: Tunables;
  readonly vcpus?: number;
  /** VMCS control overrides applied after the policy (kvm-unit-tests style). */
  readonly overrides?: VmcsOverrides;
  /** The guest's Hyper-V enlightenments (KVM). */
  readonly hyperv?: HypervSetup;
  /** The machine's debug checks (a state written outside its operations throws). */
  readonly debugChecks?: boolean;
}

export function buildMachine(su: MachineSetup): Machine {
  const n = su.vcpus ?? 1;
  return new Machine({
    profile: su.profile,
    traits: resolvePolicy(su.policy, su.profile, su.tunables ?? {}),
    vcpus: Array.from({ length: n }, (_, i) => ({
      guest: 0,
      x2apic: su.x2apic ?? false,
      ...(su.x2apicOffered !== undefined ? { x2apicOffered: su.x2apicOffered } : {}),
      apicId: i,
      ...(su.hyperv ? { hyperv: su.hyperv } : {}),
    })),
    ...(su.overrides ? { overrides: su.overrides } : {}),
    ...(su.debugChecks ? { debugChecks: true } : {}),
  });
}
