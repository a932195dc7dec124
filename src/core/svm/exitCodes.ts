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

/** The APM's names by SvmExitCode (its numbers written once), as results.json reports them. */
export const SVM_EXIT_NAMES: Readonly<Record<number, string>> = {
  [SvmExitCode.Cr8Read]: 'VMEXIT_CR8_READ',
  [SvmExitCode.Cr8Write]: 'VMEXIT_CR8_WRITE',
  [SvmExitCode.Intr]: 'VMEXIT_INTR',
  [SvmExitCode.Nmi]: 'VMEXIT_NMI',
  [SvmExitCode.Vintr]: 'VMEXIT_VINTR',
  [SvmExitCode.Rdtsc]: 'VMEXIT_RDTSC',
  [SvmExitCode.Rdpmc]: 'VMEXIT_RDPMC',
  [SvmExitCode.Cpuid]: 'VMEXIT_CPUID',
  [SvmExitCode.Pause]: 'VMEXIT_PAUSE',
  [SvmExitCode.Hlt]: 'VMEXIT_HLT',
  [SvmExitCode.IoIo]: 'VMEXIT_IOIO',
  [SvmExitCode.Msr]: 'VMEXIT_MSR',
  [SvmExitCode.Shutdown]: 'VMEXIT_SHUTDOWN',
  [SvmExitCode.Vmmcall]: 'VMEXIT_VMMCALL',
  [SvmExitCode.Wbinvd]: 'VMEXIT_WBINVD',
  [SvmExitCode.Xsetbv]: 'VMEXIT_XSETBV',
  [SvmExitCode.Npf]: 'VMEXIT_NPF',
  [SvmExitCode.AvicIncompleteIpi]: 'VMEXIT_AVIC_INCOMPLETE_IPI',
  [SvmExitCode.AvicNoAccel]: 'VMEXIT_AVIC_NOACCEL',
  [SvmExitCode.Invalid]: 'VMEXIT_INVALID',
};
