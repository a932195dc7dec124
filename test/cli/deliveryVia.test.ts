/**
 * How an interrupt arrived, and why an EPT violation / EPT misconfiguration / nested page fault:
 * `trace`, `replay` and `run --timeline` delivery records said vector and latency but not the path
 * (VM-entry event injection, SVM EVENTINJ, virtual-interrupt delivery, posted-interrupt processing,
 * AVIC), and EPT exits carried no cause where every other exit had one. Both come from the path the
 * engine took (src/core/vcpu/recorder.ts DeliveryVia, ExitWhy).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-delivery-via-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A scripted guest on `cpu` under KVM with the APIC virtualization tunable `tunable` off and on. */
function scripted(name: string, cpu: string, tunable: string): string {
  return file(
    `${name}.yaml`,
    `name: ${name}
host: { cpu: ${cpu} }
hypervisor: { policy: kvm }
guests:
  - os: scripted
    vcpus: 1
    x2apic: false
    script:
      - interrupt: 0x51
      - eoi
      - iret
matrix:
  tunables.${tunable}: [0, 1]
`,
  );
}

async function traceRecords(path: string): Promise<Record<string, unknown>[]> {
  const io = capture();
  assert.equal(await main(['trace', path], io), 0, io.stderr.join('\n'));
  return io.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every `via` of the records of `variant` that delivered something. */
function vias(records: Record<string, unknown>[], variant: string): string[] {
  return records.filter((r) => r.variant === variant).flatMap((r) => r.via as string[]);
}

/** A Linux build on an APICv Xeon under bhyve, virtual-interrupt delivery off and on (docs/TUTORIAL.md section 5). */
const build = file(
  'apicv-bhyve.yaml',
  `name: apicv-bhyve
host: { cpu: xeon-e5-2667v4, cores: 8 }
hypervisor: { policy: bhyve-tpr-v3 }
guests:
  - { os: ubuntu-18.04, vcpus: 4, phases: [{ phase: build, duration: 2s }] }
duration: 2s
matrix:
  tunables.hw.vmm.vmx.use_apic_vid: [0, 1]
`,
);

async function replayRecords(path: string, variant: string, at = '1'): Promise<Record<string, unknown>[]> {
  const io = capture();
  const args = ['replay', path, '--variant', variant, '--guest', '0', '--at', at, '--window', '0.01'];
  assert.equal(await main(args, io), 0, io.stderr.join('\n'));
  return io.stdout.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The `via` of a posted interrupt to a halted vCPU: bhyve vmx_inject_pir, KVM vmx_sync_pir_to_irr before VM entry. */
const PIR_MOVED = 'virtual-interrupt delivery (PIR moved to the VIRR by the hypervisor before VM entry)';

const exitOf = (r: Record<string, unknown>): { name: string } | undefined => r.exit as { name: string } | undefined;

describe('trace: each delivered vector says how it reached the guest', () => {
  it('VT-x: event injection without APICv, posted-interrupt processing with it', async () => {
    const records = await traceRecords(scripted('via-vmx', 'xeon-e5-2667v4', 'kvm_intel.enable_apicv'));
    for (const r of records) assert.equal((r.via as unknown[]).length, (r.delivered as unknown[]).length);
    assert.deepEqual(vias(records, 'kvm_intel.enable_apicv=0'), ['event injection']);
    assert.deepEqual(vias(records, 'kvm_intel.enable_apicv=1'), ['posted-interrupt processing']);
  });

  it('SVM: EVENTINJ without AVIC, AVIC with it', async () => {
    const records = await traceRecords(scripted('via-svm', 'epyc-7281', 'kvm_amd.avic'));
    assert.deepEqual(vias(records, 'kvm_amd.avic=0'), ['EVENTINJ']);
    assert.deepEqual(vias(records, 'kvm_amd.avic=1'), ['AVIC']);
  });
});

describe('replay: deliveries say how, EPT violations say why', () => {
  it('without virtual-interrupt delivery: every interrupt injected, the LAPIC writes are APIC-page EPT violations', async () => {
    const records = await replayRecords(build, 'hw.vmm.vmx.use_apic_vid=0');
    const deliveries = records.filter((r) => r.delivered !== undefined);
    assert.ok(deliveries.length > 10);
    for (const d of deliveries) assert.equal(d.via, 'event injection');
    const ept = records.filter((r) => exitOf(r)?.name === 'EPT_VIOLATION');
    assert.ok(ept.length > 10);
    for (const e of ept)
      assert.match(String(e.cause), /^(APIC page (write|read) at offset 0x[0-9a-f]+ \([^)]+\), |device MMIO)/);
    // The EOI register (0xb0) of every interrupt the guest took, written through the APIC page.
    assert.ok(
      ept.some((e) =>
        String(e.cause).startsWith('APIC page write at offset 0xb0 (EOI), "virtualize APIC accesses" off'),
      ),
    );
  });

  it('with it: posted-interrupt processing in guest mode, the PIR moved by bhyve for a halted vCPU; only device MMIO left to EPT violations', async () => {
    const records = await replayRecords(build, 'hw.vmm.vmx.use_apic_vid=1');
    const via = new Set(records.filter((r) => r.delivered !== undefined).map((r) => r.via));
    assert.deepEqual([...via].sort(), ['posted-interrupt processing', PIR_MOVED]);
    const ept = records.filter((r) => exitOf(r)?.name === 'EPT_VIOLATION');
    assert.ok(ept.length > 0);
    for (const e of ept) assert.equal(e.cause, 'device MMIO access: the hypervisor emulates the device');
  });

  it('AMD without AVIC: EVENTINJ, and nested page faults of the APIC page apart from device MMIO', async () => {
    const records = await replayRecords('scenarios/library/amd-avic.yaml', 'kvm_amd.avic=0');
    for (const d of records.filter((r) => r.delivered !== undefined)) assert.equal(d.via, 'EVENTINJ');
    const causes = records.filter((r) => exitOf(r)?.name === 'VMEXIT_NPF').map((r) => String(r.cause));
    assert.ok(causes.some((c) => c.startsWith('APIC page write at offset 0xb0 (EOI), no AVIC')));
    assert.ok(causes.some((c) => c.startsWith('device MMIO')));
  });

  it("a workload profile's repeated exits are fast-forwarded as such, not as host timer ticks", async () => {
    const records = await replayRecords('scenarios/library/imported-sysbench-policies.yaml', 'bhyve-12.1', '2');
    const bulk = records.filter((r) => r.count !== undefined && exitOf(r)?.name !== 'EXTERNAL_INTERRUPT');
    assert.ok(bulk.length > 0);
    for (const b of bulk) assert.match(String(b.cause), /identical exits of a repeated operation, fast-forwarded/);
    const ept = records.filter((r) => exitOf(r)?.name === 'EPT_VIOLATION');
    assert.ok(ept.length > 0);
    for (const e of ept) assert.match(String(e.cause), /^a workload profile's measured exit/);
  });
});

it('run --timeline: the delivered instant has via, an EPT violation slice its cause', async () => {
  const out = join(dir, 'trace.json');
  const io = capture();
  const args = ['run', '--quiet', '--workers', '1', '--timeline', out, '--timeline-guest', '0'];
  await main([...args, '--timeline-window', '1..1.01', build], io);
  const events = (JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: Record<string, unknown>[] }).traceEvents;
  const delivered = events.filter((e) => e.name === 'interrupt delivered');
  assert.ok(delivered.length > 0);
  const via = new Set(delivered.map((e) => (e.args as { via: string }).via));
  assert.deepEqual([...via].sort(), ['event injection', 'posted-interrupt processing', PIR_MOVED]);
  const ept = events.filter((e) => e.name === 'EPT_VIOLATION');
  assert.ok(ept.length > 0);
  for (const e of ept) assert.ok((e.args as { cause?: string }).cause, JSON.stringify(e));
});
