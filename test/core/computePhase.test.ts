/**
 * The compute phase (data/guest-models.yaml linux-like.phases.compute, sysbench cpu;
 * windows-x64.phases.compute, a thread or kernel loop that never waits): the vCPUs that take it run
 * flat out with no I/O and no IPIs, so every exit they make comes from a timer - the guest's own tick
 * (its expiry in guest mode and the re-arm) and the host's tick while the vCPU is in guest mode.
 * Table-driven over guest OS models (250 and 100 Hz) and hosts: per vCPU-second of compute,
 * EXTERNAL_INTERRUPT follows the host's tick rate and the guest-timer exits the guest's hz. Windows
 * under KVM with hv-stimer: its 64 Hz clock expires on a host hrtimer, so a running vCPU takes it as
 * one more external-interrupt exit (host tick + clock), plus the STIMER0_COUNT re-arm (a WRMSR).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelData } from '../../src/model/data.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

const data = loadModelData();

interface Row {
  readonly os: string;
  readonly cpu: string;
  /** Exit the guest's timer expiry makes on a running vCPU (docs/MODEL.md §2 `guestTimer`). */
  readonly timerExit: string;
  /**
   * WRMSR exits per guest tick: the TSC-deadline re-arm, plus the x2APIC EOI (WRMSR 80BH) where
   * the CPU has no virtual-interrupt delivery to virtualize it (SDM "Virtualizing MSR-Based APIC
   * Accesses"): the Xeon E5-2667 v4 has APICv, the i7-6700K has not.
   */
  readonly msrWritesPerTick: number;
}

const ROWS: readonly Row[] = [
  { os: 'ubuntu-18.04', cpu: 'xeon-e5-2667v4', timerExit: 'VMX_PREEMPTION_TIMER', msrWritesPerTick: 1 },
  { os: 'ubuntu-18.04', cpu: 'i7-6700K', timerExit: 'VMX_PREEMPTION_TIMER', msrWritesPerTick: 2 },
  { os: 'freebsd-12.1', cpu: 'xeon-e5-2667v4', timerExit: 'VMX_PREEMPTION_TIMER', msrWritesPerTick: 1 },
];

function run(os: string, cpu: string, phases: string, vcpus: number, seconds: number) {
  const s = parseScenario(
    `name: compute
seed: 5
host: { cpu: ${cpu}, cores: 16 }
hypervisor: { policy: kvm }
guests:
  - { os: ${os}, vcpus: ${vcpus}, x2apic: true, phases: [${phases}] }
duration: ${seconds}s
`,
    'compute.yaml',
  );
  return runScenario(s).results.variants[0].totals;
}

for (const r of ROWS) {
  test(`compute on every vCPU (${r.os}, ${r.cpu}): exits per vCPU-second = host tick + guest tick, no halt, no I/O`, () => {
    const vcpus = 2;
    const seconds = 4;
    const t = run(r.os, r.cpu, `{ phase: compute, duration: ${seconds}s }`, vcpus, seconds);
    const per = (name: string): number => (t.exits[name] ?? 0) / (vcpus * seconds);
    const hostHz = data.costModel.hostTickHz.linux;
    const guestHz = data.guestModels.get(r.os)!.timer.hz;
    // Each host tick in guest mode is one external-interrupt exit; the phase of the first tick
    // and the exit debt move the count by at most a tick per vCPU.
    assert.ok(Math.abs(per('EXTERNAL_INTERRUPT') - hostHz) <= 1, `EXTERNAL_INTERRUPT ${per('EXTERNAL_INTERRUPT')}/s`);
    // Each guest tick expires in guest mode (one exit) and its ISR re-arms the TSC deadline (a WRMSR,
    // plus the EOI's where it exits).
    assert.ok(Math.abs(per(r.timerExit) - guestHz) <= 1, `${r.timerExit} ${per(r.timerExit)}/s vs ${guestHz} Hz`);
    const msr = r.msrWritesPerTick * guestHz;
    assert.ok(Math.abs(per('MSR_WRITE') - msr) <= r.msrWritesPerTick, `MSR_WRITE ${per('MSR_WRITE')}/s vs ${msr}`);
    assert.equal(t.exits.HLT ?? 0, 0, 'a compute vCPU never halts');
    for (const io of ['EPT_MISCONFIG', 'EPT_VIOLATION', 'IO_INSTRUCTION'])
      assert.equal(t.exits[io] ?? 0, 0, `no ${io}: the phase does no I/O`);
    // Flat out: a whole vCPU of guest time per vCPU, less the exits' host time.
    assert.ok(t.guestCpuSeconds / (vcpus * seconds) > 0.99, `guest CPU ${t.guestCpuSeconds}`);
  });
}

test('compute with busyVcpus: 1 of 4 - one vCPU flat out, three idle; build on the same vCPU adds I/O and IPI wake-ups', () => {
  const compute = run('ubuntu-18.04', 'xeon-e5-2667v4', '{ phase: compute, duration: 5s, busyVcpus: 1 }', 4, 5);
  const build = run('ubuntu-18.04', 'xeon-e5-2667v4', '{ phase: build, duration: 5s, busyVcpus: 1 }', 4, 5);
  const cpus = compute.guestCpuSeconds / compute.simulatedSeconds;
  assert.ok(cpus > 0.99 && cpus < 1.01, `one vCPU of guest time: ${cpus}`);
  // The idle vCPUs wake only on their own idle schedule: HLTs at the idle model's rate, far below
  // the build phase's, whose IPIs (fork/exec, shootdowns) wake them.
  assert.ok(
    (compute.exits.HLT ?? 0) * 5 < (build.exits.HLT ?? 0),
    `HLT ${compute.exits.HLT} vs build ${build.exits.HLT}`,
  );
  assert.ok(compute.exitsTotal < build.exitsTotal);
});

interface WindowsRow {
  readonly os: string;
  readonly cpu: string;
  /** The guest's Hyper-V enlightenments (QEMU names); undefined: the KVM default (virt-install's set). */
  readonly enlightenments?: string;
  /** Exit of a host interrupt while the vCPU runs: VT-x EXTERNAL_INTERRUPT, SVM INTR. */
  readonly external: string;
  /** Exit of the clock's re-arm, WRMSR STIMER0_COUNT (0x400000B1). */
  readonly msr: string;
  /**
   * Exit of the clock interrupt's EOI where the CPU does not virtualize it (the APIC page without
   * APICv: APIC_ACCESS; SVM without AVIC: a nested page fault), at most one per tick.
   */
  readonly eoi: string;
}

const WINDOWS_ROWS: readonly WindowsRow[] = [
  // No APICv / posted interrupts: a device completion or IPI to a running vCPU would be a kick.
  { os: 'windows-10-1909', cpu: 'i7-6700K', external: 'EXTERNAL_INTERRUPT', msr: 'MSR_WRITE', eoi: 'APIC_ACCESS' },
  {
    os: 'windows-10-1909',
    cpu: 'xeon-e5-2667v4',
    external: 'EXTERNAL_INTERRUPT',
    msr: 'MSR_WRITE',
    eoi: 'APIC_ACCESS',
  },
  {
    os: 'windows-server-2019',
    cpu: 'i7-6700K',
    enlightenments: '[hv-relaxed, hv-vapic, hv-vpindex, hv-synic, hv-time, hv-stimer]',
    external: 'EXTERNAL_INTERRUPT',
    msr: 'MSR_WRITE',
    eoi: 'APIC_ACCESS',
  },
  { os: 'windows-10-1909', cpu: 'epyc-7763', external: 'VMEXIT_INTR', msr: 'VMEXIT_MSR', eoi: 'VMEXIT_NPF' },
];

function runWindows(r: WindowsRow, phase: string, vcpus: number, seconds: number) {
  const s = parseScenario(
    `name: windows-compute
seed: 5
host: { cpu: ${r.cpu}, cores: 16 }
hypervisor: { policy: kvm }
guests:
  - os: ${r.os}
    vcpus: ${vcpus}
${r.enlightenments === undefined ? '' : `    enlightenments: ${r.enlightenments}\n`}    phases: [{ phase: ${phase}, duration: ${seconds}s }]
duration: ${seconds}s
`,
    'windows-compute.yaml',
  );
  return runScenario(s).results.variants[0].totals;
}

for (const r of WINDOWS_ROWS) {
  const how = r.enlightenments === undefined ? 'KVM default enlightenments' : `enlightenments ${r.enlightenments}`;
  test(`Windows compute (${r.os}, ${r.cpu}, ${how}): ${r.external} = host tick + 64 Hz clock, nothing from I/O or IPIs`, () => {
    const vcpus = 2;
    const seconds = 4;
    const t = runWindows(r, 'compute', vcpus, seconds);
    const per = (name: string): number => (t.exits[name] ?? 0) / (vcpus * seconds);
    const hostHz = data.costModel.hostTickHz.linux;
    const clockHz = data.guestModels.get(r.os)!.timer.hz;
    // Every host tick in guest mode, and every synthetic-timer expiry (a host hrtimer: KVM hyperv.c
    // stimer_timer_callback), is one exit; no device completion or IPI kicks the running vCPU.
    const want = hostHz + clockHz;
    assert.ok(Math.abs(per(r.external) - want) <= 1.5, `${r.external} ${per(r.external)}/s vs ${want}`);
    // The clock re-arms STIMER0_COUNT per tick; no hv-vapic ICR write (no IPI is sent).
    assert.ok(Math.abs(per(r.msr) - clockHz) <= 1, `${r.msr} ${per(r.msr)}/s vs ${clockHz}`);
    assert.ok(per(r.eoi) <= clockHz + 1, `${r.eoi} ${per(r.eoi)}/s: at most the clock's EOIs`);
    // Nothing else: no HLT, no doorbell or device MMIO, no port I/O, no IPI (ICR write), no clock read.
    for (const [reason, n] of Object.entries(t.exits))
      if (![r.external, r.msr, r.eoi].includes(reason)) assert.equal(n, 0, `${reason}: ${n} exits`);
    assert.ok(t.guestCpuSeconds / (vcpus * seconds) > 0.99, `guest CPU ${t.guestCpuSeconds}`);
    // The same guest building (I/O 100 and IPIs 1,000 per busy second) exits more: the test tells
    // the phases apart.
    const build = runWindows(r, 'build', vcpus, seconds);
    assert.ok(build.exitsTotal > t.exitsTotal + 100 * vcpus * seconds, `build ${build.exitsTotal} vs ${t.exitsTotal}`);
  });
}
