/**
 * What a rule asks its caller to do next. The rules (apic/, vmx/, svm/) change the state words they
 * own and return one of these small integers; the Machine performs the exit, the entry or the
 * evaluation. A rule therefore never calls back into the machine, and its file imports only what it
 * may touch — as KVM's __apic_update_ppr() returns `ppr < old_ppr` and lets its caller decide.
 */
export const enum Next {
  NOTHING = 0,
  /** The CPU evaluates pending virtual interrupts (SDM "Evaluation of Pending Virtual Interrupts"; AVIC alike). */
  EVALUATE_PENDING = 1,
  /** A trap-like TPR-below-threshold VM exit (SDM "TPR Virtualization", "VM Exits Induced by the TPR Threshold"). */
  TPR_BELOW_THRESHOLD_EXIT = 2,
}

/**
 * How a guest access to its APIC (xAPIC MMIO, x2APIC RDMSR/WRMSR) is carried out. An access
 * classifier (vmx/apicAccess.ts, svm/avic.ts) returns either an exit slot
 * (vcpu/exits.ts, >= 0): the access exits and the hypervisor emulates it; or one of these negative
 * codes: the CPU carries it out in the guest, with no exit.
 */
export const enum InGuest {
  /** A read served by the CPU: VTPR or V_TPR, or a register of the (virtual-)APIC page. */
  READ = -1,
  /** A TPR write the CPU virtualizes (VTPR), followed by TPR virtualization (VT-x). */
  TPR_WRITE = -2,
  /** EOI virtualization (VT-x). */
  EOI = -3,
  /** Self-IPI virtualization (VT-x, x2APIC SELF IPI). */
  SELF_IPI = -4,
  /** #GP with no exit: reserved bits of a virtualized x2APIC write. */
  GP = -5,
  /** AVIC: an accelerated TPR write to the backing page. */
  AVIC_TPR_WRITE = -6,
  /** AVIC: an accelerated EOI (a level-triggered vector still traps; svm/avic.ts avicEoi). */
  AVIC_EOI = -7,
  /** AVIC: ICR high stored in the backing page. */
  AVIC_ICR_HIGH = -8,
  /** AVIC: ICR low sends the IPI by doorbell. */
  AVIC_ICR_LOW = -9,
  /**
   * VT-x APIC-write emulation of 310H (ICR high) with APIC-register virtualization: bytes 2:0 of
   * VICR_HI cleared, "no other virtualization or VM exit occurs" (vmx/apicAccess.ts vmxApicWrite).
   */
  ICR_HIGH_WRITE = -10,
  /**
   * VT-x: a write to 300H (ICR low) virtualized with VID (with or without APIC-register
   * virtualization): APIC-write emulation decides between self-IPI virtualization and an APIC-write
   * exit (vmx/apicVirtualization.ts selfIpiVirtualizable).
   */
  ICR_LOW_WRITE = -11,
}
