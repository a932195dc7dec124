/**
 * Every exit record says why: replay's records, the timeline's exit slices and trace's exits carried
 * a `cause` for %cr8, APIC-page and EPT exits only; an MSR exit did not say which MSR (a TSC-deadline
 * arm, an x2APIC EOI or IPI, a Hyper-V synthetic MSR), an external interrupt not which host interrupt
 * (the host tick, the kick of an interrupt for a running vCPU, a guest timer on a host timer), a
 * VMX-preemption-timer exit not which timer, port I/O not which device, CPUID, PAUSE and an AVIC
 * incomplete IPI nothing. The causes are what the engine knew at the exit (src/core/vcpu/recorder.ts
 * ExitWhy), named at output (src/run/replay.ts exitCause).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { exitCause } from '../../src/run/exitCause.js';
import { ApicOffset } from '../../src/core/apic/registers.js';
import { apicWhy, apicWriteData, ExitWhy } from '../../src/core/vcpu/recorder.js';
import { Slot } from '../../src/core/vcpu/exits.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-exit-causes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Rec = Record<string, unknown> & { exit?: { name: string }; cause?: string; count?: number };

async function replayRecords(file: string, variant: string, guest: number, at: string, window: string): Promise<Rec[]> {
  const io = capture();
  const args = ['replay', file, '--variant', variant, '--guest', String(guest), '--at', at, '--window', window];
  assert.equal(await main(args, io), 0, io.stderr.join('\n'));
  return io.stdout.slice(1).map((l) => JSON.parse(l) as Rec);
}

const exits = (records: Rec[]): Rec[] => records.filter((r) => r.exit !== undefined);
const causesOf = (records: Rec[], name: string): Set<string> =>
  new Set(
    exits(records)
      .filter((r) => r.exit!.name === name)
      .map((r) => r.cause ?? ''),
  );

/** Replays of the shipped scenarios that between them take every modelled exit kind but APIC_ACCESS's neighbours. */
const CASES: readonly (readonly [string, string, number])[] = [
  ['scenarios/library/x2apic-guests.yaml', 'kvm', 0],
  ['scenarios/library/x2apic-guests.yaml', 'bhyve-tpr-v3', 1],
  ['scenarios/library/windows-kvm-timekeeping.yaml', 'none', 0],
  [
    'scenarios/library/windows-kvm-timekeeping.yaml',
    'hv-relaxed+hv-vapic+hv-spinlocks+hv-time+hv-vpindex+hv-synic+hv-stimer',
    0,
  ],
  ['scenarios/library/imported-sysbench-policies.yaml', 'kvm', 0],
  ['scenarios/library/amd-avic.yaml', 'kvm_amd.avic=1', 0],
  ['scenarios/library/amd-avic.yaml', 'kvm_amd.avic=0', 0],
  ['scenarios/library/pause-loop-exiting.yaml', 'kvm_intel.ple_window_grow=1', 0],
  ['scenarios/library/pause-filter-amd.yaml', 'kvm_amd.pause_filter_count_grow=1', 0],
  ['scenarios/seed/e5-2667v4-apicv-panic.yaml', 'bhyve-tpr-v3', 0],
];

describe('replay: every exit record has a cause', () => {
  it('in the shipped scenarios that take MSR, port I/O, timer, CPUID, PAUSE and AVIC exits', async () => {
    const missing: string[] = [];
    for (const [file, variant, guest] of CASES) {
      for (const r of exits(await replayRecords(file, variant, guest, '1', '0.05')))
        if (!r.cause) missing.push(`${file} ${variant}: ${r.exit!.name}`);
    }
    assert.deepEqual([...new Set(missing)], []);
  });

  it('an x2APIC MSR write names the register by its SDM name and what the guest did', async () => {
    const r = await replayRecords('scenarios/library/x2apic-guests.yaml', 'kvm', 0, '1', '0.2');
    const msr = causesOf(r, 'MSR_WRITE');
    assert.ok(msr.has('WRMSR IA32_X2APIC_EOI (80BH): EOI'), [...msr].join('\n'));
    assert.ok(msr.has('WRMSR IA32_TSC_DEADLINE (6E0H): LAPIC timer armed (TSC-deadline mode)'), [...msr].join('\n'));
    // The x2APIC ICR says the IPI it sent, as the xAPIC ICR low does (Linux's IPIs between its two vCPUs).
    assert.ok(msr.has('WRMSR IA32_X2APIC_ICR (830H): IPI of vector 251 to APIC ID 1'), [...msr].join('\n'));
    assert.ok(![...msr].some((c) => c.endsWith('(830H): IPI')), [...msr].join('\n'));
  });

  it('a Hyper-V synthetic MSR is named by the TLFS, a port by its device', async () => {
    const stimer = await replayRecords(
      'scenarios/library/windows-kvm-timekeeping.yaml',
      'hv-relaxed+hv-vapic+hv-spinlocks+hv-time+hv-vpindex+hv-synic+hv-stimer',
      0,
      '1',
      '0.2',
    );
    const msr = causesOf(stimer, 'MSR_WRITE');
    assert.ok(msr.has('WRMSR HV_X64_MSR_STIMER0_COUNT (0x400000b1): synthetic timer 0 armed'), [...msr].join('\n'));
    const none = await replayRecords('scenarios/library/windows-kvm-timekeeping.yaml', 'none', 0, '1', '0.2');
    const io = causesOf(none, 'IO_INSTRUCTION');
    assert.ok(io.has('port I/O 0x608: ACPI PM timer (Q35 PM base + 8), clock read'), [...io].join('\n'));
    assert.ok(io.has('port I/O 0x70: RTC index (selects the CMOS register)'), [...io].join('\n'));
    assert.ok(io.has('port I/O 0x71: RTC data (reads the selected CMOS register)'), [...io].join('\n'));
  });

  it('an external interrupt says which host interrupt: the host tick or the kick of a vector', async () => {
    const r = await replayRecords('scenarios/seed/linux-freebsd-unaffected.yaml', 'bhyve-12.1', 0, '1', '0.2');
    const ext = [...causesOf(r, 'EXTERNAL_INTERRUPT')];
    assert.ok(ext.includes('host timer tick while the guest ran'), ext.join('\n'));
    assert.ok(
      ext.some((c) => /^kick: a host IPI to the running vCPU so that vector \d+ can be delivered/.test(c)),
      ext.join('\n'),
    );
  });

  it('the VMX-preemption timer and PAUSE-loop exits say which timer and which loop', async () => {
    const timer = await replayRecords('scenarios/library/x2apic-guests.yaml', 'kvm', 0, '1', '0.2');
    const pre = [...causesOf(timer, 'VMX_PREEMPTION_TIMER')];
    assert.ok(
      pre.some((c) => /^the guest's LAPIC timer \(vector \d+\) expired: KVM's VMX-preemption timer/.test(c)),
      pre.join('\n'),
    );
    const ple = await replayRecords(
      'scenarios/library/pause-loop-exiting.yaml',
      'kvm_intel.ple_window_grow=1',
      0,
      '1',
      '0.05',
    );
    const pause = [...causesOf(ple, 'PAUSE')];
    assert.ok(
      pause.length > 0 && pause.every((c) => c.startsWith('PAUSE-loop exiting: a spin loop')),
      pause.join('\n'),
    );
  });
});

describe('run --timeline: an exit slice carries the same cause', () => {
  it('MSR_WRITE slices name the MSR', async () => {
    const out = join(dir, 'timeline.json');
    const io = capture();
    const args = ['run', 'scenarios/library/x2apic-guests.yaml', '--timeline', out, '--timeline-guest', '0'];
    args.push('--timeline-window', '0.9..1');
    assert.equal(await main(args, io), 0, io.stderr.join('\n'));
    const trace = JSON.parse(readFileSync(out, 'utf8')) as {
      traceEvents: { name: string; ph: string; args?: { cause?: string } }[];
    };
    const msr = trace.traceEvents.filter((e) => e.ph === 'X' && e.name === 'MSR_WRITE');
    assert.ok(msr.length > 0);
    assert.ok(
      msr.every((e) => /^WRMSR IA32_/.test(e.args?.cause ?? '')),
      JSON.stringify(msr[0]),
    );
  });
});

describe('trace: each exit has a cause', () => {
  it('a scripted x2APIC EOI and port read', async () => {
    const io = capture();
    assert.equal(await main(['trace', 'scenarios/seed/e5-2667v4-apicv-panic-script.yaml'], io), 0);
    const steps = io.stdout.map((l) => JSON.parse(l) as { exits: { name: string; cause?: string }[] });
    const all = steps.flatMap((s) => s.exits);
    assert.ok(all.length > 0);
    assert.deepEqual(
      all.filter((e) => !e.cause),
      [],
    );
    assert.ok(
      all.some((e) => e.cause === 'port I/O 0x1f7'),
      JSON.stringify(all),
    );
  });
});

describe('an ICR write names the IPI it sent, xAPIC or x2APIC, in the same words', () => {
  /** The cause word of an ICR write of `icrLow` to destination APIC ID `dest` (recorder.ts apicWhy, apicWriteData). */
  const icrWhy = (icrLow: number, dest: number): number =>
    apicWhy(ExitWhy.APIC_REGISTER, true, ApicOffset.IcrLow, apicWriteData(ApicOffset.IcrLow, icrLow, dest << 24));

  it('the xAPIC ICR low (APIC_WRITE) and the x2APIC ICR (MSR 830H; SVM VMEXIT_MSR) say vector and destination', () => {
    const why = icrWhy(0xf0, 1);
    assert.equal(
      exitCause(Slot.APIC_WRITE, ApicOffset.IcrLow, undefined, why),
      'APIC register write at offset 0x300 (ICR low: IPI of vector 240 to APIC ID 1)',
    );
    assert.equal(
      exitCause(Slot.MSR_WRITE, 0, undefined, why),
      'WRMSR IA32_X2APIC_ICR (830H): IPI of vector 240 to APIC ID 1',
    );
    assert.equal(
      exitCause(Slot.VMEXIT_MSR, 0, undefined, why),
      'WRMSR IA32_X2APIC_ICR (830H): IPI of vector 240 to APIC ID 1',
    );
  });

  it('the destination shorthand self (ICR bits 19:18 = 01B) is a self-IPI in both', () => {
    const why = icrWhy(0x41 | (1 << 18), 0);
    assert.equal(
      exitCause(Slot.APIC_WRITE, ApicOffset.IcrLow, undefined, why),
      'APIC register write at offset 0x300 (ICR low: self-IPI of vector 65)',
    );
    assert.equal(exitCause(Slot.MSR_WRITE, 0, undefined, why), 'WRMSR IA32_X2APIC_ICR (830H): self-IPI of vector 65');
  });
});
