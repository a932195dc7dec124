import type { VmxCapabilities } from '../cpu/profile.js';
import { X2apicMsr } from '../apic/registers.js';
import { F, Flag, SvmIntercept } from '../vcpu/layout.js';
import { ExitControls, PinBased, ProcBased, ProcBased2 } from '../vmx/controls.js';
import { apicvInhibitedByHyperv, hypervWord, type HypervSetup } from './hyperv.js';
import type { PolicyTraits } from './policy.js';

/**
 * The VMCS (VT-x) or VMCB (SVM) a hypervisor sets up for a vCPU from its policy (policy.ts), the
 * CPU's capability MSRs and explicit overrides, and the MSR bitmap's x2APIC read pass-through.
 * Sources: bhyve sys/amd64/vmm/intel/vmx.c vmx_init / vmx_vminit, sys/amd64/vmm/amd/svm.c
 * svm_vminit; KVM arch/x86/kvm/vmx/vmx.c setup_vmcs_config, arch/x86/kvm/svm/svm.c init_vmcb.
 */

/** Explicit VMCS control overrides, applied after the policy (kvm-unit-tests style experiments). */
export interface VmcsOverrides {
  readonly pinSet?: number;
  readonly pinClear?: number;
  readonly procSet?: number;
  readonly procClear?: number;
  readonly proc2Set?: number;
  readonly proc2Clear?: number;
  readonly exitSet?: number;
  readonly exitClear?: number;
  readonly tprThreshold?: number;
}

export interface VcpuSetup {
  /** Guest index this vCPU belongs to (for reports). */
  readonly guest: number;
  /** The guest's LAPIC runs in x2APIC mode. */
  readonly x2apic: boolean;
  /** The guest's CPUID offers x2APIC (whether or not it switched to it); absent: as `x2apic`. */
  readonly x2apicOffered?: boolean;
  readonly apicId: number;
  /** The guest's Hyper-V enlightenments (KVM only; hypervisor/hyperv.ts). */
  readonly hyperv?: HypervSetup;
}

/**
 * Reset vCPU `v`'s state words and program its controls: VT-x from the capability MSRs `caps`, SVM
 * (V_INTR_MASKING and intercepts) when `caps` is undefined.
 */
export function setupVcpu(
  s: Int32Array,
  v: number,
  setup: VcpuSetup,
  t: PolicyTraits,
  caps: VmxCapabilities | undefined,
  overrides: VmcsOverrides | undefined,
): void {
  const b = v * F.STRIDE;
  s.fill(0, b, b + F.STRIDE);
  s[b + F.VCPU_ID] = v;
  s[b + F.GUEST_INDEX] = setup.guest;
  s[b + F.APIC_ID] = setup.apicId;
  s[b + F.SVR] = 0x1ff; // software-enabled, spurious vector 0xFF
  s[b + F.PENDING_INJECT] = -1;
  let flags = Flag.IF;
  if (setup.x2apic) flags |= Flag.X2APIC;
  const hv = hypervWord(t, setup.hyperv);
  s[b + F.HV] = hv;
  // SynIC AutoEOI inhibits APICv / AVIC for the VM (hyperv.ts apicvInhibitedByHyperv).
  const apicv = !apicvInhibitedByHyperv(hv);
  if (caps) {
    let pin = caps.pinBased.allowed0 | PinBased.ExternalInterruptExiting | PinBased.NmiExiting;
    if (caps.pinBased.allowed1 & PinBased.VirtualNmis) pin |= PinBased.VirtualNmis;
    // Both bhyve and KVM exit on HLT, use MSR and I/O bitmaps, and start with CR8 exiting on
    // (bhyve vmx.c PROCBASED_CTLS_ONE_SETTING; KVM vmx.c setup_vmcs_config).
    let proc =
      caps.procBased.allowed0 |
      ProcBased.HltExiting |
      ProcBased.UseMsrBitmaps |
      ProcBased.UseIoBitmaps |
      ProcBased.Cr8LoadExiting |
      ProcBased.Cr8StoreExiting;
    let proc2 = 0;
    if (caps.procBased.allowed1 & ProcBased.ActivateSecondaryControls) {
      proc |= ProcBased.ActivateSecondaryControls;
      proc2 =
        caps.procBased2.allowed0 |
        (caps.procBased2.allowed1 & (ProcBased2.EnableEpt | ProcBased2.EnableVpid | ProcBased2.UnrestrictedGuest));
      // KVM sets PAUSE-loop exiting whenever it is usable (policy.ts PolicyTraits.ple).
      if (t.ple !== null) proc2 |= ProcBased2.PauseLoopExiting;
    }
    let exitCtls = caps.exit.allowed0 | (caps.exit.allowed1 & ExitControls.AcknowledgeInterruptOnExit);
    if (t.vid && apicv) {
      // bhyve vmx_init(): APICv turns on the TPR shadow and all three APIC-virtualization controls
      // and drops CR8 exiting; in x2APIC mode vmx_enable_x2apic_mode_vid() swaps APIC-access
      // virtualization for x2APIC-mode virtualization (SDM-26 checks forbid both at once).
      proc |= ProcBased.UseTprShadow;
      proc &= ~(ProcBased.Cr8LoadExiting | ProcBased.Cr8StoreExiting);
      proc2 |= ProcBased2.ApicRegisterVirtualization | ProcBased2.VirtualInterruptDelivery;
      proc2 |= setup.x2apic ? ProcBased2.VirtualizeX2apicMode : ProcBased2.VirtualizeApicAccesses;
      flags |= Flag.VID;
      if (t.postedInterrupts) {
        pin |= PinBased.ProcessPostedInterrupts;
        exitCtls |= ExitControls.AcknowledgeInterruptOnExit;
        flags |= Flag.POSTED;
      }
    } else if (t.tprShadowing && !(t.noTprShadowInX2apic && setup.x2apic)) {
      proc |= ProcBased.UseTprShadow;
      proc &= ~(ProcBased.Cr8LoadExiting | ProcBased.Cr8StoreExiting);
      flags |= Flag.SOFT_TPR_SHADOW;
      if (t.hypervisor === 'kvm') {
        // KVM FlexPriority: APIC-access virtualization in xAPIC mode, x2APIC-mode virtualization in x2APIC mode.
        const want = setup.x2apic ? ProcBased2.VirtualizeX2apicMode : ProcBased2.VirtualizeApicAccesses;
        if (caps.procBased2.allowed1 & want) proc2 |= want;
      }
    }
    if (overrides) {
      pin = (pin | (overrides.pinSet ?? 0)) & ~(overrides.pinClear ?? 0);
      proc = ((proc | (overrides.procSet ?? 0)) & ~(overrides.procClear ?? 0)) >>> 0;
      proc2 = (proc2 | (overrides.proc2Set ?? 0)) & ~(overrides.proc2Clear ?? 0);
      exitCtls = (exitCtls | (overrides.exitSet ?? 0)) & ~(overrides.exitClear ?? 0);
      if (overrides.tprThreshold !== undefined) s[b + F.TPR_THRESHOLD] = overrides.tprThreshold;
      // Overrides may switch VID / posted interrupts / TPR shadow: derive the flags from the controls.
      flags &= ~(Flag.VID | Flag.POSTED | Flag.SOFT_TPR_SHADOW);
      const secondary = (proc & ProcBased.ActivateSecondaryControls) !== 0;
      if (secondary && proc2 & ProcBased2.VirtualInterruptDelivery) flags |= Flag.VID;
      if (pin & PinBased.ProcessPostedInterrupts) flags |= Flag.POSTED;
      if (proc & ProcBased.UseTprShadow && !(flags & Flag.VID)) flags |= Flag.SOFT_TPR_SHADOW;
    }
    s[b + F.PIN] = pin;
    s[b + F.PROC] = proc | 0;
    s[b + F.PROC2] = proc2;
    s[b + F.EXIT_CTLS] = exitCtls;
  } else {
    // SVM: both hypervisors set V_INTR_MASKING, so guest CR8 accesses use V_TPR (APM-15 "Virtual
    // Interrupts"); physical INTR, HLT and MSR accesses are intercepted.
    s[b + F.V_INTR_MASKING] = 1;
    s[b + F.SVM_INTERCEPTS] = SvmIntercept.INTR | SvmIntercept.HLT | SvmIntercept.MSR;
    // AVIC accelerates xAPIC MMIO only (x2AVIC, which would cover x2APIC mode, is not modelled), and
    // KVM inhibits it for a VM offered x2APIC on a CPU without x2AVIC (PolicyTraits).
    const inhibited = t.avicInhibitedByX2apicOffer && (setup.x2apicOffered ?? setup.x2apic);
    if (t.avic && apicv && !setup.x2apic && !inhibited) flags |= Flag.AVIC;
  }
  s[b + F.FLAGS] = flags;
  s[b + F.STK_TOP] = 0;
  s[b + F.STK] = 0;
}

/**
 * x2APIC MSRs whose RDMSR the hypervisor's MSR bitmap passes through with APICv: with
 * APIC-register virtualization such a read is served from the virtual-APIC page (SDM "Virtualizing
 * MSR-Based APIC Accesses"). KVM (vmx_update_msr_bitmap_x2apic) opens every readable register but
 * the timer current count; bhyve (vmx_allow_x2apic_msrs, guest_msr_ro) opens ID, version, LDR, SVR,
 * ISR/TMR/IRR, ESR, the LVTs, timer initial count / divide and ICR - not PPR, CMCI or the current count.
 */
export function x2apicReadPassedThrough(hypervisor: 'bhyve' | 'kvm', msr: number): boolean {
  if (msr === X2apicMsr.TimerCurrentCount) return false;
  if (hypervisor === 'kvm') return true;
  if (msr >= X2apicMsr.Isr0 && msr <= X2apicMsr.Irr7) return true; // ISR, TMR, IRR
  if (msr >= X2apicMsr.LvtTimer && msr <= X2apicMsr.LvtError) return true; // the LVTs but CMCI
  switch (msr) {
    case X2apicMsr.Id:
    case X2apicMsr.Version:
    case X2apicMsr.Ldr:
    case X2apicMsr.Svr:
    case X2apicMsr.Esr:
    case X2apicMsr.Icr:
    case X2apicMsr.TimerInitialCount:
    case X2apicMsr.TimerDivideConfig:
      return true;
    default:
      return false;
  }
}
