/** Which vCPUs run with AVIC (src/core/svm/avic.ts); the AVIC rows are in apicAccess.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Flag } from '../../../src/core/vcpu/layout.js';
import { AMD_AVIC, AMD_NO_AVIC } from '../../support/profiles.js';
import type { CpuProfile } from '../../../src/core/cpu/profile.js';
import { buildMachine } from '../../support/machines.js';
import { AV } from './table.js';

test('[APM vol. 2 15.29 "Advanced Virtual Interrupt Controller"] AVIC flag only for KVM with kvm_amd.avic=1 on an AVIC CPU and an xAPIC guest', () => {
  assert.ok((buildMachine(AV).flags(0) & Flag.AVIC) !== 0);
  assert.equal(buildMachine({ ...AV, x2apic: true }).flags(0) & Flag.AVIC, 0);
  assert.equal(buildMachine({ ...AV, profile: AMD_NO_AVIC }).flags(0) & Flag.AVIC, 0);
  assert.equal(buildMachine({ profile: AMD_AVIC, policy: 'bhyve-tpr-v3' }).flags(0) & Flag.AVIC, 0);
  const two = buildMachine({ ...AV, vcpus: 2 });
  assert.ok((two.s[F.STRIDE + F.FLAGS] & Flag.AVIC) !== 0);
});

const AMD_X2AVIC: CpuProfile = { ...AMD_AVIC, id: 'test-amd-x2avic', svm: { ...AMD_AVIC.svm!, x2avic: true } };

// KVM under AVIC_MODE_X1 (no x2AVIC) inhibits AVIC for a VM whose CPUID offers x2APIC, whether the
// guest switches to it or not (arch/x86/kvm/svm/avic.c avic_vcpu_after_set_cpuid,
// APICV_INHIBIT_REASON_X2APIC); a CPU with x2AVIC keeps it for an xAPIC-mode guest.
const OFFER_ROWS: readonly { what: string; profile: CpuProfile; x2apic: boolean; offered: boolean; avic: boolean }[] = [
  { what: 'xAPIC guest, x2APIC hidden', profile: AMD_AVIC, x2apic: false, offered: false, avic: true },
  {
    what: 'xAPIC guest (Windows) offered x2APIC, no x2AVIC',
    profile: AMD_AVIC,
    x2apic: false,
    offered: true,
    avic: false,
  },
  { what: 'x2APIC-mode guest, no x2AVIC', profile: AMD_AVIC, x2apic: true, offered: true, avic: false },
  {
    what: 'xAPIC guest offered x2APIC on an x2AVIC CPU',
    profile: AMD_X2AVIC,
    x2apic: false,
    offered: true,
    avic: true,
  },
];
for (const row of OFFER_ROWS)
  test(`[KVM APICV_INHIBIT_REASON_X2APIC] AVIC for ${row.what}: ${row.avic}`, () => {
    const m = buildMachine({ ...AV, profile: row.profile, x2apic: row.x2apic, x2apicOffered: row.offered });
    assert.equal((m.flags(0) & Flag.AVIC) !== 0, row.avic);
  });
