/**
 * VMX control bits in one home (src/core/vmx/controls.ts, SDM vol. 3C "VM-Execution Control Fields"
 * and "VM-Exit Control Fields"): every name is one bit of its word, and every bit a profile importer
 * sets (allowed-1 masks from Linux's "vmx flags" and from CPUID flags) is a named bit of controls.ts
 * or a default1 bit, not a number of the importer's own.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONTROL_NAMES, Default1, type ControlWord } from '../../src/core/vmx/controls.js';
import { VMX_FLAG_BITS, importCpuinfo } from '../../src/profiles/importCpuinfo.js';
import { REPO_ROOT } from '../../src/model/data.js';

const WORDS: readonly ControlWord[] = ['pinBased', 'procBased', 'procBased2', 'exit'];
const named = (w: ControlWord): number => Object.values(CONTROL_NAMES[w]).reduce((a, bit) => (a | bit) >>> 0, 0);
const unnamed = (w: ControlWord, mask: number): number => (mask & ~named(w) & ~Default1[w]) >>> 0;

test('[SDM "VM-Execution Control Fields", "VM-Exit Control Fields"] each control name is one bit, no two names of a word share it', () => {
  for (const w of WORDS) {
    const bits = Object.entries(CONTROL_NAMES[w]);
    for (const [name, bit] of bits) assert.equal(Math.log2(bit) % 1, 0, `${w}.${name} = ${bit}`);
    assert.equal(new Set(bits.map(([, bit]) => bit)).size, bits.length, w);
  }
});

test('[arch/x86/include/asm/vmxfeatures.h] every control bit a "vmx flags" name stands for is named in controls.ts', () => {
  for (const [flag, bits] of Object.entries(VMX_FLAG_BITS)) {
    assert.equal(unnamed('pinBased', bits.pin ?? 0), 0, `${flag}: pin`);
    assert.equal(unnamed('procBased', bits.proc ?? 0), 0, `${flag}: proc`);
    assert.equal(unnamed('procBased2', bits.proc2 ?? 0), 0, `${flag}: proc2`);
  }
});

test('[importCpuinfo] a profile with every vmx flag and every CPUID flag the importer reads allows only named or default1 bits', () => {
  const skl = readFileSync(join(REPO_ROOT, 'test/fixtures/profiles/cpuinfo-core-i7-6600u.txt'), 'utf8');
  const cpuid = 'lm pat arch_perfmon mpx intel_pt sgx rdtscp x2apic rdrand invpcid rdseed xsaves';
  const text = skl
    .replace(/^(flags\t\t: .*)$/m, `$1 ${cpuid}`)
    .replace(/^vmx flags\t: .*$/m, `vmx flags\t: ${Object.keys(VMX_FLAG_BITS).join(' ')}`);
  const vmx = importCpuinfo(text).vmx!;
  for (const w of WORDS) {
    assert.equal(unnamed(w, vmx[w].allowed1), 0, `${w}.allowed1 0x${(vmx[w].allowed1 >>> 0).toString(16)}`);
  }
  // The importer's CPUID-derived bits reached the masks (the profile is not vacuous).
  assert.notEqual(vmx.exit.allowed1 & CONTROL_NAMES.exit.ConcealVmxFromPt, 0);
  assert.notEqual(vmx.procBased2.allowed1 & CONTROL_NAMES.procBased2.EnclsExiting, 0);
});
