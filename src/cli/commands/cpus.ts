import { readInputText } from '../readText.js';
import { basename } from 'node:path';
/**
 * `vmexit-lab cpus` — list, show and import CPU profiles.
 */
import type { CpuProfile } from '../../core/cpu/profile.js';
import { PinBased, ProcBased, ProcBased2 } from '../../core/vmx/controls.js';
import { CpuCatalogError, CpuProfileNotFoundError, findCpuProfile, loadCpuCatalog } from '../../profiles/catalog.js';
import { importCpuinfo } from '../../profiles/importCpuinfo.js';
import { ProfileImportError, importDmesg } from '../../profiles/importDmesg.js';
import { ProfileYamlError, profileToYaml } from '../../profiles/serialize.js';
import { textTable } from '../../report/table.js';
import { UsageError, commandArgs, refuseOption, unknownCpu, usageProblem, numberOption, type CliIo } from '../io.js';
import { didYouMean, formatDiagnostic, showInvisible } from '../../input/diagnostics.js';
import { CPU_PROFILE_DIR, yamlDirProblem } from '../yamlDir.js';

const USAGE = `Usage: vmexit-lab cpus [--json] [--dir DIR]
       vmexit-lab cpus show ID [--json] [--dir DIR]
       vmexit-lab cpus import FILE [--id ID] [--cores N] [--threads N]
       vmexit-lab cpus --help

List the CPU profiles in data/cpus and their APIC/TPR virtualization capabilities, show one
profile, or turn a FreeBSD verbose dmesg ("VT-x: Basic Features=...") or a Linux /proc/cpuinfo
("vmx flags" / AMD "flags") into profile YAML.

Columns: TPR shadow = primary control "use TPR shadow" allowed-1; vAPIC = secondary "virtualize
APIC accesses"; APIC-reg = "APIC-register virtualization"; VID = "virtual-interrupt delivery";
PostIntr = pin-based "process posted interrupts"; AVIC = AMD CPUID Fn8000_000A EDX[13]
("x2" when x2AVIC too). "-" = not applicable to the vendor.

Options:
  --json        the list or the profile as JSON (with the capability summary)
  --dir DIR     the CPU profile directory to list or search (default: the bundled data/cpus)
  --id ID       import: the profile's id (default: made from the CPU's model name)
  --cores N     import: physical cores (default: from the file; a dmesg without them needs it)
  --threads N   import: hardware threads (default: from the file; as --cores)
  -h, --help    show this help

Exit status: 0 done, 2 bad input (an unknown profile, a file that is not a dmesg or cpuinfo, a
CPU without the vmx or svm flag).

Examples:
  vmexit-lab cpus
  vmexit-lab cpus --json
  vmexit-lab cpus show i7-2620M
  vmexit-lab cpus show "E5-2667 v4"
  vmexit-lab cpus import /var/run/dmesg.boot --cores 8 --threads 16 > data/cpus/my-cpu.yaml
  vmexit-lab cpus import cpuinfo.txt --id my-laptop
`;

/** The APIC/TPR capabilities the simulator cares about, per profile. */
interface ApicCapabilitySummary {
  id: string;
  vendor: string;
  microarchitecture: string;
  tprShadow: boolean | null;
  virtualizeApicAccesses: boolean | null;
  apicRegisterVirtualization: boolean | null;
  virtualInterruptDelivery: boolean | null;
  postedInterrupts: boolean | null;
  avic: boolean | null;
  x2avic: boolean | null;
}

export function summarizeApicCapabilities(p: CpuProfile): ApicCapabilitySummary {
  const vmx = p.vmx;
  const secondary =
    vmx && (vmx.procBased.allowed1 & ProcBased.ActivateSecondaryControls) !== 0 ? vmx.procBased2.allowed1 : 0;
  const bit = (word: number | undefined, b: number): boolean | null => (word === undefined ? null : (word & b) !== 0);
  return {
    id: p.id,
    vendor: p.vendor,
    microarchitecture: p.microarchitecture,
    tprShadow: bit(vmx?.procBased.allowed1, ProcBased.UseTprShadow),
    virtualizeApicAccesses: vmx ? (secondary & ProcBased2.VirtualizeApicAccesses) !== 0 : null,
    apicRegisterVirtualization: vmx ? (secondary & ProcBased2.ApicRegisterVirtualization) !== 0 : null,
    virtualInterruptDelivery: vmx ? (secondary & ProcBased2.VirtualInterruptDelivery) !== 0 : null,
    postedInterrupts: bit(vmx?.pinBased.allowed1, PinBased.ProcessPostedInterrupts),
    avic: p.svm ? p.svm.avic : null,
    x2avic: p.svm ? p.svm.x2avic : null,
  };
}

function renderTable(profiles: readonly CpuProfile[]): string {
  const yn = (v: boolean | null): string => (v === null ? '-' : v ? 'yes' : 'no');
  const header = ['ID', 'VENDOR', 'MICROARCH', 'TPR SHADOW', 'vAPIC', 'APIC-REG', 'VID', 'POSTINTR', 'AVIC'];
  const rows = profiles.map((p) => {
    const s = summarizeApicCapabilities(p);
    return [
      s.id,
      s.vendor,
      s.microarchitecture,
      yn(s.tprShadow),
      yn(s.virtualizeApicAccesses),
      yn(s.apicRegisterVirtualization),
      yn(s.virtualInterruptDelivery),
      yn(s.postedInterrupts),
      s.avic === null ? '-' : s.avic ? (s.x2avic ? 'yes+x2' : 'yes') : 'no',
    ];
  });
  return textTable(header, rows).join('\n') + '\n';
}

/** Decide what kind of text FILE holds. */
/**
 * Why FILE could not be read, in words (it printed the bare code, "ENOENT"): README's tour gives
 * /var/run/dmesg.boot, which a Linux host does not have, so a missing dmesg.boot points at the
 * Linux source.
 */
function whyUnreadable(file: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return `no such file (ENOENT)${basename(file) === 'dmesg.boot' ? "; dmesg.boot is FreeBSD's boot log: on Linux give /proc/cpuinfo" : ''}`;
  if (code === 'EISDIR') return 'a directory (EISDIR); give a file';
  if (code === 'EACCES') return 'permission denied (EACCES)';
  return (e as Error).message;
}

export function detectProfileSource(text: string): 'dmesg' | 'cpuinfo' | undefined {
  if (/^\s*(?:\[\d+\]\s*)?\s*VT-x:/m.test(text) || /-MHz\s+[\w-]+-class CPU\)/.test(text)) return 'dmesg';
  if (/^processor\s*:/m.test(text) && /^vendor_id\s*:/m.test(text)) return 'cpuinfo';
  return undefined;
}

export async function cpusCommand(args: string[], io: Pick<CliIo, 'out' | 'err'>): Promise<number> {
  const args0 = commandArgs(io, 'cpus', USAGE, args, {
    json: { type: 'boolean' },
    dir: { type: 'string' },
    id: { type: 'string' },
    cores: { type: 'string' },
    threads: { type: 'string' },
  });
  if (typeof args0 === 'number') return args0;
  let parsed: { positional: string[]; json: boolean; dir?: string; id?: string; cores?: number; threads?: number };
  try {
    const o = args0.values;
    parsed = {
      positional: args0.positionals,
      json: o.json === true,
      ...(o.dir !== undefined ? { dir: o.dir } : {}),
      ...(o.id !== undefined ? { id: o.id } : {}),
      ...(o.cores !== undefined ? { cores: numberOption(o.cores, '--cores', 1, Infinity, true) } : {}),
      ...(o.threads !== undefined ? { threads: numberOption(o.threads, '--threads', 1, Infinity, true) } : {}),
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return refuseOption(io, 'cpus', e);
  }
  const [sub, ...rest] = parsed.positional;
  const dirProblem = parsed.dir === undefined ? undefined : yamlDirProblem('--dir', parsed.dir, CPU_PROFILE_DIR);
  if (dirProblem !== undefined && sub !== 'import') {
    io.err(`vmexit-lab cpus: ${dirProblem}`);
    return 2;
  }
  try {
    if (sub === undefined) {
      const catalog = loadCpuCatalog(parsed.dir);
      if (parsed.json)
        io.out(
          JSON.stringify(
            catalog.map((p) => ({ ...p, apic: summarizeApicCapabilities(p) })),
            null,
            2,
          ) + '\n',
        );
      else io.out(renderTable(catalog));
      return 0;
    }
    if (sub === 'show') {
      if (rest.length !== 1) {
        io.err(usageProblem('cpus show', 'expected exactly one profile id'));
        return 2;
      }
      const catalog = loadCpuCatalog(parsed.dir);
      let profile: CpuProfile;
      try {
        profile = findCpuProfile(catalog, rest[0]);
      } catch (e) {
        if (e instanceof CpuProfileNotFoundError) return refuseOption(io, 'cpus', unknownCpu(e));
        throw e;
      }
      io.out(parsed.json ? JSON.stringify(profile, null, 2) + '\n' : profileToYaml(profile));
      return 0;
    }
    if (sub === 'import') {
      if (rest.length !== 1) {
        io.err(usageProblem('cpus import', 'expected exactly one FILE'));
        return 2;
      }
      const file = rest[0];
      let text: string;
      try {
        text = readInputText(file);
      } catch (e) {
        io.err(`${file}: error: cannot read the file: ${whyUnreadable(file, e)}`);
        return 2;
      }
      const kind = detectProfileSource(text);
      if (kind === undefined) {
        io.err(
          `${file}:1:1: error: not a CPU description cpus import reads (expected a FreeBSD verbose-boot dmesg with a "VT-x:" block, or a Linux /proc/cpuinfo)`,
        );
        return 2;
      }
      let profile =
        kind === 'dmesg'
          ? importDmesg(text, {
              sourceName: file,
              ...(parsed.id ? { id: parsed.id } : {}),
              ...(parsed.cores ? { cores: parsed.cores } : {}),
              ...(parsed.threads ? { threads: parsed.threads } : {}),
            })
          : importCpuinfo(text, { sourceName: file, ...(parsed.id ? { id: parsed.id } : {}) });
      if (kind === 'cpuinfo' && (parsed.cores !== undefined || parsed.threads !== undefined)) {
        profile = { ...profile, cores: parsed.cores ?? profile.cores, threads: parsed.threads ?? profile.threads };
      }
      if (profile.cores === 0 || profile.threads === 0) {
        io.err(
          `${file}: warning: it does not give cores/threads; pass --cores N --threads N (the YAML will not validate with 0)`,
        );
      }
      io.out(profileToYaml(profile));
      return 0;
    }
    io.err(
      `vmexit-lab cpus: unknown subcommand "${sub}"${didYouMean(sub, ['show', 'import'])}; 'vmexit-lab cpus --help' lists them`,
    );
    return 2;
  } catch (e) {
    // A file's problem at its place, as validate and run print a scenario's (formatDiagnostic); the
    // importers and the profile reader put the position in their message after 'vmexit-lab cpus:'.
    if (e instanceof ProfileImportError)
      io.err(
        formatDiagnostic({
          file: e.sourceName,
          line: e.line,
          column: e.column,
          message: 'cannot import this CPU',
          expected: e.expected,
          found: e.found,
        }),
      );
    else if (e instanceof ProfileYamlError) {
      // The catalog names a profile by its path in the directory given (src/profiles/catalog.ts).
      const at = `${e.fileName}:${e.line}:${e.column}: `;
      io.err(showInvisible(`${at}error: ${e.message.slice(at.length)}`));
    } else if (e instanceof CpuProfileNotFoundError || e instanceof CpuCatalogError)
      io.err(`vmexit-lab cpus: ${e.message}`);
    else throw e;
    return 2;
  }
}
