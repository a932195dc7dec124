/**
 * Where an opaque exit measured on one host lands on another (src/core/hypervisor/opaqueExits.ts):
 * the same exit, its counterpart, or dropped because the target lacks the feature that causes it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { opaqueExitOn } from '../../src/core/hypervisor/opaqueExits.js';
import { resolvePolicy, type PolicyName, type Tunables } from '../../src/core/hypervisor/policy.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';

const catalog = loadCpuCatalog();

interface Row {
  readonly what: string;
  readonly source: string;
  readonly exit: string;
  readonly cpu: string;
  readonly policy: PolicyName;
  readonly tunables?: Tunables;
  /** The exit it lands as, or `dropped` with a fragment of the reason. */
  readonly expected: string | { readonly dropped: RegExp };
}

const ROWS: readonly Row[] = [
  {
    what: 'PAUSE-loop exits under KVM on a CPU with PLE',
    source: 'SDM vol. 3 "Controls for PAUSE-Loop Exiting"; KVM vmx.c (ple_gap 128 by default)',
    exit: 'PAUSE',
    cpu: 'xeon-e5-2667v4',
    policy: 'kvm',
    expected: 'PAUSE',
  },
  {
    what: 'no PAUSE-loop exits with kvm_intel.ple_gap=0',
    source: 'KVM vmx.c: ple_gap 0 leaves the control clear',
    exit: 'PAUSE',
    cpu: 'xeon-e5-2667v4',
    policy: 'kvm',
    tunables: { 'kvm_intel.ple_gap': 0 },
    expected: { dropped: /ple_gap = 0/ },
  },
  {
    what: 'no PAUSE-loop exits under bhyve',
    source: 'freebsd-src sys/amd64/vmm/intel/vmx.c PROCBASED_CTLS2_ZERO_SETTING',
    exit: 'PAUSE',
    cpu: 'xeon-e5-2667v4',
    policy: 'bhyve-12.1',
    expected: { dropped: /bhyve never sets PAUSE-loop exiting/ },
  },
  {
    what: 'TPR-below-threshold exits need a threshold: KVM with FlexPriority on a desktop CPU',
    source: 'SDM vol. 3 "TPR Virtualization"; KVM update_cr8_intercept',
    exit: 'TPR_BELOW_THRESHOLD',
    cpu: 'i7-6700K',
    policy: 'kvm',
    expected: 'TPR_BELOW_THRESHOLD',
  },
  {
    what: 'no TPR-below-threshold exits with virtual-interrupt delivery (APICv on the Xeon)',
    source: 'SDM vol. 3 "TPR Virtualization": the threshold is used only when VID is 0',
    exit: 'TPR_BELOW_THRESHOLD',
    cpu: 'xeon-e5-2667v4',
    policy: 'kvm',
    expected: { dropped: /virtual-interrupt delivery/ },
  },
  {
    what: 'no TPR-below-threshold exits under bhyve 12.1 on a desktop CPU (no TPR shadow at all)',
    source: 'seed: bhyve 12.1 ties the TPR shadow to APIC virtualization',
    exit: 'TPR_BELOW_THRESHOLD',
    cpu: 'i7-2620M',
    policy: 'bhyve-12.1',
    expected: { dropped: /no TPR threshold/ },
  },
  {
    what: 'APIC-write exits need APIC-register virtualization',
    source: 'SDM vol. 3 "APIC-Write Emulation"',
    exit: 'APIC_WRITE',
    cpu: 'i7-6700K',
    policy: 'kvm',
    expected: { dropped: /APIC-register virtualization/ },
  },
  {
    what: 'APIC-write exits with APICv',
    source: 'SDM vol. 3 "APIC-Write Emulation"',
    exit: 'APIC_WRITE',
    cpu: 'xeon-e5-2667v4',
    policy: 'kvm',
    expected: 'APIC_WRITE',
  },
  {
    what: 'EOI-induced exits need virtual-interrupt delivery',
    source: 'SDM vol. 3 "EOI Virtualization"',
    exit: 'VIRTUALIZED_EOI',
    cpu: 'xeon-e5-2667v4',
    policy: 'kvm',
    tunables: { 'kvm_intel.enable_apicv': 0 },
    expected: { dropped: /virtual-interrupt delivery/ },
  },
  {
    what: 'the VMX-preemption timer under KVM',
    source: 'KVM kvm_intel.preemption_timer (default on)',
    exit: 'VMX_PREEMPTION_TIMER',
    cpu: 'xeon-e5-2667v4',
    policy: 'kvm',
    expected: 'VMX_PREEMPTION_TIMER',
  },
  {
    what: 'bhyve never arms the VMX-preemption timer',
    source: 'freebsd-src sys/amd64/vmm/intel/vmx.c (pin-based controls without it)',
    exit: 'VMX_PREEMPTION_TIMER',
    cpu: 'xeon-e5-2667v4',
    policy: 'bhyve-12.1',
    expected: { dropped: /bhyve does not use/ },
  },
  {
    what: 'the VMX-preemption timer has no SVM counterpart',
    source: 'AMD APM vol. 2 appendix C',
    exit: 'VMX_PREEMPTION_TIMER',
    cpu: 'epyc-7281',
    policy: 'kvm',
    expected: { dropped: /no SVM counterpart/ },
  },
  {
    what: 'KVM MMIO emulation: EPT misconfiguration on Intel is a nested page fault on AMD',
    source: 'KVM handle_ept_misconfig / npf_interception',
    exit: 'EPT_MISCONFIG',
    cpu: 'epyc-7281',
    policy: 'kvm',
    expected: 'VMEXIT_NPF',
  },
  {
    what: 'bhyve emulates device MMIO on EPT violations, never misconfigurations',
    source: 'freebsd-src vmx.c EXIT_REASON_EPT_FAULT -> vm_handle_inst_emul',
    exit: 'EPT_MISCONFIG',
    cpu: 'i7-2620M',
    policy: 'bhyve-12.1',
    expected: 'EPT_VIOLATION',
  },
  {
    what: 'AVIC exits need AVIC (kvm_amd.avic defaults to 0)',
    source: 'AMD APM vol. 2 "Advanced Virtual Interrupt Controller"; KVM kvm_amd.avic',
    exit: 'VMEXIT_AVIC_NOACCEL',
    cpu: 'epyc-7281',
    policy: 'kvm',
    expected: { dropped: /AVIC is not in use/ },
  },
  {
    what: 'AVIC exits with AVIC on',
    source: 'AMD APM vol. 2 "Advanced Virtual Interrupt Controller"',
    exit: 'VMEXIT_AVIC_INCOMPLETE_IPI',
    cpu: 'epyc-7281',
    policy: 'kvm',
    tunables: { 'kvm_amd.avic': 1 },
    expected: 'VMEXIT_AVIC_INCOMPLETE_IPI',
  },
  {
    what: 'an exit any configuration of the vendor can take stays as it is',
    source: 'SDM vol. 3 "Instructions That Cause VM Exits Unconditionally" (XSETBV)',
    exit: 'XSETBV',
    cpu: 'i7-2620M',
    policy: 'bhyve-12.1',
    expected: 'XSETBV',
  },
];

describe('opaque exits on a target configuration', () => {
  for (const row of ROWS) {
    it(`${row.what} (${row.source})`, () => {
      const cpu = findCpuProfile(catalog, row.cpu);
      const got = opaqueExitOn(row.exit, resolvePolicy(row.policy, cpu, row.tunables ?? {}), cpu);
      if (typeof row.expected === 'string') {
        assert.equal(got.kind?.name, row.expected, JSON.stringify(got));
      } else {
        assert.equal(got.kind, undefined);
        assert.match('dropped' in got ? got.dropped : '', row.expected.dropped);
      }
    });
  }
});
