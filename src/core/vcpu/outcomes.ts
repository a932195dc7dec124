/**
 * What a rule asks its caller to do next. The rules (apic/, vmx/, svm/) change the state words they
 * own and return one of these small integers; the Machine performs the exit, the entry or the
 * evaluation. A rule therefore never calls back into the machine, and its file imports only what it
 * may touch — as KVM's __apic_update_ppr() returns `ppr < old_ppr` and lets its caller decide.
 */
export const Next = {
  NOTHING: 0,
  /** The CPU evaluates pending virtual interrupts (SDM "Evaluation of Pending Virtual Interrupts"; AVIC alike). */
  EVALUATE_PENDING: 1,
  /** A trap-like TPR-below-threshold VM exit (SDM "TPR Virtualization", "VM Exits Induced by the TPR Threshold"). */
  TPR_BELOW_THRESHOLD_EXIT: 2,
} as const;
