/**
 * Import a CPU profile from Linux /proc/cpuinfo (the first "processor" block).
 *
 * Intel: the `vmx flags` line (Linux >= 5.8, CONFIG_X86_VMX_FEATURE_NAMES). It is printed by
 * show_cpuinfo() in arch/x86/kernel/cpu/proc.c from c->vmx_capability[], which
 * init_vmx_capabilities() in arch/x86/kernel/cpu/feat_ctl.c fills from the ALLOWED-1 halves of the
 * non-TRUE capability MSRs (PROCBASED_CTLS, PROCBASED_CTLS2, PINBASED_CTLS, EPT_VPID_CAP, VMFUNC).
 * Names come from arch/x86/include/asm/vmxfeatures.h: a comment starting with a quoted string gives
 * the name, `""` hides the bit (older kernels also used the lower-cased macro name when there was no
 * quoted string). Word 0 = pin-based controls + scattered EPT/VPID bits + synthetic APIC bits,
 * word 1 = primary, word 2 = secondary, word 3 (newer kernels) = tertiary controls.
 *
 * Synthetic flags (feat_ctl.c):
 *   flexpriority = primary "use TPR shadow" AND secondary "virtualize APIC accesses"
 *   apicv        = "use TPR shadow" AND "APIC-register virtualization" AND "virtual-interrupt delivery"
 *                  AND pin "process posted interrupts"
 *
 * Bits Linux does not print (pin bits 0 and 3, most primary exiting controls, secondary
 * descriptor-table/RDTSCP/virtualize-x2APIC/WBINVD/RDRAND/INVPCID/...) and the exit controls (never
 * printed) cannot be read from the file. They are filled in by the documented heuristics below and
 * each inferred bit is listed in the profile's notes. allowed0 = SDM default1 bits (controls.ts).
 *
 * AMD: the `flags` line, CPUID Fn8000_000A EDX names from arch/x86/include/asm/cpufeatures.h:
 * svm, npt (bit 0), nrip_save (bit 3), decodeassists (bit 7), avic (bit 13), x2avic (bit 18).
 */
import type { CpuProfile, SvmCapabilities, Vendor, VmxCapabilities } from '../core/cpu/profile.js';
import { Default1, ExitControls, PinBased, ProcBased, ProcBased2 } from '../core/vmx/controls.js';
import { deriveProfileId, inferMicroarchitecture } from './cpuIdentity.js';
import { ProfileImportError, decimalIn, textColumn } from './importDmesg.js';

export { ProfileImportError } from './importDmesg.js';

interface CpuinfoImportOptions {
  id?: string;
  sources?: readonly string[];
  sourceName?: string;
}

interface FlagBits {
  readonly pin?: number;
  readonly proc?: number;
  readonly proc2?: number;
  /** Not a control bit (EPT/VPID/VMFUNC capability or tertiary control): kept in notes only. */
  readonly info?: string;
}

/** Every name vmxfeatures.h can print, mapped to control bits (controls.ts positions). */
export const VMX_FLAG_BITS: Readonly<Record<string, FlagBits>> = {
  // word 0: pin-based
  vnmi: { pin: PinBased.VirtualNmis },
  preemption_timer: { pin: PinBased.ActivateVmxPreemptionTimer },
  posted_intr: { pin: PinBased.ProcessPostedInterrupts },
  // word 0: EPT/VPID capabilities (IA32_VMX_EPT_VPID_CAP), not controls
  invvpid: { info: 'INVVPID' },
  ept_x_only: { info: 'EPT execute-only' },
  ept_ad: { info: 'EPT A/D bits' },
  ept_1gb: { info: 'EPT 1-GByte pages' },
  ept_5level: { info: 'EPT 5-level paging' },
  // word 0: synthetic aggregates
  flexpriority: { proc: ProcBased.UseTprShadow, proc2: ProcBased2.VirtualizeApicAccesses },
  apicv: {
    proc: ProcBased.UseTprShadow,
    proc2: ProcBased2.ApicRegisterVirtualization | ProcBased2.VirtualInterruptDelivery,
    pin: PinBased.ProcessPostedInterrupts,
  },
  // word 0: VM functions (IA32_VMX_VMFUNC exists only if "enable VM functions" is allowed-1)
  eptp_switching: { proc2: ProcBased2.EnableVmFunctions },
  // word 1: primary
  tsc_offset: { proc: ProcBased.UseTscOffsetting },
  vtpr: { proc: ProcBased.UseTprShadow },
  mtf: { proc: ProcBased.MonitorTrapFlag },
  // word 2: secondary
  vapic: { proc2: ProcBased2.VirtualizeApicAccesses },
  ept: { proc2: ProcBased2.EnableEpt },
  vpid: { proc2: ProcBased2.EnableVpid },
  unrestricted_guest: { proc2: ProcBased2.UnrestrictedGuest },
  vapic_reg: { proc2: ProcBased2.ApicRegisterVirtualization },
  vid: { proc2: ProcBased2.VirtualInterruptDelivery },
  ple: { proc2: ProcBased2.PauseLoopExiting },
  shadow_vmcs: { proc2: ProcBased2.VmcsShadowing },
  pml: { proc2: ProcBased2.EnablePml },
  ept_violation_ve: { proc2: ProcBased2.EptViolationVe },
  pt_conceal_vmx: { proc2: ProcBased2.ConcealVmxFromPt },
  xsaves: { proc2: ProcBased2.EnableXsaves },
  ept_mode_based_exec: { proc2: ProcBased2.ModeBasedEptExecute },
  pt_use_gpa: { proc2: ProcBased2.PtUsesGuestPhysical },
  tsc_scaling: { proc2: ProcBased2.UseTscScaling },
  usr_wait_pause: { proc2: ProcBased2.EnableUserWaitPause },
  enclv_exiting: { proc2: ProcBased2.EnclvExiting },
  bus_lock_detection: { proc2: ProcBased2.BusLockDetection },
  notify_vm_exiting: { proc2: ProcBased2.NotifyVmExiting },
  epc_virt: { info: 'SGX EPC virtualization' },
  // word 3: tertiary controls (not modelled by CpuProfile)
  ipi_virt: { info: 'IPI virtualization (tertiary control)' },
};

/**
 * Primary controls that Linux hides (`""`) and that every VT-x processor with a `vmx flags` line
 * (Nehalem and later) allows: 0xfff9fffe is the allowed-1 value FreeBSD prints on both Broadwell-EP
 * (the seed) and Coffee Lake, minus the three bits Linux does print (tsc_offset, vtpr, mtf).
 * KVM's setup_vmcs_config() refuses to load unless most of these can be set.
 */
const PRIMARY_HIDDEN_BASELINE =
  (0xfff9fffe & ~(ProcBased.UseTscOffsetting | ProcBased.UseTprShadow | ProcBased.MonitorTrapFlag)) >>> 0;

interface Field {
  readonly value: string;
  readonly line: number;
}

function shorten(s: string, max = 80): string {
  const t = s.trim();
  return t.length === 0 ? '(empty line)' : t.length > max ? `"${t.slice(0, max)}..."` : `"${t}"`;
}

/** Parse a /proc/cpuinfo text into a CpuProfile. Pure: no I/O. Throws ProfileImportError on bad input. */
export function importCpuinfo(text: string, options: CpuinfoImportOptions = {}): CpuProfile {
  const src = options.sourceName ?? '<input>';
  const lines = text.split(/\r?\n/);
  const fail = (line: number, expected: string, found: string): never => {
    throw new ProfileImportError(line, expected, found, src, textColumn(lines[line - 1]));
  };
  const start = lines.findIndex((l) => /^processor\s*:/.test(l));
  if (start < 0) fail(1, 'a "processor\\t: 0" line starting a /proc/cpuinfo block', shorten(lines[0] ?? ''));

  const fields = new Map<string, Field>();
  let end = start + 1;
  fields.set('processor', { value: lines[start].replace(/^processor\s*:\s*/, ''), line: start + 1 });
  for (; end < lines.length; end++) {
    const l = lines[end];
    if (l.trim() === '' || /^processor\s*:/.test(l)) break;
    const m = /^([^:]*?)\s*:\s?(.*)$/.exec(l);
    if (!m || m[1].trim() === '') fail(end + 1, '"<key>\\t: <value>"', shorten(l));
    fields.set(m![1].trim(), { value: m![2].trim(), line: end + 1 });
  }
  const need = (key: string): Field =>
    fields.get(key) ??
    fail(
      Math.min(end + 1, lines.length),
      `a "${key}\\t: ..." line in the first processor block (lines ${start + 1}-${end})`,
      'none',
    );
  const int = (key: string): number => {
    const f = need(key);
    if (!/^\d+$/.test(f.value)) fail(f.line, `"${key}" to be a decimal integer`, shorten(f.value));
    return decimalIn(f.value, f.line, `"${key}" to be a decimal integer`, fail);
  };

  const vendorField = need('vendor_id');
  let vendor: Vendor;
  if (vendorField.value === 'GenuineIntel') vendor = 'intel';
  else if (vendorField.value === 'AuthenticAMD') vendor = 'amd';
  else fail(vendorField.line, 'vendor_id GenuineIntel or AuthenticAMD', shorten(vendorField.value));
  const model = need('model name').value.replace(/\s+/g, ' ');
  const family = int('cpu family');
  const cpuModel = int('model');
  const steppingField = fields.get('stepping');
  const stepping = steppingField && /^\d+$/.test(steppingField.value) ? Number(steppingField.value) : undefined;
  const flagsField = need('flags');
  const flags = new Set(flagsField.value.split(/\s+/).filter((f) => f.length > 0));
  const notes: string[] = [];

  // Base clock: brand string "@ 2.70GHz"; else TSC rate from bogomips (x86 Linux: bogomips = 2 x TSC kHz / 1000
  // when the delay loop is TSC based); else the instantaneous "cpu MHz".
  let baseClockMHz: number;
  const at = /@\s*(\d+(?:\.\d+)?)\s*GHz/i.exec(model);
  const bogomips = fields.get('bogomips');
  const cpuMhz = fields.get('cpu MHz');
  if (at) {
    baseClockMHz = Math.round(
      decimalIn(at[1], need('model name').line, "the brand string's GHz as a number", fail) * 1000,
    );
  } else if (bogomips && /^\d+(\.\d+)?$/.test(bogomips.value) && flags.has('constant_tsc')) {
    baseClockMHz = Math.round(decimalIn(bogomips.value, bogomips.line, 'bogomips as a number', fail) / 2);
    notes.push(`baseClockMHz = bogomips/2 (line ${bogomips.line}: the TSC rate), not a marketing base clock.`);
  } else if (cpuMhz && /^\d+(\.\d+)?$/.test(cpuMhz.value)) {
    baseClockMHz = Math.round(decimalIn(cpuMhz.value, cpuMhz.line, '"cpu MHz" as a number', fail));
    notes.push(`baseClockMHz = "cpu MHz" (line ${cpuMhz.line}), the frequency at capture time.`);
  } else {
    fail(need('model name').line, 'a brand string with "@ <n>GHz", a bogomips line or a "cpu MHz" line', 'none');
  }
  const cores = fields.has('cpu cores') ? int('cpu cores') : 0;
  const threads = fields.has('siblings') ? int('siblings') : 0;
  if (cores === 0 || threads === 0)
    notes.push('cores/threads not in the block ("cpu cores"/"siblings"); set them before use.');

  const microarchitecture = inferMicroarchitecture({
    vendor: vendor!,
    family,
    model: cpuModel,
    stepping,
    brand: model,
  });
  const base = {
    id: options.id ?? deriveProfileId(model),
    model,
    vendor: vendor!,
    microarchitecture,
    baseClockMHz: baseClockMHz!,
    cores,
    threads,
  };

  if (vendor! === 'amd') {
    if (!flags.has('svm')) fail(flagsField.line, 'the "svm" flag (AMD-V) in the flags line', 'no "svm"');
    const svm: SvmCapabilities = {
      avic: flags.has('avic'),
      x2avic: flags.has('x2avic'),
      nestedPaging: flags.has('npt'),
      nripSave: flags.has('nrip_save'),
      decodeAssists: flags.has('decodeassists'),
      // Linux arch/x86/include/asm/cpufeatures.h: X86_FEATURE_PAUSEFILTER / X86_FEATURE_PFTHRESHOLD.
      pauseFilter: flags.has('pausefilter'),
      pauseFilterThreshold: flags.has('pfthreshold'),
    };
    if (flags.has('hypervisor'))
      notes.push('The "hypervisor" flag is set: this cpuinfo was captured inside a VM and may hide host SVM features.');
    return {
      ...base,
      svm,
      sources: options.sources ?? [
        `${src}: /proc/cpuinfo flags line ${flagsField.line} (svm, npt, nrip_save, decodeassists, avic, x2avic: CPUID Fn8000_000A EDX names from arch/x86/include/asm/cpufeatures.h)`,
      ],
      notes: notes.join(' '),
    };
  }

  // ---- Intel -------------------------------------------------------------------------------------
  if (!flags.has('vmx')) fail(flagsField.line, 'the "vmx" flag (VT-x) in the flags line', 'no "vmx"');
  const vmxField =
    fields.get('vmx flags') ??
    fail(
      flagsField.line + 1,
      'a "vmx flags\\t: ..." line (Linux >= 5.8) after the flags line',
      'none in the first processor block',
    );
  const vmxFlags = vmxField.value.split(/\s+/).filter((f) => f.length > 0);
  if (vmxFlags.length === 0) fail(vmxField.line, 'at least one name in "vmx flags"', 'an empty list');
  if (flags.has('hypervisor'))
    notes.push('The "hypervisor" flag is set: captured inside a VM, so these are the nested (L1) VMX capabilities.');

  let pin = (Default1.pinBased | PinBased.ExternalInterruptExiting | PinBased.NmiExiting) >>> 0;
  let proc = (Default1.procBased | PRIMARY_HIDDEN_BASELINE) >>> 0;
  let proc2 = 0;
  const unknown: string[] = [];
  const info: string[] = [];
  for (const name of vmxFlags) {
    if (!/^[a-z0-9_]+$/.test(name)) fail(vmxField.line, 'vmx flag names made of [a-z0-9_]', shorten(name));
    const bits = VMX_FLAG_BITS[name];
    if (!bits) {
      unknown.push(name);
      continue;
    }
    pin |= bits.pin ?? 0;
    proc |= bits.proc ?? 0;
    proc2 |= bits.proc2 ?? 0;
    if (bits.info) info.push(bits.info);
  }
  if (unknown.length > 0) notes.push(`vmx flags not known to this importer (ignored): ${unknown.join(' ')}.`);

  // Hidden secondary bits inferred from CPUID flags / other vmx flags (heuristics; listed in notes).
  const inferred: string[] = [];
  const infer = (cond: boolean, bit: number, what: string): void => {
    if (cond && (proc2 & bit) === 0) {
      proc2 |= bit;
      inferred.push(what);
    }
  };
  const has = (n: string): boolean => vmxFlags.includes(n);
  infer(
    has('unrestricted_guest'),
    ProcBased2.DescriptorTableExiting,
    'descriptor-table exiting (Westmere+, with unrestricted guest)',
  );
  infer(has('unrestricted_guest'), ProcBased2.WbinvdExiting, 'WBINVD exiting (Westmere+, with unrestricted guest)');
  infer(flags.has('rdtscp'), ProcBased2.EnableRdtscp, 'enable RDTSCP (CPUID rdtscp)');
  infer(
    flags.has('x2apic') && (has('vapic') || has('flexpriority')),
    ProcBased2.VirtualizeX2apicMode,
    'virtualize x2APIC mode (CPUID x2apic + vapic)',
  );
  infer(flags.has('rdrand'), ProcBased2.RdrandExiting, 'RDRAND exiting (CPUID rdrand)');
  infer(flags.has('invpcid'), ProcBased2.EnableInvpcid, 'enable INVPCID (CPUID invpcid)');
  infer(flags.has('rdseed'), ProcBased2.RdseedExiting, 'RDSEED exiting (CPUID rdseed)');
  infer(flags.has('sgx'), ProcBased2.EnclsExiting, 'ENCLS exiting (CPUID sgx)');
  infer(flags.has('intel_pt'), ProcBased2.ConcealVmxFromPt, 'conceal VMX from PT (CPUID intel_pt)');
  infer(flags.has('xsaves'), ProcBased2.EnableXsaves, 'enable XSAVES/XRSTORS (CPUID xsaves)');
  if (proc2 !== 0) proc |= ProcBased.ActivateSecondaryControls;
  else proc &= ~ProcBased.ActivateSecondaryControls;
  proc >>>= 0;
  proc2 >>>= 0;

  // Exit controls are never printed by Linux: derived from CPUID features and what KVM requires
  // (setup_vmcs_config(): acknowledge interrupt on exit, host address-space size on x86-64, ...).
  let exit = (Default1.exit | ExitControls.AcknowledgeInterruptOnExit) >>> 0;
  if (flags.has('lm')) exit |= ExitControls.HostAddressSpaceSize | ExitControls.SaveEfer | ExitControls.LoadEfer;
  if (flags.has('pat')) exit |= ExitControls.SavePat | ExitControls.LoadPat;
  if (has('preemption_timer')) exit |= ExitControls.SaveVmxPreemptionTimer;
  if (flags.has('arch_perfmon')) exit |= ExitControls.LoadPerfGlobalCtrl;
  if (flags.has('mpx')) exit |= ExitControls.ClearBndcfgs;
  if (flags.has('intel_pt')) exit |= ExitControls.ConcealVmxFromPt;
  exit >>>= 0;

  const vmx: VmxCapabilities = {
    // IA32_VMX_BASIC[55] is not printed; every processor new enough for a "vmx flags" line with
    // EPT (Nehalem+) reports TRUE capability MSRs.
    trueControls: has('ept'),
    pinBased: { allowed0: Default1.pinBased, allowed1: pin >>> 0 },
    procBased: { allowed0: Default1.procBased >>> 0, allowed1: proc },
    procBased2: { allowed0: Default1.procBased2, allowed1: proc2 },
    exit: { allowed0: Default1.exit, allowed1: exit },
  };
  notes.push(
    `From "vmx flags" (line ${vmxField.line}): ${vmxFlags.join(' ')}.`,
    'Pin bits 0/3 and the primary exiting controls Linux hides were assumed allowed (baseline 0xfff9fffe).',
    inferred.length > 0
      ? `Secondary bits Linux hides, inferred: ${inferred.join('; ')}.`
      : 'No hidden secondary bits inferred.',
    'exit.allowed1 is derived (Linux never prints exit controls): default1 + acknowledge interrupt on exit + CPUID-implied bits.',
    'allowed0 = SDM default1 bits; trueControls assumed when EPT is present.',
  );
  if (info.length > 0) notes.push(`Non-control capabilities: ${info.join(', ')}.`);

  return {
    ...base,
    vmx,
    sources: options.sources ?? [
      `${src}: /proc/cpuinfo first processor block, lines ${start + 1}-${end}; "vmx flags" line ${vmxField.line} ` +
        '(names: arch/x86/include/asm/vmxfeatures.h; printed by arch/x86/kernel/cpu/proc.c; filled by arch/x86/kernel/cpu/feat_ctl.c)',
    ],
    notes: notes.join(' '),
  };
}
