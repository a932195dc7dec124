import { hypervisorOf, type PolicyName } from './policy.js';

/**
 * Whether a hypervisor offers its guests x2APIC (CPUID.01H:ECX[21]) when the scenario does not say
 * (scenario key guests[].x2apic). The guest model then decides whether it switches to x2APIC mode
 * (GuestModel.usesX2apicWhenOffered: Linux and FreeBSD do, Windows stays in xAPIC mode).
 *
 * - KVM as people run it, under QEMU: QEMU turns x2APIC on in every CPU model when KVM accelerates it
 *   (target/i386/cpu.c kvm_default_props, `{ "x2apic", "on" }`; since QEMU 6.0 in
 *   target/i386/kvm/kvm-cpu.c), because KVM emulates the x2APIC in the kernel whatever the host CPU.
 *   A Linux guest in a VM then enables x2APIC even without interrupt remapping (arch/x86/kernel/apic/
 *   apic.c try_to_enable_x2apic: APIC IDs up to 255 when the hypervisor says x2APIC is available).
 * - bhyve offers it only when asked: `bhyve -x` or the config variable x86.x2apic, default false
 *   (usr.sbin/bhyve/amd64/bhyverun_machdep.c: get_config_bool_default("x86.x2apic", false) ->
 *   vm_set_x2apic_state(X2APIC_ENABLED or X2APIC_DISABLED); sys/amd64/vmm/x86.c clears
 *   CPUID2_X2APIC while the state is X2APIC_DISABLED).
 */
export function x2apicOfferedByDefault(policy: PolicyName): boolean {
  return hypervisorOf(policy) === 'kvm';
}
