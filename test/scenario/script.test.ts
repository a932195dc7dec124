import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCRIPT_OP_NAMES } from '../../src/core/script/ops.js';
import { ScenarioError, formatDiagnostic } from '../../src/input/diagnostics.js';
import { parseScenario } from '../../src/scenario/load.js';
import { MAX_SCRIPT_OPS, SCRIPT_OPS_WITHOUT_ARGS } from '../../src/scenario/script.js';
import type { ScriptedGuestSpec } from '../../src/scenario/types.js';

const HEAD =
  'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3 }\nguests:\n  - os: scripted\n    vcpus: 4\n    script:\n';

function script(lines: string[]): ScriptedGuestSpec['script'] {
  const s = parseScenario(HEAD + lines.map((l) => `      - ${l}\n`).join(''), 's.yaml');
  return (s.variants[0].guests[0] as ScriptedGuestSpec).script;
}

function scriptError(lines: string[]): string[] {
  try {
    script(lines);
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    return e.diagnostics.map(formatDiagnostic);
  }
  assert.fail('expected an error');
}

describe('script parsing', () => {
  it('parses every op in its short and long forms', () => {
    assert.deepEqual(
      script([
        'write_cr8: 15',
        'read_cr8',
        'interrupt: 0x51',
        'interrupt: { vector: 255, level: true }',
        'eoi',
        'iret',
        'sti',
        'cli',
        'hlt',
        'cpuid',
        'write_apic: { reg: TPR, value: 0xffffffff }',
        'write_apic: { reg: 0x300, value: 1 }',
        'read_apic: icr_high',
        'read_apic: { reg: 0x3f0 }',
        'wrmsr: { msr: 0x830, value: 0x100000000f0 }',
        'wrmsr: { msr: 0xffffffff, value: 0xfedcba9876543210 }',
        'rdmsr: 0x80a',
        'rdmsr: { msr: 0x1b }',
        'ipi: { to: 3, vector: 0 }',
        'io: 0xffff',
        'io: { port: 0 }',
        '{ eoi: null, cpu: 3 }',
        '{ cpu: 2, interrupt: 32 }',
        '{ hlt: }',
      ]),
      [
        { op: 'write_cr8', cpu: 0, value: 15 },
        { op: 'read_cr8', cpu: 0 },
        { op: 'interrupt', cpu: 0, vector: 0x51, level: false },
        { op: 'interrupt', cpu: 0, vector: 255, level: true },
        { op: 'eoi', cpu: 0 },
        { op: 'iret', cpu: 0 },
        { op: 'sti', cpu: 0 },
        { op: 'cli', cpu: 0 },
        { op: 'hlt', cpu: 0 },
        { op: 'cpuid', cpu: 0 },
        { op: 'write_apic', cpu: 0, offset: 0x80, value: 0xffffffff },
        { op: 'write_apic', cpu: 0, offset: 0x300, value: 1 },
        { op: 'read_apic', cpu: 0, offset: 0x310 },
        { op: 'read_apic', cpu: 0, offset: 0x3f0 },
        { op: 'wrmsr', cpu: 0, msr: 0x830, low: 0xf0, high: 0x100 },
        { op: 'wrmsr', cpu: 0, msr: 0xffffffff, low: 0x76543210, high: 0xfedcba98 },
        { op: 'rdmsr', cpu: 0, msr: 0x80a },
        { op: 'rdmsr', cpu: 0, msr: 0x1b },
        { op: 'ipi', cpu: 0, to: 3, vector: 0 },
        { op: 'io', cpu: 0, port: 0xffff },
        { op: 'io', cpu: 0, port: 0 },
        { op: 'eoi', cpu: 3 },
        { op: 'interrupt', cpu: 2, vector: 32, level: false },
        { op: 'hlt', cpu: 0 },
      ],
    );
  });

  it('knows every op of ScriptOp', () => {
    for (const op of SCRIPT_OPS_WITHOUT_ARGS) assert.ok(SCRIPT_OP_NAMES.includes(op));
    assert.equal(SCRIPT_OP_NAMES.length, 15);
  });

  it('rejects out-of-range values', () => {
    assert.match(scriptError(['write_cr8: -1'])[0], /write_cr8 value out of range/);
    assert.match(scriptError(['interrupt: 256'])[0], /16\.\.255/);
    assert.match(scriptError(['interrupt: { vector: 0x0f }'])[0], /vector out of range/);
    assert.match(scriptError(['ipi: { to: 0, vector: 256 }'])[0], /vector out of range/);
    assert.match(
      scriptError(['{ eoi: null, cpu: 4 }'])[0],
      /cpu out of range \(expected a vCPU index 0\.\.3 \(the guest has 4 vCPUs\), found 4\)/,
    );
    // One MSR index rule for rdmsr and wrmsr: the same range and words.
    for (const op of ['rdmsr: 0x100000000', 'wrmsr: { msr: 0x100000000, value: 0 }', 'rdmsr: { msr: -1 }'])
      assert.match(scriptError([op])[0], /msr out of range \(expected an MSR index 0\.\.0xFFFFFFFF, found/, op);
    assert.match(scriptError(['io: 0x10000'])[0], /port out of range/);
    assert.match(scriptError(['write_apic: { reg: 0x400, value: 0 }'])[0], /invalid APIC register offset/);
    assert.match(scriptError(['write_apic: { reg: tpr, value: 0x100000000 }'])[0], /value out of range/);
    assert.match(scriptError(['wrmsr: { msr: 1, value: -1 }'])[0], /value/);
    assert.match(scriptError(['wrmsr: { msr: 1, value: 1.5e30 }'])[0], /value/);
  });

  it('rejects malformed ops', () => {
    assert.match(scriptError(['{ cpu: 1 }'])[0], /has no operation/);
    assert.match(scriptError(['eoi: 1'])[0], /takes no argument/);
    assert.match(scriptError(['wrmsr: 0x808'])[0], /wrong type for .*wrmsr \(expected a mapping/);
    assert.match(scriptError(['ipi: { to: 1 }'])[0], /missing required key "vector"/);
    assert.match(scriptError(['[eoi]'])[0], /wrong type for guests\[0\]\.script\[0\]/);
    assert.match(scriptError(['42'])[0], /wrong type/);
    assert.match(scriptError(['rdmsr: { msr: 1, extra: 2 }'])[0], /unknown key "extra"/);
    assert.match(scriptError(['red_cr8'])[0], /unknown script op "red_cr8" \(did you mean "read_cr8"\?\)/);
  });

  it('reports every bad op, not just the first', () => {
    const errors = scriptError(['write_cr8: 16', 'eoi', 'interrupt: 1', 'ipi: { to: 9, vector: 1 }']);
    assert.equal(errors.length, 3);
    assert.match(errors[0], /:8:20: /);
    assert.match(errors[1], /:10:20: /);
    assert.match(errors[2], /:11:20: /);
  });

  it(`caps scripts at ${MAX_SCRIPT_OPS} ops`, () => {
    const head =
      'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests:\n  - os: scripted\n    script: [';
    const ok = parseScenario(`${head}${Array(MAX_SCRIPT_OPS).fill('cli').join(',')}]\n`, 'big.yaml');
    assert.equal((ok.variants[0].guests[0] as ScriptedGuestSpec).script.length, MAX_SCRIPT_OPS);
    assert.throws(
      () =>
        parseScenario(
          `${head}${Array(MAX_SCRIPT_OPS + 1)
            .fill('cli')
            .join(',')}]\n`,
          'big.yaml',
        ),
      (e: unknown) =>
        e instanceof ScenarioError && /has 100001 operations; the limit is 100000/.test(e.diagnostics[0].message),
    );
  });

  it('rejects an empty script', () => {
    assert.throws(
      () =>
        parseScenario(
          'name: t\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests:\n  - os: scripted\n    script: []\n',
          'e.yaml',
        ),
      (e: unknown) => e instanceof ScenarioError && /script is empty/.test(e.diagnostics[0].message),
    );
  });
});
