/**
 * FreeBSD `bhyvectl --vm=NAME --get-stats [--vcpu=N]` output: parse into an ExitReport.
 *
 * What bhyvectl prints (usr.sbin/bhyvectl/bhyvectl.c, freebsd/freebsd-src, main(): the get_stats
 * branch): for the one vCPU selected by --vcpu (default 0), the line "vcpu%d stats:" and then, for
 * every statistic index, printf("%-40s\t%ld\n", desc, value). A machine with several vCPUs is
 * therefore captured by running bhyvectl once per vCPU; this parser accepts the concatenation and
 * sums the sections. The statistics come from vmm_stat_copy(); their descriptions from
 * vmm_stat_desc_copy() (sys/amd64/vmm/vmm_stat.c), which appends "[i]" for array statistics
 * (VMM_STAT_ARRAY, e.g. "ipis sent to vcpu[0]"). Descriptions longer than 40 characters are not
 * padded, so the tab is the separator; pasted copies often have spaces instead, which is accepted.
 * The order is the registration order of the statistics (SYSINIT, SI_ORDER_ANY), so it is not
 * relied upon.
 *
 * The exit counters and where bhyve increments them (sys/amd64/vmm/intel/vmx.c vmx_exit_process(),
 * sys/amd64/vmm/amd/svm.c svm_vmexit(); global descriptions in sys/amd64/vmm/vmm_stat.c, or vmm.c in
 * newer trees): VMEXIT_COUNT ("total number of vm exits") on every exit; one counter per handled
 * reason below. Reasons without a counter (Intel: APIC access, APIC write, virtualized EOI, TPR below
 * threshold, XSETBV, EPT misconfiguration, MONITOR/MWAIT; AMD: NMI, IRET, INVD/WBINVD, MONITOR/MWAIT)
 * are only in the total; the parser reports that remainder as one 'UNCATEGORIZED' row.
 *
 * Duration: "vcpu total runtime" (VCPU_TOTAL_RUNTIME) adds rdtsc() deltas around each VMRUN in
 * vm_run() (sys/amd64/vmm/vmm.c), i.e. TSC ticks of guest execution; the TSC frequency is not in the
 * output and the ioctl's timestamp (struct vm_stats.tv) is not printed, so durationSeconds stays
 * undefined and the runtime is reported in `stats`.
 */
import { SvmExitCode } from '../core/svm/exitCodes.js';
import { ExitReason } from '../core/vmx/exitReasons.js';
import { isTerminalLine, quoteFound, reportText } from './report.js';
import type { ExitReport, ExitReportRow, ReportFail, ReportVendor } from './report.js';

interface BhyveExitStat {
  /** Vendor-neutral reason key. */
  readonly reason: string;
  /** VT-x basic exit reason counted by this stat (vmx_exit_process), if Intel increments it. */
  readonly intel?: number;
  /** SVM exit code counted by this stat (svm_vmexit), if AMD increments it. */
  readonly amd?: number;
}

/**
 * bhyve exit counters: description as printed -> reason and architectural code per vendor (the codes
 * from src/core/vmx/exitReasons.ts and src/core/svm/exitCodes.ts, where each is written once).
 */
export const BHYVE_EXIT_STATS: Readonly<Record<string, BhyveExitStat>> = {
  // VMEXIT_EXTINT: EXIT_REASON_EXT_INTR (1) / VMCB_EXIT_INTR (0x60)
  'vm exits due to external interrupt': {
    reason: 'EXTERNAL_INTERRUPT',
    intel: ExitReason.ExternalInterrupt,
    amd: SvmExitCode.Intr,
  },
  // VMEXIT_HLT: EXIT_REASON_HLT (12) / VMCB_EXIT_HLT (0x78)
  'number of times hlt was intercepted': { reason: 'HLT', intel: ExitReason.Hlt, amd: SvmExitCode.Hlt },
  // VMEXIT_CR_ACCESS: EXIT_REASON_CR_ACCESS (28); svm.c does not increment it
  'number of times %cr access was intercepted': { reason: 'CR_ACCESS', intel: ExitReason.CrAccess },
  // VMEXIT_RDMSR / VMEXIT_WRMSR: EXIT_REASON_RDMSR (31) / WRMSR (32); SVM: VMCB_EXIT_MSR (0x7c), EXITINFO1 0/1
  'number of times rdmsr was intercepted': { reason: 'MSR_READ', intel: ExitReason.MsrRead, amd: SvmExitCode.Msr },
  'number of times wrmsr was intercepted': { reason: 'MSR_WRITE', intel: ExitReason.MsrWrite, amd: SvmExitCode.Msr },
  // VMEXIT_MTRAP: EXIT_REASON_MTF (37)
  'number of monitor trap exits': { reason: 'MONITOR_TRAP_FLAG', intel: ExitReason.MonitorTrapFlag },
  // VMEXIT_PAUSE: EXIT_REASON_PAUSE (40) / VMCB_EXIT_PAUSE (0x77)
  'number of times pause was intercepted': { reason: 'PAUSE', intel: ExitReason.Pause, amd: SvmExitCode.Pause },
  // VMEXIT_INTR_WINDOW (global, incremented by vmx.c only): EXIT_REASON_INTR_WINDOW (7)
  'vm exits due to interrupt window opening': { reason: 'INTERRUPT_WINDOW', intel: ExitReason.InterruptWindow },
  // VMEXIT_VINTR (svm.c, AMD-only stat): VMCB_EXIT_VINTR (0x64)
  'VM exits due to interrupt window': { reason: 'INTERRUPT_WINDOW', amd: SvmExitCode.Vintr },
  // VMEXIT_NMI_WINDOW: EXIT_REASON_NMI_WINDOW (8)
  'vm exits due to nmi window opening': { reason: 'NMI_WINDOW', intel: ExitReason.NmiWindow },
  // VMEXIT_INOUT: EXIT_REASON_INOUT (30) / VMCB_EXIT_IO (0x7b)
  'number of times in/out was intercepted': {
    reason: 'IO_INSTRUCTION',
    intel: ExitReason.IoInstruction,
    amd: SvmExitCode.IoIo,
  },
  // VMEXIT_CPUID: EXIT_REASON_CPUID (10) / VMCB_EXIT_CPUID (0x72)
  'number of times cpuid was intercepted': { reason: 'CPUID', intel: ExitReason.Cpuid, amd: SvmExitCode.Cpuid },
  // VMEXIT_NESTED_FAULT: EPT violation on guest memory (48) / NPF on guest memory (0x400)
  'vm exits due to nested page fault': {
    reason: 'NESTED_PAGE_FAULT',
    intel: ExitReason.EptViolation,
    amd: SvmExitCode.Npf,
  },
  // VMEXIT_INST_EMUL: EPT violation / NPF outside guest memory, emulated as MMIO
  'vm exits for instruction emulation': {
    reason: 'MMIO_EMULATION',
    intel: ExitReason.EptViolation,
    amd: SvmExitCode.Npf,
  },
  // VMEXIT_EXCEPTION: EXIT_REASON_EXCEPTION (0) / SVM 0x40-0x5f (one code per vector: none here)
  'number of vm exits due to exceptions': { reason: 'EXCEPTION', intel: ExitReason.ExceptionOrNmi },
  // VMEXIT_UNKNOWN: the default case of both exit handlers
  'number of vm exits for unknown reason': { reason: 'UNKNOWN' },
};

export const BHYVE_TOTAL_STAT = 'total number of vm exits';

/**
 * The exit counters of the first bhyve's sys/amd64/vmm/vmm_stat.c (global VMM_STATs), printed by
 * every bhyvectl since: a section that has the total but lacks one of them was cut.
 */
const ALWAYS_PRINTED = [
  'vm exits due to external interrupt',
  'number of times hlt was intercepted',
  'number of times %cr access was intercepted',
  'number of times rdmsr was intercepted',
  'number of times wrmsr was intercepted',
  'number of monitor trap exits',
  'number of times pause was intercepted',
  'vm exits due to interrupt window opening',
  'vm exits due to nmi window opening',
  'number of times in/out was intercepted',
  'number of times cpuid was intercepted',
  'vm exits due to nested page fault',
  'number of vm exits for unknown reason',
] as const;

/** Counters present only on one vendor (VMM_STAT_INTEL / VMM_STAT_AMD), used to tell the vendor. */
export const BHYVE_VENDOR_STATS: Readonly<Record<string, 'intel' | 'amd'>> = {
  'Number of vpid invalidations saved': 'intel',
  'Number of vpid invalidations done': 'intel',
  'VM exits during event delivery': 'amd',
  'Events pending at VM entry': 'amd',
  'VM exits due to interrupt window': 'amd',
  'Valid EXITINTINFO': 'amd',
};

/** Other counters bhyve prints that are not exits (kept in `stats`, not reported as unknown). */
const KNOWN_NON_EXIT_STATS = new Set([
  'vcpu migration across host cpus',
  'number of times astpending at exit',
  'number of times idle requested at exit',
  'number of vm exits handled in userspace',
  'number of times rendezvous pending at exit',
  'vcpu total runtime',
  'Resident memory',
  'Wired memory',
  'timer interrupts generated by vlapic',
  'EOI without any in-service interrupt',
  'external-interrupt vm exits with invalid interruption information',
]);

const SECTION_RE = /^vcpu(\d+) stats:\s*$/;
const TAB_STAT_RE = /^([^\t]*\S)[ ]*\t\s*(-?\d+)\s*$/;
const SPACE_STAT_RE = /^(\S.*?\S)\s+(-?\d+)\s*$/;

/**
 * Parse the concatenated `bhyvectl --get-stats` output of one or more vCPUs. Exit counters are
 * summed over the sections; `vcpus` is the number of sections.
 */
export function parseBhyvectlStats(text: string, file: string): ExitReport {
  const input = reportText(text, file);
  const lines = input.lines;
  const fail: ReportFail = input.fail;
  const notes: string[] = [];

  interface Section {
    vcpu: number;
    line: number;
    values: Map<string, { value: number; line: number; column: number }>;
  }
  const sections: Section[] = [];
  let current: Section | undefined;
  let spaced = 0;
  // One run per vCPU: runs copied from a terminal carry their prompts and commands between the sections.
  let prompts = input.trailingTerminalLines;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '') continue;
    if (isTerminalLine(l)) {
      prompts++;
      continue;
    }
    const sec = SECTION_RE.exec(l.trim());
    if (sec) {
      const vcpu = Number(sec[1]);
      const dup = sections.find((s) => s.vcpu === vcpu);
      if (dup)
        fail(
          i + 1,
          l.search(/\S/) + 1,
          `each vCPU once (vcpu${vcpu} already at line ${dup.line})`,
          quoteFound(l.trim()),
        );
      current = { vcpu, line: i + 1, values: new Map() };
      sections.push(current);
      continue;
    }
    if (!current) {
      fail(i + 1, l.search(/\S/) + 1, "'vcpuN stats:' (the output of bhyvectl --get-stats)", quoteFound(l.trim()));
    }
    let m = TAB_STAT_RE.exec(l);
    if (!m) {
      m = SPACE_STAT_RE.exec(l);
      if (m) spaced++;
    }
    if (!m) {
      const tab = l.indexOf('\t');
      const col = tab >= 0 ? tab + 2 : l.length + 1;
      fail(i + 1, col, "a statistic line '<description><TAB><integer>' or 'vcpuN stats:'", quoteFound(l.trim()));
    }
    const desc = m[1].trim();
    const value = Number(m[2]);
    if (value < 0) fail(i + 1, l.lastIndexOf(m[2]) + 1, 'a non-negative counter', m[2]);
    if (!Number.isSafeInteger(value)) notes.push(`line ${i + 1}: ${desc} = ${m[2]} exceeds 2^53 and loses precision`);
    const prev = current.values.get(desc);
    if (prev)
      fail(
        i + 1,
        l.search(/\S/) + 1,
        `each statistic once per vCPU section (already at line ${prev.line})`,
        quoteFound(desc),
      );
    current.values.set(desc, { value, line: i + 1, column: l.search(/\S/) + 1 });
  }
  if (sections.length === 0) {
    const first = lines.findIndex((l) => l.trim() !== '');
    fail(
      first < 0 ? 1 : first + 1,
      1,
      "'vcpuN stats:' (the output of bhyvectl --get-stats)",
      first < 0 ? input.emptyFound : quoteFound(lines[first]),
    );
  }
  if (spaced > 0) notes.push(`${spaced} statistic line(s) had spaces instead of bhyvectl's tab`);
  if (prompts > 0) notes.push(`${prompts} shell prompt or command line(s) around the output were ignored`);

  // Vendor from the vendor-specific counters.
  let vendor: ReportVendor = 'unknown';
  let vendorAt: { line: number; desc: string } | undefined;
  for (const s of sections) {
    for (const [desc, v] of s.values) {
      const ven = BHYVE_VENDOR_STATS[desc];
      if (ven === undefined) continue;
      if (vendor === 'unknown') {
        vendor = ven;
        vendorAt = { line: v.line, desc };
      } else if (ven !== vendor) {
        fail(
          v.line,
          v.column,
          `counters of one vendor (line ${vendorAt!.line} ${quoteFound(vendorAt!.desc)} is ${vendor}-only)`,
          `the ${ven}-only counter ${quoteFound(desc)}`,
        );
      }
    }
  }
  if (vendor === 'unknown')
    notes.push('vendor unknown: no Intel-only or AMD-only counter in the output, so rows have no architectural code');

  // Sum over sections.
  const exitSums = new Map<string, { samples: number; line: number; column: number }>();
  const stats: Record<string, number> = {};
  const unknownDescs = new Set<string>();
  let total = 0;
  let totalSeen = 0;
  let residual = 0;
  for (const s of sections) {
    let sectionExitSum = 0;
    for (const [desc, v] of s.values) {
      if (desc === BHYVE_TOTAL_STAT) continue;
      if (Object.prototype.hasOwnProperty.call(BHYVE_EXIT_STATS, desc)) {
        sectionExitSum += v.value;
        const e = exitSums.get(desc);
        if (e) e.samples += v.value;
        else exitSums.set(desc, { samples: v.value, line: v.line, column: v.column });
      } else {
        stats[desc] = (stats[desc] ?? 0) + v.value;
        if (
          !KNOWN_NON_EXIT_STATS.has(desc) &&
          BHYVE_VENDOR_STATS[desc] === undefined &&
          !/^ipis sent to vcpu\[\d+\]$/.test(desc)
        )
          unknownDescs.add(desc);
      }
    }
    const t = s.values.get(BHYVE_TOTAL_STAT);
    if (t) {
      totalSeen++;
      total += t.value;
      if (t.value < sectionExitSum) {
        fail(
          t.line,
          t.column,
          `'${BHYVE_TOTAL_STAT}' >= the sum of vcpu${s.vcpu}'s per-reason exit counters (${sectionExitSum})`,
          String(t.value),
        );
      }
      residual += t.value - sectionExitSum;
    }
  }
  if (totalSeen > 0 && totalSeen < sections.length) {
    const missing = sections.find((s) => !s.values.has(BHYVE_TOTAL_STAT))!;
    fail(
      missing.line,
      1,
      `'${BHYVE_TOTAL_STAT}' in every vCPU section (it is in ${totalSeen} of ${sections.length})`,
      `vcpu${missing.vcpu} without it`,
    );
  }
  // The total's remainder is read as the exits without a counter of their own (UNCATEGORIZED): in a
  // section cut short it held the cut counters' exits too, and a paste of 5 lines was fitted as 98 %
  // uncategorized exits, exit 0 (polish40). Every bhyve has printed these.
  for (const s of sections) {
    if (!s.values.has(BHYVE_TOTAL_STAT)) continue;
    const absent = ALWAYS_PRINTED.filter((d) => !s.values.has(d));
    if (absent.length > 0)
      fail(
        s.line,
        1,
        `every exit counter bhyvectl prints in each vCPU section (bhyve has printed ${ALWAYS_PRINTED.length} of them since its first release; the output was cut when it was copied?)`,
        `vcpu${s.vcpu} without ${quoteFound(absent[0])}${absent.length > 1 ? ` and ${absent.length - 1} more` : ''}`,
      );
  }
  if (totalSeen === 0) notes.push(`no '${BHYVE_TOTAL_STAT}' line: exits without their own counter cannot be counted`);
  if (unknownDescs.size > 0)
    notes.push(`statistics not known to this parser, kept in stats: ${[...unknownDescs].join(', ')}`);
  if (stats['vcpu total runtime'] !== undefined) {
    notes.push(
      // The report does not give its span (see the header comment); import requires --duration for it,
      // so this note must not call the duration unknown once --duration gave it.
      'vcpu total runtime is in TSC ticks of guest execution (vm_run(): rdtsc() deltas around VMRUN); the TSC frequency and the time stamp are not in the output, so the counts are divided by --duration, not by the runtime',
    );
  }

  const rows: ExitReportRow[] = [];
  for (const [desc, e] of exitSums) {
    if (e.samples === 0) continue;
    const st = BHYVE_EXIT_STATS[desc];
    const code = vendor === 'intel' ? st.intel : vendor === 'amd' ? st.amd : undefined;
    if (vendor !== 'unknown' && code === undefined && st.reason !== 'UNKNOWN') {
      notes.push(
        `${quoteFound(desc)} has no single ${vendor} exit code (bhyve's ${vendor === 'amd' ? 'svm.c' : 'vmx.c'} does not map it to one)`,
      );
    }
    rows.push({
      name: desc,
      vendor,
      code,
      reason: st.reason,
      samples: e.samples,
      source: { line: e.line, column: e.column },
    });
  }
  if (residual > 0) {
    rows.push({
      name: `exits counted only in '${BHYVE_TOTAL_STAT}'`,
      vendor,
      code: undefined,
      reason: 'UNCATEGORIZED',
      samples: residual,
      source: { line: sections[0].values.get(BHYVE_TOTAL_STAT)!.line, column: 1 },
    });
    notes.push(
      `${residual} exit(s) have no per-reason counter in bhyve (${vendor === 'amd' ? 'e.g. NMI, IRET, INVD/WBINVD, MONITOR/MWAIT' : 'e.g. APIC access, APIC write, virtualized EOI, TPR below threshold, XSETBV, EPT misconfiguration'}); reported as one UNCATEGORIZED row`,
    );
  }
  if (exitSums.has('vm exits for instruction emulation') && exitSums.has('vm exits due to nested page fault')) {
    notes.push(
      'nested page faults and MMIO instruction emulation are both EPT-violation / NPF exits; they are kept as two rows with the same code',
    );
  }
  return input.inFile({
    format: 'bhyvectl',
    file,
    vendor,
    rows,
    ...(totalSeen > 0 ? { totalSamples: total } : {}),
    vcpus: sections.length,
    stats,
    notes: [...input.quoteNotes, ...notes],
  });
}
