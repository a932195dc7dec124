/**
 * SVM intercept exit codes. Source: AMD64 APM vol. 2, appendix C "SVM Intercept Exit Codes".
 * CR reads are 0x00 + n, CR writes 0x10 + n, so CR8 read = 0x08 and CR8 write = 0x18.
 */
export const SvmExitCode = {
  Cr8Read: 0x08,
  Cr8Write: 0x18,
  Intr: 0x60,
  Nmi: 0x61,
  Vintr: 0x64,
  Rdtsc: 0x6e,
  Rdpmc: 0x6f,
  Cpuid: 0x72,
  Pause: 0x77,
  Hlt: 0x78,
  IoIo: 0x7b,
  Msr: 0x7c,
  Shutdown: 0x7f,
  Vmmcall: 0x81,
  Wbinvd: 0x89,
  Xsetbv: 0x8d,
  Npf: 0x400,
  AvicIncompleteIpi: 0x401,
  AvicNoAccel: 0x402,
  /** VMRUN with an illegal VMCB state (APM "Canonicalization and Consistency Checks"). */
  Invalid: -1,
} as const;

export const SVM_EXIT_NAMES: Readonly<Record<number, string>> = {
  0x08: 'VMEXIT_CR8_READ',
  0x18: 'VMEXIT_CR8_WRITE',
  0x60: 'VMEXIT_INTR',
  0x61: 'VMEXIT_NMI',
  0x64: 'VMEXIT_VINTR',
  0x6e: 'VMEXIT_RDTSC',
  0x6f: 'VMEXIT_RDPMC',
  0x72: 'VMEXIT_CPUID',
  0x77: 'VMEXIT_PAUSE',
  0x78: 'VMEXIT_HLT',
  0x7b: 'VMEXIT_IOIO',
  0x7c: 'VMEXIT_MSR',
  0x7f: 'VMEXIT_SHUTDOWN',
  0x81: 'VMEXIT_VMMCALL',
  0x89: 'VMEXIT_WBINVD',
  0x8d: 'VMEXIT_XSETBV',
  0x400: 'VMEXIT_NPF',
  0x401: 'VMEXIT_AVIC_INCOMPLETE_IPI',
  0x402: 'VMEXIT_AVIC_NOACCEL',
  [-1]: 'VMEXIT_INVALID',
};
