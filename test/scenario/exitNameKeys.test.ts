/**
 * A workload profile's maps keyed by exit name (opaquePerGuestSecond, measuredTimePerExit): an
 * unknown name far from every known one listed none (`unknown key "FOO" in opaquePerGuestSecond`:
 * 46 names, past the Reader's plain list of 16); now the accepted names by vendor, as a threshold's
 * unknown reason lists them (polish41). A near name still gets its did-you-mean, and a name as
 * perf or kvm_stat print it (`npf`, `msr`, `NPF`, `PAUSE_INSTRUCTION`) the model's name of that exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';

const PROFILE = `workloadProfile: 1
name: web
os: ubuntu-18.04
perGuestSecond:
  cpuid: 10
`;

function firstError(extra: string): { message: string; line: number; column: number } {
  try {
    parseWorkloadProfile(PROFILE + extra, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    return e.diagnostics[0];
  }
  assert.fail('expected an error');
}

for (const [map, entry] of [
  ['opaquePerGuestSecond', '5'],
  ['measuredTimePerExit', '{ measuredNs: 500, modelNs: 400 }'],
] as const) {
  test(`an unknown exit name in ${map} lists the accepted names by vendor`, () => {
    const d = firstError(`${map}:\n  FOO: ${entry}\n`);
    assert.deepEqual([d.line, d.column], [7, 3]);
    assert.match(d.message, new RegExp(`^unknown key "FOO" in ${map} \\(known keys: VT-x: EXCEPTION_NMI, `));
    assert.match(d.message, /, EPT_MISCONFIG, .*; SVM: VMEXIT_CR8_READ, .*VMEXIT_NPF, .*VMEXIT_XSETBV\)$/);
  });

  test(`a near exit name in ${map} gets its did-you-mean`, () => {
    assert.equal(
      firstError(`${map}:\n  EPT_MISCONFG: ${entry}\n`).message,
      'unknown key "EPT_MISCONFG" (did you mean "EPT_MISCONFIG"?)',
    );
  });

  // perf prints AMD exits in lower case, by the Linux table's names (src/input/perfExitNames.ts):
  // `npf` and `vintr` got no did-you-mean, `msr` got MSR_READ and `hlt` VT-x's HLT (polish44).
  test(`an exit name in ${map} as perf or kvm_stat print it points at the model's name of that exit`, () => {
    const said = (key: string): string => firstError(`${map}:\n  ${key}: ${entry}\n`).message;
    for (const [key, name, why] of [
      ['npf', 'VMEXIT_NPF', "perf's name of SVM exit code 0x400"],
      ['msr', 'VMEXIT_MSR', "perf's name of SVM exit code 0x7c"],
      ['vintr', 'VMEXIT_VINTR', "perf's name of SVM exit code 0x64"],
      ['interrupt', 'VMEXIT_INTR', "perf's name of SVM exit code 0x60"],
      ['io', 'VMEXIT_IOIO', "perf's name of SVM exit code 0x7b"],
      ['hlt', 'VMEXIT_HLT', "perf's name of SVM exit code 0x78"],
      ['avic_unaccelerated_access', 'VMEXIT_AVIC_NOACCEL', "perf's name of SVM exit code 0x402"],
      ['NPF', 'VMEXIT_NPF', "kvm_stat's name of SVM exit code 0x400"],
      ['PAUSE_INSTRUCTION', 'PAUSE', "perf's name of VT-x exit reason 40"],
      ['PREEMPTION_TIMER', 'VMX_PREEMPTION_TIMER', "perf's name of VT-x exit reason 52"],
    ] as const) {
      assert.equal(said(key), `unknown key "${key}" (did you mean "${name}"? "${key}" is ${why})`);
    }
  });
}

test('a workload profile with the name the did-you-mean gives is read', () => {
  const p = parseWorkloadProfile(`${PROFILE}opaquePerGuestSecond:\n  VMEXIT_NPF: 5\n`, 'p.yaml');
  assert.equal(p.opaquePerGuestSecond.VMEXIT_NPF, 5);
});
