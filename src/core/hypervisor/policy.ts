import type { CpuProfile } from '../cpu/profile.js';
import { Slot } from '../vcpu/exits.js';
import { PinBased, ProcBased, ProcBased2 } from '../vmx/controls.js';

/**
 * Hypervisor policies: how a hypervisor sets up TPR virtualization and what it does on exits.
 *
 * bhyve revisions follow the FreeBSD review "Untangle TPR shadowing and APIC virtualization"
 * (the seed) and sys/amd64/vmm/intel/vmx.c + sys/amd64/vmm/io/vlapic.c; kvm follows
 * arch/x86/kvm/x86.c update_cr8_intercept(), vmx_update_cr8_intercept() and
 * svm_update_cr8_intercept(). docs/MODEL.md lists each behaviour with its source.
 */
export const POLICY_NAMES = ['bhyve-12.1', 'bhyve-tpr-v1', 'bhyve-tpr-v2', 'bhyve-tpr-v3', 'kvm'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface TunableSpec {
  readonly name: string;
  readonly description: string;
  readonly default: number;
  readonly readOnly: boolean;
  /** Policies that know this tunable; setting it under another policy is an input error. */
  readonly policies: readonly PolicyName[];
  readonly min: number;
  readonly max: number;
}

const BHYVE_ALL: PolicyName[] = ['bhyve-12.1', 'bhyve-tpr-v1', 'bhyve-tpr-v2', 'bhyve-tpr-v3'];
const BHYVE_PATCHED: PolicyName[] = ['bhyve-tpr-v1', 'bhyve-tpr-v2', 'bhyve-tpr-v3'];

/** Tunables by their real names (loader tunables of bhyve's vmm.ko, KVM module parameters). */
export const TUNABLES: readonly TunableSpec[] = [
  {
    name: 'hw.vmm.vmx.use_tpr_shadowing',
    description: 'Use TPR shadowing when the CPU supports it (added by the review); 0 disables it',
    default: 1,
    readOnly: false,
    policies: BHYVE_PATCHED,
    min: 0,
    max: 1,
  },
  {
    name: 'hw.vmm.vmx.cap.tpr_shadowing',
    description: 'Read-only: 1 when TPR shadowing is in use',
    default: 0,
    readOnly: true,
    policies: BHYVE_PATCHED,
    min: 0,
    max: 1,
  },
  {
    name: 'hw.vmm.vmx.use_apic_vid',
    description: 'Use virtual-interrupt delivery (APICv) when the CPU supports it',
    default: 1,
    readOnly: false,
    policies: BHYVE_ALL,
    min: 0,
    max: 1,
  },
  {
    name: 'hw.vmm.vmx.use_apic_pir',
    description: 'Use posted-interrupt processing when virtual-interrupt delivery is on',
    default: 1,
    readOnly: false,
    policies: BHYVE_ALL,
    min: 0,
    max: 1,
  },
  {
    name: 'kvm_intel.enable_apicv',
    description: 'KVM: use APIC virtualization (APIC-register virtualization, VID, posted interrupts)',
    default: 1,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 1,
  },
  {
    name: 'kvm_intel.flexpriority',
    description: 'KVM: use TPR shadow and APIC-access virtualization (FlexPriority)',
    default: 1,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 1,
  },
  {
    name: 'kvm_intel.preemption_timer',
    description:
      'KVM: emulate the guest LAPIC timer with the VMX-preemption timer when the CPU has it (module parameter, on by default)',
    default: 1,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 1,
  },
  {
    name: 'kvm_amd.avic',
    description: 'KVM: use AMD AVIC when the CPU has it (module parameter, off by default)',
    default: 0,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 1,
  },
];

export type Tunables = Readonly<Record<string, number>>;

export function tunableSpec(name: string): TunableSpec | undefined {
  return TUNABLES.find((t) => t.name === name);
}

export function tunableValue(tunables: Tunables, name: string): number {
  const v = tunables[name];
  if (v !== undefined) return v;
  const spec = tunableSpec(name);
  if (!spec) throw new Error(`unknown tunable ${name}`);
  return spec.default;
}

/**
 * What a policy does, resolved once per host from the policy, its tunables and the CPU's
 * capabilities. The machine branches on these flags; nothing here changes during a run.
 */
export interface PolicyTraits {
  readonly name: PolicyName;
  readonly hypervisor: 'bhyve' | 'kvm';
  readonly vendor: 'intel' | 'amd';
  /** Virtual-interrupt delivery (APICv) in use. */
  readonly vid: boolean;
  /** Posted-interrupt processing in use (requires vid). */
  readonly postedInterrupts: boolean;
  /** "use TPR shadow" outside APICv: the review's decoupled TPR shadowing (bhyve) / FlexPriority (kvm). */
  readonly tprShadowing: boolean;
  /** v3: no software TPR shadowing while the guest's LAPIC is in x2APIC mode. */
  readonly noTprShadowInX2apic: boolean;
  /** How the TPR threshold is managed on the software path. */
  readonly tprThreshold: 'none' | 'bhyve' | 'kvm';
  /**
   * When the hypervisor recomputes the vlapic PPR (bhyve's vlapic_update_ppr, which also runs the
   * isrvec_stk consistency checks): `every-exit` (review v1/v2: after each VM exit while TPR
   * shadowing), `interrupt-processing` (v3's vlapic_sync_tpr, only when interrupts are processed),
   * `none` (12.1: only on the vlapic's own TPR/ISR changes).
   */
  readonly pprSync: 'none' | 'every-exit' | 'interrupt-processing';
  /** v2's flaw: the software PPR sync also runs while virtual-interrupt delivery is on. */
  readonly pprSyncWithVid: boolean;
  /** bhyve keeps an in-service stack (isrvec_stk) and checks it in vlapic_update_ppr. */
  readonly isrvecStack: boolean;
  /** SVM: KVM toggles the CR8 write intercept (svm_update_cr8_intercept). */
  readonly svmCr8WriteInterceptToggle: boolean;
  /** SVM AVIC in use. */
  readonly avic: boolean;
  /**
   * How the hypervisor maps guest-physical ranges with no memory behind them (device MMIO, and the
   * xAPIC page without APIC-access virtualization), i.e. which exit an access takes (D9): bhyve
   * leaves them unmapped (EPT violation; vm_handle_inst_emul); KVM installs MMIO SPTEs whose
   * misconfiguration is deliberate, so after the first access every access is an EPT
   * misconfiguration (arch/x86/kvm/mmu: mark_mmio_spte; vmx.c handle_ept_misconfig). SVM: both take
   * a nested page fault.
   */
  readonly mmio: 'ept-violation' | 'ept-misconfig' | 'npf';
  /**
   * How a guest's LAPIC/TSC-deadline timer expiry reaches a running vCPU (Machine.guestTimerExpires):
   * KVM with the VMX-preemption timer (kvm_intel.preemption_timer, default on, when the CPU has it:
   * vmx.c handle_preemption_timer, kvm_lapic_expired_hv_timer) exits with reason 52; otherwise a host
   * timer (KVM's hrtimer apic_timer_fn, bhyve's callout vlapic_callout_handler) fires on the host CPU
   * and the vCPU exits with the host's interrupt.
   */
  readonly guestTimer: 'preemption-timer' | 'host-timer';
  /**
   * SVM, when an injected interrupt's window is closed (svm/intercepts.ts): `per-entry` - the
   * hypervisor decides at every VMRUN and clears V_IRQ / VINTR when nothing is pending (FreeBSD bhyve
   * svm_inj_interrupts, KVM); `until-exit` - illumos bhyve arms the window after every injection
   * (svm_inject_recheck: svm_enable_intr_window_exiting "if any event is being injected") and only the
   * VINTR exit (or svm_pause) clears it (illumos-gate usr/src/uts/intel/io/vmm/amd/svm.c), so each
   * injected interrupt ends in one VMEXIT_VINTR when the guest is interruptible again.
   */
  readonly svmIntrWindow: 'per-entry' | 'until-exit';
  /** Values of every tunable, defaults filled in, read-only ones computed. */
  readonly tunables: Tunables;
}

/** The CPU allows bit `bit` of a control word to be 1. */
function can(allowed1: number | undefined, bit: number): boolean {
  return allowed1 !== undefined && (allowed1 & bit) !== 0;
}

export function resolvePolicy(
  name: PolicyName,
  profile: CpuProfile,
  tunables: Tunables,
  /** The host OS (scenario host.os): illumos bhyve's SVM window rule differs from FreeBSD's. */
  hostOs?: string,
): PolicyTraits {
  const hypervisor = name === 'kvm' ? 'kvm' : 'bhyve';
  const vendor = profile.vendor;
  const t = (n: string): number => tunableValue(tunables, n);
  const values: Record<string, number> = {};
  for (const spec of TUNABLES) if (spec.policies.includes(name)) values[spec.name] = t(spec.name);

  if (vendor === 'amd') {
    const avic = hypervisor === 'kvm' && t('kvm_amd.avic') === 1 && profile.svm?.avic === true;
    return {
      name,
      hypervisor,
      vendor,
      vid: false,
      postedInterrupts: false,
      tprShadowing: false,
      noTprShadowInX2apic: false,
      tprThreshold: 'none',
      pprSync: 'none',
      pprSyncWithVid: false,
      isrvecStack: hypervisor === 'bhyve',
      svmCr8WriteInterceptToggle: hypervisor === 'kvm',
      avic,
      mmio: 'npf',
      guestTimer: 'host-timer',
      svmIntrWindow: hypervisor === 'bhyve' && hostOs === 'illumos' ? 'until-exit' : 'per-entry',
      tunables: values,
    };
  }

  const vmx = profile.vmx;
  const proc1 = vmx?.procBased.allowed1;
  const proc2 = can(proc1, ProcBased.ActivateSecondaryControls) ? vmx?.procBased2.allowed1 : 0;
  const pin1 = vmx?.pinBased.allowed1;
  const capTprShadow = can(proc1, ProcBased.UseTprShadow);
  // bhyve vmx_init(): APICv needs all three secondary controls plus the TPR shadow.
  const capApicv =
    capTprShadow &&
    can(proc2, ProcBased2.VirtualizeApicAccesses) &&
    can(proc2, ProcBased2.ApicRegisterVirtualization) &&
    can(proc2, ProcBased2.VirtualInterruptDelivery);
  const capPosted = can(pin1, PinBased.ProcessPostedInterrupts);

  if (hypervisor === 'kvm') {
    const vid = capApicv && t('kvm_intel.enable_apicv') === 1;
    return {
      name,
      hypervisor,
      vendor,
      vid,
      postedInterrupts: vid && capPosted,
      tprShadowing: capTprShadow && t('kvm_intel.flexpriority') === 1,
      noTprShadowInX2apic: false,
      tprThreshold: 'kvm',
      pprSync: 'none',
      pprSyncWithVid: false,
      isrvecStack: false,
      svmCr8WriteInterceptToggle: false,
      avic: false,
      mmio: 'ept-misconfig',
      guestTimer:
        can(pin1, PinBased.ActivateVmxPreemptionTimer) && t('kvm_intel.preemption_timer') === 1
          ? 'preemption-timer'
          : 'host-timer',
      svmIntrWindow: 'per-entry',
      tunables: values,
    };
  }

  const patched = name !== 'bhyve-12.1';
  const tprShadowing = patched && capTprShadow && t('hw.vmm.vmx.use_tpr_shadowing') === 1;
  // vmx_modinit (after the review): VID also needs virtualize-x2APIC-mode and the TPR shadow in use
  // (tpr_shadowing); before it (12.1) only the TPR-shadow capability.
  const vid =
    capApicv &&
    t('hw.vmm.vmx.use_apic_vid') === 1 &&
    (patched ? tprShadowing && can(proc2, ProcBased2.VirtualizeX2apicMode) : true);
  const posted = vid && capPosted && t('hw.vmm.vmx.use_apic_pir') === 1;
  if (patched) values['hw.vmm.vmx.cap.tpr_shadowing'] = tprShadowing ? 1 : 0;
  return {
    name,
    hypervisor,
    vendor,
    vid,
    postedInterrupts: posted,
    tprShadowing,
    noTprShadowInX2apic: name === 'bhyve-tpr-v3',
    tprThreshold: name === 'bhyve-tpr-v2' || name === 'bhyve-tpr-v3' ? 'bhyve' : 'none',
    pprSync: name === 'bhyve-tpr-v3' ? 'interrupt-processing' : patched ? 'every-exit' : 'none',
    pprSyncWithVid: name === 'bhyve-tpr-v2',
    isrvecStack: true,
    svmCr8WriteInterceptToggle: false,
    avic: false,
    mmio: 'ept-violation',
    guestTimer: 'host-timer',
    svmIntrWindow: 'per-entry',
    tunables: values,
  };
}

/** The exit slot of an access to guest-physical memory the hypervisor emulates (PolicyTraits.mmio). */
export function mmioExitSlot(t: PolicyTraits): Slot {
  return t.mmio === 'ept-misconfig' ? Slot.EPT_MISCONFIG : t.mmio === 'npf' ? Slot.VMEXIT_NPF : Slot.EPT_VIOLATION;
}
