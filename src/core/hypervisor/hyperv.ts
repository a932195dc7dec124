import type { PolicyTraits } from './policy.js';

/**
 * Hyper-V enlightenments as KVM implements them for a Windows guest (arch/x86/kvm/hyperv.c,
 * lapic.c; QEMU's hv-* CPU options; Microsoft Hypervisor Top-Level Functional Specification, "Virtual
 * Processor Assist Page", "Synthetic Interrupt Controller (SynIC)", "Synthetic Timers", "Partition
 * Reference Counter", "Partition Reference Time Enlightenment"). bhyve implements none of them.
 *
 * Every access to a synthetic MSR is an MSR exit handled in the kernel (KVM's MSR bitmap intercepts
 * the 0x40000000 range): hv-vapic's EOI / ICR / TPR MSRs act on the vlapic like the xAPIC registers
 * (kvm_hv_vapic_msr_write -> kvm_lapic_msr_write, the ICR with its destination in bits 63:32); the
 * others are state the model does not keep. An MSR of a feature the guest was not given raises #GP
 * after the exit, as KVM's kvm_hv_get_msr_common / kvm_hv_set_msr_common refuse them (and bhyve's
 * bhyve(8) emulate_rdmsr/emulate_wrmsr with strict MSR checking, its default).
 */

/** The per-guest feature set (QEMU: hv-vapic, hv-synic, hv-stimer, hv-time, hv-apicv). */
export const enum HvFeature {
  /** HV_X64_MSR_EOI/ICR/TPR and the VP assist page with the EOI assist. */
  VAPIC = 1 << 0,
  /** SynIC: SCONTROL, SIEFP, SIMP, EOM, SINT0-15. */
  SYNIC = 1 << 1,
  /** Synthetic timers STIMER0-3 (need SynIC: their expiry is a SynIC message). */
  STIMER = 1 << 2,
  /** HV_X64_MSR_TIME_REF_COUNT and the reference TSC page. */
  TIME = 1 << 3,
  /**
   * QEMU hv-apicv (alias hv-avic): CPUID 0x40000004 recommends against AutoEOI
   * (HV_DEPRECATING_AEOI_RECOMMENDED), so the guest does not use it and APICv is not inhibited.
   */
  APICV = 1 << 4,
}

/**
 * The synthetic MSRs the model distinguishes (TLFS appendix "Hyper-V Synthetic MSRs"; Linux
 * hyperv-tlfs.h). A plain object like apic/registers.ts X2apicMsr: these are compared with
 * arbitrary MSR numbers, off the hot paths (one range check on WRMSR/RDMSR). Each key but LAST (the
 * range's end) is the MSR's TLFS name after `HV_X64_MSR_` (hvMsrName).
 */
export const HvMsr = {
  GUEST_OS_ID: 0x40000000,
  HYPERCALL: 0x40000001,
  VP_INDEX: 0x40000002,
  TIME_REF_COUNT: 0x40000020,
  REFERENCE_TSC: 0x40000021,
  EOI: 0x40000070,
  ICR: 0x40000071,
  TPR: 0x40000072,
  VP_ASSIST_PAGE: 0x40000073,
  SCONTROL: 0x40000080,
  EOM: 0x40000084,
  SINT0: 0x40000090,
  STIMER0_CONFIG: 0x400000b0,
  STIMER0_COUNT: 0x400000b1,
  STIMER3_COUNT: 0x400000b7,
  LAST: 0x400000ff,
} as const;

/** The synthetic timer (0-3) whose CONFIG (even) or COUNT (odd) MSR `msr` is, or -1. */
export function hvStimerOf(msr: number): number {
  return msr >= HvMsr.STIMER0_CONFIG && msr <= HvMsr.STIMER3_COUNT ? (msr - HvMsr.STIMER0_CONFIG) >>> 1 : -1;
}

/**
 * The TLFS name of synthetic MSR `msr` (`HV_X64_MSR_` and its HvMsr key; SINTx and STIMERx by
 * number), '' for one the model does not name. For causes in words (src/run/exitCause.ts).
 */
export function hvMsrName(msr: number): string {
  if (msr >= HvMsr.SINT0 && msr < HvMsr.SINT0 + 16) return `HV_X64_MSR_SINT${msr - HvMsr.SINT0}`;
  const timer = hvStimerOf(msr);
  if (timer >= 0) return `HV_X64_MSR_STIMER${timer}_${(msr & 1) === 0 ? 'CONFIG' : 'COUNT'}`;
  if (msr === HvMsr.LAST) return '';
  for (const [key, at] of Object.entries(HvMsr)) if (at === msr) return `HV_X64_MSR_${key}`;
  return '';
}

/** What the hypervisor does with a synthetic-MSR access after its exit. */
export const enum HvAccess {
  /** The MSR is not exposed to this guest: #GP injected. */
  GP = 0,
  /** Handled with no effect the model keeps (state of SynIC, timers, clocks). */
  DONE = 1,
  /** hv-vapic EOI: an EOI to the vlapic. */
  EOI = 2,
  /** hv-vapic ICR: an IPI, destination in bits 63:32. */
  ICR = 3,
  /** hv-vapic TPR: the vlapic TPR. */
  TPR = 4,
}

/** The MSR lies in the Hyper-V synthetic range. */
export function isHypervMsr(msr: number): boolean {
  return msr >= HvMsr.GUEST_OS_ID && msr <= HvMsr.LAST;
}

/** The feature a synthetic MSR belongs to; 0 for the base MSRs every enlightened guest has (guest OS id, hypercall page, VP index). */
function featureOf(msr: number): number {
  if (msr >= HvMsr.EOI && msr <= HvMsr.VP_ASSIST_PAGE) return HvFeature.VAPIC;
  if (msr === HvMsr.TIME_REF_COUNT || msr === HvMsr.REFERENCE_TSC) return HvFeature.TIME;
  if (msr >= HvMsr.SCONTROL && msr <= HvMsr.SINT0 + 15) return HvFeature.SYNIC;
  if (msr >= HvMsr.STIMER0_CONFIG && msr <= HvMsr.STIMER3_COUNT) return HvFeature.STIMER;
  return 0;
}

/** What the hypervisor does, after the exit, with an access to synthetic MSR `msr` by a guest with `features` (HvFeature bits). */
export function hvMsrAccess(features: number, msr: number): HvAccess {
  const need = featureOf(msr);
  if (features === 0 || (need !== 0 && (features & need) === 0)) return HvAccess.GP;
  if (msr === HvMsr.EOI) return HvAccess.EOI;
  if (msr === HvMsr.ICR) return HvAccess.ICR;
  if (msr === HvMsr.TPR) return HvAccess.TPR;
  return HvAccess.DONE;
}

/** A guest's enlightenments as a scenario or a test gives them. */
export interface HypervSetup {
  /** HvFeature bits. */
  readonly features: number;
  /**
   * The SINT vector the guest programs with AutoEOI (SynIC; TLFS "SINTx Registers", bit 17), used
   * when the hypervisor does not recommend against AutoEOI (no HvFeature.APICV). 0: none.
   */
  readonly autoEoiVector?: number;
}

/**
 * The vCPU's Hyper-V word (F.HV): the features in bits 7:0, the AutoEOI vector in use in bits 15:8
 * (0: none). bhyve exposes no enlightenment (all 0); the AutoEOI vector counts only with SynIC and
 * without hv-apicv.
 */
export function hypervWord(t: PolicyTraits, setup: HypervSetup | undefined): number {
  if (setup === undefined || t.hypervisor !== 'kvm') return 0;
  const features = setup.features & 0xff;
  const autoEoi =
    (features & HvFeature.SYNIC) !== 0 && (features & HvFeature.APICV) === 0 ? (setup.autoEoiVector ?? 0) & 0xff : 0;
  return features | (autoEoi << 8);
}

/**
 * Whether the guest uses hv-vapic's EOI / ICR / TPR MSRs: it does when CPUID 0x40000004 recommends
 * them (HV_X64_APIC_ACCESS_RECOMMENDED), which QEMU sets for hv-vapic and leaves clear with hv-apicv
 * (hv-avic), so the guest uses the APIC page APICv / AVIC accelerate (target/i386/kvm/kvm.c,
 * "hv-vapic && !hv-avic"). The one home of the rule: guests/clock.ts (where the guest's EOIs and IPIs
 * go) and src/validation/loadSetup.ts (a stated enlightenment list as the model acts on it) ask it.
 */
export function hvApicAccessRecommended(features: number): boolean {
  return (features & HvFeature.VAPIC) !== 0 && (features & HvFeature.APICV) === 0;
}

/**
 * KVM inhibits APICv (VT-x) and AVIC for the whole VM while a SynIC SINT uses AutoEOI: AutoEOI needs
 * the hypervisor to inject each such interrupt itself (hyperv.c synic_update_vector ->
 * APICV_INHIBIT_REASON_HYPERV, in VMX_REQUIRED_APICV_INHIBITS and AVIC_REQUIRED_APICV_INHIBITS).
 * Modelled from the setup (the guest programs its SINTs at boot), not switched at run time.
 */
export function apicvInhibitedByHyperv(word: number): boolean {
  return word >>> 8 !== 0;
}

/** The AutoEOI SINT vector of a Hyper-V word, 0 when none. */
export function autoEoiVectorOf(word: number): number {
  return (word >>> 8) & 0xff;
}

/**
 * The Hyper-V enlightenments and KVM paravirtual features a guest may be given, as QEMU names its
 * CPU options (docs/hyperv.rst; libvirt's <hyperv> features). The model acts on hv-vapic, hv-synic,
 * hv-stimer, hv-time and hv-apicv (HvFeature) and on hv-stimer-direct (guests/clock.ts
 * GuestTimekeeping.stimerDirect: no AutoEOI SINT); the others are accepted as stated and change
 * nothing it models.
 */
export const HV_ENLIGHTENMENTS = [
  'hv-relaxed',
  'hv-vapic',
  'hv-spinlocks',
  'hv-vpindex',
  'hv-runtime',
  'hv-synic',
  'hv-stimer',
  'hv-stimer-direct',
  'hv-time',
  'hv-reset',
  'hv-frequencies',
  'hv-reenlightenment',
  'hv-tlbflush',
  'hv-ipi',
  'hv-apicv',
  'kvm-pv-eoi',
  'kvm-pv-unhalt',
] as const;
export type HvEnlightenment = (typeof HV_ENLIGHTENMENTS)[number];

/**
 * What QEMU requires before it enables an enlightenment (target/i386/kvm/kvm.c kvm_hyperv_properties
 * dependencies: hv-stimer needs hv-synic and hv-time; hv-synic needs hv-vpindex; hv-stimer-direct
 * needs hv-stimer; hv-ipi and hv-tlbflush need hv-vpindex). A guest given one without its
 * dependency would not start, so a scenario that does is refused.
 */
export const HV_REQUIRES: Readonly<Partial<Record<HvEnlightenment, readonly HvEnlightenment[]>>> = {
  'hv-synic': ['hv-vpindex'],
  'hv-stimer': ['hv-synic', 'hv-time'],
  'hv-stimer-direct': ['hv-stimer'],
  'hv-ipi': ['hv-vpindex'],
  'hv-tlbflush': ['hv-vpindex'],
};

/**
 * What a Windows guest under KVM gets when the scenario says nothing: what virt-manager / virt-install
 * (and so cockpit-machines) give a new Windows domain today (virt-manager/virt-manager
 * virtinst/domain/features.py _set_hyperv_defaults, each when libvirt's domain capabilities list it:
 * relaxed, vapic, spinlocks 8191, vpindex, runtime, synic, stimer and stimer direct with the
 * hypervclock timer (hv-time, virtinst/domain/clock.py), frequencies, tlbflush, ipi, avic = QEMU
 * hv-apicv; evmcs, which only matters to nested Hyper-V, is left out). Proxmox VE's qemu-server
 * (add_hyperv_enlightenments, machine >= 3.1) differs by hv-reset and by lacking hv-apicv,
 * hv-stimer-direct, hv-frequencies and hv-tlbflush (docs/MODEL.md §4 "Windows under KVM").
 */
export const WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS: readonly HvEnlightenment[] = [
  'hv-relaxed',
  'hv-vapic',
  'hv-spinlocks',
  'hv-vpindex',
  'hv-runtime',
  'hv-synic',
  'hv-stimer',
  'hv-stimer-direct',
  'hv-time',
  'hv-frequencies',
  'hv-tlbflush',
  'hv-ipi',
  'hv-apicv',
];

/** HvFeature bits of a list of enlightenments (the ones the model acts on). */
export function hvFeatureBits(names: readonly string[]): number {
  let f = 0;
  for (const n of names) {
    if (n === 'hv-vapic') f |= HvFeature.VAPIC;
    else if (n === 'hv-synic') f |= HvFeature.SYNIC;
    else if (n === 'hv-stimer') f |= HvFeature.STIMER;
    else if (n === 'hv-time') f |= HvFeature.TIME;
    else if (n === 'hv-apicv') f |= HvFeature.APICV;
  }
  return f;
}

/** The enlightenment `name` needs that `names` lacks (HV_REQUIRES), or undefined. */
export function missingHvDependency(names: readonly string[], name: HvEnlightenment): HvEnlightenment | undefined {
  return HV_REQUIRES[name]?.find((d) => !names.includes(d));
}
