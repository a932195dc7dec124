import type { CpuProfile } from '../cpu/profile.js';
import { exitKindByName, type ExitKind } from '../vcpu/exits.js';
import { PinBased } from '../vmx/controls.js';
import type { PolicyTraits } from './policy.js';

/**
 * Where an exit measured on one host lands on another: an imported workload profile carries the
 * exits the model has no cause for ("opaque", docs/IMPORT.md) at their measured rate. On a target
 * configuration such an exit is either the same exit, its counterpart (the other vendor's exit for
 * the same event, or the exit another hypervisor takes for the same work), or impossible there —
 * because the configuration lacks the feature that causes it. Impossible ones are dropped, with
 * the reason, instead of being counted as if the target could take them.
 */
export type OpaqueExitTarget =
  { readonly kind: ExitKind; readonly note?: string } | { readonly kind?: undefined; readonly dropped: string };

/**
 * The same event on the other vendor (Intel SDM vol. 3D appendix C "VMX Basic Exit Reasons", AMD
 * APM vol. 2 appendix C "SVM Intercept Exit Codes"). KVM emulates device MMIO through EPT
 * misconfigurations on Intel and through nested page faults on AMD.
 */
const CROSS_VENDOR: readonly (readonly [string, string])[] = [
  ['EPT_MISCONFIG', 'VMEXIT_NPF'],
  ['PAUSE', 'VMEXIT_PAUSE'],
  ['XSETBV', 'VMEXIT_XSETBV'],
  ['VMCALL', 'VMEXIT_VMMCALL'],
  ['RDTSC', 'VMEXIT_RDTSC'],
  ['RDPMC', 'VMEXIT_RDPMC'],
  ['WBINVD', 'VMEXIT_WBINVD'],
];

/** The feature an exit needs on the target, or undefined when any configuration of its vendor can take it. */
function missingFeature(name: string, traits: PolicyTraits, cpu: CpuProfile): string | undefined {
  switch (name) {
    case 'TPR_BELOW_THRESHOLD':
      // SDM vol. 3 "TPR Virtualization": the threshold is consulted only with "use TPR shadow" = 1
      // and "virtual-interrupt delivery" = 0; with VID a TPR write evaluates pending virtual interrupts.
      if (traits.vid) return 'virtual-interrupt delivery replaces the TPR threshold (SDM "TPR Virtualization")';
      if (!traits.tprShadowing || traits.tprThreshold === 'none')
        return `${traits.name} sets no TPR threshold here (no TPR shadow, or a policy that never programs one)`;
      return undefined;
    case 'APIC_WRITE':
      // SDM "APIC-Write Emulation": trap-like APIC-write exits follow writes the CPU virtualized,
      // which needs APIC-register virtualization (the policies enable it with virtual-interrupt delivery).
      if (!traits.vid) return 'APIC-write exits need APIC-register virtualization (SDM "APIC-Write Emulation")';
      return undefined;
    case 'VIRTUALIZED_EOI':
      // SDM "EOI Virtualization": EOI-induced exits exist only with virtual-interrupt delivery.
      if (!traits.vid) return 'EOI-induced exits need virtual-interrupt delivery (SDM "EOI Virtualization")';
      return undefined;
    case 'VMX_PREEMPTION_TIMER':
      // KVM arms the VMX-preemption timer (kvm_intel.preemption_timer); bhyve never activates it.
      if (traits.hypervisor !== 'kvm') return 'bhyve does not use the VMX-preemption timer';
      if (((cpu.vmx?.pinBased.allowed1 ?? 0) & PinBased.ActivateVmxPreemptionTimer) === 0)
        return 'the CPU has no VMX-preemption timer (IA32_VMX_PINBASED_CTLS bit 6)';
      return undefined;
    case 'PAUSE':
    case 'VMEXIT_PAUSE':
      // PAUSE-loop exiting (reason 40) needs the secondary control, which only KVM sets, on a CPU
      // that allows it and with kvm_intel.ple_gap > 0; AMD's #VMEXIT_PAUSE the PAUSE intercept with
      // the pause filter, which KVM sets on a CPU with pausefilter and pfthreshold and both kvm_amd
      // parameters > 0 (policy.ts PolicyTraits.ple). bhyve sets neither (vmx.c
      // PROCBASED_CTLS2_ZERO_SETTING; svm.c svm_setcap intercepts PAUSE only for VM_CAP_PAUSE_EXIT, bhyve -P).
      if (traits.ple !== null) return undefined;
      if (traits.hypervisor === 'bhyve')
        return traits.vendor === 'intel'
          ? 'bhyve never sets PAUSE-loop exiting (vmx.c PROCBASED_CTLS2_ZERO_SETTING)'
          : 'bhyve intercepts PAUSE only with VM_CAP_PAUSE_EXIT (svm.c svm_setcap; bhyve -P, off by default)';
      return traits.vendor === 'intel'
        ? 'PAUSE-loop exiting is off here (the CPU lacks it, or kvm_intel.ple_gap = 0)'
        : 'the pause filter is off here (the CPU lacks pausefilter / pfthreshold, or kvm_amd.pause_filter_count or _thresh = 0)';
    case 'VMEXIT_AVIC_NOACCEL':
    case 'VMEXIT_AVIC_INCOMPLETE_IPI':
      if (!traits.avic) return 'AVIC is not in use (AMD APM vol. 2 "Advanced Virtual Interrupt Controller")';
      return undefined;
    default:
      return undefined;
  }
}

/** Where the opaque exit `name`, measured elsewhere, lands under `traits` on `cpu`. */
export function opaqueExitOn(name: string, traits: PolicyTraits, cpu: CpuProfile): OpaqueExitTarget {
  let kind = exitKindByName(name);
  if (kind === undefined) return { dropped: 'not an exit the model knows' };
  let note: string | undefined;
  if (kind.vendor !== traits.vendor) {
    const pair = CROSS_VENDOR.find(([i, a]) => i === name || a === name);
    const other = pair === undefined ? undefined : traits.vendor === 'intel' ? pair[0] : pair[1];
    const mapped = other === undefined ? undefined : exitKindByName(other);
    if (mapped === undefined) return { dropped: `no ${traits.vendor === 'intel' ? 'VT-x' : 'SVM'} counterpart` };
    note = `${name} -> ${mapped.name} (the same event on ${traits.vendor === 'intel' ? 'Intel' : 'AMD'})`;
    kind = mapped;
  }
  // bhyve leaves device MMIO unmapped in the EPT and emulates it on the EPT violation
  // (vmx_exit_process, EXIT_REASON_EPT_FAULT -> vm_handle_inst_emul); it builds no misconfigured entries.
  if (kind.name === 'EPT_MISCONFIG' && traits.hypervisor === 'bhyve') {
    const violation = exitKindByName('EPT_VIOLATION');
    if (violation !== undefined) {
      note = 'EPT_MISCONFIG -> EPT_VIOLATION (bhyve emulates device MMIO on EPT violations)';
      kind = violation;
    }
  }
  const missing = missingFeature(kind.name, traits, cpu);
  if (missing !== undefined) return { dropped: missing };
  return note === undefined ? { kind } : { kind, note };
}
