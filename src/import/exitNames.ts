/**
 * Exit-reason names as Linux prints them (perf kvm stat, the kvm_exit tracepoint), mapped to the
 * architectural code and, where the model has one, to our exit kind (src/core/vcpu/exits.ts).
 *
 * Sources (read with the repository search tools; the tables below are re-typed, not copied):
 *  - VT-x: torvalds/linux arch/x86/include/uapi/asm/vmx.h, macro VMX_EXIT_REASONS, at a 6.x
 *    version (it lists EXIT_REASON_BUS_LOCK 74 and EXIT_REASON_NOTIFY 75). SIPI_SIGNAL (4) was added
 *    to the table by a later KVM patch (read as a diff posted to kvm@vger.kernel.org).
 *    Older versions of the header (read: a 3.x/4.x-era copy, which ends at EXIT_REASON_INVPCID 58)
 *    spell reason 7 "PENDING_INTERRUPT"; a 5.x patch renamed it to INTERRUPT_WINDOW (read as the
 *    diff). perf output from such kernels prints the old name, so it is accepted as an alias.
 *    Codes agree with the Intel SDM vol. 3D appendix C, table C-1 (src/core/vmx/exitReasons.ts).
 *  - SVM: torvalds/linux arch/x86/include/uapi/asm/svm.h, macro SVM_EXIT_REASONS (5.x version with
 *    RDPRU and the SEV-ES VMGEXIT codes), plus entries added later and read in their patches:
 *    "write_efer_trap" 0x08f, "write_cr0_trap" 0x090 ... "write_cr8_trap" 0x098, "invpcid" 0x0a2,
 *    "buslock" 0x0a5, "idle-halt" 0x0a6, "vmgexit" 0x403. Note that the printed names are not the
 *    APM's: SVM_EXIT_INTR prints as "interrupt", SVM_EXIT_IOIO as "io", SVM_EXIT_VMMCALL as
 *    "hypercall", SVM_EXIT_AVIC_UNACCELERATED_ACCESS as "avic_unaccelerated_access".
 *    Codes agree with the AMD APM vol. 2 appendix C (src/core/svm/exitCodes.ts).
 *
 * perf (tools/perf/arch/x86/util/kvm-stat.c) decodes with these two tables, choosing VMX or SVM
 * from the CPU vendor recorded in perf.data; an unknown code prints as "UNKNOWN" after a
 * "unknown kvm exit code:N on VMX|SVM" message on stderr.
 */
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import type { ExitReportRow, ReportVendor } from './report.js';

/** VMX_EXIT_REASONS: printed name -> basic exit reason. */
export const VMX_EXIT_NAMES: Readonly<Record<string, number>> = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INIT_SIGNAL: 3,
  SIPI_SIGNAL: 4,
  INTERRUPT_WINDOW: 7,
  /** Older kernels' name for reason 7 (EXIT_REASON_PENDING_INTERRUPT). */
  PENDING_INTERRUPT: 7,
  NMI_WINDOW: 8,
  TASK_SWITCH: 9,
  CPUID: 10,
  HLT: 12,
  INVD: 13,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
  VMCALL: 18,
  VMCLEAR: 19,
  VMLAUNCH: 20,
  VMPTRLD: 21,
  VMPTRST: 22,
  VMREAD: 23,
  VMRESUME: 24,
  VMWRITE: 25,
  VMOFF: 26,
  VMON: 27,
  CR_ACCESS: 28,
  DR_ACCESS: 29,
  IO_INSTRUCTION: 30,
  MSR_READ: 31,
  MSR_WRITE: 32,
  INVALID_STATE: 33,
  MSR_LOAD_FAIL: 34,
  MWAIT_INSTRUCTION: 36,
  MONITOR_TRAP_FLAG: 37,
  MONITOR_INSTRUCTION: 39,
  PAUSE_INSTRUCTION: 40,
  MCE_DURING_VMENTRY: 41,
  TPR_BELOW_THRESHOLD: 43,
  APIC_ACCESS: 44,
  EOI_INDUCED: 45,
  GDTR_IDTR: 46,
  LDTR_TR: 47,
  EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49,
  INVEPT: 50,
  RDTSCP: 51,
  PREEMPTION_TIMER: 52,
  INVVPID: 53,
  WBINVD: 54,
  XSETBV: 55,
  APIC_WRITE: 56,
  RDRAND: 57,
  INVPCID: 58,
  VMFUNC: 59,
  ENCLS: 60,
  RDSEED: 61,
  PML_FULL: 62,
  XSAVES: 63,
  XRSTORS: 64,
  UMWAIT: 67,
  TPAUSE: 68,
  BUS_LOCK: 74,
  NOTIFY: 75,
};

/** x86 exception vectors used by SVM_EXIT_REASONS' "XX excp" names (SVM_EXIT_EXCP_BASE 0x40 + vector). */
const EXCP = {
  DE: 0,
  DB: 1,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
  MC: 18,
  XF: 19,
} as const;

/** SVM_EXIT_REASONS: printed name -> SVM exit code. */
export const SVM_EXIT_NAMES_LINUX: Readonly<Record<string, number>> = {
  read_cr0: 0x000,
  read_cr2: 0x002,
  read_cr3: 0x003,
  read_cr4: 0x004,
  read_cr8: 0x008,
  write_cr0: 0x010,
  write_cr2: 0x012,
  write_cr3: 0x013,
  write_cr4: 0x014,
  write_cr8: 0x018,
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`read_dr${i}`, 0x020 + i])),
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`write_dr${i}`, 0x030 + i])),
  ...Object.fromEntries(Object.entries(EXCP).map(([n, v]) => [`${n} excp`, 0x040 + v])),
  interrupt: 0x060,
  nmi: 0x061,
  smi: 0x062,
  init: 0x063,
  vintr: 0x064,
  cr0_sel_write: 0x065,
  read_idtr: 0x066,
  read_gdtr: 0x067,
  read_ldtr: 0x068,
  read_rt: 0x069,
  write_idtr: 0x06a,
  write_gdtr: 0x06b,
  write_ldtr: 0x06c,
  write_rt: 0x06d,
  rdtsc: 0x06e,
  rdpmc: 0x06f,
  pushf: 0x070,
  popf: 0x071,
  cpuid: 0x072,
  rsm: 0x073,
  iret: 0x074,
  swint: 0x075,
  invd: 0x076,
  pause: 0x077,
  hlt: 0x078,
  invlpg: 0x079,
  invlpga: 0x07a,
  io: 0x07b,
  msr: 0x07c,
  task_switch: 0x07d,
  ferr_freeze: 0x07e,
  shutdown: 0x07f,
  vmrun: 0x080,
  hypercall: 0x081,
  vmload: 0x082,
  vmsave: 0x083,
  stgi: 0x084,
  clgi: 0x085,
  skinit: 0x086,
  rdtscp: 0x087,
  icebp: 0x088,
  wbinvd: 0x089,
  monitor: 0x08a,
  mwait: 0x08b,
  xsetbv: 0x08d,
  write_efer_trap: 0x08f,
  write_cr0_trap: 0x090,
  write_cr4_trap: 0x094,
  write_cr8_trap: 0x098,
  invpcid: 0x0a2,
  buslock: 0x0a5,
  'idle-halt': 0x0a6,
  npf: 0x400,
  avic_incomplete_ipi: 0x401,
  avic_unaccelerated_access: 0x402,
  vmgexit: 0x403,
  invalid_guest_state: -1,
};

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The vendor whose Linux table has this name ('unknown' for neither, e.g. arm64's DABT_LOW or perf's UNKNOWN). */
export function linuxNameVendor(name: string): ReportVendor {
  if (has(VMX_EXIT_NAMES, name)) return 'intel';
  if (has(SVM_EXIT_NAMES_LINUX, name)) return 'amd';
  return 'unknown';
}

/** The code of a printed name in the given vendor's table. */
export function linuxExitCode(vendor: ReportVendor, name: string): number | undefined {
  if (vendor === 'intel') return has(VMX_EXIT_NAMES, name) ? VMX_EXIT_NAMES[name] : undefined;
  if (vendor === 'amd') return has(SVM_EXIT_NAMES_LINUX, name) ? SVM_EXIT_NAMES_LINUX[name] : undefined;
  return undefined;
}

/**
 * Our model's exit-kind name (EXIT_KINDS, the SDM / APM names used in results.json) for a report
 * row, when the model has that kind: e.g. perf's 'EOI_INDUCED' -> 'VIRTUALIZED_EOI', 'msr' ->
 * 'VMEXIT_MSR', 'interrupt' -> 'VMEXIT_INTR', 'PREEMPTION_TIMER' -> 'VMX_PREEMPTION_TIMER' (KVM's guest
 * timer, src/core/vcpu/exits.ts), 'EPT_MISCONFIG' (KVM's device MMIO) and SVM 'pause' -> 'VMEXIT_PAUSE'
 * (the pause filter's exit: guests/spin.ts). Undefined when the row's vendor or code is
 * unknown or EXIT_KINDS has no slot for the code (e.g. RDTSCP, XSAVES, TRIPLE_FAULT, SVM 'read_cr0',
 * 'iret', 'vmrun'): import lists such rows as unknown reasons.
 */
export function modelExitName(row: Pick<ExitReportRow, 'vendor' | 'code'>): string | undefined {
  if (row.code === undefined || row.vendor === 'unknown') return undefined;
  return EXIT_KINDS.find((k) => k.vendor === row.vendor && k.code === row.code)?.name;
}

/**
 * The name perf prints for a code (the current spelling; INTERRUPT_WINDOW rather than the old
 * PENDING_INTERRUPT). Used to render a simulated exit mix as a perf report.
 */
export function linuxExitName(vendor: 'intel' | 'amd', code: number): string | undefined {
  const table = vendor === 'intel' ? VMX_EXIT_NAMES : SVM_EXIT_NAMES_LINUX;
  for (const [name, c] of Object.entries(table)) {
    if (c === code && name !== 'PENDING_INTERRUPT') return name;
  }
  return undefined;
}

/**
 * kvm_stat's own SVM table (tools/kvm/kvm_stat/kvm_stat, `SVM_EXIT_REASONS`, torvalds/linux): the
 * kvm_exit tracepoint's filter names it prints as `kvm_exit(NAME)`. Not perf's spelling: upper case
 * and the APM's short names (`INTR`, `IOIO`, `MSR`, `NPF`, `VMMCALL`, `EXCP_BASE` for vector 0).
 * Entries after `XSETBV` were added in later kernels (RDPRU, the `*_WRITE_TRAP` codes, INVPCID,
 * AVIC and VMGEXIT); older copies (read: qemu's scripts/kvm/kvm_stat, 2015; the 4.x copy in
 * tools/kvm/kvm_stat) end at `NPF`. Codes agree with SVM_EXIT_NAMES_LINUX above and the APM.
 * kvm_stat's VMX table uses the vmx.h names, i.e. VMX_EXIT_NAMES (old copies: PENDING_INTERRUPT).
 */
export const KVM_STAT_SVM_EXIT_NAMES: Readonly<Record<string, number>> = {
  READ_CR0: 0x000,
  READ_CR2: 0x002,
  READ_CR3: 0x003,
  READ_CR4: 0x004,
  READ_CR8: 0x008,
  WRITE_CR0: 0x010,
  WRITE_CR2: 0x012,
  WRITE_CR3: 0x013,
  WRITE_CR4: 0x014,
  WRITE_CR8: 0x018,
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`READ_DR${i}`, 0x020 + i])),
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`WRITE_DR${i}`, 0x030 + i])),
  EXCP_BASE: 0x040,
  LAST_EXCP: 0x05f,
  INTR: 0x060,
  NMI: 0x061,
  SMI: 0x062,
  INIT: 0x063,
  VINTR: 0x064,
  CR0_SEL_WRITE: 0x065,
  IDTR_READ: 0x066,
  GDTR_READ: 0x067,
  LDTR_READ: 0x068,
  TR_READ: 0x069,
  IDTR_WRITE: 0x06a,
  GDTR_WRITE: 0x06b,
  LDTR_WRITE: 0x06c,
  TR_WRITE: 0x06d,
  RDTSC: 0x06e,
  RDPMC: 0x06f,
  PUSHF: 0x070,
  POPF: 0x071,
  CPUID: 0x072,
  RSM: 0x073,
  IRET: 0x074,
  SWINT: 0x075,
  INVD: 0x076,
  PAUSE: 0x077,
  HLT: 0x078,
  INVLPG: 0x079,
  INVLPGA: 0x07a,
  IOIO: 0x07b,
  MSR: 0x07c,
  TASK_SWITCH: 0x07d,
  FERR_FREEZE: 0x07e,
  SHUTDOWN: 0x07f,
  VMRUN: 0x080,
  VMMCALL: 0x081,
  VMLOAD: 0x082,
  VMSAVE: 0x083,
  STGI: 0x084,
  CLGI: 0x085,
  SKINIT: 0x086,
  RDTSCP: 0x087,
  ICEBP: 0x088,
  WBINVD: 0x089,
  MONITOR: 0x08a,
  MWAIT: 0x08b,
  MWAIT_COND: 0x08c,
  XSETBV: 0x08d,
  RDPRU: 0x08e,
  EFER_WRITE_TRAP: 0x08f,
  ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`CR${i}_WRITE_TRAP`, 0x090 + i])),
  INVPCID: 0x0a2,
  NPF: 0x400,
  AVIC_INCOMPLETE_IPI: 0x401,
  AVIC_UNACCELERATED_ACCESS: 0x402,
  VMGEXIT: 0x403,
};

/**
 * The vendor a kvm_stat `kvm_exit(NAME)` filter name belongs to: 'unknown' when both of kvm_stat's
 * tables have it (CPUID, HLT, RDTSC, WBINVD, XSETBV, ...) or neither does (e.g. arm64's WFI).
 */
export function kvmStatNameVendor(name: string): ReportVendor {
  const vmx = has(VMX_EXIT_NAMES, name);
  const svm = has(KVM_STAT_SVM_EXIT_NAMES, name);
  return vmx === svm ? 'unknown' : vmx ? 'intel' : 'amd';
}

/** The code of a kvm_stat filter name in the given vendor's table (kvm_stat's spelling). */
export function kvmStatExitCode(vendor: ReportVendor, name: string): number | undefined {
  if (vendor === 'intel') return has(VMX_EXIT_NAMES, name) ? VMX_EXIT_NAMES[name] : undefined;
  if (vendor === 'amd') return has(KVM_STAT_SVM_EXIT_NAMES, name) ? KVM_STAT_SVM_EXIT_NAMES[name] : undefined;
  return undefined;
}
