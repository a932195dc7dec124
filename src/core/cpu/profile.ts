/**
 * CPU profiles: what a host CPU can do for a hypervisor.
 *
 * The VMX capability MSRs (Intel SDM vol. 3, appendix A.3 "VM-Execution Controls") report, for each
 * control word, an allowed-0 mask (bits that must be 1: a bit that is 1 in the low dword may not be
 * cleared) and an allowed-1 mask (bits that may be 1: the high dword). A policy can only set what the
 * allowed-1 mask permits and must set what the allowed-0 mask demands; see `controlWordAllowed`.
 */

export type Vendor = 'intel' | 'amd';

/** One control word's allowed settings: low dword (allowed-0) and high dword (allowed-1) of its MSR. */
export interface AllowedSettings {
  /** Bits that must be 1 (IA32_VMX_*_CTLS bits 31:0). */
  readonly allowed0: number;
  /** Bits that may be 1 (IA32_VMX_*_CTLS bits 63:32). */
  readonly allowed1: number;
}

export interface VmxCapabilities {
  /** IA32_VMX_PINBASED_CTLS (0x481) or IA32_VMX_TRUE_PINBASED_CTLS (0x48D). */
  readonly pinBased: AllowedSettings;
  /** IA32_VMX_PROCBASED_CTLS (0x482) or the TRUE_ variant (0x48E). */
  readonly procBased: AllowedSettings;
  /** IA32_VMX_PROCBASED_CTLS2 (0x48B); all zero when "activate secondary controls" is not allowed-1. */
  readonly procBased2: AllowedSettings;
  /** IA32_VMX_EXIT_CTLS (0x483) or TRUE_ variant (0x48F); bit 15 is "acknowledge interrupt on exit". */
  readonly exit: AllowedSettings;
  /** IA32_VMX_BASIC bit 55: the TRUE_ capability MSRs exist (SDM A.1). */
  readonly trueControls: boolean;
}

export interface SvmCapabilities {
  /** CPUID Fn8000_000A EDX bit 13: AVIC (APM vol. 2 "Advanced Virtual Interrupt Controller"). */
  readonly avic: boolean;
  /** CPUID Fn8000_000A EDX bit 18: x2AVIC (AVIC for guests in x2APIC mode). */
  readonly x2avic: boolean;
  /** CPUID Fn8000_000A EDX bit 0: nested paging. */
  readonly nestedPaging: boolean;
  /** CPUID Fn8000_000A EDX bit 3: NRIP save. */
  readonly nripSave: boolean;
  /** CPUID Fn8000_000A EDX bit 7: decode assists. */
  readonly decodeAssists: boolean;
  /** CPUID Fn8000_000A EDX bit 10: pause filter, the VMCB's PauseFilterCount (APM vol. 2 15.14.4). */
  readonly pauseFilter: boolean;
  /** CPUID Fn8000_000A EDX bit 12: pause filter threshold, the VMCB's PauseFilterThreshold (APM vol. 2 15.14.4). */
  readonly pauseFilterThreshold: boolean;
}

export interface CpuProfile {
  /** Short identifier used in scenarios, e.g. `i7-2620M`. */
  readonly id: string;
  /** Brand string as the CPU reports it. */
  readonly model: string;
  readonly vendor: Vendor;
  /** Microarchitecture key into the cost model, e.g. `sandy-bridge`, `broadwell`, `zen2`. */
  readonly microarchitecture: string;
  readonly baseClockMHz: number;
  readonly cores: number;
  readonly threads: number;
  readonly vmx?: VmxCapabilities;
  readonly svm?: SvmCapabilities;
  /** Where each figure comes from (URL, document and section, or "seed"). */
  readonly sources: readonly string[];
  /** Free text: what is known, what is assumed. */
  readonly notes?: string;
}

/** True when `value` keeps every must-be-1 bit and sets nothing beyond the may-be-1 bits. */
export function controlWordAllowed(value: number, allowed: AllowedSettings): boolean {
  return (value & allowed.allowed0) >>> 0 === allowed.allowed0 >>> 0 && (value & ~allowed.allowed1) >>> 0 === 0;
}
