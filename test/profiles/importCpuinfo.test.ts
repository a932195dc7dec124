import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Default1, PinBased, ProcBased, ProcBased2 } from '../../src/core/vmx/controls.js';
import { ProfileImportError, VMX_FLAG_BITS, importCpuinfo } from '../../src/profiles/importCpuinfo.js';
import { AMD_AVIC } from '../support/profiles.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const fixture = (name: string): string => readFileSync(join(ROOT, 'test/fixtures/profiles', name), 'utf8');

const SNB_EP = fixture('cpuinfo-xeon-e5-2670-sandy-bridge-ep.txt');
const SKL_U = fixture('cpuinfo-core-i7-6600u.txt');
const EPYC = fixture('cpuinfo-epyc-7281.txt');
const RYZEN = fixture('cpuinfo-ryzen-5-3600x.txt');

const has = (word: number, bit: number): boolean => (word & bit) !== 0;

function expectImportError(fn: () => unknown, line: number, expectedFragment: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProfileImportError, `expected ProfileImportError, got ${String(e)}`);
    assert.equal(e.line, line, e.message);
    assert.match(e.expected, expectedFragment);
    return true;
  });
}

describe('importCpuinfo: Intel "vmx flags"', () => {
  it('Sandy Bridge-EP (real dump): TPR shadow + virtualize APIC accesses, no APICv', () => {
    const p = importCpuinfo(SNB_EP, { sourceName: 'snb.txt' });
    assert.equal(p.vendor, 'intel');
    assert.equal(p.id, 'xeon-e5-2670');
    assert.equal(p.microarchitecture, 'sandy-bridge');
    assert.equal(p.baseClockMHz, 2600);
    assert.equal(p.cores, 8);
    assert.equal(p.threads, 16);
    const v = p.vmx!;
    assert.ok(has(v.procBased.allowed1, ProcBased.UseTprShadow));
    assert.ok(has(v.procBased2.allowed1, ProcBased2.VirtualizeApicAccesses));
    assert.ok(!has(v.procBased2.allowed1, ProcBased2.ApicRegisterVirtualization));
    assert.ok(!has(v.procBased2.allowed1, ProcBased2.VirtualInterruptDelivery));
    assert.ok(!has(v.pinBased.allowed1, PinBased.ProcessPostedInterrupts));
    assert.equal(v.procBased2.allowed1, 0x4ff);
    assert.equal(v.pinBased.allowed1, 0x7f);
    assert.equal(v.procBased.allowed1, 0xfff9fffe);
    assert.equal(v.pinBased.allowed0, Default1.pinBased);
  });

  it('reads only the first processor block', () => {
    const p = importCpuinfo(SNB_EP);
    assert.match(p.sources[0], /lines 1-27/);
    const second = SNB_EP.split('\n\n')[1];
    // The second block alone parses the same CPU (it is a full block too).
    assert.equal(importCpuinfo(second).model, p.model);
  });

  it('Skylake client (real dump): PML and VMCS shadowing, still no APICv', () => {
    const p = importCpuinfo(SKL_U);
    assert.equal(p.id, 'i7-6600U');
    assert.equal(p.microarchitecture, 'skylake');
    const v = p.vmx!;
    assert.ok(has(v.procBased2.allowed1, ProcBased2.EnablePml));
    assert.ok(has(v.procBased2.allowed1, ProcBased2.VmcsShadowing));
    assert.ok(has(v.procBased.allowed1, ProcBased.UseTprShadow));
    assert.ok(!has(v.procBased2.allowed1, ProcBased2.VirtualInterruptDelivery));
    assert.ok(!has(v.pinBased.allowed1, PinBased.ProcessPostedInterrupts));
  });

  it('maps the synthetic "apicv" flag to TPR shadow + APIC-register virtualization + VID + posted interrupts', () => {
    const text = SKL_U.replace(/^vmx flags\t: .*$/m, 'vmx flags\t: vnmi apicv ept vpid unrestricted_guest');
    const v = importCpuinfo(text).vmx!;
    assert.ok(has(v.procBased.allowed1, ProcBased.UseTprShadow));
    assert.ok(has(v.procBased2.allowed1, ProcBased2.ApicRegisterVirtualization));
    assert.ok(has(v.procBased2.allowed1, ProcBased2.VirtualInterruptDelivery));
    assert.ok(has(v.pinBased.allowed1, PinBased.ProcessPostedInterrupts));
    assert.ok(has(v.procBased.allowed1, ProcBased.ActivateSecondaryControls));
  });

  it('maps kernel names to their SDM bits', () => {
    assert.equal(VMX_FLAG_BITS.vtpr.proc, ProcBased.UseTprShadow);
    assert.equal(VMX_FLAG_BITS.vapic.proc2, ProcBased2.VirtualizeApicAccesses);
    assert.equal(VMX_FLAG_BITS.vapic_reg.proc2, ProcBased2.ApicRegisterVirtualization);
    assert.equal(VMX_FLAG_BITS.vid.proc2, ProcBased2.VirtualInterruptDelivery);
    assert.equal(VMX_FLAG_BITS.posted_intr.pin, PinBased.ProcessPostedInterrupts);
    assert.equal(VMX_FLAG_BITS.flexpriority.proc2, ProcBased2.VirtualizeApicAccesses);
    assert.equal(VMX_FLAG_BITS.flexpriority.proc, ProcBased.UseTprShadow);
    assert.equal(VMX_FLAG_BITS.preemption_timer.pin, PinBased.ActivateVmxPreemptionTimer);
  });

  it('keeps unknown (newer-kernel) flag names out of the masks and lists them in notes', () => {
    const text = SKL_U.replace(/^(vmx flags\t: .*)$/m, '$1 some_future_thing');
    const p = importCpuinfo(text);
    assert.deepEqual(p.vmx, importCpuinfo(SKL_U).vmx);
    assert.match(p.notes ?? '', /some_future_thing/);
  });
});

describe('importCpuinfo: AMD flags', () => {
  it('EPYC 7281 (real dump): SVM with AVIC, no x2AVIC', () => {
    const p = importCpuinfo(EPYC);
    assert.equal(p.vendor, 'amd');
    assert.equal(p.microarchitecture, 'zen');
    assert.equal(p.vmx, undefined);
    assert.deepEqual(p.svm, AMD_AVIC.svm); // avic, no x2avic, npt, nrip_save, decodeassists, pausefilter, pfthreshold
    assert.equal(p.cores, 16);
  });

  it('Ryzen 5 3600X (real dump): Zen 2 with AVIC', () => {
    const p = importCpuinfo(RYZEN);
    assert.equal(p.id, 'ryzen-5-3600x');
    assert.equal(p.microarchitecture, 'zen2');
    assert.equal(p.svm!.avic, true);
    assert.equal(p.baseClockMHz, 3802);
  });

  it('reports a missing "avic" flag as no AVIC', () => {
    const p = importCpuinfo(EPYC.replace(' avic ', ' '));
    assert.equal(p.svm!.avic, false);
  });
});

describe('importCpuinfo: malformed input throws ProfileImportError with a line number', () => {
  it('no processor block', () => {
    expectImportError(() => importCpuinfo('hello\nworld\n'), 1, /processor/);
  });

  it('Intel cpuinfo without a "vmx flags" line (kernel < 5.8)', () => {
    const text = SKL_U.replace(/^vmx flags\t: .*\n/m, '');
    expectImportError(() => importCpuinfo(text), 21, /vmx flags/);
  });

  it('a flags line without vmx', () => {
    const text = SKL_U.replace(' vmx ', ' ');
    expectImportError(() => importCpuinfo(text), 20, /"vmx" flag/);
  });

  it('AMD without svm', () => {
    expectImportError(() => importCpuinfo(EPYC.replace(' svm ', ' ')), 20, /"svm" flag/);
  });

  it('an unknown vendor', () => {
    expectImportError(
      () => importCpuinfo(EPYC.replace('AuthenticAMD', 'HygonGenuine')),
      2,
      /GenuineIntel or AuthenticAMD/,
    );
  });

  it('a missing required field', () => {
    const text = EPYC.replace(/^cpu family\t: 23\n/m, '');
    expectImportError(() => importCpuinfo(text), 27, /cpu family/);
  });

  it('a non-numeric model', () => {
    expectImportError(() => importCpuinfo(EPYC.replace('model\t\t: 1\n', 'model\t\t: one\n')), 4, /decimal integer/);
  });

  it('a line that is not "key : value"', () => {
    expectImportError(() => importCpuinfo(EPYC.replace('wp\t\t: yes\n', 'garbage line\n')), 19, /key/);
  });
});
