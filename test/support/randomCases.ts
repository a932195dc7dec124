/**
 * Random guest-operation cases for the property tests of test/core (fast-check, fixed seed): every
 * correct policy and profile (bhyve-12.1, review v1 and v3, KVM on the DESKTOP and SERVER profiles;
 * bhyve and KVM on the AMD profiles, with and without AVIC), 1-2 vCPUs, xAPIC or x2APIC, and the
 * ops a guest issues. Review v2 is not here: it is the policy the properties reject.
 */
import fc from 'fast-check';
import { HvFeature, type Machine, type HypervSetup } from '../../src/core/vcpu/machine.js';
import type { PolicyName, Tunables } from '../../src/core/hypervisor/policy.js';
import type { ScriptOp } from '../../src/core/script/ops.js';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { ApicOffset } from '../../src/core/apic/registers.js';
import { AMD_AVIC, AMD_NO_AVIC, DESKTOP, NO_TPR_SHADOW, SERVER } from './profiles.js';
import { buildMachine } from './machines.js';

export const SEED = 0x7e57c0de;

export interface Config {
  readonly label: string;
  readonly profile: CpuProfile;
  readonly policy: PolicyName;
  readonly tunables?: Tunables;
  readonly hyperv?: HypervSetup;
}

export const CORRECT: readonly Config[] = [
  ...(['bhyve-12.1', 'bhyve-tpr-v1', 'bhyve-tpr-v3', 'kvm'] as const).flatMap((policy) => [
    { label: `${policy}/DESKTOP`, profile: DESKTOP, policy },
    { label: `${policy}/SERVER`, profile: SERVER, policy },
  ]),
  {
    label: 'bhyve-tpr-v3/SERVER use_apic_vid=0',
    profile: SERVER,
    policy: 'bhyve-tpr-v3',
    tunables: { 'hw.vmm.vmx.use_apic_vid': 0 },
  },
  {
    label: 'bhyve-tpr-v3/SERVER use_apic_pir=0',
    profile: SERVER,
    policy: 'bhyve-tpr-v3',
    tunables: { 'hw.vmm.vmx.use_apic_pir': 0 },
  },
  { label: 'kvm/SERVER enable_apicv=0', profile: SERVER, policy: 'kvm', tunables: { 'kvm_intel.enable_apicv': 0 } },
  {
    // SynIC AutoEOI on vector 0x50: APICv inhibited, 0x50 delivered without ISR (hypervisor/hyperv.ts)
    label: 'kvm/SERVER hv-synic AutoEOI',
    profile: SERVER,
    policy: 'kvm',
    hyperv: { features: HvFeature.VAPIC | HvFeature.SYNIC | HvFeature.STIMER | HvFeature.TIME, autoEoiVector: 0x50 },
  },
  { label: 'kvm/DESKTOP hv-vapic', profile: DESKTOP, policy: 'kvm', hyperv: { features: HvFeature.VAPIC } },
  { label: 'bhyve-tpr-v3/NO_TPR_SHADOW', profile: NO_TPR_SHADOW, policy: 'bhyve-tpr-v3' },
  { label: 'bhyve/AMD', profile: AMD_NO_AVIC, policy: 'bhyve-tpr-v3' },
  { label: 'bhyve-12.1/AMD', profile: AMD_NO_AVIC, policy: 'bhyve-12.1' },
  { label: 'kvm/AMD', profile: AMD_NO_AVIC, policy: 'kvm' },
  { label: 'kvm/AMD AVIC', profile: AMD_AVIC, policy: 'kvm', tunables: { 'kvm_amd.avic': 1 } },
];

/** A machine of `c` with `vcpus` vCPUs (APIC ids 0..n-1), all xAPIC or all x2APIC. */
export function configMachine(c: Config, vcpus: number, x2apic: boolean): Machine {
  return buildMachine({ ...c, vcpus, x2apic });
}

/** One guest operation, as runScript does it. */
export function apply(m: Machine, op: ScriptOp): void {
  const v = op.cpu;
  switch (op.op) {
    case 'write_cr8':
      m.writeCr8(v, op.value);
      break;
    case 'read_cr8':
      m.readCr8(v);
      break;
    case 'interrupt':
      m.raiseInterrupt(v, op.vector, op.level);
      break;
    case 'eoi':
      m.eoi(v);
      break;
    case 'iret':
      m.iret(v);
      break;
    case 'write_apic':
      m.writeApic(v, op.offset, op.value);
      break;
    case 'read_apic':
      m.readApic(v, op.offset);
      break;
    case 'wrmsr':
      m.wrmsr(v, op.msr, op.low, op.high);
      break;
    case 'rdmsr':
      m.rdmsr(v, op.msr);
      break;
    case 'sti':
      m.sti(v);
      break;
    case 'cli':
      m.cli(v);
      break;
    case 'hlt':
      m.hlt(v);
      break;
    case 'ipi':
      m.sendIpi(v, op.to, op.vector);
      break;
    case 'io':
      m.ioInstruction(v, op.port);
      break;
    case 'cpuid':
      m.cpuid(v);
      break;
  }
}

/**
 * A guest does not execute instructions while it sleeps in HLT: an op of a halted vCPU other than an
 * external interrupt is replaced by an interrupt to it (what wakes a real halted vCPU).
 */
export function realistic(m: Machine, op: ScriptOp): ScriptOp {
  if (op.op === 'interrupt' || !m.isHalted(op.cpu)) return op;
  return { op: 'interrupt', cpu: op.cpu, vector: 0x20 + ((op.cpu * 37 + m.step * 11) % 0xe0), level: false };
}

export function opArb(vcpus: number): fc.Arbitrary<ScriptOp> {
  const cpu = fc.integer({ min: 0, max: vcpus - 1 });
  const vector = fc.integer({ min: 0x20, max: 0xff });
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ op: fc.constant('write_cr8' as const), cpu, value: fc.integer({ min: 0, max: 15 }) }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('read_cr8' as const), cpu }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('interrupt' as const), cpu, vector, level: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('eoi' as const), cpu }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('iret' as const), cpu }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('sti' as const), cpu }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cli' as const), cpu }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('hlt' as const), cpu }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('io' as const), cpu, port: fc.integer({ min: 0, max: 0xffff }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cpuid' as const), cpu }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('write_apic' as const),
        cpu,
        offset: fc.constant(ApicOffset.Tpr),
        value: fc.integer({ min: 0, max: 0xff }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('read_apic' as const),
        cpu,
        offset: fc.constantFrom(ApicOffset.Ppr, ApicOffset.Tpr, ApicOffset.Isr0 + 0x60),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('wrmsr' as const),
        cpu,
        // x2APIC TPR; Hyper-V EOI and TPR (hv-vapic; #GP after the exit without it)
        msr: fc.constantFrom(0x808, 0x40000070, 0x40000072),
        low: fc.integer({ min: 0, max: 0xff }),
        high: fc.constant(0),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('rdmsr' as const), cpu, msr: fc.constantFrom(0x808, 0x80a) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('ipi' as const),
        cpu,
        to: fc.integer({ min: 0, max: vcpus - 1 }),
        vector,
      }),
    },
  );
}

export interface Case {
  config: Config;
  vcpus: number;
  x2apic: boolean;
  ops: ScriptOp[];
}

export function caseArb(maxOps: number): fc.Arbitrary<Case> {
  return fc
    .record({ config: fc.constantFrom(...CORRECT), vcpus: fc.integer({ min: 1, max: 2 }), x2apic: fc.boolean() })
    .chain(({ config, vcpus, x2apic }) =>
      fc
        .array(opArb(vcpus), { minLength: 1, maxLength: maxOps, size: 'max' })
        .map((ops) => ({ config, vcpus, x2apic, ops })),
    );
}

export const describeCase = (c: Case): string => `${c.config.label} vcpus=${c.vcpus} x2apic=${c.x2apic}`;
