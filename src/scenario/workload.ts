/**
 * Workload-profile files: a guest described by instruction and event rates instead of an OS model
 * (src/core/guests/workload.ts). `vmexit-lab import` writes them (fitted to a real exit report);
 * scenarios use them as guests (`guests: [{ workload: profile.yaml }]`). Validated here, once, into
 * a typed, frozen WorkloadProfile; errors carry file:line:col like scenario errors.
 *
 * Format (version 1):
 *
 *   workloadProfile: 1
 *   name: web-frontend            # letters, digits, . _ -
 *   os: ubuntu-18.04              # guest model supplying interrupt vectors and ISR times
 *   vcpus: 2
 *   x2apic: false                 # the guest's LAPIC mode
 *   perGuestSecond:               # per vCPU, per second of guest execution
 *     cr8Writes: 0                # MOV to %cr8 (raise/lower pairs: an even count)
 *     cr8Reads: 0
 *     cpuid: 10
 *     io: 250
 *     mmio: 1800                  # stores to emulated MMIO (EPT violation, KVM's EPT misconfig / NPF)
 *     msrReads: 0
 *     msrWrites: 4000             # intercepted MSR writes (IA32_TSC_DEADLINE)
 *     hlts: 900                   # the vCPU sleeps until its next interrupt
 *     ipis: 120                   # fixed IPIs to the guest's other vCPUs
 *     hostInterrupts: 0           # host interrupts beyond the host's timer ticks
 *   interruptsPerSecond: 1000     # device interrupts per vCPU per wall second
 *   opaquePerGuestSecond:         # exits outside the model, by exit name: the same rate wherever the
 *     XSETBV: 300                 # target can take them (core/hypervisor/opaqueExits.ts)
 *   measuredTimePerExit:          # optional (import --carry-exit-times): the report's time per exit
 *     EXTERNAL_INTERRUPT: { measuredNs: 2430, modelNs: 310 }   # perf's avg, the model's cost there
 *   source: { ... }               # informational: where the numbers came from
 *   fit: { ... }                  # informational: the fit error per reason
 */
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';
import type { CpuProfile } from '../core/cpu/profile.js';
import { opaqueExitOn } from '../core/hypervisor/opaqueExits.js';
import type { PolicyTraits } from '../core/hypervisor/policy.js';
import { WorkloadOp, WORKLOAD_OP_NAMES, type WorkloadSpec } from '../core/guests/workload.js';
import { isScalar, type Node as YamlNode } from 'yaml';
import type { Reader, Val } from '../input/reader.js';
import { openYamlMapping, type YamlInputKind } from '../input/document.js';
import { quoted } from '../input/diagnostics.js';
import { KVM_STAT_SVM_EXIT_NAMES, SVM_EXIT_NAMES_LINUX, VMX_EXIT_NAMES } from '../input/perfExitNames.js';
import { GUEST_OS_NAMES, WORKLOAD_RATE_NAMES, type WorkloadProfile, type WorkloadRateName } from './types.js';

export const WORKLOAD_PROFILE_VERSION = 1;

const MAX_PROFILE_BYTES = 256 * 1024;
/** YAML alias expansions a profile may use (as scenarios: src/scenario/load.ts MAX_ALIAS_COUNT). */
const MAX_ALIAS_COUNT = 1000;
const PROFILE_INPUT: YamlInputKind = {
  noun: 'workload profile',
  maxBytes: MAX_PROFILE_BYTES,
  maxAliases: MAX_ALIAS_COUNT,
};
/** A rate above this (per vCPU per second) is a unit mistake, not a workload: 1 per 10 ns. */
/** The largest rate a profile may hold, per vCPU per second (1 per 10 ns); `import` keeps its fit inside it. */
export const MAX_RATE_PER_SECOND = 1e8;
/** Most vCPUs a profile may describe. */
export const MAX_VCPUS = 64;
/** A profile's name: letters, digits, '.', '_' or '-'. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const ROOT_KEYS = [
  'workloadProfile',
  'name',
  'os',
  'vcpus',
  'x2apic',
  'perGuestSecond',
  'interruptsPerSecond',
  'opaquePerGuestSecond',
  'measuredTimePerExit',
  'source',
  'fit',
] as const;

/**
 * The exit names opaquePerGuestSecond and measuredTimePerExit take, by vendor, as an unknown one
 * lists them: 46 names, past the plain list's 16, so `unknown key "FOO" in opaquePerGuestSecond`
 * named none.
 */
const EXIT_NAMES = EXIT_KINDS.map((k) => k.name);
const EXIT_NAMES_TEXT = (['intel', 'amd'] as const)
  .map(
    (v) =>
      `${v === 'intel' ? 'VT-x' : 'SVM'}: ${EXIT_KINDS.filter((k) => k.vendor === v)
        .map((k) => k.name)
        .join(', ')}`,
  )
  .join('; ');

/**
 * A key written as perf or kvm_stat print an exit, where the model's name differs: perf's AMD names
 * are lower case (`npf`, `msr`, `vintr`, `interrupt` for #VMEXIT_INTR), kvm_stat's the APM's short
 * ones (`NPF`, `IOIO`), and some VT-x names are older or longer (`PAUSE_INSTRUCTION`,
 * `PREEMPTION_TIMER`, `EOI_INDUCED`). The nearest spelling pointed `msr` at MSR_READ and `npf` at
 * nothing; the code behind the name points at the model's exit of that vendor.
 */
function perfSpelling(key: string): { name: string; why: string } | undefined {
  const tables = [
    ['amd', SVM_EXIT_NAMES_LINUX, "perf's name of SVM exit code"],
    ['amd', KVM_STAT_SVM_EXIT_NAMES, "kvm_stat's name of SVM exit code"],
    ['intel', VMX_EXIT_NAMES, "perf's name of VT-x exit reason"],
  ] as const;
  for (const [vendor, table, said] of tables) {
    if (!Object.prototype.hasOwnProperty.call(table, key)) continue;
    const code = table[key];
    const kind = EXIT_KINDS.find((k) => k.vendor === vendor && k.code === code);
    if (kind === undefined || kind.name === key) continue;
    const number = vendor === 'amd' ? `0x${code.toString(16)}` : String(code);
    return { name: kind.name, why: `${quoted(key)} is ${said} ${number}` };
  }
  return undefined;
}

function nonNegative(r: Reader, v: Val, what: string): number | undefined {
  const s = r.scalar(v);
  const expected = `a number of events per second, 0..${MAX_RATE_PER_SECOND.toExponential(0)}`;
  if (r.refusedNonFinite(v, what, expected)) return undefined;
  if (s === undefined || typeof s.value !== 'number')
    return r.error(v, `wrong type for ${what}`, expected, r.describe(v.node));
  if (s.value < 0 || s.value > MAX_RATE_PER_SECOND)
    return r.error(v, `${what} out of range`, expected, r.describe(v.node));
  return s.value;
}

/** Parse and validate a workload profile; throws ScenarioError listing every problem with its position. */
export function parseWorkloadProfile(text: string, file: string): WorkloadProfile {
  const { sink, r, root } = openYamlMapping(text, file, PROFILE_INPUT);
  // A scenario where a profile belongs ('what-if SCENARIO.yaml'): one answer, not an error per key.
  const scenarioKey = root.items.find(
    (p) => isScalar(p.key) && ['guests', 'host', 'hypervisor'].includes(String(p.key.value)),
  )?.key;
  if (scenarioKey !== undefined && !root.has('workloadProfile')) {
    r.error(
      scenarioKey as YamlNode,
      'this is a scenario (guests, host, hypervisor), not a workload profile',
      'a workload profile: vmexit-lab import writes one from a perf kvm stat or bhyvectl report (docs/IMPORT.md); a scenario runs with vmexit-lab run',
    );
    sink.throwIfAny();
  }
  const f = r.fields(root, 'the workload profile', ROOT_KEYS, ['workloadProfile', 'name', 'os', 'perGuestSecond']);
  const vf = f.get('workloadProfile');
  if (vf !== undefined)
    r.int(
      vf,
      'workloadProfile (the format version)',
      WORKLOAD_PROFILE_VERSION,
      WORKLOAD_PROFILE_VERSION,
      String(WORKLOAD_PROFILE_VERSION),
    );
  const nf = f.get('name');
  const name = nf === undefined ? undefined : r.str(nf, 'name', NAME_RE, 'a name of letters, digits, ".", "_" or "-"');
  const of = f.get('os');
  const os = of === undefined ? undefined : r.oneOf(of, 'os', GUEST_OS_NAMES, 'guest OS');
  const cf = f.get('vcpus');
  const vcpus = cf === undefined ? 1 : r.int(cf, 'vcpus', 1, MAX_VCPUS);
  const xf = f.get('x2apic');
  const x2apic = xf === undefined ? false : r.bool(xf, 'x2apic');

  const rates: Record<string, number> = {};
  for (const k of WORKLOAD_RATE_NAMES) rates[k] = 0;
  const pf = f.get('perGuestSecond');
  if (pf !== undefined) {
    const m = r.map(pf, 'perGuestSecond');
    if (m !== undefined) {
      for (const field of r.fields(m, 'perGuestSecond', WORKLOAD_RATE_NAMES)) {
        const x = nonNegative(r, field, `perGuestSecond.${field.name}`);
        if (x !== undefined) rates[field.name] = x;
      }
    }
  }
  const irqField = f.get('interruptsPerSecond');
  const interruptsPerSecond = irqField === undefined ? 0 : nonNegative(r, irqField, 'interruptsPerSecond');
  const opaque: Record<string, number> = {};
  const opf = f.get('opaquePerGuestSecond');
  if (opf !== undefined) {
    const m = r.map(opf, 'opaquePerGuestSecond');
    if (m !== undefined) {
      for (const field of r.fields(
        m,
        'opaquePerGuestSecond',
        (k) => EXIT_NAMES.includes(k),
        [],
        EXIT_NAMES,
        EXIT_NAMES_TEXT,
        perfSpelling,
      )) {
        const x = nonNegative(r, field, `opaquePerGuestSecond.${field.name}`);
        if (x !== undefined) opaque[field.name] = x;
      }
    }
  }
  const times: Record<string, { measuredNs: number; modelNs: number }> = {};
  const tf = f.get('measuredTimePerExit');
  if (tf !== undefined) {
    const m = r.map(tf, 'measuredTimePerExit');
    if (m !== undefined) {
      for (const field of r.fields(
        m,
        'measuredTimePerExit',
        (k) => EXIT_NAMES.includes(k),
        [],
        EXIT_NAMES,
        EXIT_NAMES_TEXT,
        perfSpelling,
      )) {
        const e = r.map(field, `measuredTimePerExit.${field.name}`);
        if (e === undefined) continue;
        const pair: Record<string, number> = {};
        const what = `measuredTimePerExit.${field.name}`;
        for (const part of r.fields(e, what, ['measuredNs', 'modelNs'], ['measuredNs', 'modelNs'])) {
          const x = r.scalar(part);
          const expected = 'a time in ns, > 0 and < 1e9';
          if (r.refusedNonFinite(part, `${what}.${part.name}`, expected)) continue;
          if (x === undefined || typeof x.value !== 'number' || !(x.value > 0 && x.value < 1e9))
            r.error(part, `wrong value for ${what}.${part.name}`, expected, r.describe(part.node));
          else pair[part.name] = x.value;
        }
        if (pair.measuredNs !== undefined && pair.modelNs !== undefined)
          times[field.name] = Object.freeze({ measuredNs: pair.measuredNs, modelNs: pair.modelNs });
      }
    }
  }
  if (rates.hlts > 0 && interruptsPerSecond === 0 && !(rates.ipis > 0 && (vcpus ?? 1) > 1)) {
    r.error(
      pf ?? root,
      'perGuestSecond.hlts > 0 needs interrupts to wake the vCPU',
      'interruptsPerSecond > 0 (or ipis with more than one vCPU)',
      'no interrupts',
    );
  }
  if (rates.ipis > 0 && vcpus === 1)
    r.error(
      pf ?? root,
      'perGuestSecond.ipis needs more than one vCPU to send them to',
      'vcpus >= 2 or ipis: 0',
      '1 vCPU',
    );
  let source: Record<string, unknown> | undefined;
  const sf = f.get('source');
  if (sf !== undefined) {
    const m = r.map(sf, 'source');
    if (m !== undefined) source = m.toJSON() as Record<string, unknown>;
  }
  sink.throwIfAny();
  return Object.freeze({
    name: name!,
    os: os!,
    vcpus: vcpus!,
    x2apic: x2apic!,
    perGuestSecond: Object.freeze(rates as Record<WorkloadRateName, number>),
    interruptsPerSecond: interruptsPerSecond!,
    opaquePerGuestSecond: Object.freeze(opaque),
    ...(Object.keys(times).length > 0 ? { measuredTimePerExit: Object.freeze(times) } : {}),
    ...(source !== undefined ? { source: Object.freeze(source) } : {}),
  });
}

interface ResolvedWorkload {
  readonly spec: WorkloadSpec;
  /** Opaque exits the target cannot take (not simulated), with the reason (core/hypervisor/opaqueExits.ts). */
  readonly dropped: readonly { readonly name: string; readonly reason: string }[];
  /** Opaque exits that land as another exit on the target, in words. */
  readonly mapped: readonly string[];
}

/** The engine's typed form of a profile's rates for a target configuration (its CPU and policy). */
export function workloadSpecFor(profile: WorkloadProfile, traits: PolicyTraits, cpu: CpuProfile): ResolvedWorkload {
  const ops = new Float64Array(WorkloadOp.COUNT);
  WORKLOAD_OP_NAMES.forEach((n, i) => {
    ops[i] = profile.perGuestSecond[n];
  });
  ops[WorkloadOp.CR8_WRITE] /= 2; // the engine executes raise/lower pairs
  const opaque = new Float64Array(EXIT_SLOT_COUNT);
  const dropped: { name: string; reason: string }[] = [];
  const mapped: string[] = [];
  for (const [name, rate] of Object.entries(profile.opaquePerGuestSecond)) {
    if (rate === 0) continue;
    const target = opaqueExitOn(name, traits, cpu);
    if (target.kind === undefined) {
      dropped.push({ name, reason: target.dropped });
      continue;
    }
    if (target.note !== undefined) mapped.push(target.note);
    opaque[target.kind.slot] += rate;
  }
  const spec: WorkloadSpec = {
    opsPerGuestSecond: ops,
    interruptsPerSecond: profile.interruptsPerSecond,
    hltsPerGuestSecond: profile.perGuestSecond.hlts,
    ipisPerGuestSecond: profile.vcpus > 1 ? profile.perGuestSecond.ipis : 0,
    hostInterruptsPerSecond: profile.perGuestSecond.hostInterrupts,
    opaquePerGuestSecond: opaque,
  };
  return { spec, dropped, mapped };
}
