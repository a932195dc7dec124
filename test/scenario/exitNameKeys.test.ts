/**
 * A workload profile's maps keyed by exit name (opaquePerGuestSecond, measuredTimePerExit): an
 * unknown name far from every known one listed none (`unknown key "FOO" in opaquePerGuestSecond`:
 * 46 names, past the Reader's plain list of 16); now the accepted names by vendor, as a threshold's
 * unknown reason lists them (polish41). A near name still gets its did-you-mean.
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
    assert.equal(firstError(`${map}:\n  hlt: ${entry}\n`).message, 'unknown key "hlt" (did you mean "HLT"?)');
  });
}
