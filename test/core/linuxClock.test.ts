/**
 * A Linux guest's clocksource (src/core/guests/linuxClock.ts): acpi_pm reads exit as port I/O
 * (VMEXIT_IOIO on AMD, IO_INSTRUCTION on Intel), hpet reads as MMIO, tsc and kvm-clock reads not at
 * all; a busy vCPU reads 3 times per tick (hrtimer_update_base, tick_sched_timer, the re-arm's
 * clockevents_program_event) plus one update_wall_time per jiffy for the guest. And illumos bhyve's
 * SVM interrupt window: one VMEXIT_VINTR per injected interrupt, none under FreeBSD bhyve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

const SECONDS = 5;
const HZ = 250; // ubuntu-18.04's tick (data/guest-models.yaml)

function run(cpu: string, policy: string, clocksource: string | undefined, hostOs = '') {
  const s = parseScenario(
    `name: cs
seed: 3
host: { cpu: ${cpu}, cores: 16${hostOs === '' ? '' : `, os: ${hostOs}`} }
hypervisor: { policy: ${policy} }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: false${clocksource === undefined ? '' : `, clocksource: ${clocksource}`}, phases: [{ phase: compute, duration: ${SECONDS}s }] }
duration: ${SECONDS}s
`,
    'cs.yaml',
  );
  return runScenario(s, {}).results.variants[0].totals;
}

const ROWS: readonly { cpu: string; policy: string; cs: string | undefined; slot: string | null }[] = [
  { cpu: 'epyc-7763', policy: 'bhyve-12.1', cs: 'acpi_pm', slot: 'VMEXIT_IOIO' },
  { cpu: 'xeon-e5-2667v4', policy: 'bhyve-tpr-v3', cs: 'acpi_pm', slot: 'IO_INSTRUCTION' },
  { cpu: 'xeon-e5-2667v4', policy: 'kvm', cs: 'acpi_pm', slot: 'IO_INSTRUCTION' },
  { cpu: 'epyc-7763', policy: 'kvm', cs: 'acpi_pm', slot: 'VMEXIT_IOIO' },
  { cpu: 'xeon-e5-2667v4', policy: 'bhyve-tpr-v3', cs: 'tsc', slot: null },
  { cpu: 'epyc-7763', policy: 'bhyve-12.1', cs: undefined, slot: null }, // bhyve's default: tsc
  { cpu: 'xeon-e5-2667v4', policy: 'kvm', cs: 'kvm-clock', slot: null },
  { cpu: 'xeon-e5-2667v4', policy: 'kvm', cs: undefined, slot: null }, // KVM's default: kvm-clock
  { cpu: 'epyc-7763', policy: 'kvm', cs: 'tsc', slot: null },
];

for (const r of ROWS) {
  test(`Linux clocksource ${r.cs ?? '(default)'} on ${r.policy} / ${r.cpu}: clock reads exit as ${r.slot ?? 'nothing'}`, () => {
    const t = run(r.cpu, r.policy, r.cs);
    const io = (t.exits.VMEXIT_IOIO ?? 0) + (t.exits.IO_INSTRUCTION ?? 0);
    if (r.slot === null) {
      assert.equal(io, 0, `no port I/O: ${JSON.stringify(t.exits)}`);
      return;
    }
    const got = t.exits[r.slot] ?? 0;
    assert.equal(got, io, 'every port I/O is the clock read of the expected exit');
    // 2 busy vCPUs x 250 ticks/s x 3 reads, plus 250 jiffies updates a second.
    const expected = (2 * HZ * 3 + HZ) * SECONDS;
    assert.ok(Math.abs(got - expected) <= 0.05 * expected, `${got} reads, expected ~${expected}`);
  });
}

test('Linux clocksource hpet: reads are MMIO exits (NPF on AMD, EPT_MISCONFIG under KVM on Intel)', () => {
  const amd = run('epyc-7763', 'bhyve-12.1', 'hpet');
  const amdTsc = run('epyc-7763', 'bhyve-12.1', 'tsc');
  const expected = (2 * HZ * 3 + HZ) * SECONDS;
  const npf = (amd.exits.VMEXIT_NPF ?? 0) - (amdTsc.exits.VMEXIT_NPF ?? 0);
  assert.ok(Math.abs(npf - expected) <= 0.05 * expected, `${npf} extra NPF, expected ~${expected}`);
  const kvm = run('xeon-e5-2667v4', 'kvm', 'hpet');
  const kvmClock = run('xeon-e5-2667v4', 'kvm', 'kvm-clock');
  const mis = (kvm.exits.EPT_MISCONFIG ?? 0) - (kvmClock.exits.EPT_MISCONFIG ?? 0);
  assert.ok(Math.abs(mis - expected) <= 0.05 * expected, `${mis} extra EPT_MISCONFIG, expected ~${expected}`);
});

test('SVM interrupt window: illumos bhyve exits VMEXIT_VINTR once per injected tick, FreeBSD bhyve not', () => {
  const illumos = run('epyc-7763', 'bhyve-12.1', undefined, 'illumos');
  const freebsd = run('epyc-7763', 'bhyve-12.1', undefined, 'freebsd');
  const ticks = 2 * HZ * SECONDS;
  const vintr = illumos.exits.VMEXIT_VINTR ?? 0;
  assert.ok(Math.abs(vintr - ticks) <= 0.05 * ticks, `${vintr} VINTR, ~${ticks} ticks injected`);
  assert.equal(freebsd.exits.VMEXIT_VINTR ?? 0, 0);
});
