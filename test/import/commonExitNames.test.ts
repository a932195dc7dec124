/** One name per kind of exit for both vendors (src/import/commonExitNames.ts), as what-if prints them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT_KINDS, exitKindByName } from '../../src/core/vcpu/exits.js';
import {
  COMMON_EXIT_NAMES,
  byCommonName,
  commonExitName,
  exitKindsWithoutCommonName,
} from '../../src/import/commonExitNames.js';

test('every exit kind of the model has exactly one common name, of its own vendor', () => {
  assert.deepEqual(exitKindsWithoutCommonName(), []);
  const seen = new Map<string, string>();
  for (const c of COMMON_EXIT_NAMES) {
    for (const [vendor, list] of [
      ['intel', c.intel],
      ['amd', c.amd],
    ] as const) {
      for (const exit of list) {
        assert.equal(exitKindByName(exit)?.vendor, vendor, `${c.name}: ${exit} is an ${vendor} exit kind`);
        assert.ok(!seen.has(exit), `${exit} under ${c.name} and ${seen.get(exit)}`);
        seen.set(exit, c.name);
      }
    }
    assert.ok(c.intel.length + c.amd.length > 0, c.name);
    assert.match(c.name, /^[a-z][a-z0-9-]{0,13}$/, 'short enough for a column');
  }
  assert.equal(seen.size, EXIT_KINDS.length);
  assert.equal(new Set(COMMON_EXIT_NAMES.map((c) => c.name)).size, COMMON_EXIT_NAMES.length, 'names are unique');
});

test('the pairs: CR8 access, external interrupt, MMIO, MSR, APIC, HLT line up across Intel and AMD', () => {
  const same = (a: string, b: string): void => assert.equal(commonExitName(a), commonExitName(b), `${a} ~ ${b}`);
  same('CR_ACCESS', 'VMEXIT_CR8_WRITE');
  same('CR_ACCESS', 'VMEXIT_CR8_READ');
  same('EXTERNAL_INTERRUPT', 'VMEXIT_INTR');
  same('EPT_VIOLATION', 'VMEXIT_NPF');
  same('EPT_MISCONFIG', 'VMEXIT_NPF');
  same('MSR_WRITE', 'VMEXIT_MSR');
  same('MSR_READ', 'VMEXIT_MSR');
  same('APIC_ACCESS', 'VMEXIT_AVIC_NOACCEL');
  same('INTERRUPT_WINDOW', 'VMEXIT_VINTR');
  same('HLT', 'VMEXIT_HLT');
  same('VMCALL', 'VMEXIT_VMMCALL');
  assert.notEqual(commonExitName('EXTERNAL_INTERRUPT'), commonExitName('VMEXIT_NPF'));
  assert.deepEqual(byCommonName({ EPT_VIOLATION: 2, EPT_MISCONFIG: 3, HLT: 1 }), { mmio: 5, hlt: 1 });
  assert.deepEqual(byCommonName({ VMEXIT_NPF: 5, VMEXIT_HLT: 1 }), { mmio: 5, hlt: 1 });
});
