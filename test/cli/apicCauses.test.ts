/**
 * What an APIC exit was about, and how a posted interrupt reached a halted vCPU:
 * - APIC_WRITE, APIC_ACCESS, AVIC_NOACCEL and the APIC-page EPT violation / nested page fault said
 *   `at offset 0xb0` and no more: now the register by its name in the SDM's "Local APIC Register
 *   Address Map" (src/core/apic/registers.ts) and what the write did where the model knows it;
 * - VMEXIT_AVIC_INCOMPLETE_IPI said that some IPI went to some vCPU that was not running: now the
 *   failure cause of its EXITINFO2 (APM vol. 2 "AVIC IPI Delivery Not Completed"), the vector and
 *   the target;
 * - a posted interrupt to a halted vCPU was delivered `via: virtual-interrupt delivery`, like any
 *   other: now that the hypervisor moved it from the PIR to the VIRR before the VM entry (KVM
 *   vmx_sync_pir_to_irr, bhyve vmx_inject_pir), apart from posted-interrupt processing in guest mode.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-apic-causes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Step {
  variant: string;
  step: number;
  op: string;
  exits: { name: string; cause?: string }[];
  via: string[];
}

/** Trace a scripted two-vCPU xAPIC guest on `cpu` under `policy` (none: the matrix names it) with `matrix` (one YAML line). */
async function trace(name: string, cpu: string, policy: string, matrix: string, script: string): Promise<Step[]> {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `name: ${name}
host: { cpu: ${cpu} }
${policy === '' ? '' : `hypervisor: { policy: ${policy} }\n`}guests:
  - os: scripted
    vcpus: 2
    x2apic: false
    script:
${script
  .trim()
  .split('\n')
  .map((l) => `      ${l.trim()}`)
  .join('\n')}
matrix:
  ${matrix}
`,
  );
  const io = capture();
  assert.equal(await main(['trace', path], io), 0, io.stderr.join('\n'));
  return io.stdout.map((l) => JSON.parse(l) as Step);
}

const causes = (steps: Step[], variant: string, step: number): string[] =>
  steps.find((s) => s.variant === variant && s.step === step)!.exits.map((e) => e.cause ?? '');
const vias = (steps: Step[], variant: string, step: number): string[] =>
  steps.find((s) => s.variant === variant && s.step === step)!.via;

const SCRIPT = `
- { hlt: null, cpu: 1 }
- ipi: { to: 1, vector: 0xf0 }
- write_apic: { reg: timer_initial_count, value: 1000 }
- write_apic: { reg: lvt_timer, value: 0x200ec }
- read_apic: timer_current_count
- write_apic: { reg: timer_initial_count, value: 0 }
- write_apic: { reg: tpr, value: 0x20 }
- interrupt: 0x51
- eoi
- iret
`;

const PIR = 'virtual-interrupt delivery (PIR moved to the VIRR by the hypervisor before VM entry)';

describe('APIC register exits name the register and what the write did (SDM "Local APIC Register Address Map")', () => {
  it('VT-x: APIC_ACCESS without APICv, APIC_WRITE with it', async () => {
    const steps = await trace('apic-vmx', 'xeon-e5-2667v4', 'kvm', 'tunables.kvm_intel.enable_apicv: [0, 1]', SCRIPT);
    const off = 'kvm_intel.enable_apicv=0';
    assert.deepEqual(causes(steps, off, 2), [
      'APIC page write at offset 0x310 (ICR high: destination APIC ID 1)',
      'APIC page write at offset 0x300 (ICR low: IPI of vector 240 to APIC ID 1)',
    ]);
    assert.deepEqual(causes(steps, off, 3), ['APIC page write at offset 0x380 (initial count: LAPIC timer armed)']);
    assert.deepEqual(causes(steps, off, 4), ['APIC page write at offset 0x320 (LVT timer: vector 236, periodic)']);
    assert.deepEqual(causes(steps, off, 5), ['APIC page read at offset 0x390 (current count)']);
    assert.deepEqual(causes(steps, off, 6), ['APIC page write at offset 0x380 (initial count: LAPIC timer stopped)']);
    assert.deepEqual(causes(steps, off, 9), ['APIC page write at offset 0xb0 (EOI)']);
    const on = 'kvm_intel.enable_apicv=1';
    assert.deepEqual(causes(steps, on, 2), [
      'APIC register write at offset 0x300 (ICR low: IPI of vector 240 to APIC ID 1)',
    ]);
    assert.deepEqual(causes(steps, on, 3), ['APIC register write at offset 0x380 (initial count: LAPIC timer armed)']);
  });

  it('SVM: the nested page fault without AVIC, AVIC_NOACCEL with it (a write or a read, as EXITINFO1 bit 32 says)', async () => {
    const script = `${SCRIPT}\n- interrupt: { vector: 0x52, level: true }\n- eoi`;
    const steps = await trace('apic-svm', 'epyc-7281', 'kvm', 'tunables.kvm_amd.avic: [0, 1]', script);
    const off = 'kvm_amd.avic=0';
    assert.deepEqual(causes(steps, off, 2), [
      'APIC page write at offset 0x310 (ICR high: destination APIC ID 1), no AVIC: the hypervisor emulates the xAPIC',
      'APIC page write at offset 0x300 (ICR low: IPI of vector 240 to APIC ID 1), no AVIC: the hypervisor emulates the xAPIC',
    ]);
    assert.deepEqual(causes(steps, off, 7), [
      'APIC page write at offset 0x80 (TPR: 0x20 written), no AVIC: the hypervisor emulates the xAPIC',
    ]);
    const on = 'kvm_amd.avic=1';
    assert.deepEqual(causes(steps, on, 3), [
      'AVIC unaccelerated write at offset 0x380 (initial count: LAPIC timer armed)',
    ]);
    assert.deepEqual(causes(steps, on, 5), ['AVIC unaccelerated read at offset 0x390 (current count)']);
    assert.deepEqual(causes(steps, on, 12), [
      'AVIC unaccelerated write at offset 0xb0 (EOI: vector 82 is level-triggered, the hypervisor forwards the EOI to its I/O APIC)',
    ]);
  });

  it('bhyve without APIC-access virtualization: the EPT violation names the register', async () => {
    const steps = await trace('apic-bhyve', 'i7-6700K', '', 'policy: [bhyve-12.1, bhyve-tpr-v3]', SCRIPT);
    const tail = ', "virtualize APIC accesses" off: the hypervisor emulates the xAPIC';
    assert.deepEqual(causes(steps, 'bhyve-12.1', 7), [`APIC page write at offset 0x80 (TPR: 0x20 written)${tail}`]);
    assert.deepEqual(causes(steps, 'bhyve-12.1', 9), [`APIC page write at offset 0xb0 (EOI)${tail}`]);
  });
});

describe('VMEXIT_AVIC_INCOMPLETE_IPI says what failed and for whom (APM "AVIC IPI Delivery Not Completed")', () => {
  it('an IPI to a halted vCPU: target not running, its vector and APIC ID', async () => {
    const steps = await trace('avic-ipi', 'epyc-7281', 'kvm', 'tunables.kvm_amd.avic: [0, 1]', SCRIPT);
    const [cause] = causes(steps, 'kvm_amd.avic=1', 2);
    assert.match(
      cause,
      /^AVIC IPI delivery not completed, target not running \(EXITINFO2 ID 1\): vector 240 to APIC ID 1 /,
    );
    assert.match(cause, /avic_kick_target_vcpus/);
    // docs/REPLAY.md quotes it as printed.
    const page = readFileSync(join(REPO_ROOT, 'docs/REPLAY.md'), 'utf8').replace(/\s+/g, ' ');
    assert.ok(page.includes(cause), cause);
  });
});

describe('a posted interrupt to a vCPU not in guest mode says the hypervisor moved it from the PIR', () => {
  it('KVM and bhyve with posted interrupts: to a halted vCPU at its VM entry, to a running one by posted-interrupt processing', async () => {
    const kvm = await trace('pir-kvm', 'xeon-e5-2667v4', 'kvm', 'tunables.kvm_intel.enable_apicv: [0, 1]', SCRIPT);
    assert.deepEqual(vias(kvm, 'kvm_intel.enable_apicv=1', 2), [PIR]);
    assert.deepEqual(vias(kvm, 'kvm_intel.enable_apicv=1', 8), ['posted-interrupt processing']);
    const bhyve = await trace('pir-bhyve', 'xeon-e5-2667v4', '', 'policy: [bhyve-12.1, bhyve-tpr-v3]', SCRIPT);
    assert.deepEqual(vias(bhyve, 'bhyve-tpr-v3', 2), [PIR]);
    assert.deepEqual(vias(bhyve, 'bhyve-tpr-v3', 8), ['posted-interrupt processing']);
  });
});
