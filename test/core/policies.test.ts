/**
 * Hypervisor policies: resolvePolicy for every policy on every synthetic profile and tunable
 * setting, and the VMCS controls / VMCB intercepts each vCPU ends up with (read from machine.s at
 * the layout's F offsets). Sources: the seed review D22942 "Untangle TPR shadowing and APIC
 * virtualization", bhyve sys/amd64/vmm/intel/vmx.c (vmx_modinit, vmx_vcpu_init,
 * vmx_enable_x2apic_mode_ts / _vid), sys/amd64/vmm/amd/svm.c (vmcb_init), KVM
 * arch/x86/kvm/vmx/vmx.c, svm/svm.c, docs/SOURCES.md section 5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from '../../src/core/vcpu/machine.js';
import { F, Flag, SvmIntercept } from '../../src/core/vcpu/layout.js';
import {
  POLICY_NAMES,
  TUNABLES,
  hypervisorOf,
  resolvePolicy,
  type PolicyName,
  type Tunables,
} from '../../src/core/hypervisor/policy.js';
import { ExitControls, PinBased, ProcBased, ProcBased2 } from '../../src/core/vmx/controls.js';
import { controlWordAllowed, type CpuProfile } from '../../src/core/cpu/profile.js';
import { loadCpuCatalog } from '../../src/profiles/catalog.js';
import { AMD_AVIC, AMD_NO_AVIC, DESKTOP, NO_TPR_SHADOW, SERVER } from '../support/profiles.js';
import { buildMachine } from '../support/machines.js';
import { x2apicOfferedByDefault } from '../../src/core/hypervisor/x2apicOffer.js';

function machine(profile: CpuProfile, policy: PolicyName, x2apic: boolean, tunables: Tunables = {}): Machine {
  const m = buildMachine({ profile, policy, x2apic, tunables });
  m.beginStep(0);
  m.launch();
  return m;
}

interface VmxExpect {
  /** "use TPR shadow" set and CR8-load/-store exiting clear (else the opposite). */
  readonly shadow: boolean;
  readonly apicAccesses?: boolean;
  readonly x2apicMode?: boolean;
  /** APIC-register virtualization and virtual-interrupt delivery. */
  readonly apicv?: boolean;
  readonly posted?: boolean;
}

interface VmxRow {
  readonly policy: PolicyName;
  readonly profile: CpuProfile;
  readonly x2apic: boolean;
  readonly tunables?: Tunables;
  readonly expect: VmxExpect;
  readonly source: string;
  readonly todo?: string;
}

const BHYVE_OLD = 'bhyve 12.1 vmx.c vmx_init: TPR shadow only together with APICv';
const REVIEW =
  'seed review D22942: bhyve vmx.c vmx_modinit sets USE_TPR_SHADOW, clears CR8_LOAD/STORE_EXITING when tpr_shadowing';
const V3_X2 = 'seed review D22942 v3: bhyve vmx.c vmx_enable_x2apic_mode_ts clears USE_TPR_SHADOW, sets CR8 exiting';
const APICV =
  'bhyve vmx.c vmx_modinit/vmx_vcpu_init: virtual_interrupt_delivery -> APIC accesses, register virtualization, VID, posted interrupts';
const APICV_X2 =
  'bhyve vmx.c vmx_enable_x2apic_mode_vid: virtualize x2APIC mode instead of APIC accesses (SDM 26.2.1.1 forbids both)';
const KVM_FLEX = 'KVM vmx.c (flexpriority): TPR shadow + virtualize APIC accesses / x2APIC mode';
const KVM_APICV = 'KVM vmx.c enable_apicv: APICv (register virtualization, VID, posted interrupts)';
const NOCAP = 'SDM appendix A.3.2 "Primary Processor-Based VM-Execution Controls" (use TPR shadow not allowed-1)';

const CR8_EXIT: VmxExpect = { shadow: false };
const SOFT: VmxExpect = { shadow: true };
const FULL_APICV: VmxExpect = { shadow: true, apicAccesses: true, apicv: true, posted: true };
const FULL_APICV_X2: VmxExpect = { shadow: true, x2apicMode: true, apicv: true, posted: true };

const VMX_ROWS: readonly VmxRow[] = [
  // DESKTOP, xAPIC
  { policy: 'bhyve-12.1', profile: DESKTOP, x2apic: false, expect: CR8_EXIT, source: BHYVE_OLD },
  { policy: 'bhyve-tpr-v1', profile: DESKTOP, x2apic: false, expect: SOFT, source: REVIEW },
  { policy: 'bhyve-tpr-v2', profile: DESKTOP, x2apic: false, expect: SOFT, source: REVIEW },
  { policy: 'bhyve-tpr-v3', profile: DESKTOP, x2apic: false, expect: SOFT, source: REVIEW },
  { policy: 'kvm', profile: DESKTOP, x2apic: false, expect: { shadow: true, apicAccesses: true }, source: KVM_FLEX },
  // DESKTOP, x2APIC
  { policy: 'bhyve-12.1', profile: DESKTOP, x2apic: true, expect: CR8_EXIT, source: BHYVE_OLD },
  {
    policy: 'bhyve-tpr-v1',
    profile: DESKTOP,
    x2apic: true,
    expect: SOFT,
    source: `${REVIEW} (v1 does not look at x2APIC)`,
  },
  {
    policy: 'bhyve-tpr-v2',
    profile: DESKTOP,
    x2apic: true,
    expect: SOFT,
    source: `${REVIEW} (v2 "breaks x2apic mode")`,
  },
  { policy: 'bhyve-tpr-v3', profile: DESKTOP, x2apic: true, expect: CR8_EXIT, source: V3_X2 },
  { policy: 'kvm', profile: DESKTOP, x2apic: true, expect: { shadow: true, x2apicMode: true }, source: KVM_FLEX },
  // DESKTOP, tunables
  {
    policy: 'bhyve-tpr-v3',
    profile: DESKTOP,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_tpr_shadowing': 0 },
    expect: CR8_EXIT,
    source: 'bhyve vmx.c vmx_modinit TUNABLE_INT_FETCH("hw.vmm.vmx.use_tpr_shadowing")',
  },
  {
    policy: 'bhyve-tpr-v1',
    profile: DESKTOP,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_tpr_shadowing': 0 },
    expect: CR8_EXIT,
    source: 'bhyve vmx.c vmx_modinit TUNABLE_INT_FETCH("hw.vmm.vmx.use_tpr_shadowing")',
  },
  {
    policy: 'bhyve-tpr-v3',
    profile: DESKTOP,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_apic_vid': 1 },
    expect: SOFT,
    source: `${REVIEW} (no APICv on the CPU, the tunable cannot add it)`,
  },
  {
    policy: 'kvm',
    profile: DESKTOP,
    x2apic: false,
    tunables: { 'kvm_intel.flexpriority': 0 },
    expect: CR8_EXIT,
    source: 'KVM vmx.c flexpriority=0',
  },
  {
    policy: 'kvm',
    profile: DESKTOP,
    x2apic: false,
    tunables: { 'kvm_intel.enable_apicv': 1 },
    expect: { shadow: true, apicAccesses: true },
    source: `${KVM_FLEX} (no APICv on the CPU)`,
  },
  // SERVER, xAPIC
  { policy: 'bhyve-12.1', profile: SERVER, x2apic: false, expect: FULL_APICV, source: `${BHYVE_OLD}; ${APICV}` },
  { policy: 'bhyve-tpr-v1', profile: SERVER, x2apic: false, expect: FULL_APICV, source: APICV },
  { policy: 'bhyve-tpr-v2', profile: SERVER, x2apic: false, expect: FULL_APICV, source: APICV },
  { policy: 'bhyve-tpr-v3', profile: SERVER, x2apic: false, expect: FULL_APICV, source: APICV },
  { policy: 'kvm', profile: SERVER, x2apic: false, expect: FULL_APICV, source: KVM_APICV },
  // SERVER, x2APIC
  { policy: 'bhyve-12.1', profile: SERVER, x2apic: true, expect: FULL_APICV_X2, source: APICV_X2 },
  { policy: 'bhyve-tpr-v2', profile: SERVER, x2apic: true, expect: FULL_APICV_X2, source: APICV_X2 },
  {
    policy: 'bhyve-tpr-v3',
    profile: SERVER,
    x2apic: true,
    expect: FULL_APICV_X2,
    source: `${APICV_X2} (v3's x2APIC rule is for the software path only)`,
  },
  { policy: 'kvm', profile: SERVER, x2apic: true, expect: FULL_APICV_X2, source: KVM_APICV },
  // SERVER, tunables
  {
    policy: 'bhyve-12.1',
    profile: SERVER,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_apic_vid': 0 },
    expect: CR8_EXIT,
    source: `${BHYVE_OLD} (no APICv, no TPR shadow)`,
  },
  {
    policy: 'bhyve-tpr-v1',
    profile: SERVER,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_apic_vid': 0 },
    expect: SOFT,
    source: `${REVIEW} (use_apic_vid=0)`,
  },
  {
    policy: 'bhyve-tpr-v3',
    profile: SERVER,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_apic_vid': 0 },
    expect: SOFT,
    source: `${REVIEW} (use_apic_vid=0)`,
  },
  {
    policy: 'bhyve-tpr-v3',
    profile: SERVER,
    x2apic: true,
    tunables: { 'hw.vmm.vmx.use_apic_vid': 0 },
    expect: CR8_EXIT,
    source: `${V3_X2} (use_apic_vid=0)`,
  },
  {
    policy: 'bhyve-tpr-v3',
    profile: SERVER,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_apic_pir': 0 },
    expect: { ...FULL_APICV, posted: false },
    source: 'bhyve vmx.c vmx_modinit TUNABLE_INT_FETCH("hw.vmm.vmx.use_apic_pir")',
  },
  {
    policy: 'kvm',
    profile: SERVER,
    x2apic: false,
    tunables: { 'kvm_intel.enable_apicv': 0 },
    expect: { shadow: true, apicAccesses: true },
    source: `${KVM_FLEX} (enable_apicv=0)`,
  },
  {
    policy: 'kvm',
    profile: SERVER,
    x2apic: true,
    tunables: { 'kvm_intel.enable_apicv': 0 },
    expect: { shadow: true, x2apicMode: true },
    source: `${KVM_FLEX} (enable_apicv=0)`,
  },
  {
    policy: 'kvm',
    profile: SERVER,
    x2apic: false,
    tunables: { 'kvm_intel.enable_apicv': 0, 'kvm_intel.flexpriority': 0 },
    expect: CR8_EXIT,
    source: 'KVM vmx.c enable_apicv=0 flexpriority=0',
  },
  {
    policy: 'bhyve-tpr-v3',
    profile: SERVER,
    x2apic: false,
    tunables: { 'hw.vmm.vmx.use_tpr_shadowing': 0 },
    expect: CR8_EXIT,
    source: 'bhyve vmx.c vmx_modinit: "if (error == 0 && tpr_shadowing) virtual_interrupt_delivery = 1"',
  },
  // NO_TPR_SHADOW
  ...POLICY_NAMES.flatMap((policy) =>
    [false, true].map((x2apic) => ({ policy, profile: NO_TPR_SHADOW, x2apic, expect: CR8_EXIT, source: NOCAP })),
  ),
];

for (const r of VMX_ROWS) {
  const tun = r.tunables ? ` ${JSON.stringify(r.tunables)}` : '';
  test(
    `[${r.source}] ${r.policy} on ${r.profile.id}${r.x2apic ? ' x2APIC' : ''}${tun}: ${describe(r.expect)}`,
    r.todo ? { todo: r.todo } : {},
    () => {
      const m = machine(r.profile, r.policy, r.x2apic, r.tunables);
      assert.deepEqual(m.entryFailures, []);
      const proc = m.s[F.PROC] >>> 0;
      const proc2 = (proc & ProcBased.ActivateSecondaryControls) !== 0 ? m.s[F.PROC2] : 0;
      const pin = m.s[F.PIN];
      const e = r.expect;
      assert.equal((proc & ProcBased.UseTprShadow) !== 0, e.shadow, 'use TPR shadow');
      assert.equal((proc & ProcBased.Cr8LoadExiting) !== 0, !e.shadow, 'CR8-load exiting');
      assert.equal((proc & ProcBased.Cr8StoreExiting) !== 0, !e.shadow, 'CR8-store exiting');
      assert.equal(
        (proc2 & ProcBased2.VirtualizeApicAccesses) !== 0,
        e.apicAccesses === true,
        'virtualize APIC accesses',
      );
      assert.equal((proc2 & ProcBased2.VirtualizeX2apicMode) !== 0, e.x2apicMode === true, 'virtualize x2APIC mode');
      assert.equal(
        (proc2 & ProcBased2.ApicRegisterVirtualization) !== 0,
        e.apicv === true,
        'APIC-register virtualization',
      );
      assert.equal((proc2 & ProcBased2.VirtualInterruptDelivery) !== 0, e.apicv === true, 'virtual-interrupt delivery');
      assert.equal((pin & PinBased.ProcessPostedInterrupts) !== 0, e.posted === true, 'process posted interrupts');
      if (e.posted)
        assert.ok((m.s[F.EXIT_CTLS] & ExitControls.AcknowledgeInterruptOnExit) !== 0, 'acknowledge interrupt on exit');
      if (e.apicv) assert.ok((pin & PinBased.ExternalInterruptExiting) !== 0, 'external-interrupt exiting');
      // Machine flags follow the controls.
      const f = m.flags(0);
      assert.equal((f & Flag.VID) !== 0, e.apicv === true, 'VID flag');
      assert.equal((f & Flag.POSTED) !== 0, e.posted === true, 'POSTED flag');
      assert.equal((f & Flag.SOFT_TPR_SHADOW) !== 0, e.shadow && e.apicv !== true, 'software TPR-shadow path');
      // Both hypervisors exit on HLT and use MSR bitmaps.
      assert.ok((proc & ProcBased.HltExiting) !== 0 && (proc & ProcBased.UseMsrBitmaps) !== 0);
    },
  );
}

function describe(e: VmxExpect): string {
  const parts = [e.shadow ? 'TPR shadow, no CR8 exiting' : 'CR8 exiting, no TPR shadow'];
  if (e.apicAccesses) parts.push('APIC accesses');
  if (e.x2apicMode) parts.push('x2APIC mode');
  if (e.apicv) parts.push('register virtualization + VID');
  if (e.posted) parts.push('posted interrupts');
  return parts.join(', ');
}

// ------------------------------------------------------------------ traits

interface TraitRow {
  readonly policy: PolicyName;
  readonly profile: CpuProfile;
  readonly tunables?: Tunables;
  readonly expect: Partial<ReturnType<typeof resolvePolicy>>;
  readonly source: string;
}

const TRAIT_ROWS: readonly TraitRow[] = [
  {
    policy: 'bhyve-12.1',
    profile: DESKTOP,
    expect: {
      hypervisor: 'bhyve',
      vid: false,
      tprShadowing: false,
      tprThreshold: 'none',
      pprSync: 'none',
      isrvecStack: true,
      noTprShadowInX2apic: false,
    },
    source: BHYVE_OLD,
  },
  {
    policy: 'bhyve-tpr-v1',
    profile: DESKTOP,
    expect: { tprShadowing: true, tprThreshold: 'none', pprSync: 'every-exit', pprSyncWithVid: false },
    source: 'seed review v1: "On vm exit, vlapic_update_ppr() is called"',
  },
  {
    policy: 'bhyve-tpr-v2',
    profile: DESKTOP,
    expect: {
      tprShadowing: true,
      tprThreshold: 'bhyve',
      pprSync: 'every-exit',
      pprSyncWithVid: true,
      noTprShadowInX2apic: false,
    },
    source: 'seed review v2: TPR thresholds; PPR still updated under VID (the E5-2667 v4 panic)',
  },
  {
    policy: 'bhyve-tpr-v3',
    profile: DESKTOP,
    expect: {
      tprShadowing: true,
      tprThreshold: 'bhyve',
      pprSync: 'interrupt-processing',
      pprSyncWithVid: false,
      noTprShadowInX2apic: true,
    },
    source: 'seed review v3: vlapic_sync_tpr only when interrupts are processed; no TPR shadowing in x2APIC mode',
  },
  {
    policy: 'kvm',
    profile: DESKTOP,
    expect: { hypervisor: 'kvm', tprShadowing: true, tprThreshold: 'kvm', pprSync: 'none', isrvecStack: false },
    source: 'KVM x86.c update_cr8_intercept / vmx_update_cr8_intercept',
  },
  { policy: 'bhyve-tpr-v3', profile: SERVER, expect: { vid: true, postedInterrupts: true }, source: APICV },
  {
    policy: 'bhyve-tpr-v3',
    profile: SERVER,
    tunables: { 'hw.vmm.vmx.use_apic_vid': 0 },
    expect: { vid: false, postedInterrupts: false, tprShadowing: true },
    source: 'bhyve vmx.c TUNABLE_INT_FETCH("hw.vmm.vmx.use_apic_vid")',
  },
  {
    policy: 'kvm',
    profile: SERVER,
    tunables: { 'kvm_intel.enable_apicv': 0 },
    expect: { vid: false, postedInterrupts: false, tprShadowing: true },
    source: 'KVM kvm_intel.enable_apicv=0',
  },
  { policy: 'bhyve-tpr-v3', profile: NO_TPR_SHADOW, expect: { vid: false, tprShadowing: false }, source: NOCAP },
  {
    policy: 'bhyve-tpr-v3',
    profile: AMD_NO_AVIC,
    expect: {
      vendor: 'amd',
      hypervisor: 'bhyve',
      vid: false,
      tprShadowing: false,
      tprThreshold: 'none',
      svmCr8WriteInterceptToggle: false,
      avic: false,
      isrvecStack: true,
    },
    source: 'bhyve svm.c vmcb_init: no CR8 intercept; "on AMD SVM it just works"',
  },
  {
    policy: 'bhyve-12.1',
    profile: AMD_AVIC,
    expect: { avic: false, svmCr8WriteInterceptToggle: false },
    source: 'bhyve svm.c (no AVIC)',
  },
  {
    policy: 'kvm',
    profile: AMD_NO_AVIC,
    expect: { svmCr8WriteInterceptToggle: true, avic: false, isrvecStack: false },
    source: 'KVM svm.c svm_update_cr8_intercept',
  },
  { policy: 'kvm', profile: AMD_AVIC, expect: { avic: false }, source: 'KVM kvm_amd.avic defaults to 0' },
  {
    policy: 'kvm',
    profile: AMD_AVIC,
    tunables: { 'kvm_amd.avic': 1 },
    expect: { avic: true, svmCr8WriteInterceptToggle: true },
    source: 'KVM kvm_amd.avic=1 on an AVIC CPU',
  },
  {
    policy: 'kvm',
    profile: AMD_NO_AVIC,
    tunables: { 'kvm_amd.avic': 1 },
    expect: { avic: false },
    source: 'KVM svm.c avic_hardware_setup: needs CPUID Fn8000_000A EDX[13]',
  },
];

for (const r of TRAIT_ROWS) {
  test(`[${r.source}] resolvePolicy ${r.policy} on ${r.profile.id}${r.tunables ? ` ${JSON.stringify(r.tunables)}` : ''}`, () => {
    const t = resolvePolicy(r.policy, r.profile, r.tunables ?? {});
    for (const [k, v] of Object.entries(r.expect)) assert.deepEqual((t as unknown as Record<string, unknown>)[k], v, k);
    assert.equal(t.name, r.policy);
    assert.equal(t.vendor, r.profile.vendor);
    assert.ok(!t.postedInterrupts || t.vid, 'posted interrupts imply VID');
  });
}

const CAP_SRC = 'seed review D22942: "hw.vmm.vmx.cap.tpr_shadowing to be able to query if TPR shadowing is used"';
for (const [policy, profile, tunables, expected] of [
  ['bhyve-tpr-v1', DESKTOP, {}, 1],
  ['bhyve-tpr-v3', DESKTOP, {}, 1],
  ['bhyve-tpr-v3', DESKTOP, { 'hw.vmm.vmx.use_tpr_shadowing': 0 }, 0],
  ['bhyve-tpr-v2', NO_TPR_SHADOW, {}, 0],
  ['bhyve-12.1', DESKTOP, {}, undefined],
  ['kvm', DESKTOP, {}, undefined],
] as const) {
  test(`[${CAP_SRC}] ${policy} on ${profile.id} ${JSON.stringify(tunables)}: hw.vmm.vmx.cap.tpr_shadowing = ${expected}`, () => {
    const t = resolvePolicy(policy, profile, tunables);
    assert.equal(t.tunables['hw.vmm.vmx.cap.tpr_shadowing'], expected);
    for (const spec of TUNABLES) assert.equal(spec.name in t.tunables, spec.policies.includes(policy), spec.name);
  });
}

// ------------------------------------------------------------------ AMD VMCB

for (const [policy, profile, tunables, avic, toggle] of [
  ['bhyve-tpr-v3', AMD_NO_AVIC, {}, false, false],
  ['bhyve-12.1', AMD_AVIC, {}, false, false],
  ['kvm', AMD_NO_AVIC, {}, false, true],
  ['kvm', AMD_AVIC, { 'kvm_amd.avic': 1 }, true, true],
] as const) {
  test(`[APM vol. 2 15.21.2 "Virtualizing APIC.TPR"; bhyve svm.c vmcb_init; KVM svm.c init_vmcb] ${policy} on ${profile.id}: V_INTR_MASKING, INTR/HLT/MSR intercepts, no CR8 intercept at start${avic ? ', AVIC' : ''}`, () => {
    const m = machine(profile, policy, false, tunables);
    assert.equal(m.s[F.V_INTR_MASKING], 1);
    const i = m.s[F.SVM_INTERCEPTS];
    assert.equal(
      i & (SvmIntercept.INTR | SvmIntercept.HLT | SvmIntercept.MSR),
      SvmIntercept.INTR | SvmIntercept.HLT | SvmIntercept.MSR,
    );
    assert.equal(i & (SvmIntercept.CR8_READ | SvmIntercept.CR8_WRITE), 0);
    assert.equal((m.flags(0) & Flag.AVIC) !== 0, avic);
    assert.equal(m.traits.svmCr8WriteInterceptToggle, toggle);
    assert.equal(m.s[F.PROC], 0, 'no VMCS on AMD');
  });
}

// ------------------------------------------------------------------ never beyond the CPU

const CATALOG = loadCpuCatalog();
const ALL_PROFILES: readonly CpuProfile[] = [DESKTOP, SERVER, NO_TPR_SHADOW, AMD_NO_AVIC, AMD_AVIC, ...CATALOG];
const TUNABLE_SETS: readonly Tunables[] = [
  {},
  { 'hw.vmm.vmx.use_tpr_shadowing': 0 },
  { 'hw.vmm.vmx.use_apic_vid': 0 },
  { 'hw.vmm.vmx.use_apic_pir': 0 },
  { 'kvm_intel.enable_apicv': 0 },
  { 'kvm_intel.flexpriority': 0 },
  { 'kvm_amd.avic': 1 },
];

test('[SDM appendix A.3 "VM-Execution Controls", A.4 "VM-Exit Controls"; SDM 26.2.1.1] no policy enables a control the profile lacks, and every default VMCS launches', () => {
  let checked = 0;
  for (const profile of ALL_PROFILES) {
    for (const policy of POLICY_NAMES) {
      for (const tunables of TUNABLE_SETS) {
        const known = Object.keys(tunables).every((k) => TUNABLES.find((s) => s.name === k)!.policies.includes(policy));
        if (!known) continue;
        for (const x2apic of [false, true]) {
          const m = machine(profile, policy, x2apic, tunables);
          const what = `${policy} on ${profile.id} ${JSON.stringify(tunables)} x2apic=${x2apic}`;
          assert.deepEqual(m.entryFailures, [], what);
          if (profile.vendor === 'intel') {
            const caps = profile.vmx!;
            const proc = m.s[F.PROC] >>> 0;
            assert.ok(controlWordAllowed(m.s[F.PIN], caps.pinBased), `${what}: pin-based`);
            assert.ok(controlWordAllowed(proc, caps.procBased), `${what}: primary`);
            if (proc & ProcBased.ActivateSecondaryControls)
              assert.ok(controlWordAllowed(m.s[F.PROC2], caps.procBased2), `${what}: secondary`);
            else assert.equal(m.s[F.PROC2], 0, what);
            assert.ok(controlWordAllowed(m.s[F.EXIT_CTLS], caps.exit), `${what}: exit`);
            // CR8 exiting and the TPR shadow are complementary: exactly one way to handle CR8.
            assert.notEqual(
              (proc & ProcBased.UseTprShadow) !== 0,
              (proc & ProcBased.Cr8LoadExiting) !== 0,
              `${what}: CR8 handling`,
            );
          } else {
            assert.ok(!(m.flags(0) & Flag.AVIC) || profile.svm?.avic === true, `${what}: AVIC needs the CPU`);
          }
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 200, `${checked} configurations`);
});

test(`policies.test.ts has at least 40 table rows (${VMX_ROWS.length + TRAIT_ROWS.length + 10})`, () => {
  assert.ok(VMX_ROWS.length + TRAIT_ROWS.length + 10 >= 40);
});

test('a policy names its hypervisor in one place (hypervisorOf): the resolved traits and the x2APIC offer follow it', () => {
  for (const p of POLICY_NAMES) {
    const hv = hypervisorOf(p);
    assert.equal(hv, p === 'kvm' ? 'kvm' : 'bhyve', p);
    for (const cpu of [SERVER, AMD_AVIC]) assert.equal(resolvePolicy(p, cpu, {}).hypervisor, hv, `${p} on ${cpu.id}`);
    assert.equal(x2apicOfferedByDefault(p), hv === 'kvm', p);
  }
});
