/**
 * Matrix variant names say what they set: a value that is a bare number or boolean is named
 * KEY=VALUE (`cores=2`, `x2apic=false`, a tunable by its full name `kvm_amd.avic=1`); ids and
 * enlightenment lists name themselves. A name written the old way (the bare value) is refused at
 * its file:line:col with the new name, never a silent no-match.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { parseScenario } from '../../src/scenario/load.js';
import { parseValidationCase } from '../../src/validation/load.js';
import { ROOT, rejected } from './helpers.js';

const head =
  'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3 }\nguests: [{ os: windows-10-1909 }]\n';
const noPolicy = 'name: m\nhost: { cpu: i7-2620M }\nguests: [{ os: windows-10-1909 }]\n';
const names = (matrix: string, base = head): string[] =>
  parseScenario(`${base}matrix:\n${matrix}`, 'm.yaml').variants.map((v) => v.name);

describe('variant names per matrix key', () => {
  it('cores and x2apic are named KEY=VALUE', () => {
    assert.deepEqual(names('  cores: [2, 4]\n'), ['cores=2', 'cores=4']);
    assert.deepEqual(names('  x2apic: [false, true]\n'), ['x2apic=false', 'x2apic=true']);
  });

  it('a tunable is named by its full name as written after tunables.', () => {
    const amd =
      'name: m\nhost: { cpu: ryzen-5-3600x }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-10-1909 }]\n';
    assert.deepEqual(names('  tunables.kvm_amd.avic: [0, 1]\n', amd), ['kvm_amd.avic=0', 'kvm_amd.avic=1']);
    const kvm = 'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-10-1909 }]\n';
    assert.deepEqual(names('  tunables.kvm.halt_poll_ns: [0, 200000]\n', kvm), [
      'kvm.halt_poll_ns=0',
      'kvm.halt_poll_ns=200000',
    ]);
  });

  it('policy, cpu and enlightenment values name themselves', () => {
    assert.deepEqual(names('  policy: [bhyve-12.1, kvm]\n', noPolicy), ['bhyve-12.1', 'kvm']);
    assert.deepEqual(
      names('  cpu: [i7-2620m, epyc-7281]\n', 'name: m\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\n'),
      ['i7-2620M', 'epyc-7281'],
    );
    const kvm = 'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-10-1909 }]\n';
    assert.deepEqual(names('  enlightenments: [none, [hv-relaxed, hv-time]]\n', kvm), ['none', 'hv-relaxed+hv-time']);
  });

  it('joins the parts with "/" in key order', () => {
    assert.deepEqual(
      names(
        '  policy: [bhyve-tpr-v1]\n  cores: [4]\n  x2apic: [true]\n  tunables.hw.vmm.vmx.use_tpr_shadowing: [0]\n',
        noPolicy,
      ),
      ['bhyve-tpr-v1/cores=4/x2apic=true/hw.vmm.vmx.use_tpr_shadowing=0'],
    );
  });
});

describe('a variant written the old way (bare values)', () => {
  const avic =
    'name: m\nhost: { cpu: ryzen-5-3600x }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-10-1909 }]\nmatrix:\n  tunables.kvm_amd.avic: [0, 1]\nthresholds:\n';

  it('in a threshold label is refused at the key with the new name', () => {
    const e = rejected(`${avic}  exits_per_second{variant="1"}: ["> 0"]\n`, 'avic.yaml');
    const d = e.diagnostics[0];
    assert.equal(`${d.file}:${d.line}:${d.column}`, 'avic.yaml:8:3');
    assert.match(d.message, /unknown variant "1": variant "1" is now named "kvm_amd\.avic=1"/);
    assert.match(e.message, /^avic\.yaml:8:3: error: unknown variant "1"/);
  });

  it('in ratio(...) is refused with the new name of each side', () => {
    const e = rejected(
      `${avic}  ratio(exits_per_second, variant="1", variant="kvm_amd.avic=0"): ["< 1"]\n`,
      'avic.yaml',
    );
    assert.equal(e.diagnostics[0].line, 8);
    assert.match(e.diagnostics[0].message, /variant "1" is now named "kvm_amd\.avic=1"/);
    const both = rejected(`${avic}  ratio(exits_per_second, variant="kvm_amd.avic=1", variant="0"): ["< 1"]\n`);
    assert.match(both.diagnostics[0].message, /variant "0" is now named "kvm_amd\.avic=0"/);
  });

  it('a combination of several keys maps to its new name', () => {
    const e = rejected(
      `${noPolicy}matrix:\n  policy: [bhyve-tpr-v1, bhyve-tpr-v3]\n  cores: [2]\n  x2apic: [false, true]\nthresholds:\n  exits_total{variant="bhyve-tpr-v3/2/true"}: ["> 0"]\n`,
    );
    assert.match(
      e.diagnostics[0].message,
      /variant "bhyve-tpr-v3\/2\/true" is now named "bhyve-tpr-v3\/cores=2\/x2apic=true"/,
    );
  });

  it('the new names load', () => {
    const s = parseScenario(
      `${avic}  ratio(exits_per_second, variant="kvm_amd.avic=1", variant="kvm_amd.avic=0"): ["< 1"]\n`,
      'avic.yaml',
    );
    assert.equal(s.thresholds.length, 1);
  });
});

describe('a validation case naming a variant the old way', () => {
  it('is refused at the value with the new name', () => {
    const file = join(ROOT, 'data', 'validation', 'did-direct-interrupt-delivery-2015.yaml');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.includes('variant: "kvm_intel.enable_apicv=1", relativeTo: "kvm_intel.enable_apicv=0"'));
    const old = text.replaceAll('variant: "kvm_intel.enable_apicv=1"', 'variant: "1"');
    const line = old.split('\n').findIndex((l) => l.includes('variant: "1"')) + 1;
    try {
      parseValidationCase(old, 'did-direct-interrupt-delivery-2015.yaml');
      assert.fail('expected the case to be refused');
    } catch (e) {
      assert.ok(e instanceof ScenarioError, String(e));
      const d = e.diagnostics[0];
      assert.equal(d.line, line);
      assert.equal(d.column, old.split('\n')[line - 1].indexOf('"1"') + 1);
      assert.match(d.message, /unknown variant "1" in variant: variant "1" is now named "kvm_intel\.enable_apicv=1"/);
    }
  });
});

test('matrix.cpu spelt in another case (i7-6700k, as ids are looked up) names its variant by the profile id', () => {
  // The variant was named as written (i7-6700k), so a threshold on variant "i7-6700K", the id
  // `vmexit-lab list cpus` prints, was refused, and two scenarios' results did not pair in compare.
  const s = parseScenario(
    `name: x
host: { cores: 4 }
hypervisor: { policy: kvm }
guests: [{ os: ubuntu-18.04 }]
duration: 1s
matrix:
  cpu: [i7-6700k, XEON-E5-2667V4]
thresholds:
  exits_per_second{variant="i7-6700K"}: ["< 100000"]
`,
    'x.yaml',
  );
  assert.deepEqual(
    s.variants.map((v) => v.name),
    ['i7-6700K', 'xeon-e5-2667v4'],
  );
});
