import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { controlWordAllowed } from '../../src/core/cpu/profile.js';
import { Default1, ExitControls, PinBased, ProcBased, ProcBased2 } from '../../src/core/vmx/controls.js';
import { BHYVE_REQUIRED_EXIT_CONTROLS, ProfileImportError, importDmesg } from '../../src/profiles/importDmesg.js';
import { decodeCpuidSignature, deriveProfileId, inferMicroarchitecture } from '../../src/profiles/cpuIdentity.js';

// Compiled to dist/test/profiles/importDmesg.test.js: the repository root is three levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SEED = readFileSync(join(ROOT, 'test/fixtures/profiles/freebsd-xeon-e5-2667v4.dmesg'), 'utf8');

function expectImportError(fn: () => unknown, line: number, expectedFragment: RegExp): ProfileImportError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProfileImportError, `expected ProfileImportError, got ${String(e)}`);
    assert.equal(e.line, line, `line of: ${e.message}`);
    assert.match(e.expected, expectedFragment);
    assert.match(e.message, new RegExp(`:${line}:\\d+: expected `));
    return e;
  }
  assert.fail('no error thrown');
}

describe('importDmesg: the seed E5-2667 v4 dmesg', () => {
  const p = importDmesg(SEED, { sourceName: 'seed.dmesg' });

  it('identifies the CPU from the CPU: and Origin lines', () => {
    assert.equal(p.id, 'xeon-e5-2667v4');
    assert.equal(p.model, 'Intel(R) Xeon(R) CPU E5-2667 v4 @ 3.20GHz');
    assert.equal(p.vendor, 'intel');
    assert.equal(p.microarchitecture, 'broadwell');
    assert.equal(p.baseClockMHz, 3200);
    assert.equal(p.svm, undefined);
  });

  it('reads the allowed-1 masks from the hex values', () => {
    assert.ok(p.vmx);
    assert.equal(p.vmx.trueControls, true);
    assert.equal(p.vmx.pinBased.allowed1, 0xff);
    assert.equal(p.vmx.procBased.allowed1, 0xfff9fffe);
    assert.equal(p.vmx.procBased2.allowed1, 0x77fff);
    assert.equal(p.vmx.pinBased.allowed0, Default1.pinBased);
    assert.equal(p.vmx.procBased.allowed0, Default1.procBased);
  });

  it('allows APICv: APIC-register virtualization, virtual-interrupt delivery, posted interrupts, TPR shadow', () => {
    const v = p.vmx!;
    assert.notEqual(v.procBased.allowed1 & ProcBased.UseTprShadow, 0);
    assert.notEqual(v.procBased2.allowed1 & ProcBased2.VirtualizeApicAccesses, 0);
    assert.notEqual(v.procBased2.allowed1 & ProcBased2.ApicRegisterVirtualization, 0);
    assert.notEqual(v.procBased2.allowed1 & ProcBased2.VirtualInterruptDelivery, 0);
    assert.notEqual(v.pinBased.allowed1 & PinBased.ProcessPostedInterrupts, 0);
    // A bhyve-like policy with APICv is settable on this profile.
    const policyProc2 =
      ProcBased2.VirtualizeApicAccesses |
      ProcBased2.EnableEpt |
      ProcBased2.ApicRegisterVirtualization |
      ProcBased2.VirtualInterruptDelivery;
    assert.ok(controlWordAllowed(policyProc2, v.procBased2));
    assert.ok(
      controlWordAllowed(
        Default1.pinBased | PinBased.ExternalInterruptExiting | PinBased.ProcessPostedInterrupts,
        v.pinBased,
      ),
    );
  });

  it('trusts the mask over FreeBSD names: bit 16 printed "XSAVES" is RDSEED exiting, XSAVES (bit 20) is absent', () => {
    const s = p.vmx!.procBased2.allowed1;
    assert.notEqual(s & ProcBased2.RdseedExiting, 0);
    assert.equal(s & ProcBased2.EnableXsaves, 0);
    assert.notEqual(s & ProcBased2.EnablePml, 0);
    assert.notEqual(s & ProcBased2.EptViolationVe, 0);
    assert.match(p.notes ?? '', /RDSEED exiting/);
  });

  it('detects the pre-PR-1820 FreeBSD bug (Exit Controls == Basic Features) and substitutes bhyve-required exit controls', () => {
    const exit = p.vmx!.exit;
    assert.equal(exit.allowed1, (Default1.exit | BHYVE_REQUIRED_EXIT_CONTROLS) >>> 0);
    assert.notEqual(exit.allowed1, 0xda0400);
    assert.notEqual(exit.allowed1 & ExitControls.AcknowledgeInterruptOnExit, 0);
    assert.notEqual(exit.allowed1 & ExitControls.HostAddressSpaceSize, 0);
    assert.match(p.notes ?? '', /1820/);
  });

  it('marks cores/threads unknown when the log has no topology, and takes them from options or FreeBSD/SMP lines', () => {
    assert.equal(p.cores, 0);
    assert.equal(p.threads, 0);
    const withOpts = importDmesg(SEED, { cores: 8, threads: 16 });
    assert.equal(withOpts.cores, 8);
    assert.equal(withOpts.threads, 16);
    const withSmp = importDmesg(
      `${SEED}\n[105] FreeBSD/SMP: Multiprocessor System Detected: 32 CPUs\n[105] FreeBSD/SMP: 2 package(s) x 8 core(s) x 2 hardware threads\n`,
    );
    assert.equal(withSmp.cores, 8);
    assert.equal(withSmp.threads, 16);
  });

  it('gives the same result without the [105] message-buffer prefixes', () => {
    const bare = SEED.split('\n')
      .map((l) => l.replace(/^\[105\] /, ''))
      .join('\n');
    assert.deepEqual(importDmesg(bare, { sourceName: 'seed.dmesg' }), p);
  });

  it('uses a real Exit Controls mask when the kernel prints it (fixed print_vmx_info)', () => {
    const fixed = SEED.replace(
      'Exit Controls=0xda0400<PAT-LD,EFER-SV,PTMR-SV>',
      'Exit Controls=0x7fffff<DR,PERF,AckInt,PAT-SV,PAT-LD,EFER-SV,EFER-LD,PTMR-SV>',
    ).replace('Entry Controls=0xda0400', 'Entry Controls=0xffff<DR,PERF,PAT,EFER>');
    const q = importDmesg(fixed);
    assert.equal(q.vmx!.exit.allowed1, 0x7fffff);
    assert.doesNotMatch(q.notes ?? '', /1820/);
  });

  it('sets trueControls from IA32_VMX_BASIC bit 55 (printed bit 23, <TRUE>)', () => {
    // The buggy kernel prints the same basic value on the Exit/Entry lines, so change all three.
    const noTrue = SEED.replaceAll('0xda0400', '0x5a0400').replace('<SMM,INS/OUTS,TRUE>', '<SMM,INS/OUTS>');
    const q = importDmesg(noTrue);
    assert.equal(q.vmx!.trueControls, false);
    assert.match(q.notes ?? '', /1820/);
  });

  it('notes printed names that disagree with the hex mask and still uses the mask', () => {
    const edited = SEED.replace(
      'Pin-Based Controls=0xff<ExtINT,NMI,VNMI,PreTmr,PostIntr>',
      'Pin-Based Controls=0xff<ExtINT,NMI>',
    );
    const q = importDmesg(edited);
    assert.equal(q.vmx!.pinBased.allowed1, 0xff);
    assert.match(q.notes ?? '', /do not match 0xff/);
  });
});

describe('importDmesg: malformed input throws ProfileImportError with a line number', () => {
  const seedLines = SEED.split('\n');
  const lineOf = (needle: string): number => seedLines.findIndex((l) => l.includes(needle)) + 1;

  it('no VT-x block', () => {
    expectImportError(
      () =>
        importDmesg(
          '[1] CPU: Intel(R) Core(TM) i7-2620M CPU @ 2.70GHz (2691.30-MHz K8-class CPU)\n[1] real memory = 8589934592\n',
        ),
      3,
      /VT-x/,
    );
  });

  it('the non-verbose VT-x summary (no masks)', () => {
    const text =
      'CPU: Intel(R) Core(TM) i7-2620M CPU @ 2.70GHz (2691.30-MHz K8-class CPU)\n  Origin="GenuineIntel"  Id=0x206a7  Family=0x6  Model=0x2a  Stepping=7\n  VT-x: PAT,HLT,MTF,PAUSE,EPT,UG,VPID\n';
    expectImportError(() => importDmesg(text), 3, /boot with -v/);
  });

  it('a control line with a malformed hex mask', () => {
    const bad = SEED.replace('Pin-Based Controls=0xff<', 'Pin-Based Controls=0xZZ<');
    expectImportError(() => importDmesg(bad), lineOf('Pin-Based Controls'), /Pin-Based Controls=0x/);
  });

  it('a missing Primary Processor Controls line', () => {
    const bad = seedLines.filter((l) => !l.includes('Primary Processor Controls')).join('\n');
    // Reported where the block ends (the first line after it), i.e. where the line was still expected.
    const e = expectImportError(() => importDmesg(bad), lineOf('TSC: P-state') - 1, /Primary Processor Controls/);
    assert.match(e.found, /end of the block/);
  });

  it('a missing CPU: line', () => {
    const bad = seedLines.filter((l) => !l.includes(' CPU: ')).join('\n');
    expectImportError(() => importDmesg(bad), lineOf('VT-x:') - 1, /CPU: <brand>/);
  });

  it('a CPU: line without the MHz/class part', () => {
    const bad = SEED.replace('(3200.06-MHz K8-class CPU)', '');
    expectImportError(() => importDmesg(bad), 1, /-class CPU/);
  });

  it('an allowed-1 mask lacking the SDM default1 bits', () => {
    const bad = SEED.replace(
      'Pin-Based Controls=0xff<ExtINT,NMI,VNMI,PreTmr,PostIntr>',
      'Pin-Based Controls=0x1<ExtINT>',
    );
    expectImportError(() => importDmesg(bad), lineOf('Pin-Based Controls'), /default1/);
  });

  it('reports the source name in the message', () => {
    assert.throws(
      () => importDmesg('nothing here', { sourceName: 'boot.log' }),
      (e: unknown) => e instanceof ProfileImportError && e.message.startsWith('boot.log:1:'),
    );
  });
});

describe('importDmesg helpers', () => {
  it('derives ids from brand strings', () => {
    assert.equal(deriveProfileId('Intel(R) Core(TM) i7-2620M CPU @ 2.70GHz'), 'i7-2620M');
    assert.equal(deriveProfileId('Intel(R) Xeon(R) CPU E5-2667 v4 @ 3.20GHz'), 'xeon-e5-2667v4');
    assert.equal(deriveProfileId('Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz'), 'xeon-silver-4110');
    assert.equal(deriveProfileId('AMD EPYC 7281 16-Core Processor'), 'epyc-7281');
    assert.equal(deriveProfileId('AMD Ryzen 5 3600X 6-Core Processor'), 'ryzen-5-3600x');
  });

  it('decodes CPUID signatures', () => {
    assert.deepEqual(decodeCpuidSignature(0x406f1), { family: 6, model: 0x4f, stepping: 1 });
    assert.deepEqual(decodeCpuidSignature(0x206a7), { family: 6, model: 0x2a, stepping: 7 });
    assert.deepEqual(decodeCpuidSignature(0x800f12), { family: 0x17, model: 0x01, stepping: 2 });
  });

  it('infers microarchitectures from family/model, stepping and brand', () => {
    const intel = (model: number, stepping = 0, brand = ''): string =>
      inferMicroarchitecture({ vendor: 'intel', family: 6, model, stepping, brand });
    assert.equal(intel(0x2a), 'sandy-bridge');
    assert.equal(intel(0x3c), 'haswell');
    assert.equal(intel(0x5e), 'skylake');
    assert.equal(intel(0x55, 4), 'skylake-sp');
    assert.equal(intel(0x55, 7), 'cascade-lake');
    assert.equal(intel(0x4f), 'broadwell');
    assert.equal(inferMicroarchitecture({ vendor: 'amd', family: 0x17, model: 0x71, brand: '' }), 'zen2');
    assert.equal(inferMicroarchitecture({ vendor: 'amd', family: 0x19, model: 0x11, brand: '' }), 'zen4');
    assert.equal(
      inferMicroarchitecture({ vendor: 'intel', brand: 'Intel(R) Core(TM) i7-4771 CPU @ 3.50GHz' }),
      'haswell',
    );
    assert.equal(
      inferMicroarchitecture({ vendor: 'intel', brand: 'Intel(R) Xeon(R) CPU E5-2667 v4 @ 3.20GHz' }),
      'broadwell',
    );
    assert.equal(inferMicroarchitecture({ vendor: 'intel', brand: 'Some Future CPU' }), 'unknown');
  });
});
