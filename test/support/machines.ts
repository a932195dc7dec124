import assert from 'node:assert/strict';
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

/**
 * Two machines left the same words and accounting: state, exit counts, counters, host ns and exits per
 * slot, host ns per vCPU, the step's host ns and exits (what the engine and the totals read). The
 * exactness tests compare a fast path with the rules through it (test/engine/applyWritten,
 * repeatWritten; test/core/transitions).
 */
export function assertSameAccounting(got: Machine, want: Machine, what: string): void {
  assert.deepEqual(Array.from(got.s), Array.from(want.s), `${what}: state`);
  assert.deepEqual(Array.from(got.exitCounts), Array.from(want.exitCounts), `${what}: exit counts`);
  assert.deepEqual(Array.from(got.counters), Array.from(want.counters), `${what}: counters`);
  assert.deepEqual(Array.from(got.exitHostNs), Array.from(want.exitHostNs), `${what}: host ns per slot`);
  assert.deepEqual(Array.from(got.exitTotals), Array.from(want.exitTotals), `${what}: exits per slot`);
  assert.deepEqual(Array.from(got.vcpuHostNs), Array.from(want.vcpuHostNs), `${what}: host ns per vCPU`);
  assert.equal(got.stepHostNs, want.stepHostNs, `${what}: the step's host ns`);
  assert.equal(got.stepExitCount, want.stepExitCount, `${what}: the step's exits`);
}

/**
 * The exactness tests' operation sequence: a seeded linear congruential draw in [0, n) (glibc's
 * constants), so a failing operation's number names it again on the next run.
 */
export function seededDraws(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
}
