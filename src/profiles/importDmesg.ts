/**
 * Import a CPU profile from a FreeBSD boot log (dmesg) that contains a verbose "VT-x:" block.
 *
 * What FreeBSD prints, and why this importer reads it the way it does
 * -------------------------------------------------------------------
 * The block is printed by print_vmx_info() in sys/x86/x86/identcpu.c (freebsd/freebsd-src) when
 * the kernel boots verbose (`boot -v`). For every control word it prints only the ALLOWED-1 half of
 * the capability MSR: vmx_settable() returns `rdmsr(msr) >> 32`, reading the TRUE_ MSR when
 * IA32_VMX_BASIC bit 55 is set, except for the secondary controls (IA32_VMX_PROCBASED_CTLS2 has no
 * TRUE_ variant). The allowed-0 halves are never printed, so this importer fills them with the SDM
 * "default1" bits (controls.ts `Default1`, SDM appendix A.2); with TRUE controls the real allowed-0
 * masks may be smaller (e.g. CR3-load/-store exiting become clearable), so the profile is strict.
 *
 * The hex mask is authoritative; the names in <...> are decoration produced by FreeBSD's `%b`
 * format from a name table that is incomplete and partly wrong:
 *  - Secondary controls: the table stops at bit 16 and is shifted for bits 15/16. It prints bit 15
 *    (SDM: "enable ENCLS exiting") as `EPT#VE` and bit 16 (SDM: "RDSEED exiting") as `XSAVES`.
 *    The real EPT-violation #VE control is bit 18 and "enable XSAVES/XRSTORS" is bit 20; neither is
 *    named. The seed's E5-2667 v4 mask 0x77fff therefore has RDSEED exiting (16), PML (17) and
 *    EPT-violation #VE (18) but NOT XSAVES (20), despite the printed `XSAVES`.
 *  - Exit and entry controls: before freebsd/freebsd-src PR #1820 ("x86: Fix bug in
 *    print_vmx_info()", merged 2025, a cut-and-paste error from the original commit) both lines
 *    printed the variable `mask`, i.e. IA32_VMX_BASIC[63:32] (the "Basic Features" value), instead of
 *    the exit/entry settable masks. In such logs "Exit Controls=" equals "Basic Features=" (the seed:
 *    0xda0400 three times) and says nothing about the exit controls. This importer detects that and
 *    replaces the exit mask by the controls bhyve itself cannot run without (VM_EXIT_CTLS_ONE_SETTING
 *    in sys/amd64/vmm/intel/vmx.c: save debug controls, host address-space size, save/load EFER,
 *    acknowledge interrupt on exit) plus the default1 bits; a note records the substitution.
 *  - "Entry Controls" is read only for that check; CpuProfile has no entry word.
 *
 * The non-verbose form ("VT-x: PAT,HLT,MTF,PAUSE,EPT,UG,VPID,VID,PostIntr") carries no masks and is
 * rejected with a hint to boot verbose.
 */
import type { CpuProfile, Vendor, VmxCapabilities } from '../core/cpu/profile.js';
import { Default1, ExitControls, ProcBased, ProcBased2 } from '../core/vmx/controls.js';
import { nonFinite } from '../input/units.js';
import { decodeCpuidSignature, deriveProfileId, inferMicroarchitecture } from './cpuIdentity.js';

/** Bad or incomplete input for a profile importer. `line` is 1-based in the input text. */
export class ProfileImportError extends Error {
  override readonly name = 'ProfileImportError';
  constructor(
    /** 1-based line of the input where the problem was found (or where the missing thing was expected). */
    readonly line: number,
    /** What the importer expected there. */
    readonly expected: string,
    /** What it found (a shortened copy of the line, or a description). */
    readonly found: string,
    /** Input name for messages (file name or "<input>"). */
    readonly sourceName = '<input>',
    /**
     * 1-based column where the line's text starts (after a dmesg log prefix): the importers name a
     * line, and file:line:col is how every reader of user input names a place.
     */
    readonly column = 1,
  ) {
    super(`${sourceName}:${line}:${column}: expected ${expected}; found ${found}`);
  }
}

interface DmesgImportOptions {
  /** Profile id; default derived from the brand string (see `deriveProfileId`). */
  id?: string;
  /** Physical cores per package; default from "FreeBSD/SMP: ... x N core(s)" if present, else 0 (unknown). */
  cores?: number;
  /** Hardware threads per package; default from the FreeBSD/SMP lines if present, else 0 (unknown). */
  threads?: number;
  /** Replaces the generated `sources` entry. */
  sources?: readonly string[];
  /** Name used in error messages and the generated source entry. */
  sourceName?: string;
}

/** IA32_VMX_BASIC bit 55 as printed by FreeBSD (`mask = basic >> 32`, so bit 23 of the printed value). */
const BASIC_TRUE_CTLS = 1 << 23;

/** Exit controls bhyve requires (VM_EXIT_CTLS_ONE_SETTING, sys/amd64/vmm/intel/vmx.c); bit 2 is in Default1. */
export const BHYVE_REQUIRED_EXIT_CONTROLS =
  ExitControls.HostAddressSpaceSize |
  ExitControls.AcknowledgeInterruptOnExit |
  ExitControls.SaveEfer |
  ExitControls.LoadEfer;

/**
 * FreeBSD's `%b` name tables from print_vmx_info() (bit index 0-based here), used only to report when
 * the printed names disagree with the printed hex mask. Note the secondary table's mislabelled 15/16.
 */
const FREEBSD_NAMES: Record<string, Readonly<Record<number, string>>> = {
  'Pin-Based Controls': { 0: 'ExtINT', 3: 'NMI', 5: 'VNMI', 6: 'PreTmr', 7: 'PostIntr' },
  'Primary Processor Controls': {
    2: 'INTWIN',
    3: 'TSCOff',
    7: 'HLT',
    9: 'INVLPG',
    10: 'MWAIT',
    11: 'RDPMC',
    12: 'RDTSC',
    15: 'CR3-LD',
    16: 'CR3-ST',
    19: 'CR8-LD',
    20: 'CR8-ST',
    21: 'TPR',
    22: 'NMIWIN',
    23: 'MOV-DR',
    24: 'IO',
    25: 'IOmap',
    27: 'MTF',
    28: 'MSRmap',
    29: 'MONITOR',
    30: 'PAUSE',
  },
  'Secondary Processor Controls': {
    0: 'APIC',
    1: 'EPT',
    2: 'DT',
    3: 'RDTSCP',
    4: 'x2APIC',
    5: 'VPID',
    6: 'WBINVD',
    7: 'UG',
    8: 'APIC-reg',
    9: 'VID',
    10: 'PAUSE-loop',
    11: 'RDRAND',
    12: 'INVPCID',
    13: 'VMFUNC',
    14: 'VMCS',
    15: 'EPT#VE',
    16: 'XSAVES',
  },
};

const KNOWN_KEYS = [
  'Basic Features',
  'Pin-Based Controls',
  'Primary Processor Controls',
  'Secondary Processor Controls',
  'Exit Controls',
  'Entry Controls',
  'EPT Features',
  'VPID Features',
] as const;
type BlockKey = (typeof KNOWN_KEYS)[number];

interface BlockEntry {
  readonly value: number;
  readonly names: readonly string[] | undefined;
  readonly line: number;
}

/** Strip a leading `[105]` message-buffer prefix or a syslog `... kernel: ` prefix. */
function stripLogPrefix(line: string): string {
  const bracket = /^\s*\[\d+\]\s?/.exec(line);
  if (bracket) return line.slice(bracket[0].length);
  const syslog = /^.*?\bkernel:\s/.exec(line);
  if (syslog) return line.slice(syslog[0].length);
  return line;
}

/**
 * The 1-based column where a line's text starts: after its log prefix (`stripped` is the line
 * without it) and its indentation; 1 for a blank line or one past the end.
 */
export function textColumn(line: string | undefined, stripped: string | undefined = line): number {
  if (line === undefined || stripped === undefined || stripped.trim() === '') return 1;
  return line.length - stripped.length + stripped.search(/\S/) + 1;
}

function shorten(s: string, max = 80): string {
  const t = s.trim();
  return t.length === 0 ? '(empty line)' : t.length > max ? `"${t.slice(0, max)}..."` : `"${t}"`;
}

/**
 * A run of decimal digits of the text read as a number; one beyond a double (400 digits) is the
 * importer's error, said as a scenario's `1e400` is (units.ts nonFinite: "is too large to
 * represent"), where it became an infinity written into the profile as `.inf`.
 */
export function decimalIn(
  text: string,
  line: number,
  expected: string,
  fail: (line: number, expected: string, found: string) => never,
): number {
  const n = Number(text);
  const words = nonFinite(n, text);
  if (words !== undefined) fail(line, expected, `${shorten(text)}, which ${words}`);
  return n;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** Parse a FreeBSD dmesg into a CpuProfile. Pure: no I/O. Throws ProfileImportError on bad input. */
export function importDmesg(text: string, options: DmesgImportOptions = {}): CpuProfile {
  const src = options.sourceName ?? '<input>';
  const raw = text.split(/\r?\n/);
  const lines = raw.map(stripLogPrefix);
  const fail = (line: number, expected: string, found: string): never => {
    throw new ProfileImportError(line, expected, found, src, textColumn(raw[line - 1], lines[line - 1]));
  };

  // --- the VT-x block -------------------------------------------------------------------------
  const vtxIndex = lines.findIndex((l) => /^\s*VT-x:/.test(l));
  if (vtxIndex < 0) {
    fail(
      lines.length,
      'a "VT-x: Basic Features=0x..." block (FreeBSD verbose boot dmesg)',
      'no "VT-x:" line in the input',
    );
  }
  const notes: string[] = [];
  let vtxRest = lines[vtxIndex].replace(/^\s*VT-x:\s*/, '');
  if (vtxRest.startsWith('(disabled in BIOS)')) {
    notes.push(
      'FreeBSD reported VT-x "(disabled in BIOS)" (IA32_FEATURE_CONTROL); masks are still the CPU capabilities.',
    );
    vtxRest = vtxRest.slice('(disabled in BIOS)'.length).trimStart();
  }
  if (!vtxRest.startsWith('Basic Features=')) {
    fail(
      vtxIndex + 1,
      '"VT-x: Basic Features=0x<hex>..." (the non-verbose summary has no capability masks; boot with -v)',
      shorten(lines[vtxIndex]),
    );
  }

  const entries = new Map<BlockKey, BlockEntry>();
  const parseEntry = (body: string, lineNo: number): boolean => {
    const m = /^\s*([A-Za-z][A-Za-z -]*?)=(\S*?)(?:<([^>]*)>)?\s*$/.exec(body);
    if (!m) return false;
    const key = m[1] as BlockKey;
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) return false;
    const raw = m[2];
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(raw)) fail(lineNo, `${key}=0x<1-8 hex digits>`, shorten(body));
    if (entries.has(key)) fail(lineNo, `a single "${key}=" line in the VT-x block`, `a second one: ${shorten(body)}`);
    const names = m[3] === undefined ? undefined : m[3].split(',').filter((s) => s.length > 0);
    entries.set(key, { value: Number.parseInt(raw.slice(2), 16) >>> 0, names, line: lineNo });
    return true;
  };
  if (!parseEntry(vtxRest, vtxIndex + 1)) fail(vtxIndex + 1, 'Basic Features=0x<hex><...>', shorten(lines[vtxIndex]));
  let end = vtxIndex + 1;
  for (; end < lines.length; end++) {
    const body = lines[end];
    // Block lines are indented continuation lines "        Key=0x...". Anything else ends the block.
    if (!/^\s+[A-Za-z][A-Za-z -]*=/.test(body)) break;
    if (!parseEntry(body, end + 1)) {
      const key = /^\s+([A-Za-z][A-Za-z -]*?)=/.exec(body)?.[1];
      if (key !== undefined && /Controls|Features/.test(key)) {
        fail(end + 1, `one of ${KNOWN_KEYS.map((k) => `"${k}="`).join(', ')}`, shorten(body));
      }
      break;
    }
  }
  const need = (key: BlockKey): BlockEntry =>
    entries.get(key) ??
    fail(
      Math.min(end + 1, lines.length),
      `a "${key}=0x..." line in the VT-x block`,
      `end of the block at ${shorten(lines[end] ?? '')}`,
    );

  const basic = need('Basic Features');
  const pin = need('Pin-Based Controls');
  const proc = need('Primary Processor Controls');
  const exit = need('Exit Controls');
  const entry = entries.get('Entry Controls');
  let proc2Value = 0;
  if ((proc.value & ProcBased.ActivateSecondaryControls) !== 0) {
    proc2Value = need('Secondary Processor Controls').value;
  } else if (entries.has('Secondary Processor Controls')) {
    const e = entries.get('Secondary Processor Controls')!;
    fail(e.line, 'no secondary controls line (primary bit 31 "activate secondary controls" is not allowed-1)', 'one');
  }

  // Cross-check the decorative names against the masks; the mask wins.
  for (const [key, table] of Object.entries(FREEBSD_NAMES)) {
    const e = entries.get(key as BlockKey);
    if (!e || e.names === undefined) continue;
    const expected = Object.entries(table)
      .filter(([bit]) => (e.value & (1 << Number(bit))) !== 0)
      .map(([, name]) => name);
    const printed = [...e.names];
    if (expected.join(',') !== printed.join(',')) {
      notes.push(
        `line ${e.line}: printed names <${printed.join(',')}> do not match ${hex(e.value)} (expected <${expected.join(',')}>); the hex mask was used.`,
      );
    }
  }

  const trueControls = (basic.value & BASIC_TRUE_CTLS) !== 0;
  let exitAllowed1 = exit.value;
  const exitIsBasicBug = exit.value === basic.value && (entry === undefined || entry.value === basic.value);
  if (exitIsBasicBug) {
    exitAllowed1 = (Default1.exit | BHYVE_REQUIRED_EXIT_CONTROLS) >>> 0;
    notes.push(
      `Exit Controls (line ${exit.line}) printed ${hex(exit.value)}, identical to Basic Features: the pre-2025 ` +
        'print_vmx_info() bug (freebsd-src PR #1820) printed IA32_VMX_BASIC[63:32] there. exit.allowed1 is therefore ' +
        `NOT from the log: it is the SDM default1 bits plus the controls bhyve's vmx_init() requires ` +
        `(VM_EXIT_CTLS_ONE_SETTING: host address-space size, save/load EFER, acknowledge interrupt on exit) = ${hex(exitAllowed1)}.`,
    );
  }

  const checkDefault1 = (e: BlockEntry, allowed1: number, d1: number, what: string): void => {
    if ((allowed1 & d1) >>> 0 !== d1 >>> 0) {
      fail(
        e.line,
        `${what} allowed-1 mask including the SDM default1 bits ${hex(d1)}`,
        `${hex(allowed1)} (missing ${hex(d1 & ~allowed1)})`,
      );
    }
  };
  checkDefault1(pin, pin.value, Default1.pinBased, 'a pin-based');
  checkDefault1(proc, proc.value, Default1.procBased, 'a primary processor-based');
  if (!exitIsBasicBug) checkDefault1(exit, exitAllowed1, Default1.exit, 'an exit-control');

  const vmx: VmxCapabilities = {
    trueControls,
    pinBased: { allowed0: Default1.pinBased, allowed1: pin.value },
    procBased: { allowed0: Default1.procBased >>> 0, allowed1: proc.value },
    procBased2: { allowed0: Default1.procBased2, allowed1: proc2Value },
    exit: { allowed0: Default1.exit, allowed1: exitAllowed1 },
  };
  notes.push(
    'allowed0 masks are the SDM default1 bits (FreeBSD prints only allowed-1)' +
      (trueControls
        ? '; IA32_VMX_BASIC[55]=1, so the TRUE_ MSRs may allow clearing some of them (e.g. CR3-load/-store exiting).'
        : '.'),
  );
  if ((proc2Value & ProcBased2.RdseedExiting) !== 0 && (proc2Value & ProcBased2.EnableXsaves) === 0) {
    notes.push(
      'FreeBSD labels secondary bit 16 "XSAVES"; it is RDSEED exiting. XSAVES (bit 20) is not allowed-1 here.',
    );
  }

  // --- CPU identification ---------------------------------------------------------------------
  let cpuLineIndex = -1;
  for (let i = vtxIndex; i >= 0; i--) {
    if (/^\s*CPU:\s/.test(lines[i])) {
      cpuLineIndex = i;
      break;
    }
  }
  if (cpuLineIndex < 0) {
    fail(vtxIndex + 1, 'a "CPU: <brand> (<MHz>-MHz K8-class CPU)" line before the VT-x block', 'none');
  }
  const cpuMatch = /^\s*CPU:\s+(.+?)\s+\((\d+(?:\.\d+)?)-MHz\s+([\w-]+)-class CPU\)\s*$/.exec(lines[cpuLineIndex]);
  if (!cpuMatch) {
    fail(cpuLineIndex + 1, '"CPU: <brand> (<MHz>-MHz <K8|686>-class CPU)"', shorten(lines[cpuLineIndex]));
  }
  const model = cpuMatch![1].replace(/\s+/g, ' ').trim();
  const mhz = decimalIn(cpuMatch![2], cpuLineIndex + 1, "the CPU line's MHz as a number", fail);
  const baseClockMHz = Math.round(mhz);

  let vendor: Vendor | undefined;
  let family: number | undefined;
  let cpuModel: number | undefined;
  let stepping: number | undefined;
  for (let i = cpuLineIndex + 1; i < vtxIndex; i++) {
    const l = lines[i];
    const origin = /Origin\s*=\s*"(\w+)"/.exec(l);
    if (!origin) continue;
    if (origin[1] === 'GenuineIntel') vendor = 'intel';
    else if (origin[1] === 'AuthenticAMD') vendor = 'amd';
    else fail(i + 1, 'Origin="GenuineIntel" (VT-x is Intel-only)', shorten(l));
    const id = /\bId\s*=\s*0x([0-9a-fA-F]+)/.exec(l);
    if (id) {
      const sig = Number.parseInt(id[1], 16);
      ({ family, model: cpuModel, stepping } = decodeCpuidSignature(sig));
    }
    const fam = /Family\s*=\s*0x([0-9a-fA-F]+)/.exec(l);
    const mod = /Model\s*=\s*0x([0-9a-fA-F]+)/.exec(l);
    const step = /Stepping\s*=\s*(\d+)/.exec(l);
    if (fam) family = Number.parseInt(fam[1], 16);
    if (mod) cpuModel = Number.parseInt(mod[1], 16);
    if (step) stepping = Number(step[1]);
    break;
  }
  if (vendor === undefined) {
    // VT-x is only printed for Intel CPUs (identcpu.c calls print_vmx_info() when CPUID2_VMX is set).
    vendor = 'intel';
    notes.push('No Origin= line found; vendor assumed Intel because a VT-x block was printed.');
  }
  if (vendor !== 'intel') fail(vtxIndex + 1, 'an Intel CPU for a VT-x block', `Origin says ${vendor}`);

  const microarchitecture = inferMicroarchitecture({ vendor, family, model: cpuModel, stepping, brand: model });

  // --- topology (optional in the log) ---------------------------------------------------------
  let cores = options.cores ?? 0;
  let threads = options.threads ?? 0;
  if (options.cores === undefined || options.threads === undefined) {
    for (const [i, l] of lines.entries()) {
      const topo =
        /FreeBSD\/SMP:\s*(\d+)\s+package\(s\)\s*x\s*(\d+)\s+core\(s\)(?:\s*x\s*(\d+)\s+(?:hardware|SMT) threads)?/.exec(
          l,
        );
      if (topo) {
        const perPackageCores = decimalIn(topo[2], i + 1, 'a number of cores', fail);
        const smt = topo[3] === undefined ? 1 : decimalIn(topo[3], i + 1, 'a number of threads', fail);
        if (options.cores === undefined) cores = perPackageCores;
        if (options.threads === undefined) threads = perPackageCores * smt;
        break;
      }
    }
  }
  if (cores === 0 || threads === 0) {
    notes.push(
      'cores/threads are not in this log (no "FreeBSD/SMP: N package(s) x M core(s)" line); set them before use.',
    );
  }

  const profile: CpuProfile = {
    id: options.id ?? deriveProfileId(model),
    model,
    vendor,
    microarchitecture,
    baseClockMHz,
    cores,
    threads,
    vmx,
    sources: options.sources ?? [
      `${src}: FreeBSD verbose dmesg, CPU line ${cpuLineIndex + 1}, VT-x block lines ${vtxIndex + 1}-${end} ` +
        '(printed by print_vmx_info() in sys/x86/x86/identcpu.c, allowed-1 halves only)',
    ],
    notes: notes.join(' '),
  };
  return profile;
}
