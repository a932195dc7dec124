import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { MAX_VARIANTS } from '../../src/scenario/matrix.js';
import type { ModelledGuestSpec } from '../../src/scenario/types.js';
import { FIXTURES } from './helpers.js';

describe('matrix expansion', () => {
  it('is the cartesian product in key order, last key fastest', () => {
    const s = parseScenario(
      'name: m\nhost: { cpu: i7-2620M }\nguests: [{ os: windows-7 }]\nmatrix:\n  policy: [bhyve-12.1, kvm]\n  cores: [2, 4]\n  x2apic: [false, true]\n',
      'm.yaml',
    );
    assert.deepEqual(
      s.variants.map((v) => v.name),
      [
        'bhyve-12.1/cores=2/x2apic=false',
        'bhyve-12.1/cores=2/x2apic=true',
        'bhyve-12.1/cores=4/x2apic=false',
        'bhyve-12.1/cores=4/x2apic=true',
        'kvm/cores=2/x2apic=false',
        'kvm/cores=2/x2apic=true',
        'kvm/cores=4/x2apic=false',
        'kvm/cores=4/x2apic=true',
      ],
    );
    const v = s.variants[5];
    assert.deepEqual(v.params, { policy: 'kvm', cores: 2, x2apic: true });
    assert.equal(v.hypervisor.policy, 'kvm');
    assert.equal(v.host.cores, 2);
    assert.equal((v.guests[0] as ModelledGuestSpec).x2apic, true);
    assert.equal((s.variants[4].guests[0] as ModelledGuestSpec).x2apic, false);
  });

  it('names a one-key matrix by its values', () => {
    const s = parseScenario(
      'name: m\nhost: { cpu: i7-2620M }\nguests: [{ os: windows-7 }]\nmatrix:\n  policy: [bhyve-12.1, bhyve-tpr-v1]\n',
      'm.yaml',
    );
    assert.deepEqual(
      s.variants.map((v) => v.name),
      ['bhyve-12.1', 'bhyve-tpr-v1'],
    );
  });

  it('resolves CPUs per variant and defaults cores to each profile', () => {
    const s = parseScenario(
      'name: m\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\nmatrix:\n  cpu: [i7-2620M, epyc-7281]\n',
      'm.yaml',
    );
    assert.deepEqual(
      s.variants.map((v) => [v.name, v.host.cpu.id, v.host.cores === v.host.cpu.threads]),
      [
        ['i7-2620M', 'i7-2620M', true],
        ['epyc-7281', 'epyc-7281', true],
      ],
    );
  });

  it('sets matrix tunables per variant on top of the base tunables', () => {
    const s = parseScenario(
      'name: m\nhost: { cpu: xeon-e5-2667v4 }\nhypervisor:\n  policy: bhyve-tpr-v2\n  tunables: { hw.vmm.vmx.use_apic_vid: 0 }\nguests: [{ os: windows-7 }]\nmatrix:\n  tunables.hw.vmm.vmx.use_tpr_shadowing: [0, 1]\n',
      'm.yaml',
    );
    assert.deepEqual(
      s.variants.map((v) => [v.name, v.hypervisor.tunables]),
      [
        ['hw.vmm.vmx.use_tpr_shadowing=0', { 'hw.vmm.vmx.use_apic_vid': 0, 'hw.vmm.vmx.use_tpr_shadowing': 0 }],
        ['hw.vmm.vmx.use_tpr_shadowing=1', { 'hw.vmm.vmx.use_apic_vid': 0, 'hw.vmm.vmx.use_tpr_shadowing': 1 }],
      ],
    );
    assert.deepEqual(s.variants[1].params, { 'tunables.hw.vmm.vmx.use_tpr_shadowing': 1 });
  });

  it('the matrix fixture expands to 16 variants with shared guests', () => {
    const s = loadScenarioFile(join(FIXTURES, 'good', 'matrix.yaml'));
    assert.equal(s.variants.length, 16);
    assert.equal(s.variants[0].name, 'bhyve-tpr-v1/i7-2620M/cores=4/x2apic=false/hw.vmm.vmx.use_tpr_shadowing=0');
    assert.equal(s.variants[15].name, 'bhyve-tpr-v3/xeon-e5-2667v4/cores=4/x2apic=true/hw.vmm.vmx.use_tpr_shadowing=1');
    for (const v of s.variants) assert.equal(v.host.count, 2);
    assert.equal(s.thresholds.length, 8);
  });

  it(`allows ${MAX_VARIANTS} variants and rejects more`, () => {
    const head =
      'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\nmatrix:\n';
    const ok = parseScenario(`${head}  cores: [${Array.from({ length: 64 }, (_, i) => i + 1).join(', ')}]\n`, 'm.yaml');
    assert.equal(ok.variants.length, 64);
    assert.throws(
      () => parseScenario(`${head}  cores: [${Array.from({ length: 65 }, (_, i) => i + 1).join(', ')}]\n`, 'm.yaml'),
      (e: unknown) => e instanceof ScenarioError && /65 variants; the limit is 64/.test(e.diagnostics[0].message),
    );
  });

  it('rejects empty matrices and empty value lists', () => {
    const head = 'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\n';
    assert.throws(
      () => parseScenario(`${head}matrix: {}\n`, 'm.yaml'),
      (e: unknown) => e instanceof ScenarioError && /matrix is empty/.test(e.message),
    );
    assert.throws(
      () => parseScenario(`${head}matrix:\n  cores: []\n`, 'm.yaml'),
      (e: unknown) => e instanceof ScenarioError && /matrix.cores is empty/.test(e.message),
    );
  });

  it('rejects values that the matrix also sets elsewhere', () => {
    assert.throws(
      () =>
        parseScenario(
          'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\nmatrix:\n  policy: [kvm]\n',
          'm.yaml',
        ),
      (e: unknown) => e instanceof ScenarioError && /hypervisor.policy is also set by matrix.policy/.test(e.message),
    );
    assert.throws(
      () =>
        parseScenario(
          'name: m\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7, x2apic: true }]\nmatrix:\n  x2apic: [false, true]\n',
          'm.yaml',
        ),
      (e: unknown) => e instanceof ScenarioError && /x2apic is also set by matrix.x2apic/.test(e.message),
    );
  });

  it('requires policy and cpu somewhere', () => {
    assert.throws(
      () => parseScenario('name: m\nguests: [{ os: windows-7 }]\n', 'm.yaml'),
      (e: unknown) =>
        e instanceof ScenarioError &&
        /missing required key "host"/.test(e.message) &&
        /missing required key "hypervisor"/.test(e.message),
    );
  });
});

describe('an unknown matrix key without a near name', () => {
  it('says it is in the matrix and what goes there (it was `unknown key "k0"` alone: the list of known keys is too long to print, polish40)', () => {
    const text =
      'name: m\nhost: { cpu: i7-2620M }\nguests: [{ os: windows-7 }]\nmatrix:\n  zzzz: [1]\n  policy: [kvm]\n';
    assert.throws(
      () => parseScenario(text, 'm.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof ScenarioError);
        assert.equal(
          e.diagnostics[0].message,
          'unknown key "zzzz" in matrix (known keys: policy, cpu, cores, x2apic, enlightenments, tunables.NAME (vmexit-lab list tunables))',
        );
        assert.deepEqual([e.diagnostics[0].line, e.diagnostics[0].column], [5, 3]);
        return true;
      },
    );
  });
});
