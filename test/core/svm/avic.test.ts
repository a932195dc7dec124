/** Which vCPUs run with AVIC (src/core/svm/avic.ts); the AVIC rows are in apicAccess.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Flag } from '../../../src/core/vcpu/layout.js';
import { AMD_AVIC, AMD_NO_AVIC } from '../../support/profiles.js';
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
