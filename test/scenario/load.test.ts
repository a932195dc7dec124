import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import {
  ScenarioError,
  formatDiagnostic,
  MAX_DIAGNOSTICS,
  closest,
  editDistance,
} from '../../src/input/diagnostics.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { MAX_FILE_BYTES } from '../../src/scenario/limits.js';
import type { ModelledGuestSpec, ScriptedGuestSpec } from '../../src/scenario/types.js';
import { FIXTURES, rejected } from './helpers.js';
import { diagnosticOf } from '../support/diagnostics.js';
import { AMD_NO_AVIC } from '../support/profiles.js';

const BASE = 'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3 }\n';

const fails = (text: string): ScenarioError => rejected(text, 'mem.yaml');

describe('formatDiagnostic', () => {
  it('formats file:line:col: error: message (expected X, found Y)', () => {
    assert.equal(
      formatDiagnostic({
        file: 'a.yaml',
        line: 3,
        column: 5,
        message: 'wrong type for vcpus',
        expected: 'an integer',
        found: '"two"',
      }),
      'a.yaml:3:5: error: wrong type for vcpus (expected an integer, found "two")',
    );
    assert.equal(formatDiagnostic({ file: 'a.yaml', line: 1, column: 1, message: 'm' }), 'a.yaml:1:1: error: m');
    assert.equal(
      formatDiagnostic({ file: 'a.yaml', line: 0, column: 0, message: 'cannot read' }),
      'a.yaml: error: cannot read',
    );
  });

  it('suggests with Levenshtein distance', () => {
    assert.equal(editDistance('gusets', 'guests'), 2);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(closest('gusets', ['name', 'guests', 'host']), 'guests');
    assert.equal(closest('zzzzzz', ['name', 'guests', 'host']), undefined);
  });
});

describe('parseScenario defaults', () => {
  it('fills every default', () => {
    const s = parseScenario(`${BASE}guests:\n  - os: windows-7\n`, 'mem.yaml');
    assert.equal(s.name, 't');
    assert.equal(s.description, '');
    assert.equal(s.file, 'mem.yaml');
    assert.equal(s.seed, 1);
    assert.deepEqual(s.duration, { kind: 'fixed', ns: 60e9 });
    assert.equal(s.pace, 'max');
    assert.equal(s.debugChecks, false);
    assert.deepEqual(s.expectViolations, []);
    assert.deepEqual(s.thresholds, []);
    assert.equal(s.variants.length, 1);
    const v = s.variants[0];
    assert.equal(v.name, 'base');
    assert.deepEqual(v.params, {});
    assert.equal(v.host.cpu.id, 'i7-2620M');
    assert.equal(v.host.cores, v.host.cpu.threads);
    assert.equal(v.host.count, 1);
    assert.equal(v.hypervisor.policy, 'bhyve-tpr-v3');
    assert.deepEqual(v.hypervisor.tunables, {});
    assert.equal(v.hypervisor.vmcs, undefined);
    const g = v.guests[0] as ModelledGuestSpec;
    assert.deepEqual(g, {
      kind: 'modelled',
      os: 'windows-7',
      count: 1,
      vcpus: 1,
      memoryBytes: 2 * 1024 ** 3,
      x2apic: false,
      phases: [{ phase: 'idle' }],
      name: 'windows-7',
    });
    assert.equal(g.phases[0].durationNs, undefined);
  });

  it('until-complete defaults maxDuration to 4h', () => {
    const s = parseScenario(
      `${BASE}guests:\n  - os: windows-7\n    phases: [{ phase: build, work: 1h }]\nduration: until-complete\n`,
      'm.yaml',
    );
    assert.deepEqual(s.duration, { kind: 'until-complete', maxNs: 4 * 3600e9 });
    assert.deepEqual((s.variants[0].guests[0] as ModelledGuestSpec).phases, [{ phase: 'build', work: 3600e9 }]);
  });

  it('scripted guests default their name and cpu', () => {
    const s = parseScenario(`${BASE}guests:\n  - os: scripted\n    script: [eoi, { write_cr8: 3 }]\n`, 'm.yaml');
    const g = s.variants[0].guests[0] as ScriptedGuestSpec;
    assert.deepEqual(g, {
      kind: 'scripted',
      name: 'scripted',
      vcpus: 1,
      x2apic: false,
      script: [
        { op: 'eoi', cpu: 0 },
        { op: 'write_cr8', cpu: 0, value: 3 },
      ],
    });
  });

  it('returns a deeply frozen scenario', () => {
    const s = parseScenario(`${BASE}guests:\n  - os: windows-7\n`, 'mem.yaml');
    assert.ok(Object.isFrozen(s.variants));
    assert.ok(Object.isFrozen(s.variants[0].guests[0]));
    assert.ok(Object.isFrozen((s.variants[0].guests[0] as ModelledGuestSpec).phases[0]));
    assert.throws(() => {
      (s as { name: string }).name = 'x';
    });
  });

  it('resolves CPU ids through the catalog (case-insensitive)', () => {
    const s = parseScenario(
      'name: t\nhost: { cpu: i7-2620m }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\n',
      'm.yaml',
    );
    assert.equal(s.variants[0].host.cpu.id, 'i7-2620M');
  });

  it('uses a catalog given in the options', () => {
    const cpu = {
      id: 'my-cpu',
      model: 'm',
      vendor: 'amd' as const,
      microarchitecture: 'zen2',
      baseClockMHz: 1,
      cores: 2,
      threads: 3,
      sources: ['x'],
      svm: AMD_NO_AVIC.svm,
    };
    const s = parseScenario(
      'name: t\nhost: { cpu: my-cpu }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\n',
      'm.yaml',
      { cpuCatalog: [cpu] },
    );
    assert.equal(s.variants[0].host.cpu, cpu);
    assert.equal(s.variants[0].host.cores, 3);
    assert.throws(
      () =>
        parseScenario(
          'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\n',
          'm.yaml',
          { cpuCatalog: [cpu] },
        ),
      (e: unknown) => e instanceof ScenarioError && /unknown CPU profile "i7-2620M"/.test(e.diagnostics[0].message),
    );
  });
});

describe('x2APIC offered by default as the hypervisor offers it (src/core/hypervisor/x2apicOffer.ts)', () => {
  const x2 = (text: string): (readonly [string, boolean])[] =>
    parseScenario(text, 'x2.yaml').variants.flatMap((v) =>
      v.guests.map((g) => [`${v.name}:${g.name}`, g.x2apic] as const),
    );
  it('a modelled guest with no x2apic key: offered under KVM (QEMU), not under bhyve, per variant', () => {
    assert.deepEqual(
      x2(
        'name: t\nhost: { cpu: i7-6700K }\nguests:\n  - os: ubuntu-18.04\n  - os: windows-10-1909\nmatrix:\n  policy: [bhyve-tpr-v3, kvm]\n',
      ),
      [
        ['bhyve-tpr-v3:ubuntu-18.04', false],
        ['bhyve-tpr-v3:windows-10-1909', false],
        ['kvm:ubuntu-18.04', true],
        ['kvm:windows-10-1909', true],
      ],
    );
  });
  it('a written x2apic, and the matrix axis, win over the default', () => {
    assert.deepEqual(
      x2(
        'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: kvm }\nguests:\n  - { os: ubuntu-18.04, x2apic: false }\n',
      ),
      [['base:ubuntu-18.04', false]],
    );
    assert.deepEqual(
      x2(
        'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: bhyve-tpr-v3 }\nguests:\n  - { os: freebsd-12.1, x2apic: true }\n',
      ),
      [['base:freebsd-12.1', true]],
    );
    assert.deepEqual(
      x2(
        'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: kvm }\nguests:\n  - os: ubuntu-18.04\nmatrix:\n  x2apic: [false]\n',
      ),
      [['x2apic=false:ubuntu-18.04', false]],
    );
  });
});

describe('parseScenario errors', () => {
  it('collects every error in a file, sorted by position', () => {
    const e = fails(
      'name: T\nseed: -1\nhost: { cpu: i7-2620M, cores: 0 }\nhypervisor: { policy: nope }\nguests:\n  - os: windows-7\n    vcpus: 0\n    memory: lots\n',
    );
    assert.deepEqual(
      e.diagnostics.map((d) => `${d.line}:${d.column}`),
      ['1:7', '2:7', '3:31', '4:23', '7:12', '8:13'],
    );
    assert.equal(e.total, 6);
  });

  it('stops at MAX_DIAGNOSTICS errors and counts the rest', () => {
    const ops = Array.from({ length: 30 }, () => '      - write_cr8: 99').join('\n');
    const e = fails(`${BASE}guests:\n  - os: scripted\n    script:\n${ops}\n`);
    assert.equal(e.diagnostics.length, MAX_DIAGNOSTICS);
    assert.ok(e.total > MAX_DIAGNOSTICS);
    assert.match(e.message, /more errors not shown/);
  });

  it('reports the expected and found values', () => {
    const e = fails(`${BASE}guests:\n  - os: windows-7\n    vcpus: 1.5\n`);
    assert.equal(e.diagnostics[0].expected, 'an integer 1..64');
    assert.equal(e.diagnostics[0].found, '1.5');
  });

  it('rejects text over 1 MiB before parsing', () => {
    const e = fails(`${BASE}#${'x'.repeat(MAX_FILE_BYTES)}\n`);
    assert.equal(e.diagnostics.length, 1);
    assert.match(e.diagnostics[0].message, /too large/);
  });

  it('rejects empty and non-mapping documents', () => {
    assert.match(fails('').diagnostics[0].message, /must be a mapping/);
    assert.match(fails('just a string\n').diagnostics[0].message, /must be a mapping/);
  });

  it('rejects multiple YAML documents, at the second, saying what to do (not the parser API to call)', () => {
    const text = `${BASE}guests: [{ os: windows-7 }]\n---\nname: u\n`;
    const d = fails(text).diagnostics[0];
    assert.match(d.message, /YAML syntax error: a second YAML document starts here; the file must hold one/);
    assert.doesNotMatch(d.message, /parseAllDocuments/);
    assert.equal(d.line, text.split('\n').indexOf('---') + 1);
  });

  it('rejects unknown tags', () => {
    assert.match(
      fails(`${BASE}guests: [{ os: windows-7, vcpus: !weird 2 }]\n`).diagnostics[0].message,
      /^unknown YAML tag !weird$/,
    );
  });

  it('reports a missing file without a position', () => {
    try {
      loadScenarioFile(join(FIXTURES, 'does-not-exist.yaml'));
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.diagnostics[0].line, 0);
      assert.match(e.diagnostics[0].message, /cannot read the file/);
    }
  });

  it('does not report a key as missing when a misspelling of it was reported', () => {
    const e = fails(`${BASE}guests:\n  - os: windows-7\n    phases:\n      - { phase: install, wrok: 3s }\n`);
    assert.equal(e.diagnostics.length, 1);
    assert.match(e.diagnostics[0].message, /unknown key "wrok" \(did you mean "work"\?\)/);
  });

  it('rejects a scripted guest with memory', () => {
    const e = fails(`${BASE}guests:\n  - os: scripted\n    memory: 1GiB\n    script: [eoi]\n`);
    assert.match(e.diagnostics[0].message, /"memory" does not apply to a scripted guest/);
  });

  it('checks caps: total guests, host count, vcpus, duration', () => {
    assert.match(
      fails(`${BASE}guests:\n  - os: windows-7\n    count: 100001\n`).diagnostics[0].message,
      /out of range/,
    );
    assert.match(
      fails(`${BASE}guests:\n  - { os: windows-7, count: 60000 }\n  - { os: windows-10-1909, count: 40001 }\n`)
        .diagnostics[0].message,
      /too many guests: 100001/,
    );
    parseScenario(
      `${BASE}guests:\n  - { os: windows-7, count: 60000 }\n  - { os: windows-10-1909, count: 40000 }\n`,
      'ok.yaml',
    );
    assert.match(
      fails(
        `name: t\nhost: { cpu: i7-2620M, count: 10001 }\nhypervisor: { policy: kvm }\nguests: [{ os: windows-7 }]\n`,
      ).diagnostics[0].message,
      /host.count out of range/,
    );
    parseScenario(`${BASE}guests: [{ os: windows-7, vcpus: 64 }]\nduration: 30d\n`, 'ok.yaml');
    assert.match(fails(`${BASE}guests: [{ os: windows-7 }]\nduration: 2592001s\n`).diagnostics[0].message, /too long/);
    assert.match(fails(`${BASE}guests: [{ os: windows-7 }]\nduration: 0s\n`).diagnostics[0].message, /greater than 0/);
  });

  it('accepts a last idle phase without duration, not an earlier one', () => {
    parseScenario(
      `${BASE}guests:\n  - os: windows-7\n    phases: [{ phase: boot, duration: 1s }, { phase: idle }]\n`,
      'ok.yaml',
    );
    const e = fails(
      `${BASE}guests:\n  - os: windows-7\n    phases: [{ phase: idle }, { phase: boot, duration: 1s }]\n`,
    );
    assert.match(e.diagnostics[0].message, /phase idle needs "duration"/);
  });

  it('reads disk-benchmark work as a size and install work as CPU time', () => {
    const s = parseScenario(
      `${BASE}guests:\n  - os: windows-7\n    phases: [{ phase: disk-benchmark, work: 1GB }, { phase: install, work: 1.5m }]\n`,
      'ok.yaml',
    );
    assert.deepEqual((s.variants[0].guests[0] as ModelledGuestSpec).phases, [
      { phase: 'disk-benchmark', work: 1e9 },
      { phase: 'install', work: 90e9 },
    ]);
    const e = fails(`${BASE}guests:\n  - os: windows-7\n    phases: [{ phase: disk-benchmark, work: 30s }]\n`);
    assert.match(e.diagnostics[0].message, /invalid size/);
  });

  it("reads busyVcpus (duration-bound phases, at most the guest's vCPUs) with file:line:col errors", () => {
    const s = parseScenario(
      `${BASE}guests:\n  - os: ubuntu-18.04\n    vcpus: 4\n    phases: [{ phase: build, duration: 5s, busyVcpus: 1 }]\n`,
      'ok.yaml',
    );
    assert.deepEqual((s.variants[0].guests[0] as ModelledGuestSpec).phases, [
      { phase: 'build', durationNs: 5e9, busyVcpus: 1 },
    ]);
    const tooMany = fails(
      `${BASE}guests:\n  - os: ubuntu-18.04\n    vcpus: 2\n    phases: [{ phase: idle, duration: 5s, busyVcpus: 3 }]\n`,
    );
    assert.match(formatDiagnostic(tooMany.diagnostics[0]), /^mem\.yaml:7:54: error: .*busyVcpus.*1\.\.2/);
    const withWork = fails(
      `${BASE}guests:\n  - os: ubuntu-18.04\n    vcpus: 2\n    phases: [{ phase: build, work: 5s, busyVcpus: 1 }]\n`,
    );
    assert.match(withWork.diagnostics[0].message, /"busyVcpus" is for duration-bound phases/);
  });

  it('reads a compute phase for every guest model (Windows, Linux, FreeBSD), duration-bound only', () => {
    for (const os of ['ubuntu-18.04', 'freebsd-12.1', 'windows-10-1909', 'windows-server-2019']) {
      const s = parseScenario(
        `${BASE}guests:\n  - os: ${os}\n    vcpus: 4\n    phases: [{ phase: compute, duration: 5s, busyVcpus: 1 }]\n`,
        'ok.yaml',
      );
      assert.deepEqual((s.variants[0].guests[0] as ModelledGuestSpec).phases, [
        { phase: 'compute', durationNs: 5e9, busyVcpus: 1 },
      ]);
    }
    const work = fails(`${BASE}guests:\n  - os: ubuntu-18.04\n    phases: [{ phase: compute, work: 5s }]\n`);
    assert.match(work.diagnostics[0].message, /phase compute takes no "work"/);
  });

  it('maps vmcs overrides to VmcsOverrides bits', () => {
    const s = parseScenario(
      'name: t\nhost: { cpu: i7-2620M }\nhypervisor:\n  policy: kvm\n  vmcs:\n    procBased: { set: [UseTprShadow, HltExiting], clear: [Cr8LoadExiting] }\n    exit: { clear: [] }\n    tprThreshold: 15\nguests: [{ os: windows-7 }]\n',
      'ok.yaml',
    );
    assert.deepEqual(s.variants[0].hypervisor.vmcs, {
      procSet: (1 << 21) | (1 << 7),
      procClear: 1 << 19,
      exitClear: 0,
      tprThreshold: 15,
    });
    const e = fails(
      'name: t\nhost: { cpu: i7-2620M }\nhypervisor:\n  policy: kvm\n  vmcs:\n    procBased: { set: [HltExiting], clear: [HltExiting] }\nguests: [{ os: windows-7 }]\n',
    );
    assert.match(e.diagnostics[0].message, /both set and cleared/);
  });
});

test('an empty or comments-only scenario: expected names the required keys only (it named host and hypervisor, which are optional) and found says why there is nothing', () => {
  for (const text of ['', '\n\n', '# yaml-language-server: $schema=scenarios/scenario.schema.json\n# name: x\n']) {
    const d = diagnosticOf(text);
    assert.equal(d.expected, 'a mapping with at least name and guests (docs/SCENARIOS.md has every key)', text);
    assert.equal(d.found, 'nothing: the file is empty or holds only comments', text);
  }
  // A document that is something else still says what it is.
  assert.equal(diagnosticOf('just a string\n').found, 'string "just a string"');
  // What the expectation says is so: name and guests alone make a scenario (host.cpu comes from the matrix).
  parseScenario(
    'name: x\nguests: [{ os: freebsd-12.1 }]\nmatrix: { cpu: [i7-6700K], policy: [bhyve-12.1] }\n',
    'x.yaml',
  );
});
