/** What a Machine counts per vCPU beside its exits, and what a step reports besides them. */

/** Result of a guest RDMSR/WRMSR/MMIO access that the architecture refuses. */
export const enum Fault {
  NONE = -1,
  GP = 13,
}

/** Interrupt-delivery outcome counters per vCPU (Float64Array columns). */
export const enum Counter {
  RAISED = 0,
  COALESCED = 1,
  INJECTED = 2,
  VIRTUAL_DELIVERED = 3,
  DELIVERED = 4,
  CR8_READS = 5,
  CR8_WRITES = 6,
  TPR_MMIO_WRITES = 7,
  TPR_MSR_WRITES = 8,
  EOIS = 9,
  IPIS_SENT = 10,
  POSTED = 11,
  ENTRY_FAILURES = 12,
  COUNT = 13,
}
