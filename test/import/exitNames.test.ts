import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { EXIT_REASON_NAMES, ExitReason } from '../../src/core/vmx/exitReasons.js';
import { SVM_EXIT_NAMES, SvmExitCode } from '../../src/core/svm/exitCodes.js';
import { BHYVE_EXIT_STATS } from '../../src/import/bhyvectl.js';
import {
  SVM_EXIT_NAMES_LINUX,
  VMX_EXIT_NAMES,
  linuxExitCode,
  linuxExitName,
  linuxNameVendor,
  modelExitName,
} from '../../src/import/exitNames.js';

// [printed name, vendor, code, our model's exit kind or undefined]. Names and codes as in Linux
// arch/x86/include/uapi/asm/vmx.h VMX_EXIT_REASONS (6.x) and svm.h SVM_EXIT_REASONS (5.x + later
// additions); codes per Intel SDM vol. 3D table C-1 and AMD APM vol. 2 appendix C.
const ROWS: ReadonlyArray<readonly [string, 'intel' | 'amd', number, string | undefined]> = [
  ['EXCEPTION_NMI', 'intel', 0, 'EXCEPTION_NMI'],
  ['EXTERNAL_INTERRUPT', 'intel', 1, 'EXTERNAL_INTERRUPT'],
  ['TRIPLE_FAULT', 'intel', 2, undefined],
  ['INTERRUPT_WINDOW', 'intel', 7, 'INTERRUPT_WINDOW'],
  ['PENDING_INTERRUPT', 'intel', 7, 'INTERRUPT_WINDOW'],
  ['NMI_WINDOW', 'intel', 8, 'NMI_WINDOW'],
  ['CPUID', 'intel', 10, 'CPUID'],
  ['HLT', 'intel', 12, 'HLT'],
  ['VMCALL', 'intel', 18, 'VMCALL'],
  ['CR_ACCESS', 'intel', 28, 'CR_ACCESS'],
  ['IO_INSTRUCTION', 'intel', 30, 'IO_INSTRUCTION'],
  ['MSR_READ', 'intel', 31, 'MSR_READ'],
  ['MSR_WRITE', 'intel', 32, 'MSR_WRITE'],
  ['PAUSE_INSTRUCTION', 'intel', 40, 'PAUSE'],
  ['TPR_BELOW_THRESHOLD', 'intel', 43, 'TPR_BELOW_THRESHOLD'],
  ['APIC_ACCESS', 'intel', 44, 'APIC_ACCESS'],
  ['EOI_INDUCED', 'intel', 45, 'VIRTUALIZED_EOI'],
  ['EPT_VIOLATION', 'intel', 48, 'EPT_VIOLATION'],
  ['EPT_MISCONFIG', 'intel', 49, 'EPT_MISCONFIG'],
  ['PREEMPTION_TIMER', 'intel', 52, 'VMX_PREEMPTION_TIMER'],
  ['XSETBV', 'intel', 55, 'XSETBV'],
  ['APIC_WRITE', 'intel', 56, 'APIC_WRITE'],
  ['BUS_LOCK', 'intel', 74, undefined],
  ['NOTIFY', 'intel', 75, undefined],
  ['read_cr8', 'amd', 0x008, 'VMEXIT_CR8_READ'],
  ['write_cr8', 'amd', 0x018, 'VMEXIT_CR8_WRITE'],
  ['PF excp', 'amd', 0x04e, undefined],
  ['interrupt', 'amd', 0x060, 'VMEXIT_INTR'],
  ['nmi', 'amd', 0x061, 'VMEXIT_NMI'],
  ['vintr', 'amd', 0x064, 'VMEXIT_VINTR'],
  ['cpuid', 'amd', 0x072, 'VMEXIT_CPUID'],
  ['pause', 'amd', 0x077, 'VMEXIT_PAUSE'],
  ['hlt', 'amd', 0x078, 'VMEXIT_HLT'],
  ['io', 'amd', 0x07b, 'VMEXIT_IOIO'],
  ['msr', 'amd', 0x07c, 'VMEXIT_MSR'],
  ['hypercall', 'amd', 0x081, 'VMEXIT_VMMCALL'],
  ['npf', 'amd', 0x400, 'VMEXIT_NPF'],
  ['avic_incomplete_ipi', 'amd', 0x401, 'VMEXIT_AVIC_INCOMPLETE_IPI'],
  ['avic_unaccelerated_access', 'amd', 0x402, 'VMEXIT_AVIC_NOACCEL'],
  ['invalid_guest_state', 'amd', -1, undefined],
];

describe('exit names: Linux VMX_EXIT_REASONS / SVM_EXIT_REASONS', () => {
  for (const [name, vendor, code, kind] of ROWS) {
    it(`${name} -> ${vendor} ${code} -> ${kind ?? '(no model kind)'}`, () => {
      assert.equal(linuxNameVendor(name), vendor);
      assert.equal(linuxExitCode(vendor, name), code);
      assert.equal(modelExitName({ vendor, code }), kind);
    });
  }

  it('the APM/perf spellings differ: SVM_EXIT_INTR prints "interrupt", SVM_EXIT_IOIO prints "io"', () => {
    assert.equal(linuxNameVendor('intr'), 'unknown');
    assert.equal(linuxNameVendor('ioio'), 'unknown');
  });

  it('names are per vendor: "HLT" is VMX, "hlt" is SVM; perf\'s UNKNOWN and arm64 names are neither', () => {
    assert.equal(linuxExitCode('amd', 'HLT'), undefined);
    assert.equal(linuxExitCode('intel', 'hlt'), undefined);
    for (const n of ['UNKNOWN', 'DABT_LOW', 'WFx']) assert.equal(linuxNameVendor(n), 'unknown');
  });

  it('every exit kind of the model has a perf name that maps back to it', () => {
    for (const k of EXIT_KINDS) {
      const name = linuxExitName(k.vendor, k.code);
      assert.ok(name, `no Linux name for ${k.vendor} ${k.code} (${k.name})`);
      assert.equal(modelExitName({ vendor: k.vendor, code: linuxExitCode(k.vendor, name) }), k.name);
    }
    assert.equal(linuxExitName('intel', 7), 'INTERRUPT_WINDOW', 'the current spelling, not PENDING_INTERRUPT');
  });

  it('every VT-x code and SVM code the core knows has a Linux name (the two tables agree on codes)', () => {
    const vmxCodes = new Set(Object.values(VMX_EXIT_NAMES));
    for (const code of Object.keys(EXIT_REASON_NAMES).map(Number)) assert.ok(vmxCodes.has(code), `VT-x ${code}`);
    const svmCodes = new Set(Object.values(SVM_EXIT_NAMES_LINUX));
    for (const code of Object.keys(SVM_EXIT_NAMES).map(Number)) assert.ok(svmCodes.has(code), `SVM ${code}`);
  });

  it('unknown vendor or code has no model kind', () => {
    assert.equal(modelExitName({ vendor: 'unknown', code: 1 }), undefined);
    assert.equal(modelExitName({ vendor: 'intel', code: undefined }), undefined);
  });
});

describe('exit codes: each written once in src/core (vmx/exitReasons.ts, svm/exitCodes.ts)', () => {
  it('the core names cover exactly the codes of ExitReason and SvmExitCode', () => {
    const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);
    assert.deepEqual(sorted(Object.keys(EXIT_REASON_NAMES).map(Number)), sorted(Object.values(ExitReason)));
    assert.deepEqual(sorted(Object.keys(SVM_EXIT_NAMES).map(Number)), sorted(Object.values(SvmExitCode)));
  });

  it("bhyvectl's counters name codes the core knows", () => {
    for (const [desc, stat] of Object.entries(BHYVE_EXIT_STATS)) {
      if (stat.intel !== undefined) assert.ok(EXIT_REASON_NAMES[stat.intel], `${desc}: VT-x ${stat.intel}`);
      if (stat.amd !== undefined) assert.ok(SVM_EXIT_NAMES[stat.amd], `${desc}: SVM ${stat.amd}`);
    }
  });
});
