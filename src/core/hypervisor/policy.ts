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

/**
 * The hypervisor a policy configures: KVM, or bhyve for the four bhyve-* policies (FreeBSD 12.1's
 * vmm.ko and the TPR review's rounds v1-v3). The one home of the mapping.
 */
export function hypervisorOf(policy: PolicyName): 'bhyve' | 'kvm' {
  return policy === 'kvm' ? 'kvm' : 'bhyve';
}

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

/**
 * The CPU vendor whose virtualization code reads a tunable: KVM loads kvm_intel on VMX hosts and
 * kvm_amd on SVM hosts (arch/x86/kvm/vmx, arch/x86/kvm/svm), and bhyve's hw.vmm.vmx sysctls live in
 * its Intel backend (sys/amd64/vmm/intel/vmx.c; hw.vmm.svm is the AMD one). On the other vendor's
 * host the tunable changes nothing, so setting it there is refused like a tunable of another policy.
 */
export function tunableVendor(name: string): 'intel' | 'amd' | null {
  // kvm.* are parameters of the common kvm module (virt/kvm/kvm_main.c): read on either vendor.
  if (name.startsWith('kvm.')) return null;
  return name.startsWith('kvm_amd.') || name.startsWith('hw.vmm.svm.') ? 'amd' : 'intel';
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
  // PAUSE-loop exiting (vmx/pauseLoop.ts): module parameters of kvm_intel, defaults from
  // arch/x86/kvm/x86.h (KVM_DEFAULT_PLE_GAP 128, KVM_VMX_DEFAULT_PLE_WINDOW 4096,
  // KVM_DEFAULT_PLE_WINDOW_GROW 2, KVM_DEFAULT_PLE_WINDOW_SHRINK 0, KVM_VMX_DEFAULT_PLE_WINDOW_MAX
  // UINT_MAX). Linux 2.6.33-3.17 had a fixed window (no grow/shrink: ple_window_grow 1 here) and, into
  // the 4.x series, ple_gap 41 (vmx.c KVM_VMX_DEFAULT_PLE_GAP).
  {
    name: 'kvm_intel.ple_gap',
    description: 'KVM: PLE_Gap in TSC ticks; 0 leaves PAUSE-loop exiting off (module parameter, default 128)',
    default: 128,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffffffff,
  },
  {
    name: 'kvm_intel.ple_window',
    description: 'KVM: base PLE_Window in TSC ticks (module parameter, default 4096)',
    default: 4096,
    readOnly: false,
    policies: ['kvm'],
    min: 1,
    max: 0xffffffff,
  },
  {
    name: 'kvm_intel.ple_window_grow',
    description:
      'KVM: per-vCPU window growth at each PLE exit: 0 reset, < ple_window multiply, else add (default 2; 1 keeps it fixed, as before Linux 3.18)',
    default: 2,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffffffff,
  },
  {
    name: 'kvm_intel.ple_window_shrink',
    description:
      'KVM: window shrink when the vCPU thread is scheduled in: 0 reset to ple_window, < ple_window divide, else subtract (default 0)',
    default: 0,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffffffff,
  },
  {
    name: 'kvm_intel.ple_window_max',
    description: 'KVM: upper bound of the per-vCPU window in TSC ticks (default UINT_MAX)',
    default: 0xffffffff,
    readOnly: false,
    policies: ['kvm'],
    min: 1,
    max: 0xffffffff,
  },
  // AMD's pause filter (svm/pauseFilter.ts): module parameters of kvm_amd (arch/x86/kvm/svm/svm.c,
  // unsigned short), defaults from arch/x86/kvm/x86.h: pause_filter_thresh KVM_DEFAULT_PLE_GAP 128,
  // pause_filter_count KVM_SVM_DEFAULT_PLE_WINDOW 3000, _grow KVM_DEFAULT_PLE_WINDOW_GROW 2, _shrink
  // KVM_DEFAULT_PLE_WINDOW_SHRINK 0, _max KVM_SVM_DEFAULT_PLE_WINDOW_MAX USHRT_MAX. Since Linux 5.8
  // (svm_vm_init: "if (!pause_filter_count || !pause_filter_thresh) kvm->arch.pause_in_guest = true")
  // either one 0 clears the PAUSE intercept.
  {
    name: 'kvm_amd.pause_filter_thresh',
    description:
      'KVM: VMCB PauseFilterThreshold in cycles; 0 (or a CPU without the threshold) leaves the PAUSE intercept off (module parameter, default 128)',
    default: 128,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffff,
  },
  {
    name: 'kvm_amd.pause_filter_count',
    description:
      'KVM: base VMCB PauseFilterCount in PAUSEs; 0 leaves the PAUSE intercept off (module parameter, default 3000)',
    default: 3000,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffff,
  },
  {
    name: 'kvm_amd.pause_filter_count_grow',
    description:
      'KVM: per-vCPU count growth at each PAUSE intercept: 0 reset, < pause_filter_count multiply, else add (default 2; 1 keeps it fixed)',
    default: 2,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffff,
  },
  {
    name: 'kvm_amd.pause_filter_count_shrink',
    description:
      'KVM: count shrink when the vCPU thread is scheduled in: 0 reset to pause_filter_count, < it divide, else subtract (default 0)',
    default: 0,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffff,
  },
  {
    name: 'kvm_amd.pause_filter_count_max',
    description: 'KVM: upper bound of the per-vCPU count (default USHRT_MAX, the 16-bit VMCB field)',
    default: 0xffff,
    readOnly: false,
    policies: ['kvm'],
    min: 1,
    max: 0xffff,
  },
  // KVM's halt polling (hypervisor/haltPoll.ts): the kvm module's halt_poll_ns (virt/kvm/kvm_main.c
  // `unsigned int halt_poll_ns = KVM_HALT_POLL_NS_DEFAULT`), on x86 200000 ns
  // (arch/x86/include/asm/kvm_host.h KVM_HALT_POLL_NS_DEFAULT); 0 turns polling off.
  {
    name: 'kvm.halt_poll_ns',
    description:
      "KVM: the ceiling of every vCPU's halt-poll window in ns; 0 turns halt polling off (module parameter of kvm, default 200000 on x86)",
    default: 200_000,
    readOnly: false,
    policies: ['kvm'],
    min: 0,
    max: 0xffffffff,
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
   * KVM drops AVIC for a whole VM whose CPUID offers x2APIC when the CPU has no x2AVIC
   * (APICV_INHIBIT_REASON_X2APIC: arch/x86/kvm/svm/avic.c avic_vcpu_after_set_cpuid under
   * AVIC_MODE_X1; Linux 5.6-5.19 svm.c svm_vcpu_after_set_cpuid) - even if the guest stays in xAPIC
   * mode, which is why AVIC users hide x2APIC (`-cpu ...,-x2apic`).
   */
  readonly avicInhibitedByX2apicOffer: boolean;
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
  /**
   * PAUSE-loop exiting as the hypervisor sets it up (vmx/pauseLoop.ts), or null when it is off: KVM
   * on an Intel CPU that allows the control (secondary bit 10) with kvm_intel.ple_gap > 0
   * (vmx.c: hardware_setup clears ple_gap without cpu_has_vmx_ple; vmx_vcpu_setup writes PLE_GAP and
   * the per-vCPU window). bhyve keeps the control 0 (sys/amd64/vmm/intel/vmx.c
   * PROCBASED_CTLS2_ZERO_SETTING has PROCBASED2_PAUSE_LOOP_EXITING; its VM_CAP_PAUSE_EXIT, bhyve -P,
   * is the unconditional "PAUSE exiting" and off by default).
   * On AMD, the pause filter (svm/pauseFilter.ts) in the same shape: `gap` is the VMCB's
   * PauseFilterThreshold, `window` its PauseFilterCount (in PAUSEs). KVM sets the PAUSE intercept
   * with both (svm.c init_vmcb) unless pause_in_guest: svm_hardware_setup zeroes
   * pause_filter_count and _thresh without X86_FEATURE_PAUSEFILTER and _thresh without
   * X86_FEATURE_PFTHRESHOLD, and svm_vm_init (Linux 5.8+) makes either 0 pause_in_guest. bhyve's
   * svm.c sets VMCB_INTCPT_PAUSE only for VM_CAP_PAUSE_EXIT (svm_setcap; bhyve -P, off by default)
   * and never writes the filter count, so it intercepts every PAUSE then and none by default.
   */
  readonly ple: PleSetup | null;
  /**
   * KVM's halt_poll_ns, the ceiling of each vCPU's halt-poll window (hypervisor/haltPoll.ts); 0: the
   * vCPU thread never polls - bhyve's vm_handle_hlt sleeps at once (sys/amd64/vmm/vmm.c; illumos'
   * bhyve alike).
   */
  readonly haltPollNs: number;
  /** Values of every tunable, defaults filled in, read-only ones computed. */
  readonly tunables: Tunables;
}

/**
 * KVM's PLE parameters (kvm_intel module parameters, TSC ticks; vmx.c grow_ple_window /
 * shrink_ple_window), or on AMD its pause filter's (kvm_amd: gap = pause_filter_thresh in cycles,
 * window = the count in PAUSEs; svm.c grow_ple_window / shrink_ple_window, the same x86.h helpers).
 */
export interface PleSetup {
  readonly gap: number;
  readonly window: number;
  readonly grow: number;
  readonly shrink: number;
  readonly max: number;
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
  const hypervisor = hypervisorOf(name);
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
      avicInhibitedByX2apicOffer: avic && profile.svm?.x2avic !== true,
      mmio: 'npf',
      guestTimer: 'host-timer',
      svmIntrWindow: hypervisor === 'bhyve' && hostOs === 'illumos' ? 'until-exit' : 'per-entry',
      ple:
        hypervisor === 'kvm' &&
        profile.svm?.pauseFilter === true &&
        profile.svm.pauseFilterThreshold &&
        t('kvm_amd.pause_filter_count') > 0 &&
        t('kvm_amd.pause_filter_thresh') > 0
          ? {
              gap: t('kvm_amd.pause_filter_thresh'),
              window: t('kvm_amd.pause_filter_count'),
              grow: t('kvm_amd.pause_filter_count_grow'),
              shrink: t('kvm_amd.pause_filter_count_shrink'),
              max: t('kvm_amd.pause_filter_count_max'),
            }
          : null,
      haltPollNs: hypervisor === 'kvm' ? t('kvm.halt_poll_ns') : 0,
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
      avicInhibitedByX2apicOffer: false,
      mmio: 'ept-misconfig',
      guestTimer:
        can(pin1, PinBased.ActivateVmxPreemptionTimer) && t('kvm_intel.preemption_timer') === 1
          ? 'preemption-timer'
          : 'host-timer',
      svmIntrWindow: 'per-entry',
      ple:
        can(proc2, ProcBased2.PauseLoopExiting) && t('kvm_intel.ple_gap') > 0
          ? {
              gap: t('kvm_intel.ple_gap'),
              window: t('kvm_intel.ple_window'),
              grow: t('kvm_intel.ple_window_grow'),
              shrink: t('kvm_intel.ple_window_shrink'),
              max: t('kvm_intel.ple_window_max'),
            }
          : null,
      haltPollNs: hypervisor === 'kvm' ? t('kvm.halt_poll_ns') : 0,
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
    avicInhibitedByX2apicOffer: false,
    mmio: 'ept-violation',
    guestTimer: 'host-timer',
    svmIntrWindow: 'per-entry',
    ple: null,
    haltPollNs: 0,
    tunables: values,
  };
}

/** The exit slot of an access to guest-physical memory the hypervisor emulates (PolicyTraits.mmio). */
export function mmioExitSlot(t: PolicyTraits): Slot {
  return t.mmio === 'ept-misconfig' ? Slot.EPT_MISCONFIG : t.mmio === 'npf' ? Slot.VMEXIT_NPF : Slot.EPT_VIOLATION;
}
