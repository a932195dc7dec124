import type { CpuProfile } from '../core/cpu/profile.js';
import type { PolicyName } from '../core/hypervisor/policy.js';
import { x2apicOfferedByDefault } from '../core/hypervisor/x2apicOffer.js';

/**
 * The LAPIC mode a measured guest ran in when `import` is not told (--x2apic / --xapic): x2APIC
 * when its hypervisor offers it by default (src/core/hypervisor/x2apicOffer.ts: QEMU/KVM yes, bhyve
 * no) and the guest model switches to it when offered (Linux, FreeBSD; not Windows). A report with
 * AVIC exits from a CPU without x2AVIC says the opposite: KVM keeps AVIC only for a VM not offered
 * x2APIC (PolicyTraits.avicInhibitedByX2apicOffer), so that guest's CPUID hid it.
 */
export function measuredX2apicMode(
  policy: PolicyName,
  usesX2apicWhenOffered: boolean,
  cpu: CpuProfile,
  exitNames: Iterable<string>,
): boolean {
  if (!x2apicOfferedByDefault(policy) || !usesX2apicWhenOffered) return false;
  if (cpu.svm?.x2avic === true) return true;
  for (const n of exitNames) if (n === 'VMEXIT_AVIC_INCOMPLETE_IPI' || n === 'VMEXIT_AVIC_NOACCEL') return false;
  return true;
}
